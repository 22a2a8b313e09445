// The transformer primitives: the direct-route gadgets (gadgets-nonlinear.ts) against the integer reference
// (nonlinear.ts) on many seeded random vectors and edge values: the witness satisfies the R1CS, its outputs equal the
// reference, the constraint system does not depend on the input, and every tampered hint or output breaks a constraint.
// The reference is also held to its float error bounds.
import { expect } from "chai";
import { Builder, konst, lin, sum, type Lin } from "../../circuits/compiler/emit.ts";
import { expGadget, geluGadget, layerNormGadget, matmulGadget, softmaxGadget } from "../../circuits/compiler/gadgets-nonlinear.ts";
import {
  expQ,
  geluFloat,
  geluParams,
  geluQ,
  isqrt,
  layerNormParams,
  layerNormQ,
  matmulParams,
  matmulQ,
  rsqrtQ,
  softmaxParams,
  softmaxQ,
} from "../../circuits/compiler/nonlinear.ts";
import { OverflowError } from "../../circuits/compiler/quantize.ts";
import { violatedConstraints, type Constraint } from "../../circuits/compiler/r1cs.ts";
import { rng } from "./random-models.ts";

interface Built {
  r1cs: { constraints: Constraint[]; nWires: number };
  witness: bigint[];
  /** The outputs, each bound to a wire of its own (as a circuit binds its public outputs). */
  outWires: number[];
  outputs: bigint[];
}

/**
 * A circuit of one gadget: the inputs (signed `bits[i]` wide) are private wires, range-checked; `body` adds the
 * gadget and returns its outputs, which get a wire each. Constraints are kept in memory.
 */
function build(inputs: bigint[], bits: number[], body: (cs: Builder, x: Lin[]) => Lin[]): Built {
  const constraints: Constraint[] = [];
  const cs = new Builder({ add: (a, b, c) => constraints.push({ a, b, c }) }, true, false);
  const x = inputs.map((v) => lin(cs.alloc(() => v)));
  x.forEach((l, i) => cs.decompose(sum([l, 1n], [konst(1n << BigInt(bits[i]! - 1)), 1n]), bits[i]!, "input range"));
  const out = body(cs, x);
  const outWires = out.map((l) => [...cs.materialize(l, "output").keys()][0]!);
  const witness = cs.values!;
  return { r1cs: { constraints, nWires: cs.nWires }, witness, outWires, outputs: outWires.map((w) => witness[w]!) };
}

/**
 * The same circuit in check mode, for large input sets: every constraint is checked against the witness as it is
 * added (throws on the first violated one); returns the outputs.
 */
function checked(inputs: bigint[], bits: number, body: (cs: Builder, x: Lin[]) => Lin[]): bigint[] {
  const cs = new Builder(null, true, true);
  const x = inputs.map((v) => lin(cs.alloc(() => v)));
  x.forEach((l) => cs.decompose(sum([l, 1n], [konst(1n << BigInt(bits - 1)), 1n]), bits, "input range"));
  return body(cs, x).map((l) => cs.val(l));
}

/**
 * A cheating prover: the value of wire `target` is shifted by `delta`, and everything after it is recomputed from
 * that value by the gadget's own code, with every bit decomposition taken mod 2^n (the best boolean bits there are
 * for a value that no longer fits) and a hint that cannot be computed set to 0. The constraint system must reject
 * the result.
 */
class CheatBuilder extends Builder {
  constructor(
    sink: { add: (a: Constraint["a"], b: Constraint["b"], c: Constraint["c"]) => void },
    private readonly target: number,
    private readonly delta: bigint,
  ) {
    super(sink, true, false);
  }
  override alloc(value: () => bigint): number {
    // a hint the honest code cannot compute from the cheated values (a division by zero) is set to 0
    const safe = (): bigint => {
      try {
        return value();
      } catch {
        return 0n;
      }
    };
    return super.alloc(this.nWires === this.target ? () => value() + this.delta : safe);
  }
  override bits(value: bigint, n: number, what: string): number[] {
    const m = 1n << BigInt(n);
    return super.bits(((value % m) + m) % m, n, what);
  }
}

