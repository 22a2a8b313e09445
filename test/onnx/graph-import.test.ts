// The graph importer and its float64 engine: the ViT fixture and the shipped models run as onnxruntime runs them,
// the shipped models also as the sequential float engine does; torch's decomposed LayerNorm and both GELU forms fold
// to one node each, near misses are refused naming the node, as are unsupported operators and shape errors.
import { join } from "node:path";
import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { runFloat } from "../../circuits/ir/float-engine.ts";
import { chainToGraph, graphShapes } from "../../circuits/ir/graph.ts";
import type { GraphModel } from "../../circuits/ir/graph.ts";
import { erf, runGraphFloat } from "../../circuits/ir/graph-float.ts";
import { attrFloat, attrInt, attrInts, attrTensor, floatTensor, int64Tensor, OnnxGraphBuilder } from "../../circuits/onnx/export.ts";
import { importOnnxGraph, importOnnxGraphFile } from "../../circuits/onnx/graph-import.ts";
import { importOnnxFile, OnnxImportError } from "../../circuits/onnx/import.ts";
import { Rng } from "../../circuits/train/nn.ts";

const root = join(import.meta.dirname, "..", "..");
const VIT = join(root, "test", "fixtures", "models", "vit-mnist", "model.onnx");
const SHIPPED = [
  join(root, "models", "mnist-mlp", "model.onnx"),
  join(root, "models", "mnist-cnn", "model.onnx"),
  join(root, "test", "fixtures", "models", "pytorch-cnn", "model.onnx"),
];

/** Largest |onnxruntime - graph float engine| over the inputs. */
async function maxDiffVsOrt(model: string | Uint8Array, graph: GraphModel, inputs: Float32Array[]): Promise<number> {
  const session = await ort.InferenceSession.create(model as string);
  let worst = 0;
  for (const x of inputs) {
    const out = await session.run({ [graph.input.name]: new ort.Tensor("float32", x, [1, ...graph.input.shape]) });
    const ref = out[session.outputNames[0]!]!.data as Float32Array;
    const mine = runGraphFloat(graph, x).output;
    expect(mine.length).to.equal(ref.length);
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i]! - mine[i]!));
  }
  return worst;
}

function randomInputs(shape: number[], n: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => rng.next() * 4 - 2));
}

const ops = (g: GraphModel) => g.nodes.map((n) => n.op);

describe("graph IR: ONNX import and float engine", function () {
  this.timeout(120_000);

  it("imports the ViT fixture; its float logits equal onnxruntime's on held-out digits", async function () {
    const graph = importOnnxGraphFile(VIT);
    const count = (op: string) => ops(graph).filter((o) => o === op).length;
    // 2 blocks: 2 LayerNorms each plus the final one, one GELU and one attention (2 matmuls, 1 softmax) each
    expect([count("layerNorm"), count("gelu"), count("matmul"), count("softmax")]).to.deep.equal([5, 2, 4, 2]);
    expect(count("dense")).to.equal(13); // Q, K, V, proj, fc1, fc2 per block, and the head
    expect(graph.strippedOutputOp).to.equal(undefined);
    expect(graphShapes(graph).get(graph.output)).to.deep.equal([10]);
    const { images } = heldOutSample(8);
    expect(await maxDiffVsOrt(VIT, graph, images)).to.be.below(1e-4);
  });

  for (const path of SHIPPED) {
    const name = path.split("/").slice(-2, -1)[0]!;
    it(`imports ${name} as a graph equal to onnxruntime and to the sequential engine`, async function () {
      const graph = importOnnxGraphFile(path);
      const seq = importOnnxFile(path);
      const chain = chainToGraph(seq);
      expect(ops(graph)).to.not.include("add"); // every bias folded into its dense or conv
      const { images } = heldOutSample(6);
      expect(await maxDiffVsOrt(path, graph, images)).to.be.below(1e-4);
      for (const x of images) {
        const g = runGraphFloat(graph, x).output;
        const s = runFloat(seq, x).output;
        const c = runGraphFloat(chain, x).output;
        expect(g.length).to.equal(s.length);
        for (let i = 0; i < s.length; i++) {
          expect(Math.abs(g[i]! - s[i]!)).to.be.below(1e-4);
          expect(Math.abs(c[i]! - s[i]!)).to.be.below(1e-4);
        }
      }
    });
  }

  it("chainToGraph keeps each layer as one node, named after it, and the input preprocessing", function () {
    const seq = importOnnxFile(SHIPPED[2]!);
    seq.preprocess = { scale: [1], offset: [0], mean: [0.1307], std: [0.3081] };
    const chain = chainToGraph(seq);
    expect(chain.nodes.map((n) => n.name)).to.deep.equal(seq.layers.map((l) => l.name));
    expect(ops(chain)).to.deep.equal(seq.layers.map((l) => l.kind));
    expect(graphShapes(chain).get(chain.output)).to.deep.equal([10]);
    const x = heldOutSample(1).images[0]!;
    const s = runFloat(seq, x).output;
    const c = runGraphFloat(chain, x).output;
    for (let i = 0; i < s.length; i++) expect(Math.abs(c[i]! - s[i]!)).to.be.below(1e-4);
    // and the preprocessing matters: without it the logits differ
    const raw = runGraphFloat({ ...chain, preprocess: undefined }, x).output;
    expect(Math.max(...Array.from(raw, (v, i) => Math.abs(v - s[i]!)))).to.be.above(1e-2);
  });

  it("erf is accurate to float64 on both sides of the series/continued-fraction switch", function () {
    // reference values (erf(0.5), erf(1), erf(2.5), erf(3)) to 16 digits
    expect(Math.abs(erf(0.5) - 0.5204998778130465)).to.be.below(1e-15);
    expect(Math.abs(erf(1) - 0.8427007929497149)).to.be.below(1e-15);
    expect(Math.abs(erf(-2.5) + 0.9995930479825550)).to.be.below(1e-15);
    expect(Math.abs(erf(3) - 0.9999779095030014)).to.be.below(1e-15);
  });
});

