// ONNX importer: every fixture's IR, run by the float engine, matches onnxruntime; every error names its cause.
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import * as ort from "onnxruntime-node";
import type { ConvLayer, FloatModel } from "../../circuits/ir/ir.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { runFloat } from "../../circuits/ir/float-engine.ts";
import { applyOutputOp } from "../../circuits/ir/output-op.ts";
import { attrInt, attrInts, buildOnnxGraph, floatTensor, OnnxGraphBuilder } from "../../circuits/onnx/export.ts";
import { importOnnx, importOnnxFile, OnnxImportError } from "../../circuits/onnx/import.ts";
import { decodeModel } from "../../circuits/onnx/proto.ts";
import { Rng } from "../../circuits/train/nn.ts";

const fixtures = join(import.meta.dirname, "fixtures");
const fixture = (name: string) => join(fixtures, name);

/** Largest |onnxruntime - importer| over seeded random inputs (or the given ones). */
async function maxDiffVsOrt(path: string, model: FloatModel, inputs?: Float32Array[]): Promise<number> {
  const session = await ort.InferenceSession.create(path);
  const rng = new Rng(99);
  const n = model.inputShape.reduce((a, b) => a * b, 1);
  const xs = inputs ?? Array.from({ length: 6 }, () => Float32Array.from({ length: n }, () => rng.next() * 2 - 0.5));
  let worst = 0;
  for (const x of xs) {
    const out = await session.run({ [model.inputName]: new ort.Tensor("float32", x, [1, ...model.inputShape]) });
    const ref = Array.from(out[model.outputName]!.data as ArrayLike<number | bigint>, Number);
    const mine = runFloat(model, x).output;
    expect(mine.length).to.equal(ref.length);
    ref.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - mine[i]!))));
  }
  return worst;
}

function importError(fn: () => unknown): OnnxImportError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(OnnxImportError);
    return err as OnnxImportError;
  }
  expect.fail("expected an OnnxImportError");
}

