// Input preprocessing (normalization of the training code) in a model package: the float model normalizes raw inputs
// before its layers, the quantized model and the circuit take raw inputs and compute the same thing (the map folded
// into the first layer; a padded conv pads its raw input with the value that normalizes to 0), bit-exactly between
// the engine and the witness; the manifest records it and its hash covers it; the CLI and the SDK take raw inputs.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { compileModel } from "../../circuits/compiler/build.ts";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { synthesize } from "../../circuits/compiler/emit.ts";
import { artifactHash, loadPackage, readManifest } from "../../circuits/compiler/package.ts";
import { quantize, type QLinear } from "../../circuits/compiler/quantize.ts";
import { readR1cs, violatedConstraints } from "../../circuits/compiler/r1cs.ts";
import { witnessFor } from "../../circuits/compiler/witness.ts";
import { calibrationSample, heldOutSample } from "../../circuits/data/mnist.ts";
import { fidelity, readLabelledSet } from "../../circuits/fidelity/report.ts";
import { runFloat } from "../../circuits/ir/float-engine.ts";
import type { FloatModel } from "../../circuits/ir/ir.ts";
import { applyPreprocess, foldPreprocess, parsePreprocess, PreprocessError, resolvePreprocess } from "../../circuits/ir/preprocess.ts";
import { importOnnxFile } from "../../circuits/onnx/import.ts";
import { quantizeInput as sdkQuantizeInput } from "../../sdk/quantize.ts";
import { conv, dense, randomInputs, rng } from "./random-models.ts";
import { preprocessSpecOf, trainingPreprocessHint } from "../../cli/preprocess.ts";

const ROOT = join(import.meta.dirname, "../..");
const FIXTURE = join(ROOT, "test/fixtures/normalized-cnn");
const MNIST_NORM = { mean: [0.1307], std: [0.3081] };

const argmax = (v: ArrayLike<number | bigint>): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
};

/** Two input channels, a padded 3x3 conv first (no relu, so its output is the float conv itself), then a dense head. */
function paddedConvModel(): FloatModel {
  const r = rng(77);
  return {
    name: "padded-conv", inputName: "x", inputShape: [2, 6, 6], outputName: "y",
    layers: [conv(r, "conv1", 2, 3, 3, 1, 1), { kind: "flatten", name: "flatten" }, dense(r, "fc", 3 * 6 * 6, 4)],
  };
}

