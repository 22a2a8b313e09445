// The TypeScript trainer: gradients match finite differences, loss falls, seeds reproduce, export round-trips.
import { expect } from "chai";
import { calibrationSample, heldOutSample, loadMnist } from "../../circuits/data/mnist.ts";
import { runFloat } from "../../circuits/ir/float-engine.ts";
import { exportOnnx } from "../../circuits/onnx/export.ts";
import { importOnnx } from "../../circuits/onnx/import.ts";
import { Adam, Conv2d, Dense, FakeQuant, Flatten, MaxPool2d, Relu, Rng, Sequential, Sgd, softmaxCrossEntropy } from "../../circuits/train/nn.ts";
import { shiftImage, toFloatModel, train } from "../../circuits/train/train.ts";
import { centralDifferences } from "./grad-check.ts";

function tinyNet(seed: number): Sequential {
  const rng = new Rng(seed);
  return new Sequential([1, 6, 6], [
    new Conv2d("conv1", 1, 2, 3, 1, 1, rng), new Relu("relu1"),
    new Conv2d("conv2", 2, 3, 3, 1, 1, rng), new Relu("relu2"), new MaxPool2d("pool", 2, 2),
    new Flatten("flatten"), new Dense("fc1", 27, 5, rng), new Relu("relu3"), new Dense("fc2", 5, 4, rng),
  ]);
}

