// The vision-transformer fixture (test/fixtures/models/vit-mnist, made by scripts/fixtures/vit.ts): onnxruntime runs
// it, its logits equal the TypeScript trainer's forward with the weights read back from the file, it classifies
// held-out digits, and its graph is the documented torch.onnx.export opset-17 form. Also the exporter itself on
// random weights.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { exportVitOnnx, VIT_ONNX_OPS } from "../../circuits/onnx/export-vit.ts";
import { decodeModel } from "../../circuits/onnx/proto.ts";
import type { ModelMsg } from "../../circuits/onnx/proto.ts";
import { Rng } from "../../circuits/train/nn.ts";
import { argmax } from "../../circuits/train/train.ts";
import { MNIST_VIT, VisionTransformer } from "../../circuits/train/transformer.ts";
import type { VitConfig, VitWeights } from "../../circuits/train/transformer.ts";

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "models", "vit-mnist");

/** Read a ViT's weights back out of an exported graph (MatMul weights are stored [in, out]; transposed back). */
function weightsFromOnnx(model: ModelMsg, config: VitConfig): VitWeights {
  const graph = model.graph!;
  const inits = new Map(graph.initializer!.map((t) => {
    const raw = t.rawData!;
    return [t.name!, new Float32Array(Uint8Array.from(raw).buffer)] as const; // a copy: raw may view a larger buffer
  }));
  const init = (name: string) => {
    const v = inits.get(name);
    if (!v) throw new Error(`no initializer ${name}`);
    return v;
  };
  const nodeNamed = (name: string) => {
    const n = graph.node!.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  };
  const linear = (scope: string, inF: number, outF: number) => {
    const wt = init(nodeNamed(`/${scope.replaceAll(".", "/").replace(/^blocks\/(\d+)/, "blocks.$1")}/MatMul`).input![1]!);
    const weight = new Float32Array(inF * outF);
    for (let n = 0; n < outF; n++) for (let k = 0; k < inF; k++) weight[n * inF + k] = wt[k * outF + n]!;
    return { weight, bias: init(`${scope}.bias`) };
  };
  const affine = (prefix: string) => ({ weight: init(`${prefix}.weight`), bias: init(`${prefix}.bias`) });
  const { dim: D, mlpDim: M } = config;
  const ln = graph.node!.find((n) => n.opType === "LayerNormalization")!;
  return {
    config,
    patchEmbed: affine("patch_embed.proj"),
    clsToken: init("cls_token"),
    posEmbed: init("pos_embed"),
    blocks: Array.from({ length: config.depth }, (_, i) => ({
      norm1: affine(`blocks.${i}.norm1`),
      q: linear(`blocks.${i}.attn.q`, D, D),
      k: linear(`blocks.${i}.attn.k`, D, D),
      v: linear(`blocks.${i}.attn.v`, D, D),
      proj: linear(`blocks.${i}.attn.proj`, D, D),
      norm2: affine(`blocks.${i}.norm2`),
      fc1: linear(`blocks.${i}.mlp.fc1`, D, M),
      fc2: linear(`blocks.${i}.mlp.fc2`, M, D),
    })),
    norm: affine("norm"),
    head: affine("head"),
    epsilon: ln.attribute!.find((a) => a.name === "epsilon")!.f!,
  };
}

async function maxLogitDiff(session: ort.InferenceSession, net: VisionTransformer, images: Float32Array[]): Promise<number> {
  let worst = 0;
  for (const x of images) {
    const out = await session.run({ input: new ort.Tensor("float32", x, [1, 1, 28, 28]) });
    const ref = out.logits!.data as Float32Array;
    const mine = net.forward(x);
    expect(ref.length).to.equal(mine.length);
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i]! - mine[i]!));
  }
  return worst;
}

function opCounts(model: ModelMsg): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.graph!.node!) counts[n.opType!] = (counts[n.opType!] ?? 0) + 1;
  return counts;
}

