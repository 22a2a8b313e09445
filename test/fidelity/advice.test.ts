// Advice on a fidelity failure: each measured cause (inputs outside the range, saturating activations, error that
// appears in one layer, error spread over the layers) names the option that addresses it.
import { expect } from "chai";
import { adviceFor } from "../../circuits/fidelity/advice.ts";
import type { LayerFidelity } from "../../circuits/fidelity/report.ts";

const layer = (name: string, meanPercentError: number, clamped = 0, clampedSamples = 0): LayerFidelity => ({
  name, kind: "dense+relu", outputs: 10, scale: 0.01, meanAbsError: 0, maxAbsError: 0, meanPercentError, maxPercentError: 0, clamped, clampedSamples,
});
const noClamps = { values: 0, samples: 0, range: [0, 1] as [number, number], dataMin: 0, dataMax: 1 };
const q = { weightBits: 8, activationBits: 10 };

describe("fidelity advice (circuits/fidelity/advice.ts)", function () {
  it("says nothing when the gate passes and nothing clamps", function () {
    expect(adviceFor({ passed: true, samples: 100, inputClamps: noClamps, layers: [layer("fc1", 0.2), layer("fc2", 0.5)] }, q)).to.deep.equal([]);
  });

  it("inputs clamped: names the range the data spans, and normalization", function () {
    const a = adviceFor({ passed: false, samples: 100, inputClamps: { values: 5000, samples: 90, range: [0, 1], dataMin: -0.4242, dataMax: 2.8215 }, layers: [layer("fc1", 1)] }, q);
    expect(a).to.have.length(1);
    expect(a[0]).to.equal(
      "your data lies outside --input-range [0, 1] (it spans [-0.42, 2.82]; 5000 values in 90 of 100 samples were clamped): " +
        "pass --input-range -0.43,2.83, or, if the model expects normalized inputs, normalization (--input-mean/--input-std)",
    );
  });

  it("inputs clamped even when the gate passes: still a warning", function () {
    const a = adviceFor({ passed: true, samples: 10, inputClamps: { values: 1, samples: 1, range: [0, 1], dataMin: 0, dataMax: 1.5 }, layers: [] }, q);
    expect(a[0]).to.match(/pass --input-range 0,1\.5\b/);
  });

  it("activations saturating: names the layer and calibration on data like it", function () {
    const a = adviceFor({ passed: false, samples: 200, inputClamps: noClamps, layers: [layer("conv1", 0.1), layer("fc1", 3, 40, 12), layer("fc2", 4)] }, q);
    expect(a).to.have.length(1);
    expect(a[0]).to.match(/^activations saturate their 10-bit width at layer fc1 \(40 values in 12 of 200 samples\): this data's activations exceed the largest the calibration measured in 6\.0% of the samples/);
    expect(a[0]).to.match(/--calibration <file\.npy\|file\.json\|folder>/);
  });

  it("activations saturating on the calibration data itself, or in a few samples: worded from what was measured, every layer named alike", function () {
    const layers = [layer("conv1", 0.1, 3, 2), layer("fc1", 3, 40, 12), layer("fc2", 4)];
    const same = adviceFor({ passed: false, samples: 200, dataIsCalibration: true, inputClamps: noClamps, layers }, q);
    expect(same[0]).to.match(/^activations saturate their 10-bit width at layers conv1 \(3 values in 2 of 200 samples\), fc1 \(40 values in 12 of 200 samples\): these samples are the calibration inputs themselves/);
    expect(same[0]).to.not.match(/calibrated on data whose activations stay smaller|--calibration/);
    const few = adviceFor({ passed: true, samples: 1000, inputClamps: noClamps, layers: [layer("fc1", 0.2, 1, 1), layer("fc2", 0.3, 4, 3)] }, q);
    expect(few[0]).to.match(/^activations saturate their 10-bit width at layers fc1 \(1 value in 1 of 1000 samples\), fc2 \(4 values in 3 of 1000 samples\): the activations of these few samples exceed/);
    expect(few[0]).to.not.match(/stay smaller than this data's/);
  });

  it("a gate failure on labelled data the float model classifies well, after uniform calibration: calibrate on data like it (mnist or yours)", function () {
    const r = { passed: false, samples: 100, labelled: true, floatAccuracy: 0.97, inputClamps: noClamps, layers: [layer("fc1", 0.4), layer("fc2", 0.5)] };
    const a = adviceFor({ ...r, uniformCalibration: true }, q);
    expect(a[0]).to.match(/^the float model classifies 97\.0% of this labelled data correctly, but the scales were calibrated on uniform random inputs .*--calibration mnist for MNIST digits or your own \(--calibration <file\.npy\|file\.json\|folder>\)/);
    expect(adviceFor(r, q).join()).to.not.match(/uniform/);
    expect(adviceFor({ ...r, uniformCalibration: true, passed: true }, q)).to.deep.equal([]);
  });

  it("float accuracy far below chance on labelled data: the data is not in the model's form (normalization)", function () {
    const a = adviceFor({ passed: false, samples: 100, labelled: true, floatAccuracy: 0.313, inputClamps: noClamps, layers: [layer("fc1", 0.4), layer("fc2", 0.5)] }, q);
    expect(a[0]).to.match(/^the float model itself classifies only 31\.3% of the labelled samples correctly: .*--input-range \(MNIST normalized with mean 0\.1307, std 0\.3081: -0\.4242,2\.8215\), or normalization/);
    // unlabelled data has no accuracy to judge by
    expect(adviceFor({ passed: true, samples: 100, labelled: false, floatAccuracy: 0, inputClamps: noClamps, layers: [] }, q)).to.deep.equal([]);
  });

  it("error that appears at the output layer: its inputs' activation bits, then its weight bits (its outputs are wide)", function () {
    const a = adviceFor({ passed: false, samples: 100, inputClamps: noClamps, layers: [layer("fc1", 3.81), layer("fc2", 9.64)] }, { weightBits: 4, activationBits: 4 });
    expect(a).to.deep.equal([
      "most of the error appears at the output layer fc2 (mean error 3.81% before it, 9.64% after): it amplifies the rounding of its 4-bit inputs " +
        "and 4-bit weights: raise --activation-bits (e.g. 6), then --weight-bits (e.g. 6)",
    ]);
  });

  it("error that appears in a hidden layer: raise --activation-bits", function () {
    const a = adviceFor({ passed: false, samples: 100, inputClamps: noClamps, layers: [layer("conv1", 0.1), layer("fc1", 2.5), layer("fc2", 3)] }, q);
    expect(a).to.deep.equal([
      "most of the error appears at layer fc1 (mean error 0.10% before it, 2.50% after): its 10-bit activations are too coarse: raise --activation-bits (e.g. 12)",
    ]);
  });

  it("small error spread over the layers: raise --weight-bits first", function () {
    const a = adviceFor({ passed: false, samples: 100, inputClamps: noClamps, layers: [layer("conv1", 0.4), layer("conv2", 0.8), layer("fc1", 1.2), layer("fc2", 1.6)] }, q);
    expect(a).to.have.length(1);
    expect(a[0]).to.match(/^the error is spread over the layers \(mean error conv1 0\.40%, conv2 0\.80%, fc1 1\.20%, fc2 1\.60%\): raise --weight-bits \(e\.g\. 10\), then --activation-bits \(e\.g\. 12\)$/);
  });
});
