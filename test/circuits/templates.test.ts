// Every template in circuits/lib/: a passing witness that matches the reference engine, and failing twins —
// for the same inputs, a witness carrying any other output breaks a constraint (or cannot be computed at all).
import { expect } from "chai";
import { requantize, runOp } from "../../circuits/compiler/engine.ts";
import type { QLinear, QMaxPool } from "../../circuits/compiler/quantize.ts";
import { hashVector, packSigned, poseidonSponge } from "../../sdk/hash.ts";
import { rng } from "../compiler/random-models.ts";
import { arr, compileCircom, expectNoWitness, expectOutputsPinned, fe, lib, signed, terminateCurve, witness } from "./circom-helper.ts";

describe("circom template library", function () {
  this.timeout(300_000);
  after(terminateCurve);

  it("Num2Bits (circomlib) / SignedRange: decompose in range, reject out of range, pin every bit", async function () {
    const c = compileCircom(`${lib("bits.circom")}
template T() { signal input a; signal input b; signal output bits[8]; signal output sign;
  component x = Num2Bits(8); x.in <== a; bits <== x.out;
  component s = SignedRange(8); s.in <== b; sign <== s.sign; }
component main = T();`, "bits");
    const r = rng(1);
    for (const [a, b] of [[0, -128], [255, 127], [77, 0], [128, -1]] as const) {
      const w = await witness(c, { a, b });
      expect(w.slice(1, 9)).to.deep.equal(Array.from({ length: 8 }, (_, i) => BigInt((a >> i) & 1)));
      expect(w[9]).to.equal(b >= 0 ? 1n : 0n);
      expectOutputsPinned(c, w, r);
    }
    await expectNoWitness(c, { a: 256, b: 0 });
    await expectNoWitness(c, { a: -1, b: 0 });
    await expectNoWitness(c, { a: 0, b: 128 });
    await expectNoWitness(c, { a: 0, b: -129 });
  });

  it("Requantize: equals the engine for plain, relu, saturating and saturating-relu configurations", async function () {
    // [s, Q, outBits, relu]
    const configs = [[6, 6, 8, 0], [6, 6, 8, 1], [5, 12, 8, 0], [5, 12, 8, 1], [0, 10, 8, 0], [1, 9, 9, 1]] as const;
    const body = configs.map(([s, Q, b, relu], i) => `component r${i} = Requantize(${s}, ${Q}, ${b}, ${relu}); r${i}.in <== x[${i}]; y[${i}] <== r${i}.out;`).join("\n  ");
    const c = compileCircom(`${lib("requantize.circom")}
template T() { signal input x[${configs.length}]; signal output y[${configs.length}];
  ${body} }
component main = T();`, "requantize");
    const r = rng(2);
    for (let trial = 0; trial < 12; trial++) {
      // inputs spanning the whole range the overflow analysis allows: |floor((x + 2^(s-1)) / 2^s)| < 2^(Q-1)
      const xs = configs.map(([s, Q]) => {
        const lim = 2 ** (Q - 1 + s) - 2 ** Math.max(0, s - 1) - 1;
        const edge = trial === 0 ? -lim : trial === 1 ? lim : trial === 2 ? 0 : Math.round((r() * 2 - 1) * lim);
        return BigInt(edge);
      });
      const w = await witness(c, { x: xs.map(String) });
      const expected = configs.map(([s, , b, relu], i) => requantize(xs[i]!, 1n, s, b, relu === 1));
      expect(w.slice(1, 1 + configs.length).map(signed)).to.deep.equal(expected);
      expectOutputsPinned(c, w, r);
    }
    // outside the analysed range there is no witness (the bit decomposition cannot hold it)
    await expectNoWitness(c, { x: [2 ** 11, 0, 0, 0, 0, 0].map(String) });
  });

  it("Dense (constant and committed weights): equals the engine", async function () {
    const r = rng(3);
    const nIn = 5;
    const nOut = 3;
    const W = Array.from({ length: nIn * nOut }, () => Math.round((r() * 2 - 1) * 127));
    const B = Array.from({ length: nOut }, () => BigInt(Math.round((r() * 2 - 1) * 2000)));
    const M = [1500n, 2100n, 3000n];
    const S = [16, 16, 17];
    const Q = [14, 14, 14];
    const op: QLinear = {
      kind: "linear", name: "d", source: "dense", inShape: [nIn], outShape: [nOut], weight: W, bias: B.map(String),
      multiplier: M.map(String), shift: S, qBits: Q, relu: true, inBits: 8, outBits: 8, inScale: 1, outScale: 1, weightScale: [1, 1, 1], accBound: ["0", "0", "0"],
    };
    const rows = Array.from({ length: nOut }, (_, o) => arr(W.slice(o * nIn, (o + 1) * nIn)));
    const c = compileCircom(`${lib("dense.circom")}
function Wt() { var w[${nOut}][${nIn}] = [${rows.join(",")}]; return w; }
template T() { signal input x[${nIn}]; signal input w[${nOut}][${nIn}]; signal input b[${nOut}]; signal output y[${nOut}]; signal output z[${nOut}];
  component d = Dense(${nIn}, ${nOut}, Wt(), ${arr(B)}, ${arr(M)}, ${arr(S)}, ${arr(Q)}, 8, 1); d.in <== x; y <== d.out;
  component e = DenseCommitted(${nIn}, ${nOut}, ${arr(M)}, ${arr(S)}, ${arr(Q)}, 8, 1); e.in <== x; e.w <== w; e.b <== b; z <== e.out; }
component main = T();`, "dense");
    for (let trial = 0; trial < 6; trial++) {
      const x = Array.from({ length: nIn }, () => BigInt(Math.round((r() * 2 - 1) * 127)));
      const w = await witness(c, { x: x.map(String), w: rows.map((row) => JSON.parse(row) as number[]), b: B.map(String) });
      const expected = runOp(op, [x]);
      expect(w.slice(1, 1 + nOut).map(signed)).to.deep.equal(expected);
      expect(w.slice(1 + nOut, 1 + 2 * nOut).map(signed)).to.deep.equal(expected);
      expectOutputsPinned(c, w, r);
    }
  });

  it("Conv2D, MaxPool, AvgPool: equal the engine (padding, stride 2)", async function () {
    const r = rng(4);
    const [C, H, W, OC] = [2, 5, 5, 2];
    const Wt = Array.from({ length: OC * C * 9 }, () => Math.round((r() * 2 - 1) * 127));
    const B = [BigInt(300), BigInt(-700)];
    const conv: QLinear = {
      kind: "linear", name: "c", source: "conv", inShape: [C, H, W], outShape: [OC, 3, 3], kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1],
      weight: Wt, bias: B.map(String), multiplier: ["2000", "2500"], shift: [17, 17], qBits: [14, 14], relu: false, inBits: 8, outBits: 8,
      inScale: 1, outScale: 1, weightScale: [1, 1], accBound: ["0", "0"],
    };
    const pool: QMaxPool = { kind: "maxpool", name: "p", inShape: [C, H, W], outShape: [C, 3, 3], kernel: [2, 2], stride: [2, 2], pads: [0, 0, 1, 1], bits: 8, scale: 1 };
    const avg: QLinear = {
      kind: "linear", name: "a", source: "avgpool", inShape: [C, H, W], outShape: [C, 2, 2], kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0],
      weight: [], bias: ["0", "0"], multiplier: ["1", "1"], shift: [2, 2], qBits: [8, 8], relu: false, inBits: 8, outBits: 8, inScale: 1, outScale: 1, weightScale: [1, 1], accBound: ["0", "0"],
    };
    const c = compileCircom(`${lib("conv.circom", "pool.circom")}
function Wt() { var w[${Wt.length}] = ${arr(Wt)}; return w; }
template T() { signal input x[${C * H * W}]; signal output y[${OC * 9}]; signal output m[${C * 9}]; signal output a[${C * 4}];
  component cv = Conv2D(${C}, ${H}, ${W}, ${OC}, [3, 3], [2, 2], [1, 1, 1, 1], Wt(), ${arr(B)}, [2000, 2500], [17, 17], [14, 14], 8, 0); cv.in <== x; y <== cv.out;
  component mp = MaxPool(${C}, ${H}, ${W}, [2, 2], [2, 2], [0, 0, 1, 1], 8); mp.in <== x; m <== mp.out;
  component ap = AvgPool(${C}, ${H}, ${W}, [2, 2], [2, 2], [0, 0, 0, 0], [1, 1], [2, 2], [8, 8], 8); ap.in <== x; a <== ap.out; }
component main = T();`, "conv");
    for (let trial = 0; trial < 4; trial++) {
      const x = Array.from({ length: C * H * W }, () => BigInt(Math.round((r() * 2 - 1) * 127)));
      const w = await witness(c, { x: x.map(String) });
      const out = w.slice(1, 1 + c.r1cs.nPubOut).map(signed);
      expect(out).to.deep.equal([...runOp(conv, [x]), ...runOp(pool, [x]), ...runOp(avg, [x])]);
      expectOutputsPinned(c, w, r);
    }
  });

  it("Max2: the larger operand at both ends of the range and on ties", async function () {
    const c = compileCircom(`${lib("pool.circom")}
template T() { signal input a[8]; signal input b[8]; signal output m[8];
  component mx[8]; for (var k = 0; k < 8; k++) { mx[k] = Max2(8); mx[k].a <== a[k]; mx[k].b <== b[k]; m[k] <== mx[k].out; } }
component main = T();`, "max2");
    const r = rng(7);
    const a = [-128, 127, -128, 127, 0, 5, -7, 3];
    const b = [127, -128, -128, 127, 0, 4, -6, 3];
    for (let t = 0; t < 3; t++) {
      const w = await witness(c, { a, b });
      expect(w.slice(1, 9).map(signed)).to.deep.equal(a.map((v, i) => BigInt(Math.max(v, b[i]!))));
      expectOutputsPinned(c, w, r);
      a.reverse();
      b.sort(() => r() - 0.5);
    }
    // operands 2^bits or more apart are outside the comparison's range: no witness
    await expectNoWitness(c, { a: [-200, 0, 0, 0, 0, 0, 0, 0], b: [200, 0, 0, 0, 0, 0, 0, 0] });
  });

  it("Relu and Argmax (first index on ties)", async function () {
    const c = compileCircom(`${lib("activation.circom")}
template T() { signal input x[6]; signal output y[6]; signal output i;
  component rl[6]; for (var k = 0; k < 6; k++) { rl[k] = Relu(8); rl[k].in <== x[k]; y[k] <== rl[k].out; }
  component am = Argmax(6, 8); am.in <== x; i <== am.out; }
component main = T();`, "activation");
    const r = rng(5);
    const cases = [[1, 5, 5, -3, 0, 2], [-128, -128, -128, -128, -128, -128], [127, -128, 127, 0, 0, 127], [3, -7, 9, 100, -100, 101]];
    for (let t = 0; t < 4; t++) cases.push(Array.from({ length: 6 }, () => Math.round((r() * 2 - 1) * 127)));
    for (const xs of cases) {
      const w = await witness(c, { x: xs });
      expect(w.slice(1, 7).map(signed)).to.deep.equal(xs.map((v) => BigInt(Math.max(0, v))));
      expect(w[7]).to.equal(BigInt(xs.indexOf(Math.max(...xs))));
      expectOutputsPinned(c, w, r);
    }
    await expectNoWitness(c, { x: [128, 0, 0, 0, 0, 0] });
  });

  it("PackSigned, PoseidonSponge, HashVector: equal sdk packSigned, poseidonSponge, hashVector", async function () {
    const n = 40;
    const bits = 8;
    const c = compileCircom(`${lib("hash.circom")}
template T() { signal input x[${n}]; signal output limbs[2]; signal output h; signal output hv;
  component p = PackSigned(${n}, ${bits}); p.in <== x; limbs <== p.out;
  component s = PoseidonSponge(${n}); s.in <== x; h <== s.out;
  component v = HashVector(${n}, ${bits}); v.in <== x; hv <== v.out; }
component main = T();`, "hash");
    const r = rng(6);
    for (let t = 0; t < 2; t++) {
      const xs = Array.from({ length: n }, () => BigInt(Math.round((r() * 2 - 1) * 127)));
      const w = await witness(c, { x: xs.map(String) });
      expect(w.slice(1, 3)).to.deep.equal(packSigned(xs, bits));
      expect(w[3]).to.equal(poseidonSponge(xs.map(fe)));
      expect(w[4]).to.equal(hashVector(xs, bits));
      expectOutputsPinned(c, w, r);
    }
    await expectNoWitness(c, { x: Array.from({ length: n }, (_, i) => (i === 3 ? 128 : 0)) });
  });
});