/** Builds the circuit with wire `target` shifted by delta and the rest recomputed; returns the violated constraints. */
function cheat(inputs: bigint[], bits: number, target: number, delta: bigint, body: (cs: Builder, x: Lin[]) => unknown): number[] {
  const constraints: Constraint[] = [];
  const cs = new CheatBuilder({ add: (a, b, c) => constraints.push({ a, b, c }) }, target, delta);
  const x = inputs.map((v) => lin(cs.alloc(() => v)));
  x.forEach((l) => cs.decompose(sum([l, 1n], [konst(1n << BigInt(bits - 1)), 1n]), bits, "input range"));
  body(cs, x);
  return violatedConstraints({ constraints, nWires: cs.nWires }, cs.values!);
}

/** The circuit's shape as text: equal for two inputs iff the constraint system is the same. */
const shape = (b: Built): string => JSON.stringify(b.r1cs, (_, v) => (typeof v === "bigint" ? v.toString() : v));

/** Witness with wire w shifted by delta must violate a constraint. */
function expectRejected(b: Built, w: number, delta: bigint, ctx: string): void {
  const t = [...b.witness];
  t[w] = t[w]! + delta;
  expect(violatedConstraints(b.r1cs, t), `${ctx}: wire ${w} ${delta > 0n ? "+" : ""}${delta}`).to.have.length.above(0);
}

const randSigned = (r: () => number, bits: number, n: number, spread = 1): bigint[] =>
  Array.from({ length: n }, () => BigInt(Math.floor((r() * 2 - 1) * spread * (2 ** (bits - 1) - 1))));