function ozk(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], { cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("input preprocessing", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "ozk-preprocess-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("rejects a preprocessing that does not fit: std 0, NaN, a wrong channel count, an unknown field, a first layer it cannot fold into", function () {
    const shape = [3, 4, 4];
    expect(() => resolvePreprocess({ mean: [0.5, 0.5, 0.5], std: [0.2, 0, 0.2] }, shape)).to.throw(PreprocessError, /std\[1\] is 0/);
    expect(() => resolvePreprocess({ mean: [0.5, NaN, 0.5] }, shape)).to.throw(PreprocessError, /mean\[1\] = NaN is not a finite number/);
    expect(() => resolvePreprocess({ mean: [0.5, 0.5] }, shape)).to.throw(PreprocessError, /mean has 2 values, but the model input \[3, 4, 4\] has 3 channels/);
    expect(() => resolvePreprocess({ mean: [0.1, 0.2] }, [784])).to.throw(PreprocessError, /has 1 channel: give one value/);
    expect(() => resolvePreprocess({ scale: 0 }, shape)).to.throw(PreprocessError, /scale\[0\] is 0/);
    expect(() => resolvePreprocess({}, shape)).to.throw(PreprocessError, /give at least one of/);
    expect(() => parsePreprocess('{"mean": 0.1, "sdt": 0.3}', shape)).to.throw(PreprocessError, /unknown field sdt/);
    expect(() => parsePreprocess("[0.1]", shape)).to.throw(PreprocessError, /expected an object/);
    // one value serves every channel
    expect(resolvePreprocess({ mean: 0.5, std: [1, 2, 4] }, shape)).to.deep.equal({ scale: [1, 1, 1], offset: [0, 0, 0], mean: [0.5, 0.5, 0.5], std: [1, 2, 4] });
    const pooled: FloatModel = { ...paddedConvModel(), layers: [{ kind: "maxpool", name: "pool", kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] }, ...paddedConvModel().layers] };
    expect(() => foldPreprocess(pooled.layers, pooled.inputShape, resolvePreprocess(MNIST_NORM, [2, 6, 6]))).to.throw(PreprocessError, /must be a Gemm\/MatMul or Conv.*starts with maxpool/);
  });

  it("names the field of a wrongly typed value (a string, true, a nested list), refuses a negative std, and names std when it overflows the folded weights", function () {
    const shape = [3, 4, 4];
    const bad = (spec: unknown, re: RegExp): unknown => expect(() => resolvePreprocess(spec as never, shape)).to.throw(PreprocessError, re);
    bad({ mean: "0.5" }, /preprocess mean: expected a number or a list of numbers \(one per channel\), found a string \("0\.5"\)/);
    bad({ std: true }, /preprocess std: expected a number or a list of numbers \(one per channel\), found true/);
    bad({ scale: { a: 1 } }, /preprocess scale: expected a number or a list of numbers \(one per channel\), found a object/);
    bad({ mean: [[0.1], [0.2], [0.3]] }, /preprocess mean\[0\]: expected a number, found a list/);
    bad({ offset: [0, "1", 0] }, /preprocess offset\[1\]: expected a number, found a string \("1"\)/);
    bad({ std: [0.2, -0.5, 0.2] }, /preprocess std\[1\] = -0\.5: a standard deviation is positive/);
    const model = paddedConvModel();
    expect(() => foldPreprocess(model.layers, model.inputShape, resolvePreprocess({ std: 1e-40 }, model.inputShape))).to.throw(PreprocessError, /std \[1e-40, 1e-40\].*makes its weights overflow float32/);
  });

  it("the --input-* flags take decimal numbers only; --preprocess reads a regular JSON file of at most 1 MB", function () {
    expect(() => preprocessSpecOf({ inputMean: "0x10" })).to.throw(/--input-mean wants a number or a comma list of numbers .*"0x10"/);
    expect(() => preprocessSpecOf({ inputStd: "Infinity" })).to.throw(/--input-std wants a number/);
    expect(preprocessSpecOf({ inputMean: "-.5,1e-1", inputStd: "+2." })).to.deep.equal({ mean: [-0.5, 0.1], std: [2] });
    const fifo = join(dir, "pp.fifo");
    execFileSync("mkfifo", [fifo]);
    expect(() => preprocessSpecOf({ preprocess: fifo })).to.throw(/--preprocess .*pp\.fifo: not a regular file \(a named pipe \(FIFO\)\)/);
    expect(() => preprocessSpecOf({ preprocess: "/dev/zero" })).to.throw(/--preprocess \/dev\/zero: not a regular file \(a device\)/);
    const typed = join(dir, "typed.json");
    writeFileSync(typed, JSON.stringify({ mean: "0.1", std: 0.3 }));
    expect(() => preprocessSpecOf({ preprocess: typed })).to.throw(/--preprocess .*typed\.json: preprocess mean: expected a number or a list of numbers/);
    const big = join(dir, "big.json");
    writeFileSync(big, `{"mean": 0.5${" ".repeat(2 ** 20)}}`);
    expect(() => preprocessSpecOf({ preprocess: big })).to.throw(/big\.json: 1048589 bytes, more than the 1048576/);
  });

  it("ozk model witness checks its input as ozk prove does: finite numbers, the model's length, {\"input\": [...]} accepted, a regular file", async function () {
    const digit = Array.from(heldOutSample(1).images[0]!);
    const write = (name: string, v: unknown): string => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify(v));
      return p;
    };
    const witness = (input: string): ReturnType<typeof ozk> => ozk(["model", "witness", "models/mnist-mlp", "--input", input, "--out", join(dir, "w.wtns")]);
    const str = await witness(write("w-str.json", ["0.5", ...digit.slice(1)]));
    expect(str.code).to.not.equal(0);
    expect(str.stderr).to.match(/--input .*w-str\.json: input must be an array of finite numbers/);
    const short = await witness(write("w-short.json", digit.slice(0, 10)));
    expect(short.code).to.not.equal(0);
    expect(short.stderr).to.match(/--input .*w-short\.json: input has 10 values, the model takes 784/);
    const obj = await witness(write("w-obj.json", { input: digit }));
    expect(obj.code, obj.stderr).to.equal(0);
    const flat = await witness(write("w-flat.json", digit));
    expect(JSON.parse(obj.stdout)).to.deep.equal(JSON.parse(flat.stdout));
    const fifo = join(dir, "w.fifo");
    execFileSync("mkfifo", [fifo]);
    const piped = await witness(fifo);
    expect(piped.code).to.not.equal(0);
    expect(piped.stderr).to.match(/--input .*w\.fifo: not a regular file \(a named pipe \(FIFO\)\)/);
    // ozk prove reads its input the same way: a FIFO is refused at once instead of blocking the read forever.
    const proved = await ozk(["prove", "models/mnist-mlp", fifo, "--out", join(dir, "p.json")]);
    expect(proved.code).to.not.equal(0);
    expect(proved.stderr).to.match(/cannot read .*w\.fifo: input file: not a regular file \(a named pipe \(FIFO\)\)/);
    expect(() => readLabelledSet(fifo)).to.throw(/cannot read labelled data .*w\.fifo: .*not a regular file \(a named pipe \(FIFO\)\)/);
  });

  it("a model folder whose training.json records a preprocessing gets a hint naming the flags (not applied by itself)", function () {
    const fixture = join(ROOT, "test/fixtures/models/pytorch-cnn");
    expect(trainingPreprocessHint(fixture)).to.match(/^hint: .*pytorch-cnn\/training\.json records an input preprocessing .*pass --input-mean 0\.1307 --input-std 0\.3081 .*not applied by itself/);
    expect(trainingPreprocessHint(join(fixture, "model.onnx"))).to.match(/--input-mean 0\.1307 --input-std 0\.3081/);
    expect(trainingPreprocessHint(join(ROOT, "models/mnist-mlp"))).to.equal(undefined);
  });

  it("a build error names the user's model.onnx, not the hidden staging folder it was copied into", async function () {
    const src = join(dir, "broken");
    mkdirSync(src);
    writeFileSync(join(src, "model.onnx"), Buffer.from("this is not protobuf"));
    const r = await ozk(["model", "build", src, "--skip-setup", "--calibration", "uniform"]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include(`${join(src, "model.onnx")}: not a valid ONNX file`);
    expect(r.stderr).to.not.match(/\.building-/);
  });

  it("the float model evaluates (x - mean) / std, then the network (float32 steps, as PyTorch's Normalize)", function () {
    const model = paddedConvModel();
    const p = resolvePreprocess({ mean: [0.5, 0.25], std: [0.2, 0.5] }, model.inputShape);
    const x = randomInputs(3, 1, 72)[0]!;
    const normalized = Float32Array.from(x, (v, i) => Math.fround(Math.fround(v - Math.fround(i < 36 ? 0.5 : 0.25)) / Math.fround(i < 36 ? 0.2 : 0.5)));
    expect(Array.from(applyPreprocess(p, model.inputShape, x))).to.deep.equal(Array.from(normalized));
    expect(Array.from(runFloat({ ...model, preprocess: p }, x).output)).to.deep.equal(Array.from(runFloat(model, normalized).output));
  });

  for (const visibility of ["constant", "committed"] as const) {
    it(`dense layer (${visibility} weights): the quantized model on raw inputs tracks the float model on normalized ones; engine == witness bit-exact; a wrong witness is rejected`, function () {
      const r = rng(5);
      const base: FloatModel = {
        name: "mlp-norm", inputName: "x", inputShape: [2, 3, 3], outputName: "y",
        layers: [{ kind: "flatten", name: "flatten" }, dense(r, "fc1", 18, 8), { kind: "relu", name: "relu1" }, dense(r, "fc2", 8, 3)],
      };
      const model: FloatModel = { ...base, preprocess: resolvePreprocess({ scale: [1, 2], offset: [0, -0.5], mean: [0.4, 0.1], std: [0.3, 0.8] }, base.inputShape) };
      const cal = randomInputs(6, 64, 18);
      const q = quantize(model, cal, { inputRange: [0, 1] });
      expect(q.preprocess).to.deep.equal(model.preprocess);
      // without the preprocessing the network sees other numbers: the quantized model follows the normalized one
      const plain = quantize(base, cal, { inputRange: [0, 1] });
      let errWith = 0;
      let errWithout = 0;
      for (const x of cal) {
        const f = runFloat(model, x).output;
        runQuantized(q, x).logits.forEach((v, i) => (errWith = Math.max(errWith, Math.abs(v - f[i]!))));
        runQuantized(plain, x).logits.forEach((v, i) => (errWithout = Math.max(errWithout, Math.abs(v - f[i]!))));
      }
      const mag = Math.max(...cal.flatMap((x) => Array.from(runFloat(model, x).output, Math.abs)));
      expect(errWith / mag, "quantized vs float with preprocessing").to.be.below(0.05);
      expect(errWithout / mag, "the same network without it").to.be.above(0.2);

      const path = join(dir, `mlp-${visibility}.r1cs`);
      synthesize(q, { visibility, r1csPath: path });
      const r1cs = readR1cs(path);
      for (const x of randomInputs(8, 4, 18)) {
        const xq = quantizeInput(q, x);
        const s = synthesize(q, { visibility, input: xq });
        expect(violatedConstraints(r1cs, s.witness!)).to.deep.equal([]);
        expect(s.outputs).to.deep.equal(runQuantized(q, x).outputs);
        const wrong = [...s.witness!];
        wrong[1] = wrong[1]! + 1n; // the first packed output
        expect(violatedConstraints(r1cs, wrong)).to.have.length.above(0);
      }
    });
  }

  it("padded conv with mean != 0: the border holds the raw value that normalizes to 0, and matches the float reference within quantization error", function () {
    const base = paddedConvModel();
    const p = resolvePreprocess({ mean: [0.5, 0.25], std: [0.2, 0.5] }, base.inputShape);
    const model: FloatModel = { ...base, preprocess: p };
    const cal = randomInputs(9, 64, 72);
    const q = quantize(model, cal, { inputRange: [0, 1] });
    const op = q.ops[0] as QLinear;
    // round(mean / inputScale): 0.5 * 127 = 63.5 -> 64, 0.25 * 127 = 31.75 -> 32
    expect(op.padValue).to.deep.equal([64, 32]);
    const zeroPadded = { ...q, ops: [{ ...op, padValue: undefined }, ...q.ops.slice(1)] };

    // the bound on |quantized - float| of one output: input and weight rounding over its taps, bias, multiplier, output rounding
    const sIn = q.inputScale;
    const bound = (c: number, acc: number): number => {
      const sW = op.weightScale[c]!;
      let taps = 0;
      for (let k = 0; k < 18; k++) taps += Math.abs(op.weight[c * 18 + k]!) * sW * (sIn / 2) + 1 * (sW / 2);
      return taps + sIn * sW + Math.abs(acc) * 2 ** -(q.multiplierBits - 1) + op.outScale;
    };
    const border = (o: number): boolean => {
      const i = Math.floor((o % 36) / 6);
      const j = o % 6;
      return i === 0 || j === 0 || i === 5 || j === 5;
    };
    let borderWorst = 0;
    let zeroPadBorderWorst = 0;
    for (const x of cal.slice(0, 16)) {
      const f = runFloat(model, x).layers[0]!;
      const qr = runQuantized(q, x).layers[0]!;
      const zr = runQuantized(zeroPadded, x).layers[0]!;
      for (let o = 0; o < f.length; o++) {
        const c = Math.floor(o / 36);
        const err = Math.abs(Number(qr[o]!) * op.outScale - f[o]!);
        expect(err, `output ${o} (channel ${c}${border(o) ? ", border" : ""})`).to.be.at.most(bound(c, f[o]!));
        if (border(o)) {
          borderWorst = Math.max(borderWorst, err / bound(c, f[o]!));
          zeroPadBorderWorst = Math.max(zeroPadBorderWorst, Math.abs(Number(zr[o]!) * op.outScale - f[o]!) / bound(c, f[o]!));
        }
      }
    }
    expect(borderWorst).to.be.at.most(1);
    // padding the raw input with 0 would be padding the normalized input with -mean/std: far outside the bound
    expect(zeroPadBorderWorst).to.be.above(3);

    // the witness pads the same way, bit-exactly, in both visibilities
    for (const visibility of ["constant", "committed"] as const) {
      const path = join(dir, `padded-${visibility}.r1cs`);
      synthesize(q, { visibility, r1csPath: path });
      const r1cs = readR1cs(path);
      for (const x of cal.slice(0, 3)) {
        const s = synthesize(q, { visibility, input: quantizeInput(q, x) });
        expect(violatedConstraints(r1cs, s.witness!)).to.deep.equal([]);
        expect(s.outputs).to.deep.equal(runQuantized(q, x).outputs);
      }
    }
  });

  it("a model trained on normalized MNIST: built with its preprocessing, fidelity's float accuracy is the float model's on normalized digits; the package takes raw pixels (engine, witness, SDK)", async function () {
    const pre = JSON.parse(readFileSync(join(FIXTURE, "preprocess.json"), "utf8")) as typeof MNIST_NORM;
    expect(pre).to.deep.equal(MNIST_NORM);
    const out = join(dir, "normalized-cnn");
    const m = await compileModel(join(FIXTURE, "model.onnx"), { out, name: "normalized-cnn", preprocess: pre, calibration: calibrationSample(256), quant: { inputRange: [0, 1] }, log: () => {} });
    expect(m.preprocess).to.deep.equal({ scale: [1], offset: [0], mean: [0.1307], std: [0.3081] });
    expect(m.inputRange).to.deep.equal([0, 1]);
    writeFileSync(join(out, "model.onnx"), readFileSync(join(FIXTURE, "model.onnx")));

    const samples = 300;
    const report = await fidelity(join(out, "model.onnx"), { samples });
    const held = heldOutSample(samples);
    const plain = importOnnxFile(join(FIXTURE, "model.onnx"));
    const normalize = (x: Float32Array) => Float32Array.from(x, (v) => Math.fround(Math.fround(v - Math.fround(0.1307)) / Math.fround(0.3081)));
    const correctNormalized = held.images.filter((x, i) => argmax(runFloat(plain, normalize(x)).output) === held.labels[i]).length;
    const correctRaw = held.images.filter((x, i) => argmax(runFloat(plain, x).output) === held.labels[i]).length;
    expect(report.floatAccuracy).to.equal(correctNormalized / samples);
    expect(correctRaw, "the model is worse on raw pixels (so the comparison means something)").to.be.below(correctNormalized - 30);
    expect(report.importerMaxAbsDiff).to.be.below(1e-4);
    expect(report.agreement).to.be.at.least(0.99);

    // raw pixels in: the package's engine, its witness and the SDK's quantization agree bit for bit
    const pkg = loadPackage(out);
    expect((pkg.quant.ops[0] as QLinear).padValue).to.deep.equal([17]); // round(0.1307 * 127)
    for (const x of held.images.slice(0, 3)) {
      const { outputs } = witnessFor(pkg, x);
      expect(outputs).to.deep.equal(runQuantized(pkg.quant, x).outputs);
      const sdk = sdkQuantizeInput(pkg.manifest, x);
      expect(sdk).to.deep.equal(quantizeInput(pkg.quant, x));
      expect(argmax(runQuantized(pkg.quant, sdk).outputs)).to.equal(argmax(runFloat(plain, normalize(x)).output));
    }
  });

  it("the manifest records the preprocessing; its artifact hash changes with it; a manifest that disagrees with quant.json is refused", async function () {
    const model = paddedConvModel();
    const cal = randomInputs(12, 16, 72);
    const build = (name: string, preprocess?: { mean: number[]; std: number[] }) =>
      compileModel(model, { out: join(dir, name), calibration: cal, quant: { inputRange: [0, 1] }, log: () => {}, ...(preprocess ? { preprocess } : {}) });
    await build("plain");
    await build("norm-a", { mean: [0.5, 0.25], std: [0.2, 0.5] });
    await build("norm-b", { mean: [0.5, 0.3], std: [0.2, 0.5] });
    expect(readManifest(join(dir, "plain")).preprocess).to.equal(undefined);
    const a = readManifest(join(dir, "norm-a"));
    expect(a.preprocess).to.deep.equal({ scale: [1, 1], offset: [0, 0], mean: [0.5, 0.25], std: [0.2, 0.5] });
    expect(loadPackage(join(dir, "norm-a")).quant.preprocess).to.deep.equal(a.preprocess);
    const hashes = ["plain", "norm-a", "norm-b"].map((n) => artifactHash(join(dir, n)));
    expect(new Set(hashes).size).to.equal(3);
    expect(new Set(["plain", "norm-a", "norm-b"].map((n) => readManifest(join(dir, n)).sha256["quant.json"])).size).to.equal(3);

    const path = join(dir, "norm-a", "manifest.json");
    const tampered = JSON.parse(readFileSync(path, "utf8")) as { preprocess: { mean: number[] } };
    tampered.preprocess.mean = [0, 0];
    writeFileSync(path, JSON.stringify(tampered, null, 2) + "\n");
    expect(() => loadPackage(join(dir, "norm-a"))).to.throw(/preprocess field does not match the one of its quantized model/);
  });

  it("ozk model build --input-mean/--input-std or --preprocess <file>, then ozk model witness on raw pixels; ozk model fidelity --input-mean/--input-std; bad flags are named", async function () {
    const digit = heldOutSample(1).images[0]!;
    const input = join(dir, "digit.json");
    writeFileSync(input, JSON.stringify(Array.from(digit)));
    const common = ["--skip-setup", "--skip-fidelity", "--calibration", "mnist"];
    const viaFlags = await ozk(["model", "build", join(FIXTURE, "model.onnx"), "--out", join(dir, "cli-flags"), "--input-mean", "0.1307", "--input-std", "0.3081", ...common]);
    expect(viaFlags.code, viaFlags.stderr).to.equal(0);
    expect(viaFlags.stdout).to.include("input preprocessing: (x - 0.1307) / 0.3081 per channel");
    const viaFile = await ozk(["model", "build", join(FIXTURE, "model.onnx"), "--out", join(dir, "cli-file"), "--preprocess", join(FIXTURE, "preprocess.json"), ...common]);
    expect(viaFile.code, viaFile.stderr).to.equal(0);
    expect(readManifest(join(dir, "cli-file")).preprocess).to.deep.equal(readManifest(join(dir, "cli-flags")).preprocess);
    expect(readFileSync(join(dir, "cli-file", "quant.json"), "utf8")).to.equal(readFileSync(join(dir, "cli-flags", "quant.json"), "utf8"));

    // a rebuild without the flags keeps what the package records
    const rebuilt = await ozk(["model", "build", join(FIXTURE, "model.onnx"), "--out", join(dir, "cli-flags"), ...common]);
    expect(rebuilt.code, rebuilt.stderr).to.equal(0);
    expect(readManifest(join(dir, "cli-flags")).preprocess).to.deep.equal(readManifest(join(dir, "cli-file")).preprocess);

    const dropped = await ozk(["model", "build", join(FIXTURE, "model.onnx"), "--out", join(dir, "cli-file"), "--preprocess", "none", ...common]);
    expect(dropped.code, dropped.stderr).to.equal(0);
    expect(readManifest(join(dir, "cli-file")).preprocess).to.equal(undefined);

    const w = await ozk(["model", "witness", join(dir, "cli-flags"), "--input", input, "--out", join(dir, "digit.wtns")]);
    expect(w.code, w.stderr).to.equal(0);
    const pkg = loadPackage(join(dir, "cli-flags"));
    expect((JSON.parse(w.stdout) as { outputs: string[] }).outputs).to.deep.equal(runQuantized(pkg.quant, digit).outputs.map(String));

    // ozk model fidelity on the bare .onnx: the float model is measured on normalized digits only when told so
    const measured = async (...extra: string[]): Promise<number> => {
      const json = join(dir, `fidelity${extra.length}.json`);
      const r = await ozk(["model", "fidelity", join(FIXTURE, "model.onnx"), "--samples", "200", "--min-agreement", "0", "--json", json, ...extra]);
      expect(r.code, r.stderr).to.equal(0);
      return (JSON.parse(readFileSync(json, "utf8")) as { floatAccuracy: number }).floatAccuracy;
    };
    const held = heldOutSample(200);
    const plain = importOnnxFile(join(FIXTURE, "model.onnx"));
    const onNormalized = held.images.filter((x, i) => argmax(runFloat(plain, applyPreprocess(pkg.manifest.preprocess!, [1, 28, 28], x)).output) === held.labels[i]).length / 200;
    expect(await measured("--input-mean", "0.1307", "--input-std", "0.3081")).to.equal(onNormalized);
    expect(await measured()).to.be.below(onNormalized - 0.1);

    const bad = await ozk(["model", "build", join(FIXTURE, "model.onnx"), "--out", join(dir, "cli-bad"), "--input-mean", "0.1,0.2", ...common]);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/mean has 2 values, but the model input \[1, 28, 28\] has 1 channel/);
    const nan = await ozk(["model", "build", join(FIXTURE, "model.onnx"), "--out", join(dir, "cli-bad"), "--input-std", "abc", ...common]);
    expect(nan.code).to.not.equal(0);
    expect(nan.stderr).to.match(/--input-std wants a number or a comma list of numbers .*"abc"/);
  });
});
