// Fidelity report: float (onnxruntime) vs quantized (integer engine) on the shipped models, and the CLI's verdict.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { runFloat } from "../../circuits/ir/float-engine.ts";
import { fidelity, formatReport, readLabelledSet } from "../../circuits/fidelity/report.ts";
import { importOnnxFile } from "../../circuits/onnx/import.ts";
import { Rng } from "../../circuits/train/nn.ts";
import { writeOnnx } from "../../circuits/onnx/export.ts";
import type { ConvLayer } from "../../circuits/ir/ir.ts";
import { calibrationFrom } from "../../cli/model-data.ts";
import { npy } from "../data/formats.ts";

/** The shipped CNN as a public PyTorch MNIST export is: taking normalized digits (x - 0.1307) / 0.3081, whose
 *  range is [-0.4242, 2.8215] (the normalization folded into conv1). */
function normalizedCnn(path: string): void {
  const model = importOnnxFile(join(root, "models", "mnist-cnn", "model.onnx"));
  const c = model.layers[0] as ConvLayer;
  const per = c.weight.length / c.outChannels;
  const bias = c.bias.map((b, o) => b + 0.1307 * c.weight.slice(o * per, (o + 1) * per).reduce((a, w) => a + w, 0));
  model.layers[0] = { ...c, weight: c.weight.map((w) => w * 0.3081), bias };
  writeOnnx(path, { ...model, name: "normalized-cnn" }, { opset: 17, flatten: "flatten", dense: "gemm" });
}
const NORMALIZED_RANGE: [number, number] = [-0.4242, 2.8215];

const root = join(import.meta.dirname, "../..");
const modelPath = (name: string) => join(root, "models", name, "model.onnx");
// quantize afresh so the test checks this code and the current quantizer, not a stale quant.json
const fresh = { requantize: true } as const;

