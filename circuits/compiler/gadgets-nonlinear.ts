// Direct-route gadgets of the transformer primitives: each constrains exactly the integer function of nonlinear.ts
// (softmaxQ, layerNormQ, geluQ, matmulQ) and computes its witness with the same code. Inputs must already be
// range-checked to their declared width (every activation leaves its gadget range-checked). Every hint (the
// reciprocal, the reciprocal square root, quotients) is pinned by range checks, so each input has exactly one
// witness (docs/circuits.md, "Transformer primitives").
import { addTo, konst, lin, maxGadget, requantGadget, sum, type Builder, type Lin } from "./builder.ts";
import { expShift, geluAlpha, rsqrtQ, type GeluParams, type LayerNormParams, type MatMulParams, type SoftmaxParams } from "./nonlinear.ts";
import { softmaxVectors } from "./engine-graph.ts";
import type { QGraphOp } from "./quantize.ts";

const pow2 = (n: number): bigint => 1n << BigInt(n);

/** A combination that is a constant (only the wire 0), or null. */
function constantOf(l: Lin): bigint | null {
  for (const w of l.keys()) if (w !== 0) return null;
  return l.get(0) ?? 0n;
}

/** a * b: a scaled combination when either is a constant, else a product wire (one constraint). */
function mulLin(cs: Builder, a: Lin, b: Lin, what: string): Lin {
  const ca = constantOf(a);
  if (ca !== null) return addTo(new Map(), b, ca);
  const cb = constantOf(b);
  if (cb !== null) return addTo(new Map(), a, cb);
  return lin(cs.mul(a, b, what));
}

/** sum bits[from + i] * 2^i over i < count (bits past the end are 0). */
function bitsValue(bits: number[], from: number, count: number): Lin {
  const l: Lin = new Map();
  for (let i = 0; i < count && from + i < bits.length; i++) addTo(l, lin(bits[from + i]!), pow2(i));
  return l;
}

export interface SoftmaxWires {
  /** Probabilities at scale 2^-outFrac. */
  y: Lin[];
  /** The maximum (a wire of the max chain). */
  max: Lin;
  /** exp(x_i - max) at scale 2^-expFrac. */
  e: Lin[];
  /** The reciprocal hint q = floor(2^R / sum e). */
  recip: number;
}

/** exp(-z) for z = max - x in [0, 2^inBits): expQ. */
export function expGadget(cs: Builder, p: SoftmaxParams, z: Lin, what: string): Lin {
  const H = p.expDrop;
  const G = p.expFracBits;
  const KB = p.shiftBits;
  const d = p.poly.length - 1;
  const w = sum([z, p.expMul], [konst(H > 0 ? pow2(H - 1) : 0n), 1n]);
  const wb = cs.decompose(w, p.wBits, `${what} exponent`);
  const r = bitsValue(wb, H, G);
  // k >= 2^KB (a bit above the low KB of k is set): exp is below one unit, the result is 0
  const high: Lin = bitsValue(wb, H + G + KB, Math.max(0, p.wBits - (H + G + KB)));
  const inRange: Lin = high.size > 0 ? lin(cs.isZero(high, `${what} shift range`)) : konst(1n);
  // P(r) = sum A_i r^i 2^(G(d-i))
  const P: Lin = konst(p.poly[0]! * pow2(G * d));
  let rp: Lin = konst(1n);
  for (let i = 1; i <= d; i++) {
    rp = i === 1 ? r : mulLin(cs, rp, r, `${what} power`);
    addTo(P, rp, p.poly[i]! * pow2(G * (d - i)));
  }
  // S = 2^(Kmax - k) = prod over the bits b_j of k of 2^(2^j (1 - b_j)), times inRange
  let S: Lin = konst(1n);
  for (let j = 0; j < KB; j++) {
    const big = pow2(2 ** j);
    const bit = H + G + j;
    const factor = bit < wb.length ? sum([konst(big), 1n], [lin(wb[bit]!), 1n - big]) : konst(big);
    S = mulLin(cs, S, factor, `${what} shift`);
  }
  S = mulLin(cs, S, inRange, `${what} shift`);
  const T = mulLin(cs, P, S, `${what} product`);
  // e = round(T / 2^D), in [0, 2^F]: T + 2^(D-1) decomposed into D low bits (the remainder) and F + 1 high ones
  const D = expShift(p);
  const tb = cs.decompose(addTo(new Map(T), konst(pow2(D - 1))), D + p.expFrac + 1, `${what} exp`);
  return bitsValue(tb, D, p.expFrac + 1);
}