describe("trainer", function () {
  it("computes gradients that match central finite differences", function () {
    const net = tinyNet(3);
    const rng = new Rng(11);
    const x = Float32Array.from({ length: 36 }, () => rng.next());
    const checked = centralDifferences(net, x, 2, 1e-2, (numeric, analytic, k) => {
      expect(Math.abs(numeric - analytic), `param ${k}: numeric ${numeric}, analytic ${analytic}`).to.be.below(2e-3 + 0.05 * Math.abs(numeric));
    });
    expect(checked).to.equal(net.parameterCount());
  });

  it("softmax cross-entropy: ln(classes) on equal logits, gradient p - onehot", function () {
    const { loss, grad } = softmaxCrossEntropy(new Float32Array(10), 3);
    // Not chai's closeTo: hardhat's chai matchers (loaded with the contract tests) take it over for bigints.
    expect(Math.abs(loss - Math.log(10))).to.be.lessThan(1e-6);
    expect(Math.abs(grad[3]! - (0.1 - 1))).to.be.lessThan(1e-6);
    expect(Math.abs(grad[0]! - 0.1)).to.be.lessThan(1e-6);
  });

  it("lowers the loss on MNIST digits and reproduces bit for bit from the seed", function () {
    const { train: data } = loadMnist();
    const step = Math.floor(data.images.length / 400);
    const subset = { images: data.images.filter((_, i) => i % step === 0), labels: data.labels.filter((_, i) => i % step === 0) };
    const run = (seed: number) => {
      const rng = new Rng(seed);
      const net = new Sequential([1, 28, 28], [new Flatten("flatten"), new Dense("fc1", 784, 16, rng), new Relu("relu1"), new Dense("fc2", 16, 10, rng)]);
      const history = train(net, subset, { epochs: 4, batchSize: 16, lr: 3e-3, seed, maxShift: 1, optimizer: new Adam() });
      return { net, history };
    };
    const a = run(5);
    expect(a.history[3]!.loss).to.be.below(a.history[0]!.loss * 0.6);
    expect(a.history[3]!.trainAccuracy).to.be.above(0.6); // chance is 0.1
    const b = run(5);
    expect(Array.from(b.net.params[0]!.value)).to.deep.equal(Array.from(a.net.params[0]!.value));
    const c = run(6);
    expect(Array.from(c.net.params[0]!.value)).to.not.deep.equal(Array.from(a.net.params[0]!.value));
  });

  it("SGD with momentum also lowers the loss", function () {
    const net = tinyNet(8);
    const rng = new Rng(1);
    const images = Array.from({ length: 40 }, () => Float32Array.from({ length: 36 }, () => rng.next()));
    const labels = images.map((x) => (x[0]! > 0.5 ? 1 : 0) + (x[35]! > 0.5 ? 2 : 0));
    const history = train(net, { images, labels }, { epochs: 30, batchSize: 8, lr: 0.05, seed: 2, imageSize: 6, optimizer: new Sgd(0.9) });
    expect(history[29]!.loss).to.be.below(history[0]!.loss * 0.7);
  });

  it("shifts images with zero fill", function () {
    const img = new Float32Array(9);
    img[4] = 1; // centre of 3x3
    const right = shiftImage(img, 1, 0, 3);
    expect(Array.from(right)).to.deep.equal([0, 0, 0, 0, 0, 1, 0, 0, 0]);
    const up = shiftImage(img, 0, -1, 3);
    expect(Array.from(up)).to.deep.equal([0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(shiftImage(img, 2, 0, 3)).every((v) => v === 0)).to.equal(true);
  });

  it("exports a trained network that imports back to the same function", function () {
    const net = tinyNet(21);
    const model = toFloatModel(net, "tiny");
    const imported = importOnnx(exportOnnx(model, { opset: 17, flatten: "shape-pattern" }).onnx, { name: "tiny" });
    const rng = new Rng(4);
    for (let t = 0; t < 5; t++) {
      const x = Float32Array.from({ length: 36 }, () => rng.next());
      const ref = net.forward(x);
      const got = runFloat(imported, x).output;
      ref.forEach((v, i) => expect(Math.abs(got[i]! - v)).to.be.lessThan(1e-5));
    }
  });
});

describe("mnist data", function () {
  it("splits the package's 10,000 digits into 8,004 training and 1,996 held-out, every fifth per digit", function () {
    const { train: tr, heldOut } = loadMnist();
    expect(tr.images).to.have.length(8004);
    expect(heldOut.images).to.have.length(1996);
    for (let d = 0; d < 10; d++) expect(heldOut.labels.filter((l) => l === d).length).to.be.within(170, 230);
    expect(tr.images[0]).to.have.length(784);
    expect(Math.max(...tr.images[0]!)).to.be.at.most(1);
    // no held-out image also appears in training (compare a few exactly)
    const key = (x: Float32Array) => Array.from(x).join(",");
    const trainKeys = new Set(tr.images.map(key));
    expect(heldOut.images.slice(0, 50).filter((x) => trainKeys.has(key(x)))).to.have.length(0);
  });

  it("samples held-out digits class-interleaved and calibrates on training digits only", function () {
    expect(heldOutSample(10).labels).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const cal = calibrationSample();
    expect(cal).to.have.length(512);
    const trainSet = new Set(loadMnist().train.images);
    expect(cal.every((x) => trainSet.has(x))).to.equal(true);
  });
});

describe("FakeQuant (quantization-aware training)", function () {
  it("observes the range, rounds to 2^(bits-1)-1 steps with a straight-through gradient, and exports as nothing", function () {
    const fq = new FakeQuant("q", 3); // 3 steps on each side
    fq.mode = "observe";
    fq.forward(Float32Array.of(0, 1.5, 3));
    expect(fq.max).to.equal(3);
    fq.mode = "quantize";
    expect(Array.from(fq.forward(Float32Array.of(0.4, 0.6, 2.2, -1.2)))).to.deep.equal([0, 1, 2, -1]);
    expect(Array.from(fq.backward(Float32Array.of(1, 1, 1, 1)))).to.deep.equal([1, 1, 1, 1]);
    fq.mode = "noise";
    const noisy = fq.forward(new Float32Array(100));
    expect(noisy.every((v) => Math.abs(v) <= 0.5)).to.equal(true);
    expect(noisy.some((v) => v !== 0)).to.equal(true);
    const net = new Sequential([4], [new Dense("fc", 4, 2, new Rng(1)), new FakeQuant("q")]);
    expect(toFloatModel(net, "n").layers.map((l) => l.kind)).to.deep.equal(["dense"]);
  });
});
