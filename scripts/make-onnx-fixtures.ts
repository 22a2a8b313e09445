#!/usr/bin/env -S npx tsx
// Regenerates the importer's test fixtures in test/onnx/fixtures/: small seeded models written the ways PyTorch and
// tf2onnx write them, plus broken files. Usage: npx tsx scripts/make-onnx-fixtures.ts [outDir]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FloatModel } from "../circuits/ir/ir.ts";
import { attrFloat, attrInt, attrInts, attrString, buildOnnxGraph, floatTensor, OnnxGraphBuilder, writeOnnx } from "../circuits/onnx/export.ts";
import type { ExportOptions } from "../circuits/onnx/export.ts";
import { Rng } from "../circuits/train/nn.ts";

const out = process.argv[2] ?? "test/onnx/fixtures";
const rng = new Rng(4242);
const rand = (n: number, scale = 0.5) => Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
const positive = (n: number) => Float32Array.from({ length: n }, () => 0.5 + rng.next());

/** A small PyTorch-shaped CNN on 1x12x12 images. */
function smallCnn(): FloatModel {
  return {
    name: "small-cnn", inputName: "input", inputShape: [1, 12, 12], outputName: "logits",
    layers: [
      { kind: "conv", name: "conv1", inChannels: 1, outChannels: 3, kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], weight: rand(27), bias: rand(3) },
      { kind: "relu", name: "relu1" },
      { kind: "maxpool", name: "pool1", kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
      { kind: "conv", name: "conv2", inChannels: 3, outChannels: 4, kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], weight: rand(108), bias: rand(4) },
      { kind: "relu", name: "relu2" },
      { kind: "flatten", name: "flatten" },
      { kind: "dense", name: "fc1", inFeatures: 16, outFeatures: 8, weight: rand(128), bias: rand(8) },
      { kind: "relu", name: "relu3" },
      { kind: "dense", name: "fc2", inFeatures: 8, outFeatures: 5, weight: rand(40), bias: rand(5) },
    ],
  };
}

function smallMlp(argmax = false): FloatModel {
  return {
    name: "small-mlp", inputName: "input", inputShape: [1, 6, 6], outputName: argmax ? "label" : "logits",
    layers: [
      { kind: "flatten", name: "flatten" },
      { kind: "dense", name: "fc1", inFeatures: 36, outFeatures: 12, weight: rand(432), bias: rand(12) },
      { kind: "relu", name: "relu1" },
      { kind: "dense", name: "fc2", inFeatures: 12, outFeatures: 4, weight: rand(48), bias: rand(4) },
      ...(argmax ? [{ kind: "argmax" as const, name: "argmax" }] : []),
    ],
  };
}

function write(file: string, model: FloatModel, options: ExportOptions & { externalData?: { minBytes: number } }): void {
  writeOnnx(join(out, file), model, options);
}

function bn(c: number) {
  return { scale: positive(c), bias: rand(c), mean: rand(c, 0.3), variance: positive(c), epsilon: 1e-5 };
}

// one set of weights for the CNN variants and one for the MLP variants, so the tests can compare them
const cnn = smallCnn();
const mlp = smallMlp();

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// PyTorch 2.x, opset 17: Conv/Relu/MaxPool, x.view(x.size(0), -1) as Shape->Gather->Unsqueeze->Concat->Reshape, Gemm transB=1
write("cnn-pytorch-opset17.onnx", cnn, { opset: 17, flatten: "shape-pattern" });
// PyTorch 1.x, opset 11: Unsqueeze takes axes as an attribute, Reshape has no allowzero
write("cnn-pytorch-opset11.onnx", cnn, { opset: 11, flatten: "shape-pattern" });
// torch.flatten(x, 1) exports Flatten; opset 13, fixed batch size 1
write("cnn-flatten-opset13.onnx", cnn, { opset: 13, flatten: "flatten", batch: 1 });
// nn.Flatten + nn.Linear MLP, opset 20
write("mlp-pytorch-opset20.onnx", mlp, { opset: 20, flatten: "flatten" });
// tf2onnx: Reshape to a constant [-1, N], MatMul by [K, N] then Add, tf-style names
write("mlp-tf2onnx-matmul-add.onnx", { ...mlp, inputName: "input_1:0", outputName: "dense_1/BiasAdd:0" }, { opset: 13, flatten: "reshape", dense: "matmul-add", batch: "unk__6" });
// output as ArgMax (int64)
write("mlp-argmax.onnx", smallMlp(true), { opset: 17, flatten: "flatten" });
// BatchNorm2d after each conv and BatchNorm1d after fc1 (folded by the importer), Dropout in eval mode
write("cnn-batchnorm-dropout.onnx", cnn, {
  opset: 17, flatten: "shape-pattern", batchNorm: { conv1: bn(3), conv2: bn(4), fc1: bn(8) }, dropoutAfter: ["relu3"],
});
// large initializers in a side file (onnx.save(..., save_as_external_data=True))
write("cnn-external-data.onnx", cnn, { opset: 17, flatten: "shape-pattern", externalData: { minBytes: 64 } });

