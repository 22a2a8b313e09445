// The vision transformer's training layers: every parameter's gradient matches central finite differences on a
// tiny configuration, erf matches known values, and a few steps on MNIST digits lower the loss.
import { expect } from "chai";
import { loadMnist } from "../../circuits/data/mnist.ts";
import { Adam, Rng } from "../../circuits/train/nn.ts";
import { train } from "../../circuits/train/train.ts";
import { erf, VisionTransformer } from "../../circuits/train/transformer.ts";
import type { VitConfig } from "../../circuits/train/transformer.ts";
import { centralDifferences } from "./grad-check.ts";

const TINY: VitConfig = { imageSize: 6, patchSize: 3, dim: 8, depth: 2, heads: 2, mlpDim: 12, classes: 3 };

/** A tiny ViT with every parameter random (LayerNorm scales and all biases too), so no gradient is trivially zero. */
function tinyVit(seed: number): VisionTransformer {
  const net = new VisionTransformer(TINY, new Rng(seed));
  const rng = new Rng(seed + 1);
  for (const p of net.params) for (let i = 0; i < p.value.length; i++) p.value[i] = p.value[i]! + (rng.next() - 0.5) * 0.6;
  return net;
}

describe("vision transformer trainer", function () {
  it("erf matches reference values", function () {
    const cases: [number, number][] = [[0, 0], [0.1, 0.1124629160], [0.5, 0.5204998778], [1, 0.8427007929], [-1.5, -0.9661051465], [2.5, 0.9995930480], [4, 0.9999999846]];
    for (const [x, want] of cases) expect(Math.abs(erf(x) - want), `erf(${x})`).to.be.below(2e-7);
  });

  it("computes gradients of every parameter that match central finite differences", function () {
    const net = tinyVit(3);
    const rng = new Rng(11);
    const x = Float32Array.from({ length: 36 }, () => rng.next());
    let nonzero = 0;
    const checked = centralDifferences(net, x, 1, 1e-3, (numeric, analytic, k) => {
      expect(Math.abs(numeric - analytic), `param ${k}: numeric ${numeric}, analytic ${analytic}`).to.be.below(5e-4 + 0.02 * Math.abs(numeric));
      if (Math.abs(analytic) > 1e-4) nonzero++;
    });
    expect(checked).to.equal(net.parameterCount());
    // nearly every parameter carries gradient: a layer whose backward was skipped would show up as zeros
    expect(nonzero).to.be.above(0.95 * checked);
  });

  it("rejects a configuration whose patches do not tile the image or whose width does not split into heads", function () {
    expect(() => new VisionTransformer({ ...TINY, patchSize: 4 }, new Rng(1))).to.throw(/patch size 4 does not divide image size 6/);
    expect(() => new VisionTransformer({ ...TINY, heads: 3 }, new Rng(1))).to.throw(/width 8 is not a multiple of 3 heads/);
    expect(() => new VisionTransformer(TINY, new Rng(1)).forward(new Float32Array(35))).to.throw(/expected 36 pixels, got 35/);
  });

  it("lowers the loss on MNIST digits", function () {
    const { train: data } = loadMnist();
    const step = Math.floor(data.images.length / 600);
    const subset = { images: data.images.filter((_, i) => i % step === 0), labels: data.labels.filter((_, i) => i % step === 0) };
    const net = new VisionTransformer({ imageSize: 28, patchSize: 7, dim: 16, depth: 1, heads: 2, mlpDim: 32, classes: 10 }, new Rng(4));
    const history = train(net, subset, { epochs: 4, batchSize: 16, lr: 4e-3, warmupSteps: 20, seed: 5, optimizer: new Adam() });
    expect(history[3]!.loss).to.be.below(history[0]!.loss * 0.85);
    expect(history[3]!.trainAccuracy).to.be.above(0.2); // chance is 0.1; a broken backward pass stays there
  });
});