// --- hand-built graphs ------------------------------------------------------------------------------------------

const T = 3;
const D = 8;

/** A graph over input x [1, T, D] built by `body`, which returns the output tensor. */
function build(body: (g: OnnxGraphBuilder, x: string, c: (v: number) => string) => string, outDims: number[] = [1, T, D], opset = 17): Uint8Array {
  const g = new OnnxGraphBuilder(opset);
  const x = g.input("x", [1, T, D]);
  let k = 0;
  const c = (v: number) => g.node("Constant", `c${k++}`, [], [attrTensor("value", floatTensor("", [], [v]))]);
  const y = body(g, x, c);
  // the output gets the graph's output name through an Identity, which the importer drops
  g.node("Identity", "out", [y], [], ["y"]);
  g.output("y", outDims);
  return g.encode().onnx;
}

const rng = new Rng(7);
const vec = (n: number) => Array.from({ length: n }, () => rng.next() * 2 - 0.5);

/** Decomposed LayerNorm, torch's pre-opset-17 form; `exponent` and `epsAfterSqrt` make near misses. */
function layerNormGraph(opts: { exponent?: number; epsAfterSqrt?: boolean; opset?: number } = {}): Uint8Array {
  return build((g, x, c) => {
    // from opset 18 ReduceMean takes its axes as an input
    const reduceLast = (name: string, t: string) => (g.opset >= 18
      ? g.node("ReduceMean", name, [t, g.initializer(int64Tensor(`${name}.axes`, [1], [-1]))])
      : g.node("ReduceMean", name, [t], [attrInts("axes", [-1])]));
    const mean = reduceLast("ln/ReduceMean", x);
    const d = g.node("Sub", "ln/Sub", [x, mean]);
    const sq = g.node("Pow", "ln/Pow", [d, c(opts.exponent ?? 2)]);
    const v = reduceLast("ln/ReduceMean_1", sq);
    let s: string;
    if (opts.epsAfterSqrt) s = g.node("Add", "ln/Add", [g.node("Sqrt", "ln/Sqrt", [v]), c(1e-5)]);
    else s = g.node("Sqrt", "ln/Sqrt", [g.node("Add", "ln/Add", [v, c(1e-5)])]);
    const n = g.node("Div", "ln/Div", [d, s]);
    const gamma = g.initializer(floatTensor("ln.weight", [D], vec(D)));
    const beta = g.initializer(floatTensor("ln.bias", [D], vec(D)));
    return g.node("Add", "ln/Add_1", [g.node("Mul", "ln/Mul", [n, gamma]), beta]);
  }, [1, T, D], opts.opset);
}