describe("ONNX import", function () {
  const kinds = (m: FloatModel) => m.layers.map((l) => l.kind).join(" ");

  describe("matches onnxruntime on every fixture", function () {
    const cases: [string, string][] = [
      ["cnn-pytorch-opset17.onnx", "conv relu maxpool conv relu flatten dense relu dense"],
      ["cnn-pytorch-opset11.onnx", "conv relu maxpool conv relu flatten dense relu dense"],
      ["cnn-flatten-opset13.onnx", "conv relu maxpool conv relu flatten dense relu dense"],
      ["cnn-batchnorm-dropout.onnx", "conv relu maxpool conv relu flatten dense relu dense"],
      ["cnn-external-data.onnx", "conv relu maxpool conv relu flatten dense relu dense"],
      ["mlp-pytorch-opset20.onnx", "flatten dense relu dense"],
      ["mlp-tf2onnx-matmul-add.onnx", "flatten dense relu dense"],
      ["mlp-argmax.onnx", "flatten dense relu dense argmax"],
      ["attributes-autopad-gemm.onnx", "conv relu conv avgpool maxpool flatten dense"],
      ["cnn-tf2onnx-nhwc-flatten.onnx", "conv relu flatten dense relu dense"],
    ];
    for (const [file, layers] of cases) {
      it(file, async function () {
        const model = importOnnxFile(fixture(file));
        expect(kinds(model)).to.equal(layers);
        expect(await maxDiffVsOrt(fixture(file), model)).to.be.below(1e-4);
      });
    }

    for (const name of ["mnist-mlp", "mnist-cnn"]) {
      it(`shipped model ${name} on held-out digits`, async function () {
        const path = join(import.meta.dirname, "../../models", name, "model.onnx");
        const model = importOnnxFile(path);
        expect(model.name).to.equal(name);
        expect(model.inputShape).to.deep.equal([1, 28, 28]);
        expect(await maxDiffVsOrt(path, model, heldOutSample(20).images)).to.be.below(1e-4);
      });
    }
  });

  it("imports the 420k-parameter scale-test model from scripts/make-scale-model.ts (external data)", async function () {
    const dir = mkdtempSync(join(tmpdir(), "ozk-scale-"));
    try {
      const path = join(dir, "model.onnx");
      await promisify(execFile)(process.execPath, ["--import", "tsx", join(import.meta.dirname, "../../scripts/make-scale-model.ts"), path, "--external-data"]);
      const model = importOnnxFile(path);
      const params = model.layers.reduce((n, l) => n + ("weight" in l ? l.weight.length + l.bias.length : 0), 0);
      expect(params).to.equal(421_642);
      expect(kinds(model)).to.equal("conv relu maxpool conv relu maxpool flatten dense relu dense");
      expect(await maxDiffVsOrt(path, model, [heldOutSample(1).images[0]!])).to.be.below(1e-4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("patterns", function () {
    it("folds BatchNormalization into the preceding conv/gemm and drops Dropout", function () {
      const bytes = readFileSync(fixture("cnn-batchnorm-dropout.onnx"));
      const ops = decodeModel(bytes).graph!.node!.map((n) => n.opType);
      expect(ops.filter((o) => o === "BatchNormalization")).to.have.length(3);
      expect(ops).to.include("Dropout");
      const plain = importOnnxFile(fixture("cnn-pytorch-opset17.onnx"));
      const folded = importOnnxFile(fixture("cnn-batchnorm-dropout.onnx"));
      expect(folded.layers).to.have.length(plain.layers.length);
      // same raw conv weights in both files, so folding must have changed them
      expect(Array.from((folded.layers[0] as ConvLayer).weight)).to.not.deep.equal(Array.from((plain.layers[0] as ConvLayer).weight));
    });

    it("reads external data and gets the same weights as the inline file", function () {
      const model = decodeModel(readFileSync(fixture("cnn-external-data.onnx")));
      const external = model.graph!.initializer!.filter((t) => t.dataLocation === 1);
      expect(external.length).to.be.greaterThan(0);
      expect(external[0]!.externalData!.map((e) => e.key)).to.deep.equal(["location", "offset", "length"]);
      const a = importOnnxFile(fixture("cnn-external-data.onnx"));
      const b = importOnnxFile(fixture("cnn-pytorch-opset17.onnx"));
      expect(a.layers.map((l) => ("weight" in l ? Array.from(l.weight) : []))).to.deep.equal(
        b.layers.map((l) => ("weight" in l ? Array.from(l.weight) : [])),
      );
    });

    it("constant-folds the Shape/Gather/Unsqueeze/Concat/Reshape flatten of opsets 11 and 17 alike", function () {
      const ops = decodeModel(readFileSync(fixture("cnn-pytorch-opset17.onnx"))).graph!.node!.map((n) => n.opType);
      for (const op of ["Shape", "Gather", "Unsqueeze", "Concat", "Reshape"]) expect(ops).to.include(op);
      const m11 = importOnnxFile(fixture("cnn-pytorch-opset11.onnx"));
      const m17 = importOnnxFile(fixture("cnn-pytorch-opset17.onnx"));
      expect(m11.layers.map((l) => l.kind)).to.deep.equal(m17.layers.map((l) => l.kind));
    });

    it("resolves auto_pad SAME_UPPER / SAME_LOWER and Gemm alpha, beta, transB = 0", function () {
      const m = importOnnxFile(fixture("attributes-autopad-gemm.onnx"));
      const [c1, , c2] = m.layers as [ConvLayer, unknown, ConvLayer];
      expect(c1.pads).to.deep.equal([1, 1, 1, 1]); // 9 -> 5 with k3 s2: total pad 2
      expect(c2.pads).to.deep.equal([1, 1, 0, 0]); // k2 s1: total 1, SAME_LOWER puts it first
      expect(c2.bias.every((b) => b === 0)).to.equal(true);
    });

    it("names layers after the PyTorch scopes", function () {
      const m = importOnnxFile(fixture("cnn-pytorch-opset17.onnx"));
      expect(m.layers.map((l) => l.name)).to.deep.equal(["conv1", "relu1", "pool1", "conv2", "relu2", "flatten", "fc1", "relu3", "fc2"]);
      expect(m.name).to.equal("cnn-pytorch-opset17");
    });
  });

  describe("errors", function () {
    const mlp = importOnnxFile(fixture("mlp-pytorch-opset20.onnx"));

    it("names the node, the operator and what is supported for an unsupported operator", function () {
      const err = importError(() => importOnnxFile(fixture("unsupported-sigmoid.onnx")));
      expect(err.message).to.match(/node "\/act\/Sigmoid" \(Sigmoid\): operator Sigmoid is not supported \(supported: Gemm, MatMul/);
      expect(err.details).to.include({ node: "/act/Sigmoid", op: "Sigmoid" });
    });

    it("names an unsupported operator (LSTM) before any check of the input shape (a sequence-first input)", function () {
      // As torch.onnx.export writes an nn.LSTM over [seq, batch, features]: axis 0 is the sequence (10), not a batch of 1.
      const g = new OnnxGraphBuilder(17);
      g.input("input", [10, 1, 8]);
      g.initializer(floatTensor("W", [1, 64, 8], new Float32Array(512)));
      g.initializer(floatTensor("R", [1, 64, 16], new Float32Array(1024)));
      g.node("LSTM", "/lstm/LSTM", ["input", "W", "R"], [attrInt("hidden_size", 16)], ["Y"]);
      g.output("Y", [10, 1, 1, 16]);
      const err = importError(() => importOnnx(g.encode().onnx));
      expect(err.message).to.match(/node "\/lstm\/LSTM" \(LSTM\): operator LSTM is not supported \(supported: Gemm, MatMul, Add, Conv, Relu, MaxPool/);
      expect(err.message).to.not.match(/batch/);
      expect(err.details).to.include({ node: "/lstm/LSTM", op: "LSTM" });
    });

    it("a final Softmax / LogSoftmax over the features is left out (recorded; onnxruntime's output is it applied to the logits); anywhere else it is refused with how to export logits", async function () {
      const dir = mkdtempSync(join(tmpdir(), "ozk-onnx-"));
      try {
        for (const [op, axis] of [["Softmax", 1], ["LogSoftmax", -1], ["Softmax", undefined]] as const) {
          const g = buildOnnxGraph({ ...mlp, outputName: "logits" }, { opset: 17, flatten: "flatten" });
          g.outputs.length = 0;
          g.node(op, `/${op}`, ["logits"], axis === undefined ? [] : [attrInt("axis", axis)], ["probs"]);
          g.output("probs", ["batch_size", 4]);
          const path = join(dir, `${op}.onnx`);
          writeFileSync(path, g.encode().onnx);
          const m = importOnnxFile(path);
          expect(m.strippedOutputOp).to.equal(op);
          expect(m.outputName).to.equal("probs");
          expect(m.layers.map((l) => l.kind)).to.deep.equal(mlp.layers.map((l) => l.kind));
          // the layers compute the logits: onnxruntime's probabilities are the stripped operator applied to them
          const session = await ort.InferenceSession.create(path);
          const x = Float32Array.from({ length: m.inputShape.reduce((a, b) => a * b, 1) }, (_, i) => (i % 7) / 7);
          const ortOut = Array.from((await session.run({ [m.inputName]: new ort.Tensor("float32", x, [1, ...m.inputShape]) })).probs!.data as Float32Array);
          applyOutputOp(op, runFloat(m, x).output).forEach((v, i) => expect(Math.abs(v - ortOut[i]!), `${op} output ${i}`).to.be.below(1e-5));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      // not the last operation: refused, with the advice
      const g = buildOnnxGraph({ ...mlp, layers: mlp.layers.slice(0, 2), outputName: "hidden" }, { opset: 17, flatten: "flatten" });
      g.outputs.length = 0;
      g.node("Softmax", "/mid/Softmax", ["hidden"], [], ["soft"]);
      g.node("Relu", "/after/Relu", ["soft"], [], ["out"]);
      g.output("out", ["batch_size", 12]);
      const err = importError(() => importOnnx(g.encode().onnx));
      expect(err.message).to.contain('node "/mid/Softmax" (Softmax): operator Softmax is supported only as the model\'s last operation');
      expect(err.message).to.contain("export nn.Sequential(*list(model.children())[:-1]) with torch.onnx.export");
      // over another axis: refused
      const h = buildOnnxGraph({ ...mlp, outputName: "logits" }, { opset: 17, flatten: "flatten" });
      h.outputs.length = 0;
      h.node("Softmax", "/Softmax", ["logits"], [attrInt("axis", 0)], ["probs"]);
      h.output("probs", ["batch_size", 4]);
      expect(importError(() => importOnnx(h.encode().onnx)).message).to.contain("operator Softmax is supported only as the model's last operation, over the features");
    });

    it("reports a truncated file clearly", function () {
      const err = importError(() => importOnnxFile(fixture("truncated.onnx")));
      expect(err.message).to.match(/truncated\.onnx: not a valid ONNX file \(protobuf decoding failed: .*\); is it truncated\?/);
    });

    it("reports garbage, empty and missing files", function () {
      expect(importError(() => importOnnx(new TextEncoder().encode("this is not protobuf at all"))).message).to.match(/not a valid ONNX/);
      expect(importError(() => importOnnx(new Uint8Array(0))).message).to.match(/has no graph/);
      expect(importError(() => importOnnxFile(fixture("nope.onnx"))).message).to.match(/cannot read .*nope\.onnx/);
    });

    it("reports a missing external data file", function () {
      const dir = mkdtempSync(join(tmpdir(), "ozk-onnx-"));
      try {
        copyFileSync(fixture("cnn-external-data.onnx"), join(dir, "cnn-external-data.onnx"));
        const err = importError(() => importOnnxFile(join(dir, "cnn-external-data.onnx")));
        expect(err.message).to.match(/initializer conv1\.weight: external data file .*cnn-external-data\.onnx\.data not found/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    /** A one-conv graph with the given attributes on its Conv node. */
    function convGraph(attrs: ReturnType<typeof attrInt>[], weightDims = [2, 1, 3, 3], opset = 17): Uint8Array {
      const g = new OnnxGraphBuilder(opset);
      const x = g.input("x", ["N", 2, 8, 8]);
      const w = g.initializer(floatTensor("w", weightDims, new Float32Array(weightDims.reduce((a, b) => a * b, 1))));
      g.node("Conv", "/conv/Conv", [x, w], attrs, ["y"]);
      g.output("y", ["N", 2, 6, 6]);
      return g.encode().onnx;
    }

    it("rejects unsupported attribute values and unknown attributes, naming them", function () {
      expect(importError(() => importOnnx(convGraph([attrInt("group", 2)]))).message).to.equal(
        'node "/conv/Conv" (Conv): group = 2 is not supported (supported: group = 1)',
      );
      expect(importError(() => importOnnx(convGraph([attrInt("group", 1), attrInts("dilations", [2, 2])], [2, 2, 3, 3]))).message).to.match(
        /\(Conv\): dilations \[2, 2\] are not supported \(supported: 1\)/,
      );
      expect(importError(() => importOnnx(convGraph([attrInt("fancy", 1)], [2, 2, 3, 3]))).message).to.match(
        /\(Conv\): attribute fancy is not supported \(supported: auto_pad, dilations, group, kernel_shape, pads, strides\)/,
      );
    });

    it("rejects opsets outside 9-21", function () {
      expect(importError(() => importOnnx(convGraph([], [2, 2, 3, 3], 8))).message).to.match(/opset 8 is not supported \(supported: 9 to 21\)/);
    });

    it("rejects branches (skip connections)", function () {
      const g = buildOnnxGraph(mlp, { opset: 17, flatten: "flatten" });
      const relu = g.nodes.find((n) => n.opType === "Relu")!;
      const hidden = relu.output![0]!;
      const fc1 = g.nodes.find((n) => n.opType === "Gemm")!;
      g.nodes.splice(g.nodes.indexOf(relu) + 1, 0, { name: "/skip/Add", opType: "Add", input: [hidden, fc1.output![0]!], output: ["skip"] });
      const err = importError(() => importOnnx(g.encode().onnx));
      expect(err.message).to.match(/node "\/skip\/Add" \(Add\): input \/fc1\/Gemm_output_0 is neither a constant nor the current activation; only a single chain/);
    });

    it("rejects BatchNormalization that does not follow a conv or dense layer", function () {
      const g = buildOnnxGraph(mlp, { opset: 17, flatten: "flatten" });
      const relu = g.nodes.find((n) => n.opType === "Relu")!;
      const names = ["s", "b", "m", "v"].map((k) => g.initializer(floatTensor(`bn.${k}`, [12], new Float32Array(12).fill(1))));
      const after = g.nodes[g.nodes.indexOf(relu) + 1]!;
      g.nodes.splice(g.nodes.indexOf(relu) + 1, 0, { name: "/bn/BatchNormalization", opType: "BatchNormalization", input: [relu.output![0]!, ...names], output: ["bn_out"] });
      after.input![0] = "bn_out";
      expect(importError(() => importOnnx(g.encode().onnx)).message).to.match(
        /\(BatchNormalization\): BatchNormalization is supported only right after Conv, Gemm or MatMul/,
      );
    });

    it("rejects a transposed activation that does not go straight to a flatten", function () {
      const g = new OnnxGraphBuilder(13);
      const x = g.input("x", ["N", 2, 4, 4]);
      const t = g.node("Transpose", "/t/Transpose", [x], [attrInts("perm", [0, 2, 3, 1])]);
      g.node("MaxPool", "/pool/MaxPool", [t], [attrInts("kernel_shape", [2, 2])], ["y"]);
      g.output("y", ["N", 4, 3, 1]);
      expect(importError(() => importOnnx(g.encode().onnx)).message).to.equal(
        'node "/pool/MaxPool" (MaxPool): follows a Transpose of the activation; only Relu and a flatten (then Gemm/MatMul) may follow one',
      );
    });

    it("keeps initializers listed as graph inputs (keep_initializers_as_inputs) as constants", function () {
      const g = buildOnnxGraph(mlp, { opset: 11, flatten: "flatten" });
      for (const t of g.initializers) g.input(t.name!, t.dims!);
      const m = importOnnx(g.encode().onnx);
      expect(m.inputName).to.equal("input");
      expect(m.layers.map((l) => l.kind)).to.deep.equal(["flatten", "dense", "relu", "dense"]);
    });

    it("rejects a reshape that is not a flatten and MaxPool ceil_mode", function () {
      const g = new OnnxGraphBuilder(17);
      const x = g.input("x", ["N", 16]);
      const shape = g.constInt64([1, 1, 4, 4]);
      g.node("Reshape", "/unflatten/Reshape", [x, shape], [], ["y"]);
      g.output("y", [1, 1, 4, 4]);
      expect(importError(() => importOnnx(g.encode().onnx)).message).to.match(/reshape of \[1, 16\] to \[1, 1, 4, 4\] is not supported \(supported: flatten/);

      const p = new OnnxGraphBuilder(17);
      const px = p.input("x", ["N", 1, 5, 5]);
      p.node("MaxPool", "/pool/MaxPool", [px], [attrInts("kernel_shape", [2, 2]), attrInt("ceil_mode", 1)], ["y"]);
      p.output("y", ["N", 1, 3, 3]);
      expect(importError(() => importOnnx(p.encode().onnx)).message).to.match(/\(MaxPool\): ceil_mode = 1 is not supported \(supported: 0\)/);
    });

    it("rejects models with several inputs or a non-float input", function () {
      const g = new OnnxGraphBuilder(17);
      g.input("a", ["N", 4]);
      g.input("b", ["N", 4]);
      g.node("Relu", "r", ["a"], [], ["y"]);
      g.output("y", ["N", 4]);
      expect(importError(() => importOnnx(g.encode().onnx)).message).to.match(/exactly one non-constant input, found 2 \(a, b\)/);
      const h = new OnnxGraphBuilder(17);
      h.input("a", ["N", 4], 7);
      h.node("Relu", "r", ["a"], [], ["y"]);
      h.output("y", ["N", 4]);
      expect(importError(() => importOnnx(h.encode().onnx)).message).to.match(/element type 7; only float32/);
    });
  });
});