describe("fidelity", function () {
  for (const name of ["mnist-mlp", "mnist-cnn"]) {
    it(`${name}: quantized agrees with float on all held-out digits and the float accuracy meets its target`, async function () {
      const r = await fidelity(modelPath(name), fresh);
      expect(r.samples).to.equal(1996);
      expect(r.floatAccuracy).to.be.at.least(name === "mnist-mlp" ? 0.95 : 0.97);
      expect(r.agreement).to.be.at.least(0.995);
      expect(r.passed).to.equal(true);
      expect(Math.abs(r.quantizedAccuracy - r.floatAccuracy)).to.be.below(0.01);
      expect(r.importerMaxAbsDiff).to.be.below(1e-4);
      // one row per quantized layer, errors small against the layer's range
      const kinds = r.layers.map((l) => l.kind);
      expect(kinds[kinds.length - 1]).to.equal("dense");
      for (const l of r.layers) {
        expect(l.meanAbsError).to.be.at.most(l.maxAbsError);
        expect(l.meanPercentError, l.name).to.be.below(3);
      }
      expect(r.logits.maxAbsError).to.be.greaterThan(0); // quantization is not free: the metric is live
      const table = formatReport(r);
      expect(table).to.match(/top-1 agreement\s+\d+\.\d\d%/);
      for (const l of r.layers) expect(table).to.include(l.name);
    });
  }

  it("fails the threshold when quantization is too coarse", async function () {
    const r = await fidelity(modelPath("mnist-mlp"), { ...fresh, samples: 200, quant: { weightBits: 2, activationBits: 2 } });
    expect(r.agreement).to.be.below(0.9);
    expect(r.passed).to.equal(false);
    expect(r.disagreements.length).to.be.greaterThan(0);
    expect(r.disagreements[0]!.float).to.not.equal(r.disagreements[0]!.quantized);
  });

  it("per-layer errors compare against the float IR's own activations", async function () {
    const model = importOnnxFile(modelPath("mnist-cnn"));
    const x = heldOutSample(1).images[0]!;
    const run = runFloat(model, x);
    expect(run.layers).to.have.length(model.layers.length);
    const r = await fidelity(modelPath("mnist-cnn"), { ...fresh, data: { images: [x], labels: [heldOutSample(1).labels[0]!] } });
    expect(r.layers.map((l) => l.name)).to.deep.equal(["conv1", "conv2", "fc1", "fc2"]);
    expect(r.layers.map((l) => l.outputs)).to.deep.equal([864, 200, 32, 10]);
  });

  it("handles models whose output is ArgMax (errors measured on the vector entering it)", async function () {
    const path = join(root, "test/onnx/fixtures/mlp-argmax.onnx");
    const model = importOnnxFile(path);
    const rng = new Rng(3);
    const images = Array.from({ length: 40 }, () => Float32Array.from({ length: 36 }, () => rng.next()));
    const labels = images.map((x) => runFloat(model, x).output[0]!);
    const r = await fidelity(path, { data: { images, labels }, calibration: images, minAgreement: 0.9 });
    expect(r.floatAccuracy).to.equal(1); // labels are the float model's own predictions
    expect(r.agreement).to.equal(r.quantizedAccuracy);
    expect(r.agreement).to.be.at.least(0.9);
    expect(r.logits.maxAbsError).to.be.greaterThan(0);
    expect(r.layers.map((l) => l.kind)).to.deep.equal(["dense+relu", "dense"]);
  });

  describe("--input-range on a 784-input model that takes normalized digits", function () {
    const dir = mkdtempSync(join(tmpdir(), "ozk-range-"));
    const onnx = join(dir, "normalized-cnn.onnx");
    before(() => normalizedCnn(onnx));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("calibrates and evaluates on the MNIST digits mapped onto the range: the float model is accurate and the gate passes", async function () {
      const r = await fidelity(onnx, { requantize: true, quant: { inputRange: NORMALIZED_RANGE }, samples: 500 });
      expect(r.data).to.match(/mapped onto \[-0\.4242, 2\.8215\]/);
      expect(r.floatAccuracy, "digits in the model's own input domain").to.be.at.least(0.97);
      expect(r.agreement).to.be.at.least(0.995);
      expect(r.inputClamps.values).to.equal(0);
    });

    it("ozk model build's mnist calibration follows --input-range (the input scale and the calibration digits)", async function () {
      const cal = (await calibrationFrom("mnist", [1, 28, 28], NORMALIZED_RANGE))!;
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of cal.inputs) for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      // (plain comparisons: under the whole suite, hardhat's chai matchers take closeTo's arguments for bigints)
      expect(Math.abs(lo - NORMALIZED_RANGE[0]), `lowest value ${lo}`).to.be.below(1e-6);
      expect(Math.abs(hi - NORMALIZED_RANGE[1]), `highest value ${hi}`).to.be.below(1e-6);
      expect(cal.id).to.not.equal((await calibrationFrom("mnist", [1, 28, 28], [0, 1]))!.id); // the build cache tells them apart
    });

    it("digits left in [0, 1] for it are reported: the advice names the range the data needs", async function () {
      // the user's data, normalized, evaluated against a quantization declared for [0, 1]
      const sample = heldOutSample(100);
      const images = sample.images.map((x) => x.map((v) => (v - 0.1307) / 0.3081));
      const r = await fidelity(onnx, { requantize: true, data: { images, labels: sample.labels }, calibration: images });
      expect(r.inputClamps.values).to.be.greaterThan(0);
      expect(r.inputClamps.samples).to.equal(100);
      expect(r.advice[0]).to.match(/your data lies outside --input-range \[0, 1\] \(it spans \[-0\.42, 2\.82\]; .*pass --input-range -0\.43,2\.83, or, .*--input-mean\/--input-std/);
      expect(formatReport(r)).to.match(/input clamps\s+\d+ values in 100 samples outside \[0, 1\]/);
    });
  });

  describe("ozk model fidelity", function () {
    const dir = mkdtempSync(join(tmpdir(), "ozk-fidelity-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const run = promisify(execFile);
    const ozk = (...args: string[]) => run(process.execPath, ["--import", "tsx", join(root, "cli/ozk.ts"), "model", "fidelity", ...args], { cwd: root });

    it("reads user data, prints the table, writes JSON and exits 0 above the threshold", async function () {
      const sample = heldOutSample(60);
      const data = join(dir, "digits.json");
      writeFileSync(data, JSON.stringify({ inputs: sample.images.map((x) => Array.from(x)), labels: sample.labels }));
      expect(readLabelledSet(data).images).to.have.length(60);
      const { stdout } = await ozk(modelPath("mnist-mlp"), "--data", data, "--requantize", "--min-agreement", "0.9", "--json", join(dir, "r.json"));
      expect(stdout).to.match(/fidelity of mnist-mlp/);
      expect(stdout).to.match(/layer\s+kind\s+outputs/);
      const report = JSON.parse(readFileSync(join(dir, "r.json"), "utf8")) as { samples: number; passed: boolean };
      expect(report).to.include({ samples: 60, passed: true });
    });

    it("exits non-zero with a clear message below the threshold", async function () {
      try {
        await ozk(join(root, "models/mnist-mlp"), "--samples", "60", "--weight-bits", "2", "--activation-bits", "2");
        expect.fail("expected a non-zero exit");
      } catch (err) {
        const e = err as { code?: number; stderr?: string };
        expect(e.code).to.equal(1);
        expect(e.stderr).to.match(/ozk: mnist-mlp: top-1 agreement \d+\.\d\d% is below the required 99\.50% \(\d+ of 60 samples differ\): /);
        // the measured cause, not a blanket "raise the widths or lower --min-agreement"
        expect(e.stderr).to.match(/differ\): (activations saturate|most of the error appears|the error is spread)/);
        expect(e.stderr).to.not.match(/\n\s+at /); // no stack trace
      }
    });

    it("reads .npy data with --labels and takes --input-range", async function () {
      const onnx = join(dir, "normalized-cnn.onnx");
      normalizedCnn(onnx);
      const sample = heldOutSample(40);
      writeFileSync(join(dir, "digits.npy"), npy("<f4", [40, 1, 28, 28], sample.images.flatMap((x) => Array.from(x, (v) => (v - 0.1307) / 0.3081))));
      writeFileSync(join(dir, "digit-labels.npy"), npy("<i8", [40], sample.labels));
      const { stdout } = await ozk(onnx, "--data", join(dir, "digits.npy"), "--labels", join(dir, "digit-labels.npy"), "--input-range", "-0.4242,2.8215", "--min-agreement", "0.9", "--json", join(dir, "n.json"));
      expect(stdout).to.match(/data:\s+.*digits\.npy \(40 samples/);
      expect(stdout).to.match(/input clamps\s+0 values in 0 samples outside \[-0\.4242, 2\.8215\]/);
      const report = JSON.parse(readFileSync(join(dir, "n.json"), "utf8")) as { samples: number; floatAccuracy: number; quantization: string };
      expect(report.samples).to.equal(40);
      expect(report.floatAccuracy).to.be.at.least(0.9);
      expect(report.quantization).to.match(/calibrated here/);
      try {
        await ozk(onnx, "--data", join(dir, "digits.npy"), "--input-range", "1,0");
        expect.fail("expected a non-zero exit");
      } catch (err) {
        expect((err as { stderr?: string }).stderr).to.match(/--input-range wants lo,hi with lo < hi/);
      }
    });

    it("--calibration uniform calibrates on the build's uniform samples (not the MNIST default)", async function () {
      const json = join(dir, "u.json");
      await ozk(modelPath("mnist-mlp"), "--samples", "5", "--min-agreement", "0", "--calibration", "uniform", "--json", json);
      expect((JSON.parse(readFileSync(json, "utf8")) as { quantization: string }).quantization).to.match(/^calibrated here on 64 inputs/);
    });

    it("reports a malformed model without a stack trace", async function () {
      try {
        await ozk(join(root, "test/onnx/fixtures/truncated.onnx"), "--samples", "5");
        expect.fail("expected a non-zero exit");
      } catch (err) {
        const e = err as { code?: number; stderr?: string };
        expect(e.code).to.equal(1);
        expect(e.stderr).to.match(/ozk: .*truncated\.onnx: not a valid ONNX file/);
        expect(e.stderr).to.not.match(/\n\s+at /);
      }
    });
  });
});