// auto_pad SAME_UPPER / SAME_LOWER / VALID, AveragePool, Gemm with alpha, beta, transB = 0 and a [1, N] bias,
// Identity, and a Conv without bias: attributes PyTorch rarely writes but tf2onnx and hand-built graphs do
{
  const g = new OnnxGraphBuilder(15);
  let x = g.input("x", ["N", 2, 9, 9]);
  const w1 = g.initializer(floatTensor("w1", [4, 2, 3, 3], rand(72)));
  const b1 = g.initializer(floatTensor("b1", [4], rand(4)));
  x = g.node("Conv", "conv_same_upper", [x, w1, b1], [attrString("auto_pad", "SAME_UPPER"), attrInts("strides", [2, 2])]);
  x = g.node("Relu", "relu_a", [x]);
  const w2 = g.initializer(floatTensor("w2", [3, 4, 2, 2], rand(48)));
  x = g.node("Conv", "conv_same_lower_nobias", [x, w2], [attrString("auto_pad", "SAME_LOWER"), attrInts("kernel_shape", [2, 2])]);
  x = g.node("Identity", "identity", [x]);
  x = g.node("AveragePool", "avgpool", [x], [attrInts("kernel_shape", [2, 2]), attrString("auto_pad", "VALID"), attrInts("strides", [1, 1])]);
  x = g.node("MaxPool", "maxpool_pad", [x], [attrInts("kernel_shape", [3, 3]), attrInts("pads", [1, 1, 1, 1]), attrInts("strides", [2, 2])]);
  x = g.node("Flatten", "flatten", [x], [attrInt("axis", 1)]);
  const B = g.initializer(floatTensor("B", [12, 5], rand(60))); // [K, N] with transB = 0
  const C = g.initializer(floatTensor("C", [1, 5], rand(5)));
  g.node("Gemm", "gemm", [x, B, C], [attrFloat("alpha", 0.5), attrFloat("beta", 2), attrInt("transB", 0)], ["y"]);
  g.output("y", ["N", 5]);
  writeFileSync(join(out, "attributes-autopad-gemm.onnx"), g.encode().onnx);
}

// tf2onnx from a Keras CNN: the NCHW conv output is transposed to NHWC before Keras' Flatten (a Reshape to a
// constant [-1, N]) and dense layers are MatMul + Add; the importer folds the transpose into the first MatMul
{
  const g = new OnnxGraphBuilder(13);
  let x = g.input("input_1", ["unk__8", 1, 8, 8]);
  const w = g.initializer(floatTensor("sequential/conv2d/Conv2D/ReadVariableOp:0", [3, 1, 3, 3], rand(27)));
  const b = g.initializer(floatTensor("sequential/conv2d/BiasAdd/ReadVariableOp:0", [3], rand(3)));
  x = g.node("Conv", "sequential/conv2d/BiasAdd", [x, w, b], [attrInts("dilations", [1, 1]), attrInts("kernel_shape", [3, 3]), attrInts("strides", [2, 2])]);
  x = g.node("Relu", "sequential/conv2d/Relu", [x]);
  x = g.node("Transpose", "sequential/conv2d/Relu__6", [x], [attrInts("perm", [0, 2, 3, 1])]);
  const shape = g.initializer({ ...floatTensor("const_fold_opt__12", [2], []), dataType: 7, rawData: new Uint8Array(BigInt64Array.of(-1n, 27n).buffer) });
  x = g.node("Reshape", "sequential/flatten/Reshape", [x, shape]);
  const w1 = g.initializer(floatTensor("sequential/dense/MatMul/ReadVariableOp:0", [27, 6], rand(162)));
  const b1 = g.initializer(floatTensor("sequential/dense/BiasAdd/ReadVariableOp:0", [6], rand(6)));
  x = g.node("MatMul", "sequential/dense/MatMul", [x, w1]);
  x = g.node("Add", "sequential/dense/BiasAdd", [x, b1]);
  x = g.node("Relu", "sequential/dense/Relu", [x]);
  const w2 = g.initializer(floatTensor("sequential/dense_1/MatMul/ReadVariableOp:0", [6, 4], rand(24)));
  const b2 = g.initializer(floatTensor("sequential/dense_1/BiasAdd/ReadVariableOp:0", [4], rand(4)));
  x = g.node("MatMul", "sequential/dense_1/MatMul", [x, w2]);
  g.node("Add", "sequential/dense_1/BiasAdd", [x, b2], [], ["dense_1"]);
  g.output("dense_1", ["unk__9", 4]);
  writeFileSync(join(out, "cnn-tf2onnx-nhwc-flatten.onnx"), g.encode().onnx);
}

// an operator the importer does not support (Sigmoid) after a Gemm
{
  const g = buildOnnxGraph({ ...mlp, layers: mlp.layers.slice(0, 2), outputName: "hidden" }, { opset: 17, flatten: "flatten" });
  g.outputs.length = 0;
  g.node("Sigmoid", "/act/Sigmoid", ["hidden"], [], ["probs"]);
  g.output("probs", ["batch_size", 12]);
  writeFileSync(join(out, "unsupported-sigmoid.onnx"), g.encode().onnx);
}

// a download cut short: the PyTorch CNN's first 60 %
{
  const full = readFileSync(join(out, "cnn-pytorch-opset17.onnx"));
  writeFileSync(join(out, "truncated.onnx"), full.subarray(0, Math.floor(full.length * 0.6)));
}

console.log(`wrote fixtures to ${out}`);