describe("ViT ONNX export", function () {
  it("matches the trainer's forward in onnxruntime on random weights", async function () {
    const net = new VisionTransformer(MNIST_VIT, new Rng(1));
    const rng = new Rng(2);
    // large random weights so attention is far from uniform and GELU sees both signs
    for (const p of net.params) for (let i = 0; i < p.value.length; i++) p.value[i] = p.value[i]! + (rng.next() - 0.5) * 0.5;
    const session = await ort.InferenceSession.create(exportVitOnnx(net.weights()));
    const { images } = heldOutSample(5);
    const logits = Array.from(net.forward(images[0]!));
    expect(Math.max(...logits) - Math.min(...logits)).to.be.above(0.5); // the check below compares something
    expect(await maxLogitDiff(session, net, images)).to.be.below(1e-4);
  });

  it("rejects weights that do not fit the configuration, naming the tensor", function () {
    const w = new VisionTransformer(MNIST_VIT, new Rng(1)).weights();
    w.blocks[1]!.fc1.bias = new Float32Array(3);
    expect(() => exportVitOnnx(w)).to.throw(/ViT export: blocks\.1\.fc1\.bias has 3 values, expected 64/);
  });
});

describe("ViT MNIST fixture", function () {
  let bytes: Buffer;
  let model: ModelMsg;
  let record: { config: VitConfig; parameters: number; sha256: string };
  let readme: string;
  let net: VisionTransformer;
  before(function () {
    bytes = readFileSync(join(FIXTURE, "model.onnx"));
    model = decodeModel(bytes);
    record = JSON.parse(readFileSync(join(FIXTURE, "training.json"), "utf8")) as typeof record;
    readme = readFileSync(join(FIXTURE, "README.md"), "utf8");
    net = new VisionTransformer(record.config, new Rng(0));
    net.setWeights(weightsFromOnnx(model, record.config));
  });

  it("is the file training.json describes", function () {
    expect(createHash("sha256").update(bytes).digest("hex")).to.equal(record.sha256);
    expect(net.parameterCount()).to.equal(record.parameters);
    expect(record.config).to.deep.equal(MNIST_VIT);
  });

  it("runs in onnxruntime and its logits equal the TypeScript forward within 1e-4", async function () {
    const session = await ort.InferenceSession.create(join(FIXTURE, "model.onnx"));
    expect(session.inputNames).to.deep.equal(["input"]);
    expect(session.outputNames).to.deep.equal(["logits"]);
    const { images } = heldOutSample(12);
    expect(await maxLogitDiff(session, net, images)).to.be.below(1e-4);
  });

  it("classifies at least 95% of 300 held-out digits", async function () {
    const session = await ort.InferenceSession.create(join(FIXTURE, "model.onnx"));
    const { images, labels } = heldOutSample(300);
    let correct = 0;
    for (let i = 0; i < images.length; i++) {
      const out = await session.run({ input: new ort.Tensor("float32", images[i]!, [1, 1, 28, 28]) });
      if (argmax(out.logits!.data as Float32Array) === labels[i]) correct++;
    }
    expect(correct / images.length).to.be.at.least(0.95);
  });

  it("is the opset-17 graph torch.onnx.export writes for a ViT, with the documented op set", function () {
    expect(model.opsetImport).to.deep.equal([{ domain: "", version: 17 }]);
    const dims = (v: NonNullable<NonNullable<ModelMsg["graph"]>["input"]>[number]) => v.type!.tensorType!.shape!.dim!.map((d) => d.dimValue);
    expect(model.graph!.input!.map((v) => [v.name, dims(v)])).to.deep.equal([["input", [1, 1, 28, 28]]]);
    expect(model.graph!.output!.map((v) => [v.name, dims(v)])).to.deep.equal([["logits", [1, 10]]]);
    const counts = opCounts(model);
    expect(Object.keys(counts).sort()).to.deep.equal([...VIT_ONNX_OPS]);
    const depth = record.config.depth;
    // per block: 4 projections and fc1, fc2 as MatMul + Add, Q K^T and P V as MatMul of two activations
    expect(counts).to.include({
      Conv: 1, Concat: 1, Gather: 1, Gemm: 1, LayerNormalization: 2 * depth + 1, Softmax: depth, Erf: depth, Div: depth,
      MatMul: 8 * depth, Transpose: 4 * depth + 1, Reshape: 4 * depth + 1,
    });
    const softmax = model.graph!.node!.find((n) => n.opType === "Softmax")!;
    expect(softmax.attribute!.find((a) => a.name === "axis")!.i).to.equal(-1);
    const conv = model.graph!.node!.find((n) => n.opType === "Conv")!;
    expect(conv.attribute!.filter((a) => a.name === "kernel_shape" || a.name === "strides").map((a) => a.ints)).to.deep.equal([[7, 7], [7, 7]]);
    // the README lists exactly these operators
    for (const op of VIT_ONNX_OPS) expect(readme, `README lists ${op}`).to.include(`\`${op}\``);
  });
});
