#!/usr/bin/env -S npx tsx
// Writes the compiler's scale-test model: a PyTorch-shaped MNIST CNN of about 420k parameters (two conv layers,
// two dense), seeded random weights (He init) or briefly trained, exported like torch.onnx.export (opset 17).
// Usage: npx tsx scripts/make-scale-model.ts [out.onnx, default build/scale-cnn/model.onnx] [--train-steps N] [--seed S] [--external-data]
//   Conv(1->32,k3,p1) -> Relu -> MaxPool(2) -> Conv(32->64,k3,p1) -> Relu -> MaxPool(2) -> view(N,-1)
//   -> Gemm(3136->128) -> Relu -> Gemm(128->10)
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { loadMnist } from "../circuits/data/mnist.ts";
import { writeOnnx } from "../circuits/onnx/export.ts";
import { Adam, Conv2d, Dense, Flatten, MaxPool2d, Relu, Rng, Sequential } from "../circuits/train/nn.ts";
import { toFloatModel, train } from "../circuits/train/train.ts";

export function scaleNet(seed: number): Sequential {
  const rng = new Rng(seed);
  return new Sequential([1, 28, 28], [
    new Conv2d("conv1", 1, 32, 3, 1, 1, rng), new Relu("relu1"), new MaxPool2d("pool1", 2, 2),
    new Conv2d("conv2", 32, 64, 3, 1, 1, rng), new Relu("relu2"), new MaxPool2d("pool2", 2, 2),
    new Flatten("flatten"), new Dense("fc1", 64 * 7 * 7, 128, rng), new Relu("relu3"), new Dense("fc2", 128, 10, rng),
  ]);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { "train-steps": { type: "string", default: "0" }, seed: { type: "string", default: "400000" }, "external-data": { type: "boolean" } },
  });
  const out = positionals[0] ?? "build/scale-cnn/model.onnx" // build/ is git-ignored;
  const net = scaleNet(Number(values.seed));
  const steps = Number(values["train-steps"]);
  if (steps > 0) {
    // a few Adam steps on real digits so activations have realistic ranges for calibration (about 1 s per step)
    const { train: data } = loadMnist();
    const batch = 32;
    const subset = { images: data.images.slice(0, steps * batch), labels: data.labels.slice(0, steps * batch) };
    train(net, subset, { epochs: 1, batchSize: batch, lr: 1e-3, seed: Number(values.seed) + 1, optimizer: new Adam() });
  }
  mkdirSync(dirname(out), { recursive: true });
  writeOnnx(out, toFloatModel(net, "scale-cnn"), { opset: 17, flatten: "shape-pattern", dense: "gemm", externalData: values["external-data"] });
  console.log(`wrote ${out}: ${net.parameterCount()} parameters${steps ? `, ${steps} training steps` : ", random weights"}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
