// The circom transformer templates (circuits/lib/transformer.circom): each witness equals the integer reference of
// circuits/compiler/nonlinear.ts on random and edge inputs, and failing twins: any other output breaks a constraint,
// and an input out of range has no witness.
import { expect } from "chai";
import {
  expQ,
  expShift,
  geluAlpha,
  geluParams,
  geluQ,
  layerNormParams,
  layerNormQ,
  matmulParams,
  matmulQ,
  rsqrtQ,
  softmaxParams,
  softmaxQ,
} from "../../circuits/compiler/nonlinear.ts";
import { rng } from "../compiler/random-models.ts";
import { arr, compileCircom, expectNoWitness, expectOutputsPinned, fe, lib, signed, tamper, terminateCurve, violations, witness } from "./circom-helper.ts";

/** The wires holding `value` (how a test finds a hint wire without a symbol file); at least one. */
function wiresOf(w: readonly bigint[], value: bigint): number[] {
  const idx = w.flatMap((v, i) => (v === fe(value) ? [i] : []));
  expect(idx, `no wire holds ${value}`).to.have.length.above(0);
  return idx;
}

/** A main template over `n` inputs of `bits`, range-checked (as a circuit's activations are), then `body`. */
const wrap = (n: number, bits: number, decl: string, body: string): string => `template T() { signal input x[${n}]; ${decl}
  component rc[${n}]; for (var i = 0; i < ${n}; i++) { rc[i] = SignedRange(${bits}); rc[i].in <== x[i]; }
  ${body} }
component main = T();`;

const randSigned = (r: () => number, bits: number, n: number, spread = 1): bigint[] =>
  Array.from({ length: n }, () => BigInt(Math.floor((r() * 2 - 1) * spread * (2 ** (bits - 1) - 1))));