/** softmaxQ over n inputs of inBits. */
export function softmaxGadget(cs: Builder, p: SoftmaxParams, x: readonly Lin[], what = "softmax"): SoftmaxWires {
  if (x.length !== p.n) throw new RangeError(`${what}: ${x.length} inputs, expected ${p.n}`);
  const max = x.slice(1).reduce((m, v) => maxGadget(cs, m, v, p.inBits, `${what} max`), x[0]!);
  const e = x.map((v) => expGadget(cs, p, sum([max, 1n], [v, -1n]), what));
  const E: Lin = new Map();
  for (const l of e) addTo(E, l);
  // q = floor(2^R / E): q * E + rem = 2^R with 0 <= rem < E and q range-checked (all of it far below the field)
  const R = p.recipBits;
  const F = p.expFrac;
  const eBits = (BigInt(p.n) << BigInt(F)).toString(2).length;
  const recip = cs.alloc(() => pow2(R) / cs.val(E));
  cs.decompose(lin(recip), R - F + 1, `${what} reciprocal range`);
  const qE = cs.mul(lin(recip), E, `${what} reciprocal`);
  const rem = sum([konst(pow2(R)), 1n], [lin(qE), -1n]);
  cs.decompose(rem, eBits, `${what} reciprocal remainder`);
  cs.decompose(sum([E, 1n], [konst(-1n), 1n], [rem, -1n]), eBits, `${what} reciprocal remainder bound`);
  // y = round(e * q / 2^(R - P)), e * q <= 2^R
  const sh = R - p.outFrac;
  const y = e.map((ei) => {
    const prod = cs.mul(ei, lin(recip), `${what} normalize`);
    const b = cs.decompose(sum([lin(prod), 1n], [konst(pow2(sh - 1)), 1n]), R + 1, `${what} normalize`);
    return bitsValue(b, sh, p.outFrac + 1);
  });
  return { y, max, e, recip };
}

export interface LayerNormWires {
  y: Lin[];
  /** The reciprocal square root hint r = floor(2^K / sqrt(V + epsQ)). */
  rsqrt: number;
}

/** layerNormQ over n inputs of inBits. */
export function layerNormGadget(cs: Builder, p: LayerNormParams, x: readonly Lin[], what = "layerNorm"): LayerNormWires {
  if (x.length !== p.n) throw new RangeError(`${what}: ${x.length} inputs, expected ${p.n}`);
  const n = BigInt(p.n);
  const S: Lin = new Map();
  for (const v of x) addTo(S, v);
  const c = x.map((v) => sum([v, n], [S, -1n]));
  const Vp: Lin = konst(p.epsQ);
  for (const ci of c) addTo(Vp, lin(cs.mul(ci, ci, `${what} variance`)));
  const K = p.K;
  const rsqrt = cs.alloc(() => rsqrtQ(K, cs.val(Vp)));
  const r = lin(rsqrt);
  // r in [0, 2^(K+1)), r^2 V' <= 2^2K < (r+1)^2 V': r = floor(2^K / sqrt(V')), the only integer that fits
  cs.decompose(r, K + 1, `${what} rsqrt range`);
  const A = cs.mul(lin(cs.mul(r, r, `${what} rsqrt`)), Vp, `${what} rsqrt`);
  cs.decompose(sum([konst(pow2(2 * K)), 1n], [lin(A), -1n]), 2 * K + 1, `${what} rsqrt low`);
  const B = cs.mul(sum([r, 2n], [konst(1n), 1n]), Vp, `${what} rsqrt`);
  cs.decompose(sum([lin(A), 1n], [lin(B), 1n], [konst(-pow2(2 * K) - 1n), 1n]), p.hiBits, `${what} rsqrt high`);
  const y = c.map((ci, i) => {
    const cr = cs.mul(ci, r, `${what} scale`);
    const acc = sum([lin(cr), p.gamma[i]! * p.M], [konst(p.bias[i]! * p.M), 1n]);
    return requantGadget(cs, acc, p.s, p.Q, p.outBits, false, what);
  });
  return { y, rsqrt };
}

export interface GeluWires {
  y: Lin[];
  /** relu(x) per element (a product wire). */
  relu: number[];
}