describe("transformer primitives (direct route)", function () {
  this.timeout(300_000);

  describe("softmax", () => {
    const bits = 12;
    const p = softmaxParams({ n: 17, inBits: bits, inScale: 1 / 64 });
    const lo = -(1n << BigInt(bits - 1));
    const hi = (1n << BigInt(bits - 1)) - 1n;
    const edges: [string, bigint[]][] = [
      ["all equal", new Array(17).fill(5n)],
      ["all zero", new Array(17).fill(0n)],
      ["one huge", [hi, ...new Array(16).fill(lo)]],
      ["range extremes", Array.from({ length: 17 }, (_, i) => (i % 2 ? hi : lo))],
      ["negatives", Array.from({ length: 17 }, (_, i) => -BigInt(i * 37) - 100n)],
      ["two maxima", [7n, 300n, -2n, 300n, ...new Array(13).fill(-900n)]],
    ];
    const r = rng(11);
    const cases: [string, bigint[]][] = [...edges];
    for (let k = 0; k < 40; k++) cases.push([`random ${k}`, randSigned(r, bits, 17, k % 4 === 0 ? 0.05 : k % 4 === 1 ? 0.3 : 1)]);

    it("witness == softmaxQ on random vectors and edge values; one constraint system; hints and outputs pinned", () => {
      let first: string | undefined;
      for (const [name, x] of cases) {
        let sw: ReturnType<typeof softmaxGadget> | undefined;
        const b = build(x, new Array(17).fill(bits), (cs, xs) => (sw = softmaxGadget(cs, p, xs)).y);
        expect(violatedConstraints(b.r1cs, b.witness), name).to.deep.equal([]);
        expect(b.outputs, name).to.deep.equal(softmaxQ(p, x));
        const s = shape(b);
        first ??= s;
        expect(s === first, `${name}: the constraint system depends on the input`).to.equal(true);
        if (name.startsWith("random") && !name.endsWith(" 0") && !name.endsWith(" 1")) continue; // twins on a sample
        for (const d of [1n, -1n]) {
          expectRejected(b, sw!.recip, d, `${name} reciprocal`);
          expectRejected(b, [...sw!.max.keys()][0]!, d, `${name} max`);
          b.outWires.forEach((w) => expectRejected(b, w, d, `${name} output`));
        }
      }
    });

    it("a prover who shifts the reciprocal or the max by +-1 and recomputes the rest consistently is rejected", () => {
      for (const [name, x] of cases.slice(0, 10)) {
        let recip = -1;
        let max = -1;
        build(x, new Array(17).fill(bits), (cs, xs) => {
          const w = softmaxGadget(cs, p, xs);
          recip = w.recip;
          max = [...w.max.keys()][0]!;
          return w.y;
        });
        for (const d of [1n, -1n, 2n]) expect(cheat(x, bits, recip, d, (cs, xs) => softmaxGadget(cs, p, xs)), `${name} reciprocal ${d}`).to.have.length.above(0);
        for (const d of [1n, -1n]) expect(cheat(x, bits, max, d, (cs, xs) => softmaxGadget(cs, p, xs)), `${name} max ${d}`).to.have.length.above(0);
        // the honest run through the same cheating builder (delta 0) is accepted: the twin is sharp
        expect(cheat(x, bits, recip, 0n, (cs, xs) => softmaxGadget(cs, p, xs)), name).to.deep.equal([]);
      }
    });

    it("other lengths and widths (n = 1, 2, 3, 64; 8- and 16-bit inputs): witness == softmaxQ", () => {
      const r = rng(12);
      for (const [n, b, scale] of [[1, 12, 1 / 64], [2, 12, 1 / 64], [3, 8, 1 / 8], [64, 12, 1 / 128], [17, 16, 1 / 2048]] as const) {
        const q = softmaxParams({ n, inBits: b, inScale: scale });
        for (let k = 0; k < 6; k++) {
          const x = k === 0 ? new Array<bigint>(n).fill(-(1n << BigInt(b - 1))) : randSigned(r, b, n, k % 2 ? 1 : 0.1);
          const y = checked(x, b, (cs, xs) => softmaxGadget(cs, q, xs).y);
          expect(y, `n ${n} bits ${b}`).to.deep.equal(softmaxQ(q, x));
          if (n === 1) expect(y).to.deep.equal([1n << BigInt(q.outFrac)]);
        }
      }
    });

    it("exp is exact at 0 and matches 2^F exp(-z s) within its error bound everywhere", () => {
      expect(expQ(p, 0n)).to.equal(1n << 16n);
      let worst = 0;
      for (let z = 0n; z < 1n << BigInt(bits); z++) {
        const err = Math.abs(Number(expQ(p, z)) / 2 ** 16 - Math.exp(-Number(z) / 64));
        worst = Math.max(worst, err);
      }
      expect(worst).to.be.below(2e-4);
      // every exp value the circuit can take equals the reference: the gadget alone on all z in [0, 2^12)
      const zs = Array.from({ length: 1 << bits }, (_, i) => BigInt(i));
      expect(checked(zs, bits + 1, (cs, xs) => xs.map((z) => expGadget(cs, p, z, "exp")))).to.deep.equal(zs.map((z) => expQ(p, z)));
    });

    it("probabilities are within 2^-11 of float softmax on random logits", () => {
      const rr = rng(5);
      let worst = 0;
      for (let k = 0; k < 200; k++) {
        const x = randSigned(rr, bits, 17, 0.3);
        const f = x.map((v) => Number(v) / 64);
        const m = Math.max(...f);
        const ex = f.map((v) => Math.exp(v - m));
        const tot = ex.reduce((a, b) => a + b, 0);
        softmaxQ(p, x).forEach((y, i) => (worst = Math.max(worst, Math.abs(Number(y) / 2 ** 12 - ex[i]! / tot))));
      }
      expect(worst).to.be.below(2 ** -11);
    });

    it("rejects bad input with a clear error", () => {
      expect(() => softmaxQ(p, [1n, 2n])).to.throw(/2 values, expected 17/);
      expect(() => softmaxQ(p, [...new Array(16).fill(0n), 1n << 11n])).to.throw(/value 16 = 2048 does not fit in 12 signed bits/);
      expect(() => softmaxParams({ n: 17, inBits: 12, inScale: 0 })).to.throw(/inScale must be a positive/);
      expect(() => softmaxParams({ n: 17, inBits: 12, inScale: 1 / 64, expFrac: 128, expFracBits: 20, degree: 6 })).to.throw(OverflowError);
    });
  });

  describe("LayerNorm", () => {
    for (const n of [32, 64]) {
      it(`n = ${n}: witness == layerNormQ on random vectors and edge values (zero variance too); rsqrt and outputs pinned`, () => {
        const bits = 12;
        const r = rng(n);
        const gamma = Array.from({ length: n }, () => 0.5 + r());
        const beta = Array.from({ length: n }, () => r() - 0.5);
        const p = layerNormParams({ n, inBits: bits, inScale: 1 / 128, gamma, beta, eps: 1e-5, outBits: 12, outScale: 1 / 256 });
        const lo = -(1n << BigInt(bits - 1));
        const hi = (1n << BigInt(bits - 1)) - 1n;
        const cases: [string, bigint[]][] = [
          ["zero variance", new Array(n).fill(17n)],
          ["all zero", new Array(n).fill(0n)],
          ["all lowest", new Array(n).fill(lo)],
          ["one huge", [hi, ...new Array(n - 1).fill(lo)]],
          ["range extremes", Array.from({ length: n }, (_, i) => (i % 2 ? hi : lo))],
          ["one step", [1n, ...new Array(n - 1).fill(0n)]],
          ["negatives", Array.from({ length: n }, (_, i) => -BigInt(i * 13) - 1n)],
        ];
        for (let k = 0; k < 20; k++) cases.push([`random ${k}`, randSigned(r, bits, n, k % 3 === 0 ? 0.02 : 1)]);
        let first: string | undefined;
        for (const [name, x] of cases) {
          let lw: ReturnType<typeof layerNormGadget> | undefined;
          const b = build(x, new Array(n).fill(bits), (cs, xs) => (lw = layerNormGadget(cs, p, xs)).y);
          expect(violatedConstraints(b.r1cs, b.witness), name).to.deep.equal([]);
          expect(b.outputs, name).to.deep.equal(layerNormQ(p, x));
          const s = shape(b);
          first ??= s;
          expect(s === first, `${name}: the constraint system depends on the input`).to.equal(true);
          if (name.startsWith("random") && !name.endsWith(" 0")) continue;
          for (const d of [1n, -1n]) {
            expectRejected(b, lw!.rsqrt, d, `${name} rsqrt`);
            b.outWires.slice(0, 4).forEach((w) => expectRejected(b, w, d, `${name} output`));
          }
        }
        // zero variance: the output is beta
        const flat = layerNormQ(p, new Array(n).fill(-3n));
        flat.forEach((y, i) => expect(Math.abs(Number(y) / 256 - beta[i]!)).to.be.at.most(1 / 256));
      });
    }

    it("a prover who shifts the rsqrt hint by +-1 and recomputes the rest consistently is rejected (zero variance too)", () => {
      const n = 32;
      const r = rng(77);
      const p = layerNormParams({ n, inBits: 12, inScale: 1 / 128, gamma: new Array(n).fill(1), beta: new Array(n).fill(0.25), eps: 1e-5, outBits: 12, outScale: 1 / 256 });
      const cases = [new Array(n).fill(3n), [2047n, ...new Array(n - 1).fill(-2048n)], ...Array.from({ length: 6 }, () => randSigned(r, 12, n))];
      for (const x of cases) {
        let rs = -1;
        build(x, new Array(n).fill(12), (cs, xs) => {
          const w = layerNormGadget(cs, p, xs);
          rs = w.rsqrt;
          return w.y;
        });
        for (const d of [1n, -1n, 1n << 20n]) expect(cheat(x, 12, rs, d, (cs, xs) => layerNormGadget(cs, p, xs)), `${x.slice(0, 3).join(",")} rsqrt ${d}`).to.have.length.above(0);
        expect(cheat(x, 12, rs, 0n, (cs, xs) => layerNormGadget(cs, p, xs))).to.deep.equal([]);
      }
    });

    it("other lengths (n = 1, 2, 5) and 8-bit inputs: witness == layerNormQ", () => {
      const r = rng(13);
      for (const [n, b] of [[1, 12], [2, 12], [5, 8]] as const) {
        const p = layerNormParams({ n, inBits: b, inScale: 1 / 16, gamma: Array.from({ length: n }, () => r() * 2 - 1), beta: Array.from({ length: n }, () => r() - 0.5), eps: 1e-3, outBits: 10, outScale: 1 / 64 });
        for (let k = 0; k < 6; k++) {
          const x = randSigned(r, b, n, k % 2 ? 1 : 0.05);
          expect(checked(x, b, (cs, xs) => layerNormGadget(cs, p, xs).y), `n ${n}`).to.deep.equal(layerNormQ(p, x));
        }
      }
    });

    it("rsqrt is floor(2^K / sqrt(v)) exactly, and the output tracks float LayerNorm", () => {
      for (const v of [1n, 2n, 3n, 4n, 99n, 100n, 101n, (1n << 40n) + 12345n]) {
        const r = rsqrtQ(20, v);
        expect(r * r * v <= 1n << 40n && (r + 1n) * (r + 1n) * v > 1n << 40n, `v = ${v}`).to.equal(true);
      }
      expect(isqrt(10n ** 30n)).to.equal(10n ** 15n);
      const n = 32;
      const r = rng(3);
      const gamma = Array.from({ length: n }, () => 0.5 + r());
      const beta = Array.from({ length: n }, () => r() - 0.5);
      const p = layerNormParams({ n, inBits: 12, inScale: 1 / 128, gamma, beta, eps: 1e-5, outBits: 12, outScale: 1 / 256 });
      let worst = 0;
      for (let k = 0; k < 100; k++) {
        const x = randSigned(r, 12, n, 0.5);
        const f = x.map((v) => Number(v) / 128);
        const mean = f.reduce((a, b) => a + b, 0) / n;
        const vr = f.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
        layerNormQ(p, x).forEach((y, i) => {
          const fl = (gamma[i]! * (f[i]! - mean)) / Math.sqrt(vr + 1e-5) + beta[i]!;
          worst = Math.max(worst, Math.abs(Number(y) / 256 - fl));
        });
      }
      expect(worst).to.be.below(0.75 / 256);
    });

    it("rejects bad input with a clear error", () => {
      const base = { n: 4, inBits: 12, inScale: 1 / 128, gamma: [1, 1, 1, 1], beta: [0, 0, 0, 0], outBits: 12, outScale: 1 / 256 };
      expect(() => layerNormParams({ ...base, eps: 0 })).to.throw(/eps must be a positive number/);
      expect(() => layerNormParams({ ...base, eps: 1e-5, gamma: [1] })).to.throw(/gamma has 1 and beta 4 values, expected 4/);
      expect(() => layerNormParams({ ...base, eps: 1e-5, inBits: 64, rsqrtBits: 64 })).to.throw(OverflowError);
      const p = layerNormParams({ ...base, eps: 1e-5 });
      expect(() => layerNormQ(p, [0n, 0n, 0n, 5000n])).to.throw(/value 3 = 5000 does not fit in 12 signed bits/);
      expect(() => rsqrtQ(10, 0n)).to.throw(/at least 1/);
    });
  });

  describe("GELU", () => {
    for (const form of ["erf", "tanh"] as const) {
      it(`${form} form: witness == geluQ on every 12-bit input; relu and outputs pinned; error against float`, () => {
        const bits = 12;
        const p = geluParams({ inBits: bits, inScale: 1 / 128, outBits: 12, outScale: 1 / 128, form });
        const xs = Array.from({ length: 1 << bits }, (_, i) => BigInt(i) - (1n << BigInt(bits - 1)));
        const ref = geluQ(p, xs);
        expect(checked(xs, bits, (cs, x) => geluGadget(cs, p, x).y)).to.deep.equal(ref);
        // tampering, on a circuit of a few inputs: both ends, around 0, inside and beyond the fitted range
        const few = [-2048n, -2047n, -1000n, -600n, -1n, 0n, 1n, 300n, 511n, 512n, 2047n];
        let gw: ReturnType<typeof geluGadget> | undefined;
        const b = build(few, new Array(few.length).fill(bits), (cs, x) => (gw = geluGadget(cs, p, x)).y);
        expect(violatedConstraints(b.r1cs, b.witness)).to.deep.equal([]);
        expect(b.outputs).to.deep.equal(geluQ(p, few));
        few.forEach((x, i) => {
          for (const d of [1n, -1n]) {
            expectRejected(b, b.outWires[i]!, d, `x = ${x} output`);
            expectRejected(b, gw!.relu[i]!, d, `x = ${x} relu`);
          }
        });
        let worst = 0;
        xs.forEach((x, i) => (worst = Math.max(worst, Math.abs(Number(ref[i]!) / 128 - geluFloat(Number(x) / 128, form)))));
        // half an output step of rounding plus the fit and clamp error
        expect(worst).to.be.below(0.75 / 128);
      });
    }

    it("a different input range: 10-bit inputs at a coarse scale, one constraint system for all inputs", () => {
      const p = geluParams({ inBits: 10, inScale: 1 / 16, outBits: 10, outScale: 1 / 32 });
      const r = rng(9);
      let first: string | undefined;
      for (let k = 0; k < 5; k++) {
        const xs = randSigned(r, 10, 64);
        const b = build(xs, new Array(64).fill(10), (cs, x) => geluGadget(cs, p, x).y);
        expect(violatedConstraints(b.r1cs, b.witness)).to.deep.equal([]);
        expect(b.outputs).to.deep.equal(geluQ(p, xs));
        first ??= shape(b);
        expect(shape(b) === first).to.equal(true);
      }
    });

    it("coarse and fine scales (no low bits, one segment, degree 1 and 3): witness == geluQ on every input", () => {
      for (const o of [
        { inBits: 8, inScale: 1, outBits: 8, outScale: 1 / 4 },
        { inBits: 8, inScale: 1 / 4, outBits: 8, outScale: 1 / 8, segBits: 0, degree: 3 },
        { inBits: 9, inScale: 1 / 64, outBits: 9, outScale: 1 / 64, segBits: 2, degree: 1, form: "tanh" as const },
      ]) {
        const p = geluParams(o);
        const xs = Array.from({ length: 1 << o.inBits }, (_, i) => BigInt(i) - (1n << BigInt(o.inBits - 1)));
        expect(checked(xs, o.inBits, (cs, x) => geluGadget(cs, p, x).y), JSON.stringify(o)).to.deep.equal(geluQ(p, xs));
      }
    });

    it("rejects bad input with a clear error", () => {
      expect(() => geluParams({ inBits: 12, inScale: 1 / 128, outBits: 12, outScale: 1 / 128, form: "relu" as "erf" })).to.throw(/form must be "erf" or "tanh"/);
      const p = geluParams({ inBits: 12, inScale: 1 / 128, outBits: 12, outScale: 1 / 128 });
      expect(() => geluQ(p, [-2049n])).to.throw(/value 0 = -2049 does not fit in 12 signed bits/);
    });
  });

  describe("MatMul of two activations", () => {
    it("witness == matmulQ on random and extreme matrices; products and outputs pinned", () => {
      const [n, k, m] = [3, 8, 4];
      const p = matmulParams({ n, k, m, aBits: 12, bBits: 12, aScale: 1 / 128, bScale: 1 / 128, outBits: 12, outScale: 1 / 64 });
      const r = rng(4);
      const hi = 2047n;
      const lo = -2048n;
      const cases: [string, bigint[], bigint[]][] = [
        ["extremes (saturates)", new Array(n * k).fill(hi), new Array(k * m).fill(hi)],
        ["lowest x lowest", new Array(n * k).fill(lo), new Array(k * m).fill(lo)],
        ["mixed signs", new Array(n * k).fill(lo), new Array(k * m).fill(hi)],
        ["zero", new Array(n * k).fill(0n), new Array(k * m).fill(0n)],
      ];
      for (let t = 0; t < 20; t++) cases.push([`random ${t}`, randSigned(r, 12, n * k, 0.2), randSigned(r, 12, k * m, 0.2)]);
      let first: string | undefined;
      for (const [name, a, bm] of cases) {
        const b = build([...a, ...bm], new Array(n * k + k * m).fill(12), (cs, x) => matmulGadget(cs, p, x.slice(0, n * k), x.slice(n * k)));
        expect(violatedConstraints(b.r1cs, b.witness), name).to.deep.equal([]);
        expect(b.outputs, name).to.deep.equal(matmulQ(p, a, bm));
        first ??= shape(b);
        expect(shape(b) === first, name).to.equal(true);
        for (const d of [1n, -1n]) b.outWires.forEach((w) => expectRejected(b, w, d, `${name} output`));
        // the first product wire (after the inputs and their range checks)
        expectRejected(b, (n * k + k * m) * 13 + 1, 1n, `${name} product`);
      }
      expect(matmulQ(p, new Array(n * k).fill(hi), new Array(k * m).fill(hi))[0]).to.equal(2047n);
      expect(() => matmulQ(p, [1n], [])).to.throw(/matmul A: 1 values, expected 24/);
    });
  });
});