describe("circom transformer templates", function () {
  this.timeout(600_000);
  after(terminateCurve);

  it("Softmax: equals softmaxQ (random, all equal, one huge, extremes); outputs and the reciprocal hint pinned; out-of-range input has no witness", async function () {
    const n = 5;
    const bits = 12;
    const p = softmaxParams({ n, inBits: bits, inScale: 1 / 128 });
    const eBits = (BigInt(n) << BigInt(p.expFrac)).toString(2).length;
    const args = [n, bits, p.expMul, p.expDrop, p.expFracBits, p.shiftBits, p.wBits, p.expFrac, p.poly.length - 1, arr(p.poly), p.recipBits, p.outFrac, eBits];
    expect(expShift(p)).to.be.above(0);
    const c = compileCircom(`${lib("transformer.circom")}
${wrap(n, bits, `signal output y[${n}];`, `component s = Softmax(${args.join(", ")}); s.in <== x; y <== s.out;`)}`, "softmax");
    const r = rng(31);
    const cases = [[3n, 3n, 3n, 3n, 3n], [2047n, -2048n, -2048n, -2048n, -2048n], [-2048n, 2047n, -2048n, 2047n, 0n], [-5n, -900n, -1n, -300n, -2000n]];
    for (let k = 0; k < 4; k++) cases.push(randSigned(r, bits, n, k % 2 ? 0.1 : 1));
    for (const x of cases) {
      const w = await witness(c, { x: x.map(String) });
      expect(w.slice(1, 1 + n), x.join(",")).to.deep.equal(softmaxQ(p, x));
      expectOutputsPinned(c, w, r);
      // the reciprocal hint q = floor(2^R / sum e), shifted by +-1, breaks a constraint
      let E = 0n;
      for (const v of x) E += expQ(p, x.reduce((a, b) => (a > b ? a : b)) - v);
      for (const i of wiresOf(w, (1n << BigInt(p.recipBits)) / E))
        for (const d of [1n, -1n]) expect(violations(c, tamper(w, i, fe(w[i]! + d))), `reciprocal wire ${i} ${d}`).to.have.length.above(0);
    }
    await expectNoWitness(c, { x: ["2048", "0", "0", "0", "0"] });
  });

  it("LayerNorm: equals layerNormQ (random, zero variance, extremes); outputs and the rsqrt hint pinned", async function () {
    const n = 8;
    const bits = 12;
    const r = rng(32);
    const gamma = Array.from({ length: n }, () => 0.5 + r());
    const beta = Array.from({ length: n }, () => r() - 0.5);
    const p = layerNormParams({ n, inBits: bits, inScale: 1 / 128, gamma, beta, eps: 1e-5, outBits: 12, outScale: 1 / 256 });
    const c = compileCircom(`${lib("transformer.circom")}
${wrap(n, bits, `signal output y[${n}];`, `component l = LayerNorm(${[n, arr(p.gamma), arr(p.bias), p.epsQ, p.K, p.M, p.s, p.Q, p.outBits, p.hiBits].join(", ")}); l.in <== x; y <== l.out;`)}`, "layernorm");
    const cases = [new Array(n).fill(-7n), [2047n, ...new Array(n - 1).fill(-2048n)], Array.from({ length: n }, (_, i) => (i % 2 ? 2047n : -2048n))];
    for (let k = 0; k < 4; k++) cases.push(randSigned(r, bits, n, k % 2 ? 0.02 : 1));
    for (const x of cases) {
      const w = await witness(c, { x: x.map(String) });
      expect(w.slice(1, 1 + n).map(signed), x.join(",")).to.deep.equal(layerNormQ(p, x));
      expectOutputsPinned(c, w, r);
      // the rsqrt hint, shifted by +-1, breaks a constraint
      const S = x.reduce((a, b) => a + b, 0n);
      const V = x.reduce((a, v) => a + (BigInt(n) * v - S) ** 2n, 0n);
      for (const i of wiresOf(w, rsqrtQ(p.K, V + p.epsQ)))
        for (const d of [1n, -1n]) expect(violations(c, tamper(w, i, fe(w[i]! + d))), `rsqrt wire ${i} ${d}`).to.have.length.above(0);
    }
  });

  it("Gelu: equals geluQ (both ends, around 0, inside and beyond the fitted range); outputs pinned", async function () {
    const bits = 12;
    const xs = [-2048n, -2047n, -1000n, -600n, -513n, -1n, 0n, 1n, 100n, 300n, 511n, 512n, 2047n];
    for (const form of ["erf", "tanh"] as const) {
      const p = geluParams({ inBits: bits, inScale: 1 / 128, outBits: 12, outScale: 1 / 128, form });
      const alpha = geluAlpha(p).map((a) => arr(a));
      const n = xs.length;
      const c = compileCircom(`${lib("transformer.circom")}
${wrap(n, bits, `signal output y[${n}];`, `component g[${n}]; for (var i = 0; i < ${n}; i++) { g[i] = Gelu(${[bits, p.segLow, p.segBits, p.coeffs[0]!.length - 1, `[${alpha.join(",")}]`, p.reluMul, p.shift, p.Q, p.outBits].join(", ")}); g[i].in <== x[i]; y[i] <== g[i].out; }`)}`, `gelu-${form}`);
      const w = await witness(c, { x: xs.map(String) });
      expect(w.slice(1, 1 + n).map(signed), form).to.deep.equal(geluQ(p, xs));
      expectOutputsPinned(c, w, rng(33));
    }
  });

  it("MatMul: equals matmulQ (random, saturating, lowest); outputs pinned", async function () {
    const [n, k, m] = [2, 3, 2];
    const p = matmulParams({ n, k, m, aBits: 12, bBits: 12, aScale: 1 / 128, bScale: 1 / 128, outBits: 12, outScale: 1 / 64 });
    const c = compileCircom(`${lib("transformer.circom")}
${wrap(n * k + k * m, 12, `signal output y[${n}][${m}];`, `component mm = MatMul(${[n, k, m, p.M, p.s, p.Q, p.outBits].join(", ")});
  for (var i = 0; i < ${n}; i++) for (var l = 0; l < ${k}; l++) mm.a[i][l] <== x[i * ${k} + l];
  for (var l = 0; l < ${k}; l++) for (var j = 0; j < ${m}; j++) mm.b[l][j] <== x[${n * k} + l * ${m} + j];
  y <== mm.out;`)}`, "matmul");
    const r = rng(34);
    const cases = [new Array(n * k + k * m).fill(2047n), new Array(n * k + k * m).fill(-2048n)];
    for (let t = 0; t < 4; t++) cases.push(randSigned(r, 12, n * k + k * m, 0.3));
    for (const x of cases) {
      const w = await witness(c, { x: x.map(String) });
      expect(w.slice(1, 1 + n * m).map(signed)).to.deep.equal(matmulQ(p, x.slice(0, n * k), x.slice(n * k)));
      expectOutputsPinned(c, w, r);
    }
  });
});
