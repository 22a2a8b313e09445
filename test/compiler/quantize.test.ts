// Quantization: calibrated scales keep the quantized model close to the float one, quant.json round-trips,
// inputs are clamped to their declared range, and the overflow analysis rejects models that could wrap the field.
import { expect } from "chai";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { MAX_FIELD_BITS, OverflowError, parseQuant, quantize, serializeQuant } from "../../circuits/compiler/quantize.ts";
import { runFloat } from "../../circuits/ir/float-engine.ts";
import { randomCnn, randomInputs, randomMlp } from "./random-models.ts";

describe("quantize", function () {
  it("keeps top-1 agreement with the float model and small logit error on random models", function () {
    for (const model of [randomMlp(1, [32, 16, 8]), randomCnn(2, { hw: 8, c1: 3, c2: 4, out: 6 }), randomCnn(3, { pool: "avgpool" })]) {
      const n = model.inputShape.reduce((a, b) => a * b, 1);
      const q = quantize(model, randomInputs(10, 64, n), { inputRange: [0, 1] });
      let agree = 0;
      let maxErr = 0;
      let maxLogit = 0;
      const tests = randomInputs(11, 100, n);
      for (const x of tests) {
        const f = Array.from(runFloat(model, x).output);
        const { logits } = runQuantized(q, x);
        if (f.indexOf(Math.max(...f)) === logits.indexOf(Math.max(...logits))) agree++;
        f.forEach((v, i) => {
          maxErr = Math.max(maxErr, Math.abs(v - logits[i]!));
          maxLogit = Math.max(maxLogit, Math.abs(v));
        });
      }
      expect(agree, model.name).to.be.at.least(95);
      expect(maxErr / maxLogit, model.name).to.be.below(0.1);
    }
  });

  it("round-trips quant.json and gives the same outputs", function () {
    const model = randomCnn(4);
    const q = quantize(model, randomInputs(12, 16, 64), { inputRange: [0, 1] });
    const back = parseQuant(serializeQuant(q));
    const x = randomInputs(13, 1, 64)[0]!;
    expect(runQuantized(back, x).outputs).to.deep.equal(runQuantized(q, x).outputs);
    expect(() => parseQuant(JSON.stringify({ format: "other" }))).to.throw(/not an ozk quant.json/);
  });

  it("quantizes inputs with the declared width and clamps them to the declared range", function () {
    const q = quantize(randomMlp(5, [4, 3]), randomInputs(14, 8, 4), { inputRange: [0, 1], inputBits: 8 });
    expect(quantizeInput(q, Float32Array.of(0, 1, 0.5, 7))).to.deep.equal([0n, 127n, 64n, 127n]);
    expect(quantizeInput(q, Float32Array.of(-3, 0.25, 1e-9, 0.999))).to.deep.equal([0n, 32n, 0n, 127n]);
  });

  it("rejects a model whose intermediates could overflow the BN254 field", function () {
    const model = randomMlp(6, [64, 8, 4]);
    const cal = randomInputs(15, 8, 64);
    const ok = quantize(model, cal, { inputRange: [0, 1], weightBits: 32, activationBits: 64, inputBits: 64, multiplierBits: 100 });
    expect(ok.maxBits).to.be.at.most(MAX_FIELD_BITS);
    expect(() => quantize(model, cal, { inputRange: [0, 1], weightBits: 32, activationBits: 64, inputBits: 64, multiplierBits: 200 })).to.throw(OverflowError, /BN254 field/);
  });

  it("fuses relu into the linear layer before a maxpool and records per-channel multipliers", function () {
    const model = randomCnn(7, { pool: "maxpool" });
    // move the first relu after the pool: quantize must fuse it back into conv1
    const layers = [...model.layers];
    [layers[1], layers[2]] = [layers[2]!, layers[1]!];
    const q = quantize({ ...model, layers }, randomInputs(16, 8, 64), { inputRange: [0, 1] });
    const first = q.ops[0]!;
    expect(first.kind).to.equal("linear");
    if (first.kind === "linear") {
      expect(first.relu).to.equal(true);
      expect(first.multiplier).to.have.length(first.outShape[0]!);
    }
    expect(q.ops[1]!.kind).to.equal("maxpool");
  });
});