/** geluQ over inputs of inBits. */
export function geluGadget(cs: Builder, p: GeluParams, x: readonly Lin[], what = "gelu"): GeluWires {
  const w = p.segLow;
  const J = p.segBits;
  const d = p.coeffs[0]!.length - 1;
  const alpha = geluAlpha(p);
  const relu: number[] = [];
  const y = x.map((v) => {
    const sign = cs.decompose(sum([v, 1n], [konst(pow2(p.inBits - 1)), 1n]), p.inBits, `${what} sign`)[p.inBits - 1]!;
    const rl = cs.mul(lin(sign), v, `${what} relu`);
    relu.push(rl);
    const ab = cs.decompose(sum([lin(rl), 2n], [v, -1n]), p.inBits, `${what} abs`);
    const t = bitsValue(ab, 0, w);
    const high = bitsValue(ab, w + J, p.inBits - w - J);
    const inRange: Lin = high.size > 0 ? lin(cs.isZero(high, `${what} range`)) : konst(1n);
    const mono: Lin[] = [konst(1n)];
    for (let mask = 1; mask < 2 ** J; mask++) {
      const low = 31 - Math.clz32(mask & -mask);
      mono[mask] = mulLin(cs, mono[mask ^ (1 << low)]!, lin(ab[w + low]!), `${what} segment`);
    }
    const coef = alpha.map((a) => {
      const l: Lin = new Map();
      a.forEach((c, mask) => addTo(l, mono[mask]!, c));
      return l;
    });
    const g: Lin = addTo(new Map(), coef[0]!, pow2(w * d));
    let tp: Lin = konst(1n);
    for (let k = 1; k <= d; k++) {
      tp = k === 1 ? t : mulLin(cs, tp, t, `${what} power`);
      addTo(g, mulLin(cs, coef[k]!, tp, `${what} term`), pow2(w * (d - k)));
    }
    const gIn = mulLin(cs, inRange, g, `${what} range`);
    return requantGadget(cs, sum([lin(rl), p.reluMul], [gIn, -1n]), p.shift, p.Q, p.outBits, false, what);
  });
  return { y, relu };
}

/** matmulQ: A (n x k) times B (k x m), row-major, both range-checked activations. */
export function matmulGadget(cs: Builder, p: MatMulParams, a: readonly Lin[], b: readonly Lin[], what = "matmul"): Lin[] {
  if (a.length !== p.n * p.k || b.length !== p.k * p.m) throw new RangeError(`${what}: A has ${a.length} and B ${b.length} values, expected ${p.n * p.k} and ${p.k * p.m}`);
  const out: Lin[] = [];
  for (let i = 0; i < p.n; i++)
    for (let j = 0; j < p.m; j++) {
      const acc: Lin = new Map();
      for (let l = 0; l < p.k; l++) addTo(acc, lin(cs.mul(a[i * p.k + l]!, b[l * p.m + j]!, what)), p.M);
      out.push(requantGadget(cs, acc, p.s, p.Q, p.outBits, false, what));
    }
  return out;
}

/** The gadget of one graph op (quantize.ts QGraphOp) on its inputs' wires: runGraphOp (engine-graph.ts) is its
 *  reference. Layouts move combinations and add no constraint. */
export function graphOpGadget(cs: Builder, op: QGraphOp, ins: Lin[][]): Lin[] {
  const x = ins[0]!;
  switch (op.kind) {
    case "layout": {
      const all = ins.length === 1 ? x : ins.flat();
      const consts = op.constants.map(BigInt);
      return op.src.map((s) => (s >= 0 ? all[s]! : konst(consts[-1 - s]!)));
    }
    case "add": {
      const M = op.multiplier.map(BigInt);
      const bias = op.bias.map(BigInt);
      return x.map((_, i) => {
        const acc: Lin = bias.length ? konst(bias[i]!) : new Map();
        ins.forEach((xs, j) => addTo(acc, xs[i]!, M[j]!));
        return requantGadget(cs, acc, op.shift, op.qBits, op.outBits, false, op.name);
      });
    }
    case "matmul": {
      const { n, k, m } = op.params;
      const out: Lin[] = [];
      // (a loop, not push(...): a long product would overflow the argument stack)
      for (let t = 0; t < op.batch; t++) for (const v of matmulGadget(cs, op.params, x.slice(t * n * k, (t + 1) * n * k), ins[1]!.slice(t * k * m, (t + 1) * k * m), op.name)) out.push(v);
      return out;
    }
    case "softmax": {
      const y = new Array<Lin>(x.length);
      for (const idx of softmaxVectors(op)) {
        softmaxGadget(cs, op.params, idx.map((i) => x[i]!), op.name).y.forEach((v, j) => (y[idx[j]!] = v));
      }
      return y;
    }
    case "layerNorm": {
      const n = op.params.n;
      const out: Lin[] = [];
      for (let r = 0; r < x.length; r += n) for (const v of layerNormGadget(cs, op.params, x.slice(r, r + n), op.name).y) out.push(v);
      return out;
    }
    case "gelu":
      return geluGadget(cs, op.params, x, op.name).y;
  }
}
