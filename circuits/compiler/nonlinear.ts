// Fixed-point transformer primitives: softmax, LayerNorm, GELU and the product of two activation matrices, as exact
// integer functions. The *Params builders turn float scales into integer constants (compile time, floats allowed);
// the *Q functions are the reference: bigint arithmetic only, exactly what the gadgets of gadgets-nonlinear.ts
// constrain (docs/circuits.md, "Transformer primitives").
import { requantize } from "./requantize.ts";
import { MAX_FIELD_BITS, OverflowError } from "./quantize.ts";

const bitLength = (v: bigint): number => (v <= 0n ? 0 : v.toString(2).length);
const pow2 = (n: number): bigint => 1n << BigInt(n);

/** Throws OverflowError when an intermediate of `what` needs more than MAX_FIELD_BITS bits. */
export function checkFieldBits(what: string, bits: number): void {
  if (bits > MAX_FIELD_BITS) {
    throw new OverflowError(`${what}: an intermediate needs ${bits} bits, over the ${MAX_FIELD_BITS}-bit bound that keeps it below the BN254 field (p ~ 2^253.6)`);
  }
}

function checkInt(what: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${what} must be an integer in [${lo}, ${hi}], got ${v}`);
  return v;
}

function checkScale(what: string, s: number): number {
  if (!(Number.isFinite(s) && s > 0)) throw new RangeError(`${what} must be a positive finite number, got ${s}`);
  return s;
}

/** Every value a signed `bits`-wide integer; a clear error naming the first that is not. */
export function checkSigned(what: string, xs: readonly bigint[], bits: number, n?: number): void {
  if (n !== undefined && xs.length !== n) throw new RangeError(`${what}: ${xs.length} values, expected ${n}`);
  const lim = pow2(bits - 1);
  xs.forEach((v, i) => {
    if (typeof v !== "bigint" || v < -lim || v >= lim) throw new RangeError(`${what}: value ${i} = ${v} does not fit in ${bits} signed bits`);
  });
}

/** floor(sqrt(v)) for v >= 0 (Newton on bigints). */
export function isqrt(v: bigint): bigint {
  if (v < 0n) throw new RangeError(`isqrt of a negative number (${v})`);
  if (v < 2n) return v;
  let x = pow2(Math.ceil(bitLength(v) / 2));
  for (;;) {
    const y = (x + v / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** The multiplier and shift with M / 2^s ~ ratio, M of `bits` bits (as quantize.ts picks them). */
export function multiplierFor(ratio: number, bits: number): { M: bigint; s: number } {
  checkScale("multiplier ratio", ratio);
  let s = Math.max(0, bits - 1 - Math.floor(Math.log2(ratio)));
  let M = Math.round(ratio * 2 ** s);
  if (M >= 2 ** bits && s > 0) {
    s--;
    M = Math.round(ratio * 2 ** s);
  }
  if (M < 1) throw new RangeError(`multiplier ratio ${ratio} is too small for a ${bits}-bit multiplier`);
  return { M: BigInt(M), s };
}

/** Width Q of the unclamped quotient floor((acc*M + 2^(s-1)) / 2^s) for |acc| <= accBound (requantGadget's Q). */
export function quotientBits(accBound: bigint, M: bigint, s: number): number {
  const round = s > 0 ? pow2(s - 1) : 0n;
  return bitLength((accBound * M + round) >> BigInt(s)) + 1;
}

/** Least-squares polynomial fit (float, compile time): coefficients c[0..deg] of sum c_k u^k at the points us. With
 *  `fixedC0`, c[0] is that value and only the others are fitted. */
export function fitPolynomial(us: readonly number[], ys: readonly number[], deg: number, fixedC0?: number): number[] {
  const first = fixedC0 === undefined ? 0 : 1;
  const k = deg + 1 - first;
  const A: number[][] = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  us.forEach((u, p) => {
    const y = ys[p]! - (fixedC0 ?? 0);
    const row = Array.from({ length: k }, (_, i) => u ** (i + first));
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) A[i]![j]! += row[i]! * row[j]!;
      A[i]![k]! += row[i]! * y;
    }
  });
  // Gaussian elimination with partial pivoting
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    const d = A[c]![c]!;
    if (d === 0) {
      // fewer distinct points than coefficients: the rest stay 0
      continue;
    }
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / d;
      for (let j = c; j <= k; j++) A[r]![j]! -= f * A[c]![j]!;
    }
  }
  const sol = Array.from({ length: k }, (_, i) => (A[i]![i]! === 0 ? 0 : A[i]![k]! / A[i]![i]!));
  return first ? [fixedC0!, ...sol] : sol;
}

// ---------------------------------------------------------------- softmax

export interface SoftmaxParams {
  /** Vector length. */
  n: number;
  /** Signed width of the inputs. */
  inBits: number;
  /** F: exp values at scale 2^-F (the largest element's exp is exactly 2^F). */
  expFrac: number;
  /** The base-2 exponent of z = max - x is w = z * expMul + 2^(expDrop-1), at scale 2^-(expDrop + expFracBits). */
  expMul: bigint;
  /** H: low bits of w dropped (rounding of the exponent). */
  expDrop: number;
  /** G: fraction bits r of the exponent fed to the polynomial (r in [0, 2^G)). */
  expFracBits: number;
  /** KB: integer part k handled by a shift by up to 2^KB - 1 places; k >= 2^KB gives exp 0. */
  shiftBits: number;
  /** Width of the decomposition of w. */
  wBits: number;
  /** Polynomial coefficients A_i at scale 2^F: 2^(-r/2^G) ~ sum A_i r^i 2^(G(d-i)) / 2^(F + dG); A_0 = 2^F. */
  poly: bigint[];
  /** R: the reciprocal hint q = floor(2^R / sum e). */
  recipBits: number;
  /** P: probabilities at scale 2^-P, in [0, 2^P]. */
  outFrac: number;
}

export interface SoftmaxOptions {
  n: number;
  inBits: number;
  /** Scale of the inputs (one integer step, in logit units). */
  inScale: number;
  outFrac?: number;
  expFrac?: number;
  expFracBits?: number;
  expDrop?: number;
  degree?: number;
}

/** Integer constants of softmax over n inputs of inBits at inScale; throws on a width over the field bound. */
export function softmaxParams(o: SoftmaxOptions): SoftmaxParams {
  const n = checkInt("softmax length", o.n, 1, 1 << 20);
  const inBits = checkInt("softmax inBits", o.inBits, 2, 64);
  checkScale("softmax inScale", o.inScale);
  const F = checkInt("softmax expFrac", o.expFrac ?? 16, 2, 128);
  const G = checkInt("softmax expFracBits", o.expFracBits ?? 12, 1, 20);
  const H = checkInt("softmax expDrop", o.expDrop ?? 8, 0, 32);
  const d = checkInt("softmax degree", o.degree ?? 3, 1, 6);
  const P = checkInt("softmax outFrac", o.outFrac ?? 12, 1, 60);
  const expMul = BigInt(Math.round(o.inScale * Math.LOG2E * 2 ** (G + H)));
  if (expMul < 1n) throw new RangeError(`softmax inScale ${o.inScale} is too small: the exponent multiplier rounds to 0 (raise expDrop)`);
  // exp(-x) = 2^(-k - r/2^G); k >= F means a value below one unit of 2^-F: KB bits of k suffice.
  const KB = Math.max(1, Math.ceil(Math.log2(F)));
  const zMax = pow2(inBits) - 1n;
  const wBits = Math.max(bitLength(zMax * expMul + (H > 0 ? pow2(H - 1) : 0n)), H + G);
  const us = Array.from({ length: 512 }, (_, i) => i / 512);
  const fit = fitPolynomial(us, us.map((u) => 2 ** -u), d, 1);
  const poly = fit.map((c, i) => (i === 0 ? pow2(F) : BigInt(Math.round(c * 2 ** F))));
  const p: SoftmaxParams = { n, inBits, expFrac: F, expMul, expDrop: H, expFracBits: G, shiftBits: KB, wBits, poly, recipBits: F + P + 4, outFrac: P };
  const D = expShift(p);
  checkFieldBits("softmax exp", D + F + 1);
  checkFieldBits("softmax exponent", wBits);
  checkFieldBits("softmax normalization", p.recipBits + 1 + bitLength(BigInt(n)));
  // The polynomial must stay in (0, 2^(F + dG)] on every r, so that exp is in [0, 2^F]: checked exhaustively.
  const top = pow2(F + d * G);
  for (let r = 0n; r < pow2(G); r++) {
    const v = expPoly(p, r);
    if (v <= 0n || v > top) throw new RangeError(`softmax: the exp polynomial leaves (0, 1] at r = ${r} (try another degree)`);
  }
  return p;
}

const expDegree = (p: SoftmaxParams): number => p.poly.length - 1;
/** D = Kmax + dG: the shift that brings P(r) * 2^(Kmax - k) back to scale 2^-F. */
export const expShift = (p: SoftmaxParams): number => (2 ** p.shiftBits - 1) + expDegree(p) * p.expFracBits;

/** P(r) = sum A_i r^i 2^(G(d-i)). */
export function expPoly(p: SoftmaxParams, r: bigint): bigint {
  const d = expDegree(p);
  let v = 0n;
  let rp = 1n;
  for (let i = 0; i <= d; i++) {
    v += p.poly[i]! * rp * pow2(p.expFracBits * (d - i));
    rp *= r;
  }
  return v;
}

/** round(2^F * exp(-z * inScale)) in fixed point, for z >= 0 (exactly what the exp gadget accepts). */
export function expQ(p: SoftmaxParams, z: bigint): bigint {
  if (z < 0n || z >= pow2(p.inBits)) throw new RangeError(`softmax exp: z = ${z} is outside [0, 2^${p.inBits})`);
  const H = p.expDrop;
  const G = p.expFracBits;
  const w = z * p.expMul + (H > 0 ? pow2(H - 1) : 0n);
  const r = (w >> BigInt(H)) & (pow2(G) - 1n);
  const k = w >> BigInt(H + G);
  const kMax = BigInt(2 ** p.shiftBits - 1);
  const S = k > kMax ? 0n : pow2(Number(kMax - k));
  const D = expShift(p);
  return (expPoly(p, r) * S + pow2(D - 1)) >> BigInt(D);
}

/** Softmax of n signed inputs: probabilities at scale 2^-outFrac. */
export function softmaxQ(p: SoftmaxParams, x: readonly bigint[]): bigint[] {
  checkSigned("softmax input", x, p.inBits, p.n);
  let m = x[0]!;
  for (const v of x) if (v > m) m = v;
  const e = x.map((v) => expQ(p, m - v));
  const E = e.reduce((a, b) => a + b, 0n);
  const R = p.recipBits;
  const q = pow2(R) / E;
  const sh = R - p.outFrac;
  return e.map((v) => (v * q + pow2(sh - 1)) >> BigInt(sh));
}

// ---------------------------------------------------------------- LayerNorm

export interface LayerNormParams {
  n: number;
  inBits: number;
  /** Quantized gamma (per element). */
  gamma: bigint[];
  /** Beta at the accumulator scale (per element). */
  bias: bigint[];
  /** eps at the scale of V = sum (n x_i - sum x)^2: eps * n^3 / inScale^2, at least 1. */
  epsQ: bigint;
  /** K: the reciprocal square root hint r = floor(2^K / sqrt(V + epsQ)). */
  K: number;
  M: bigint;
  s: number;
  /** Width of the unclamped quotient (requantGadget's Q). */
  Q: number;
  outBits: number;
  /** Width of the decomposition of (r+1)^2 V' - 2^2K - 1. */
  hiBits: number;
}

export interface LayerNormOptions {
  n: number;
  inBits: number;
  inScale: number;
  gamma: readonly number[];
  beta: readonly number[];
  eps: number;
  outBits: number;
  outScale: number;
  gammaBits?: number;
  multiplierBits?: number;
  /** Bits of r at the largest possible variance (its precision at worst). */
  rsqrtBits?: number;
}

/** Upper bound of V + epsQ over every input in range. */
const lnVmax = (n: number, inBits: number, epsQ: bigint): bigint => BigInt(n) * (BigInt(n) * (pow2(inBits) - 1n)) ** 2n + epsQ;

export function layerNormParams(o: LayerNormOptions): LayerNormParams {
  const n = checkInt("layerNorm length", o.n, 1, 1 << 20);
  const inBits = checkInt("layerNorm inBits", o.inBits, 2, 64);
  const outBits = checkInt("layerNorm outBits", o.outBits, 2, 64);
  checkScale("layerNorm inScale", o.inScale);
  checkScale("layerNorm outScale", o.outScale);
  if (!(Number.isFinite(o.eps) && o.eps > 0)) throw new RangeError(`layerNorm eps must be a positive number (it keeps a constant vector from dividing by zero), got ${o.eps}`);
  if (o.gamma.length !== n || o.beta.length !== n) throw new RangeError(`layerNorm: gamma has ${o.gamma.length} and beta ${o.beta.length} values, expected ${n} each`);
  const gb = checkInt("layerNorm gammaBits", o.gammaBits ?? 14, 2, 32);
  const mb = checkInt("layerNorm multiplierBits", o.multiplierBits ?? 16, 1, 64);
  const rb = checkInt("layerNorm rsqrtBits", o.rsqrtBits ?? 18, 1, 64);
  const gMax = Math.max(...o.gamma.map(Math.abs));
  if (!Number.isFinite(gMax)) throw new RangeError("layerNorm: gamma must be finite");
  const sg = gMax > 0 ? gMax / (2 ** (gb - 1) - 1) : 1;
  const gamma = o.gamma.map((g) => BigInt(Math.round(g / sg)));
  const epsQ = BigInt(Math.max(1, Math.round((o.eps * n ** 3) / o.inScale ** 2)));
  const vMax = lnVmax(n, inBits, epsQ);
  const K = Math.ceil(bitLength(vMax) / 2) + rb;
  // acc = gamma * c * r + bias at scale sg * sqrt(n) / 2^K (c r / 2^K ~ (x - mean) / sqrt(var + eps) / sqrt(n))
  const accScale = (sg * Math.sqrt(n)) / 2 ** K;
  const bias = o.beta.map((b) => {
    if (!Number.isFinite(b)) throw new RangeError("layerNorm: beta must be finite");
    return BigInt(Math.round(b / accScale));
  });
  const { M, s } = multiplierFor(accScale / o.outScale, mb);
  // |c r| <= 2^K: c^2 <= V <= V', and r^2 V' <= 2^2K.
  const accBound = pow2(K) * BigInt(Math.round(gMax / sg)) + bias.reduce((a, b) => (a > (b < 0n ? -b : b) ? a : b < 0n ? -b : b), 0n);
  const Q = quotientBits(accBound, M, s);
  const hiBits = bitLength((pow2(K) + isqrt(vMax) + 1n) ** 2n);
  checkFieldBits("layerNorm requantization", s + Q);
  checkFieldBits("layerNorm rsqrt check", 2 * K + 2 + bitLength(vMax));
  checkFieldBits("layerNorm rsqrt check", hiBits);
  return { n, inBits, gamma, bias, epsQ, K, M, s, Q, outBits, hiBits };
}

/** r = floor(2^K / sqrt(v)) for v >= 1: the largest r with r^2 v <= 2^2K. */
export function rsqrtQ(K: number, v: bigint): bigint {
  if (v < 1n) throw new RangeError(`rsqrt of ${v}: the argument must be at least 1`);
  return isqrt(pow2(2 * K) / v);
}

/** LayerNorm of n signed inputs: requantize(gamma_i * (n x_i - sum x) * r + bias_i) with r the rsqrt hint. */
export function layerNormQ(p: LayerNormParams, x: readonly bigint[]): bigint[] {
  checkSigned("layerNorm input", x, p.inBits, p.n);
  const S = x.reduce((a, b) => a + b, 0n);
  const n = BigInt(p.n);
  const c = x.map((v) => n * v - S);
  const V = c.reduce((a, v) => a + v * v, 0n);
  const r = rsqrtQ(p.K, V + p.epsQ);
  return c.map((ci, i) => requantize(p.gamma[i]! * ci * r + p.bias[i]!, p.M, p.s, p.outBits, false));
}

// ---------------------------------------------------------------- GELU

export type GeluForm = "erf" | "tanh";

export interface GeluParams {
  inBits: number;
  outBits: number;
  /** w: |x| = seg * 2^w + t, t in [0, 2^w). */
  segLow: number;
  /** J: 2^J segments; |x| >= 2^(w+J) is outside the fitted range (g = 0 there). */
  segBits: number;
  /** Per segment, the coefficients C_k: g = sum C_k t^k 2^(w(d-k)), at scale outScale / 2^shift. */
  coeffs: bigint[][];
  /** relu(x) multiplier at the same scale. */
  reluMul: bigint;
  shift: number;
  Q: number;
}

export interface GeluOptions {
  inBits: number;
  inScale: number;
  outBits: number;
  outScale: number;
  form?: GeluForm;
  segBits?: number;
  degree?: number;
  /** The fitted range of |x| (in float units) reaches at least this far; beyond, gelu(x) = relu(x). */
  clampAt?: number;
  /** Extra fraction bits of the coefficients. */
  coeffFrac?: number;
}

/** erf to about 1e-15 (series for |x| < 3, continued fraction beyond): compile-time fitting and error figures only. */
export function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = a;
    let s = a;
    for (let k = 1; k < 200; k++) {
      term *= (-a * a) / k;
      const add = term / (2 * k + 1);
      s += add;
      if (Math.abs(add) < 1e-17 * Math.abs(s)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * s;
  } else {
    // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
    let f = a;
    for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

/** The float GELU: erf form x * Phi(x), or the tanh approximation. */
export function geluFloat(x: number, form: GeluForm = "erf"): number {
  if (form === "erf") return 0.5 * x * (1 + erf(x / Math.SQRT2));
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

/** g(a) = relu(a) - gelu(a) = a * Phi(-a) for a >= 0 (erf form); gelu(x) = relu(x) - g(|x|) for either sign. */
const geluGap = (a: number, form: GeluForm): number => a - geluFloat(a, form);

export function geluParams(o: GeluOptions): GeluParams {
  const inBits = checkInt("gelu inBits", o.inBits, 2, 40);
  const outBits = checkInt("gelu outBits", o.outBits, 2, 64);
  checkScale("gelu inScale", o.inScale);
  checkScale("gelu outScale", o.outScale);
  const form = o.form ?? "erf";
  if (form !== "erf" && form !== "tanh") throw new RangeError(`gelu form must be "erf" or "tanh", got ${String(form)}`);
  const d = checkInt("gelu degree", o.degree ?? 2, 1, 4);
  const extra = checkInt("gelu coeffFrac", o.coeffFrac ?? 10, 0, 40);
  const clampAt = checkScale("gelu clampAt", o.clampAt ?? 4);
  let J = checkInt("gelu segBits", o.segBits ?? 3, 0, 8);
  // |x| <= 2^(inBits-1): segments cover [0, 2^(w+J)) of it
  let w = Math.max(0, Math.ceil(Math.log2(clampAt / (o.inScale * 2 ** J))));
  w = Math.min(w, inBits);
  J = Math.min(J, inBits - w);
  const shift = extra + w * d;
  const coeffs: bigint[][] = [];
  for (let seg = 0; seg < 2 ** J; seg++) {
    const ts = Array.from({ length: 2 ** w }, (_, t) => t);
    const us = ts.map((t) => t / 2 ** w);
    const ys = ts.map((t) => geluGap((seg * 2 ** w + t) * o.inScale, form) / o.outScale);
    const fit = fitPolynomial(us, ys, Math.min(d, 2 ** w - 1));
    coeffs.push(Array.from({ length: d + 1 }, (_, k) => BigInt(Math.round((fit[k] ?? 0) * 2 ** extra))));
  }
  const reluMul = BigInt(Math.round((o.inScale / o.outScale) * 2 ** shift));
  if (reluMul < 1n) throw new RangeError(`gelu: inScale / outScale = ${o.inScale / o.outScale} is too small for ${shift} fraction bits`);
  let gBound = 0n;
  for (const cs of coeffs) {
    let b = 0n;
    cs.forEach((c, k) => (b += (c < 0n ? -c : c) * pow2(w * k) * pow2(w * (d - k))));
    if (b > gBound) gBound = b;
  }
  const accBound = reluMul * pow2(inBits - 1) + gBound;
  const Q = quotientBits(accBound, 1n, shift);
  checkFieldBits("gelu", shift + Q);
  return { inBits, outBits, segLow: w, segBits: J, coeffs, reluMul, shift, Q };
}

/** The coefficients as multilinear polynomials in the J segment bits: C_k(seg) = sum over bit sets m of
 *  alpha[k][m] * prod_{i in m} bit_i (the Moebius transform of the table, exact integers). */
export function geluAlpha(p: GeluParams): bigint[][] {
  const J = p.segBits;
  const d = p.coeffs[0]!.length - 1;
  const alpha: bigint[][] = Array.from({ length: d + 1 }, (_, k) => p.coeffs.map((cs) => cs[k]!));
  for (const a of alpha)
    for (let i = 0; i < J; i++)
      for (let mask = 0; mask < 2 ** J; mask++) if (mask & (1 << i)) a[mask]! -= a[mask ^ (1 << i)]!;
  return alpha;
}

/** g(|x|) of the fitted polynomial (0 outside the fitted range), at scale outScale / 2^shift. */
export function geluGapQ(p: GeluParams, a: bigint): bigint {
  const w = BigInt(p.segLow);
  const seg = a >> w;
  if (seg >= pow2(p.segBits)) return 0n;
  const t = a & (pow2(p.segLow) - 1n);
  const cs = p.coeffs[Number(seg)]!;
  const d = cs.length - 1;
  let g = 0n;
  let tp = 1n;
  for (let k = 0; k <= d; k++) {
    g += cs[k]! * tp * pow2(p.segLow * (d - k));
    tp *= t;
  }
  return g;
}

/** GELU of signed inputs: requantize(reluMul * relu(x) - g(|x|)) by 2^shift. */
export function geluQ(p: GeluParams, x: readonly bigint[]): bigint[] {
  checkSigned("gelu input", x, p.inBits);
  return x.map((v) => {
    const rl = v > 0n ? v : 0n;
    const a = v < 0n ? -v : v;
    return requantize(p.reluMul * rl - geluGapQ(p, a), 1n, p.shift, p.outBits, false);
  });
}

// ---------------------------------------------------------------- MatMul of two activations

export interface MatMulParams {
  n: number;
  k: number;
  m: number;
  aBits: number;
  bBits: number;
  M: bigint;
  s: number;
  Q: number;
  outBits: number;
}

export interface MatMulOptions {
  n: number;
  k: number;
  m: number;
  aBits: number;
  bBits: number;
  aScale: number;
  bScale: number;
  outBits: number;
  outScale: number;
  multiplierBits?: number;
}

export function matmulParams(o: MatMulOptions): MatMulParams {
  const n = checkInt("matmul n", o.n, 1, 1 << 20);
  const k = checkInt("matmul k", o.k, 1, 1 << 20);
  const m = checkInt("matmul m", o.m, 1, 1 << 20);
  const aBits = checkInt("matmul aBits", o.aBits, 2, 64);
  const bBits = checkInt("matmul bBits", o.bBits, 2, 64);
  const outBits = checkInt("matmul outBits", o.outBits, 2, 64);
  checkScale("matmul aScale", o.aScale);
  checkScale("matmul bScale", o.bScale);
  checkScale("matmul outScale", o.outScale);
  const { M, s } = multiplierFor((o.aScale * o.bScale) / o.outScale, checkInt("matmul multiplierBits", o.multiplierBits ?? 16, 1, 64));
  const accBound = BigInt(k) * pow2(aBits - 1) * pow2(bBits - 1);
  const Q = quotientBits(accBound, M, s);
  checkFieldBits("matmul", s + Q);
  return { n, k, m, aBits, bBits, M, s, Q, outBits };
}

/** A (n x k) times B (k x m), both row-major signed activations, each sum requantized. */
export function matmulQ(p: MatMulParams, a: readonly bigint[], b: readonly bigint[]): bigint[] {
  checkSigned("matmul A", a, p.aBits, p.n * p.k);
  checkSigned("matmul B", b, p.bBits, p.k * p.m);
  const out: bigint[] = [];
  for (let i = 0; i < p.n; i++)
    for (let j = 0; j < p.m; j++) {
      let acc = 0n;
      for (let l = 0; l < p.k; l++) acc += a[i * p.k + l]! * b[l * p.m + j]!;
      out.push(requantize(acc, p.M, p.s, p.outBits, false));
    }
  return out;
}
