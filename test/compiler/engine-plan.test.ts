// The reference engine's float64 fast path against the bigint engine, and clamp accounting (inputs clamped to the
// declared range, activations saturating their width) on crafted inputs.
import { expect } from "chai";
import { newClampCounts, quantizeInput, requantize, runOp, runQuantized } from "../../circuits/compiler/engine.ts";
import { enginePlan, runPlan } from "../../circuits/compiler/engine-plan.ts";
import { quantize, type QuantizedModel } from "../../circuits/compiler/quantize.ts";
import type { FloatModel } from "../../circuits/ir/ir.ts";
import { conv, dense, randomCnn, randomInputs, randomMlp, rng } from "./random-models.ts";

/** Every op's output by the bigint engine, op by op. */
function bigintLayers(q: QuantizedModel, x: Float32Array): bigint[][] {
  let v = quantizeInput(q, x);
  return q.ops.map((op) => (v = runOp(op, [v])));
}

/** A CNN with asymmetric strides and paddings, and a conv straight after another (no pool between). */
function oddCnn(seed: number): FloatModel {
  const r = rng(seed);
  const c1 = conv(r, "conv1", 2, 3, 3, 2, 0);
  const c2 = { ...(conv(r, "conv2", 3, 4, 2, 1, 1) as Extract<ReturnType<typeof conv>, { kind: "conv" }>), stride: [1, 2] as [number, number], pads: [1, 0, 0, 1] as [number, number, number, number] };
  const h1 = 5; // (11 - 3) / 2 + 1
  const oh = h1 + 1 + 0 - 2 + 1;
  const ow = Math.floor((h1 + 0 + 1 - 2) / 2) + 1;
  return {
    name: `odd-${seed}`, inputName: "x", inputShape: [2, 11, 11], outputName: "y",
    layers: [c1, { kind: "relu", name: "r1" }, c2, { kind: "flatten", name: "f" }, dense(r, "fc", 4 * oh * ow, 5)],
  };
}

describe("engine fast path (circuits/compiler/engine-plan.ts)", function () {
  const models = [
    randomMlp(21, [20, 12, 6]),
    randomMlp(22, [9, 5, 4], true),
    randomCnn(23, { hw: 9, c1: 3, c2: 2 }),
    randomCnn(24, { pool: "avgpool", hw: 10 }),
    randomCnn(25, { argmax: true }),
    oddCnn(26),
  ];

  it("gives the bigint engine's integers at every op, for dense, conv (strides, paddings), pools and argmax", function () {
    for (const model of models) {
      const n = model.inputShape.reduce((a, b) => a * b, 1);
      for (const bits of [{}, { weightBits: 12, activationBits: 16, inputBits: 10 }, { weightBits: 3, activationBits: 4 }]) {
        const q = quantize(model, randomInputs(30, 16, n), { inputRange: [0, 1], ...bits });
        const plan = enginePlan(q);
        expect(plan, model.name).to.not.equal(null);
        // inputs past the range on both sides as well, so saturation is exercised
        for (const x of [...randomInputs(31, 6, n), ...randomInputs(32, 4, n).map((v) => v.map((e) => 3 * e - 1))]) {
          const expected = bigintLayers(q, x);
          const fast = runPlan(plan!, Float64Array.from(quantizeInput(q, x), Number));
          expect(fast.map((l) => Array.from(l, BigInt)), model.name).to.deep.equal(expected);
          expect(runQuantized(q, x).layers, model.name).to.deep.equal(expected);
        }
      }
    }
  });

  it("falls back to the bigint engine when a value could reach 2^53", function () {
    const model = randomMlp(27, [16, 8, 4]);
    const q = quantize(model, randomInputs(33, 8, 16), { inputRange: [0, 1], inputBits: 40, weightBits: 24, activationBits: 48 });
    expect(enginePlan(q)).to.equal(null);
    const x = randomInputs(34, 1, 16)[0]!;
    expect(runQuantized(q, x).layers).to.deep.equal(bigintLayers(q, x));
  });

  describe("clamp counts", function () {
    const model = randomMlp(28, [4, 3, 2]);
    const q = quantize(model, randomInputs(35, 32, 4), { inputRange: [0, 1] });

    it("counts input values outside the declared range (not those within half a step of it)", function () {
      const c = newClampCounts(q);
      runQuantized(q, Float32Array.of(1.5, -0.2, 0.5, 1 + q.inputScale / 4), c);
      expect(c).to.include({ runs: 1, input: 2, inputRuns: 1 });
      runQuantized(q, Float32Array.of(0, 0.3, 1, 0.9), c);
      expect(c).to.include({ runs: 2, input: 2, inputRuns: 1 });
    });

    it("counts activations saturating their width at the op where it happens, the same in both engines", function () {
      // calibrated on inputs near 0: an input of all ones drives the hidden layer past its calibrated maximum
      const narrow = quantize(model, randomInputs(36, 32, 4).map((x) => x.map((v) => v * 0.05)), { inputRange: [0, 1] });
      const x = Float32Array.of(1, 1, 1, 1);
      const c = newClampCounts(narrow);
      runQuantized(narrow, x, c);
      expect(c.input).to.equal(0);
      expect(c.ops[0], "hidden layer").to.be.greaterThan(0);
      expect(c.opRuns[0]).to.equal(1);
      // the bigint engine's requantize counts the same values
      const counter = { clamped: 0 };
      const op = narrow.ops[0]!;
      if (op.kind !== "linear") throw new Error("expected a linear op");
      const acc = runQuantized({ ...narrow, ops: [{ ...op, multiplier: op.multiplier.map(() => "1"), shift: op.shift.map(() => 0), outBits: 62, relu: false }] }, x).outputs;
      acc.forEach((a, ch) => requantize(a, BigInt(op.multiplier[ch]!), op.shift[ch]!, op.outBits, op.relu, counter));
      expect(counter.clamped).to.equal(c.ops[0]);
      // a relu's cut at zero is not saturation
      const zero = newClampCounts(narrow);
      runQuantized(narrow, Float32Array.of(0, 0, 0, 0), zero);
      expect(zero.ops.every((n) => n === 0)).to.equal(true);
    });
  });
});