/** GELU, erf form. "torch": x/sqrt2, erf + 1, x * that, * 0.5; "swapped": x * (1/sqrt2), 1 + erf, (x * 0.5) * that. */
function erfGeluGraph(order: "torch" | "swapped", one = 1): Uint8Array {
  return build((g, x, c) => {
    if (order === "torch") {
      const e = g.node("Erf", "act/Erf", [g.node("Div", "act/Div", [x, c(Math.SQRT2)])]);
      const p = g.node("Add", "act/Add", [e, c(one)]);
      return g.node("Mul", "act/Mul_1", [g.node("Mul", "act/Mul", [x, p]), c(0.5)]);
    }
    const e = g.node("Erf", "act/Erf", [g.node("Mul", "act/Scale", [c(Math.SQRT1_2), x])]);
    const p = g.node("Add", "act/Add", [c(one), e]);
    const half = g.node("Mul", "act/Half", [c(0.5), x]);
    return g.node("Mul", "act/Mul", [p, half]);
  });
}

/** GELU, tanh form as torch writes nn.GELU(approximate="tanh"): x * (x * x), kappa * that, x + that, beta * that,
 *  Tanh, 1 + that, x * that, 0.5 * that. */
function tanhGeluGraph(kappa = 0.044715): Uint8Array {
  return build((g, x, c) => {
    const cube = g.node("Mul", "act/Mul_1", [x, g.node("Mul", "act/Mul", [x, x])]);
    const inner = g.node("Add", "act/Add", [x, g.node("Mul", "act/Mul_2", [c(kappa), cube])]);
    const t = g.node("Tanh", "act/Tanh", [g.node("Mul", "act/Mul_3", [c(Math.sqrt(2 / Math.PI)), inner])]);
    const p = g.node("Add", "act/Add_1", [c(1), t]);
    return g.node("Mul", "act/Mul_5", [c(0.5), g.node("Mul", "act/Mul_4", [x, p])]);
  });
}

const xs = randomInputs([T, D], 4, 11);

/** The error `f` throws: an OnnxImportError (fails the test if f returns). */
function importError(f: () => unknown): OnnxImportError {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(OnnxImportError);
    return err as OnnxImportError;
  }
  throw new Error("expected an import error");
}

