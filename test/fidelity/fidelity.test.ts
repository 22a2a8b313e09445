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
        expect(e.stderr).to.match(/ozk: mnist-mlp: top-1 agreement \d+\.\d\d% is below the required 99\.50% \(\d+ of 60 samples differ\)/);
        expect(e.stderr).to.not.match(/\n\s+at /); // no stack trace
      }
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