describe("graph IR: folded patterns", function () {
  this.timeout(60_000);

  it("folds torch's decomposed LayerNorm into one layerNorm node equal to onnxruntime", async function () {
    const bytes = layerNormGraph();
    const graph = importOnnxGraph(bytes);
    expect(ops(graph)).to.deep.equal(["layerNorm"]);
    const ln = graph.nodes[0]!;
    // (a plain comparison: under the whole suite, hardhat's chai matchers take closeTo's arguments for bigints)
    const eps = ln.op === "layerNorm" ? ln.epsilon : NaN;
    expect(Math.abs(eps - 1e-5) < 1e-12, `epsilon ${eps}`).to.equal(true);
    expect(await maxDiffVsOrt(bytes, graph, xs)).to.be.below(1e-5);
  });

  it("folds the decomposed LayerNorm at opset 18 (ReduceMean axes as an input)", async function () {
    const bytes = layerNormGraph({ opset: 18 });
    const graph = importOnnxGraph(bytes);
    expect(ops(graph)).to.deep.equal(["layerNorm"]);
    expect(await maxDiffVsOrt(bytes, graph, xs)).to.be.below(1e-5);
  });

  for (const order of ["torch", "swapped"] as const) {
    it(`folds the erf GELU (${order} operand order) into one gelu node equal to onnxruntime`, async function () {
      const bytes = erfGeluGraph(order);
      const graph = importOnnxGraph(bytes);
      expect(graph.nodes.map((n) => (n.op === "gelu" ? `gelu:${n.form}` : n.op))).to.deep.equal(["gelu:erf"]);
      expect(await maxDiffVsOrt(bytes, graph, xs)).to.be.below(1e-5);
    });
  }

  it("folds the tanh GELU into one gelu node equal to onnxruntime", async function () {
    const bytes = tanhGeluGraph();
    const graph = importOnnxGraph(bytes);
    expect(graph.nodes.map((n) => (n.op === "gelu" ? `gelu:${n.form}` : n.op))).to.deep.equal(["gelu:tanh"]);
    expect(await maxDiffVsOrt(bytes, graph, xs)).to.be.below(1e-5);
  });

  it("refuses a LayerNorm near miss with Pow 3, naming the Pow", function () {
    const err = importError(() => importOnnxGraph(layerNormGraph({ exponent: 3 })));
    expect(err.message).to.match(/node "ln\/Pow" \(Pow\): decomposed LayerNorm .*exponent 3, the variance needs Pow 2/);
  });

  it("refuses a LayerNorm near miss with epsilon added after Sqrt, naming where it differs", function () {
    const err = importError(() => importOnnxGraph(layerNormGraph({ epsAfterSqrt: true })));
    expect(err.message).to.match(/node "ln\/Sqrt" \(Sqrt\): decomposed LayerNorm .*expected Add of a constant epsilon to the variance, before Sqrt; found Sqrt/);
  });

  it("refuses an erf GELU near miss (Add 2 instead of 1), naming the Add", function () {
    const err = importError(() => importOnnxGraph(erfGeluGraph("torch", 2)));
    expect(err.message).to.match(/node "act\/Add" \(Add\): Erf is supported only in GELU.*expected Add of 1/);
  });

  it("refuses a tanh GELU near miss (0.05 instead of 0.044715), naming the Add", function () {
    const err = importError(() => importOnnxGraph(tanhGeluGraph(0.05)));
    expect(err.message).to.match(/node "act\/Add" \(Add\): Tanh is supported only in GELU's tanh form.*0\.044715 \* x\^3/);
  });

  it("refuses Erf on its own, naming it", function () {
    const bytes = build((g, x) => g.node("Erf", "lonely/Erf", [x]));
    expect(importError(() => importOnnxGraph(bytes)).message).to.match(/node "lonely\/Erf" \(Erf\): Erf is supported only in GELU/);
  });

  it("keeps a plain ReduceMean as a reduceMean node", async function () {
    const bytes = build((g, x) => g.node("ReduceMean", "pool", [x], [attrInts("axes", [1]), attrInt("keepdims", 0)]), [1, D]);
    const graph = importOnnxGraph(bytes);
    expect(ops(graph)).to.deep.equal(["reduceMean"]);
    expect(await maxDiffVsOrt(bytes, graph, xs)).to.be.below(1e-6);
  });
});

describe("graph IR: other operators and errors", function () {
  this.timeout(60_000);

  it("runs concat with a constant token, residual add, split, slice, transpose, matmul, gather, unsqueeze, squeeze and constant arithmetic as onnxruntime does", async function () {
    const bytes = build((g, x, c) => {
      const cls = g.initializer(floatTensor("cls", [1, 1, D], vec(D)));
      const pos = g.initializer(floatTensor("pos", [1, T + 1, D], vec((T + 1) * D)));
      const cat = g.node("Concat", "cat", [cls, x], [attrInt("axis", 1)]);
      const p = g.node("Dropout", "drop", [g.node("Add", "pos_add", [cat, pos])]);
      const split = g.initializer(int64Tensor("split_sizes", [2], [D / 2, D / 2]));
      g.node("Split", "split", [p, split], [attrInt("axis", 2)], ["s1", "s2"]);
      const r = g.node("Add", "residual", ["s1", "s2"]);
      const sl = g.node("Slice", "slice", [r, g.initializer(int64Tensor("st", [1], [1])), g.initializer(int64Tensor("en", [1], [T + 1])), g.initializer(int64Tensor("ax", [1], [1]))]);
      const m = g.node("ReduceMean", "mean", [sl], [attrInts("axes", [1])]);
      const tr = g.node("Transpose", "tr", [sl], [attrInts("perm", [0, 2, 1])]);
      const mm = g.node("MatMul", "mm", [m, tr]);
      const ga = g.node("Gather", "ga", [mm, g.node("Constant", "zero", [], [attrTensor("value", int64Tensor("", [], [0]))])], [attrInt("axis", 1)]);
      const un = g.node("Unsqueeze", "un", [ga, g.initializer(int64Tensor("un.axes", [1], [-1]))]);
      const sq = g.node("Squeeze", "sq", [un, g.initializer(int64Tensor("sq.axes", [1], [2]))]);
      const sub = g.node("Sub", "sub", [sq, c(0.25)]);
      return g.node("Mul", "mul", [g.node("Div", "div", [sub, c(3)]), c(-2)]);
    }, [1, T]);
    const graph = importOnnxGraph(bytes);
    expect(ops(graph)).to.deep.equal(["concat", "add", "slice", "slice", "add", "slice", "reduceMean", "transpose", "matmul", "gather", "reshape", "reshape", "sub", "div", "mul"]);
    expect(await maxDiffVsOrt(bytes, graph, xs)).to.be.below(1e-5);
  });

  it("a positional embedding as nn.Embedding writes it (Gather of a constant table at constant positions) folds into one constant add", async function () {
    const inputs = randomInputs([T, D], 3, 11);
    const bytes = build((g, x) => {
      const table = g.initializer(floatTensor("pos_embed.weight", [T + 2, D], vec((T + 2) * D)));
      const positions = g.initializer(int64Tensor("positions", [T], Array.from({ length: T }, (_, i) => i + 1)));
      return g.node("Add", "pos_add", [x, g.node("Gather", "pos_lookup", [table, positions], [attrInt("axis", 0)])]);
    });
    const graph = importOnnxGraph(bytes);
    expect(ops(graph)).to.deep.equal(["add"]);
    expect(await maxDiffVsOrt(bytes, graph, inputs)).to.be.below(1e-6);
  });

  it("folds BatchNormalization and a bias Add into the Conv before them, and strips a final Softmax (recorded)", async function () {
    const g = new OnnxGraphBuilder(17);
    const x = g.input("img", [1, 2, 5, 5]);
    const w = g.initializer(floatTensor("w", [3, 2, 3, 3], vec(54)));
    let y = g.node("Conv", "conv", [x, w], [attrInts("kernel_shape", [3, 3]), attrInts("pads", [1, 1, 1, 1])]);
    y = g.node("Add", "bias", [y, g.initializer(floatTensor("b", [1, 3, 1, 1], vec(3)))]);
    const bn = ["scale", "shift", "mean", "var"].map((n) => g.initializer(floatTensor(`bn.${n}`, [3], n === "var" ? [0.5, 1.5, 2] : vec(3))));
    y = g.node("BatchNormalization", "bn", [y, ...bn], [attrFloat("epsilon", 1e-3)]);
    y = g.node("Relu", "relu", [y]);
    y = g.node("Flatten", "flat", [y], [attrInt("axis", 1)]);
    y = g.node("Gemm", "fc", [y, g.initializer(floatTensor("fc.w", [4, 75], vec(300)))], [attrInt("transB", 1)]);
    g.node("Softmax", "probs", [y], [attrInt("axis", 1)], ["p"]);
    g.output("p", [1, 4]);
    const graph = importOnnxGraph(g.encode().onnx);
    expect(ops(graph)).to.deep.equal(["conv", "relu", "flatten", "dense"]);
    expect(graph.strippedOutputOp).to.equal("Softmax");
    // onnxruntime's probabilities are the softmax of the graph's logits
    const session = await ort.InferenceSession.create(g.encode().onnx);
    for (const input of randomInputs([2, 5, 5], 3, 5)) {
      const ref = (await session.run({ img: new ort.Tensor("float32", input, [1, 2, 5, 5]) })).p!.data as Float32Array;
      const logits = runGraphFloat(graph, input).output;
      const e = Array.from(logits, (v) => Math.exp(v - Math.max(...logits)));
      const sum = e.reduce((a, b) => a + b, 0);
      e.forEach((v, i) => expect(Math.abs(v / sum - ref[i]!)).to.be.below(1e-5));
    }
  });

  it("refuses an unsupported operator, naming the node", function () {
    const bytes = build((g, x) => g.node("Sigmoid", "gate/Sigmoid", [x]));
    expect(importError(() => importOnnxGraph(bytes)).message).to.match(/node "gate\/Sigmoid" \(Sigmoid\): operator Sigmoid is not supported/);
  });

  it("refuses Sub of two activations outside a LayerNorm, naming the node", function () {
    const bytes = build((g, x) => g.node("Sub", "diff", [x, g.node("Relu", "r", [x])]));
    expect(importError(() => importOnnxGraph(bytes)).message).to.match(/node "diff" \(Sub\): Sub of two activations is not supported/);
  });

  it("names the node on a shape error while importing", function () {
    // [T, D] x [T, D]: inner sizes D and T differ
    const bytes = build((g, x) => g.node("MatMul", "attn/MatMul", [x, x]));
    expect(importError(() => importOnnxGraph(bytes)).message).to.match(/node "attn\/MatMul" \(MatMul\): inner sizes differ \(8 vs 3\)/);
  });

  it("names the node on a shape error in a hand-built graph", function () {
    const graph: GraphModel = {
      name: "bad",
      input: { name: "x", shape: [T, D] },
      output: "z",
      nodes: [
        { op: "relu", name: "act", inputs: ["x"], output: "y" },
        { op: "reshape", name: "to_five", inputs: ["y"], output: "z", shape: [5, 5] },
      ],
    };
    expect(() => graphShapes(graph)).to.throw(/node to_five \(reshape\): cannot reshape to \[5, 5\]; input shape \[3, 8\]/);
    graph.nodes[1] = { op: "add", name: "res", inputs: ["y", "w"], output: "z" };
    expect(() => graphShapes(graph)).to.throw(/node res \(add\): input w is not the graph input or an earlier node's output/);
  });
});
