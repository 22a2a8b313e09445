// Dead-row elimination on the graph IR (graph-prune.ts): slices pushed up through the operators that allow it leave
// a graph whose float64 output equals the original's on every input tried. On the ViT fixture the head's class-token
// gather shrinks the last block's attention and MLP to the one row it reads; hand-built graphs cover each push rule
// and the places where a slice has to stop.
import { join } from "node:path";
import { expect } from "chai";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { graphShapes, numel } from "../../circuits/ir/graph.ts";
import type { GraphConst, GraphModel, GraphNode } from "../../circuits/ir/graph.ts";
import { runGraphFloat } from "../../circuits/ir/graph-float.ts";
import { graphSize, pruneGraph } from "../../circuits/ir/graph-prune.ts";
import type { Shape } from "../../circuits/ir/ir.ts";
import { importOnnxGraphFile } from "../../circuits/onnx/graph-import.ts";
import { Rng } from "../../circuits/train/nn.ts";

const VIT = join(import.meta.dirname, "..", "fixtures", "models", "vit-mnist", "model.onnx");

const randoms = (rng: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => rng.next() * 2 - 1);

/** Largest |original - pruned| over the inputs; the outputs must also have the same size. */
function maxDiff(original: GraphModel, pruned: GraphModel, inputs: ArrayLike<number>[]): number {
  let worst = 0;
  for (const x of inputs) {
    const a = runGraphFloat(original, x).output;
    const b = runGraphFloat(pruned, x).output;
    expect(b.length).to.equal(a.length);
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return worst;
}

/** Prune `model`, check the result is well formed and computes the same output on random inputs, and return it. */
function pruneChecked(model: GraphModel, seed = 1): GraphModel {
  const pruned = pruneGraph(model);
  graphShapes(pruned);
  const rng = new Rng(seed);
  const inputs = Array.from({ length: 4 }, () => randoms(rng, numel(model.input.shape)));
  expect(maxDiff(model, pruned, inputs) < 1e-12).to.equal(true);
  return pruned;
}

/** The output shape of the one node of `op` whose name contains `name`. */
function shapeOfNode(model: GraphModel, name: string, op: GraphNode["op"]): Shape {
  const found = model.nodes.filter((n) => n.op === op && n.name.includes(name));
  expect(found.map((n) => n.name)).to.have.length(1, `one ${op} node named like ${name}`);
  return graphShapes(model).get(found[0]!.output)!;
}

const opsOf = (model: GraphModel) => model.nodes.map((n) => n.op);

// Small graph builders: nodes read and write tensors named like themselves.
const rngW = new Rng(7);
const dense = (name: string, input: string, inF: number, outF: number): GraphNode => ({
  name, op: "dense", inputs: [input], output: name, inFeatures: inF, outFeatures: outF,
  weight: randoms(rngW, inF * outF), bias: randoms(rngW, outF),
});
const unary = (name: string, op: "relu" | "gelu", input: string): GraphNode =>
  op === "gelu" ? { name, op, form: "erf", inputs: [input], output: name } : { name, op, inputs: [input], output: name };
const constant = (dims: number[]): GraphConst => ({ dims, data: randoms(rngW, numel(dims)).map((v) => v + 2) });
const slice = (name: string, input: string, axes: number[], starts: number[], ends: number[], steps = axes.map(() => 1)): GraphNode =>
  ({ name, op: "slice", inputs: [input], output: name, axes, starts, ends, steps });
const graph = (shape: Shape, nodes: GraphNode[]): GraphModel =>
  ({ name: "g", input: { name: "x", shape }, output: nodes[nodes.length - 1]!.output, nodes });

/** Q K^T-style product on x [2, 5, 4]: A = dense(x) [2, 5, 6], B = transpose(dense(x)) [2, 6, 5], then `last`. */
const attentionLike = (last: GraphNode): GraphModel => graph([2, 5, 4], [
  dense("a", "x", 4, 6),
  dense("k", "x", 4, 6),
  { name: "b", op: "transpose", perm: [0, 2, 1], inputs: ["k"], output: "b" },
  { name: "s", op: "matmul", inputs: ["a", "b"], output: "s" },
  last,
]);

describe("graph IR: dead-row elimination (slice hoisting)", function () {
  this.timeout(120_000);

  it("the ViT fixture: the last block runs on the class token only, the output is unchanged", function () {
    const vit = importOnnxGraphFile(VIT);
    const pruned = pruneGraph(vit);
    graphShapes(pruned);
    const { images } = heldOutSample(4);
    const rng = new Rng(3);
    const uniform = Array.from({ length: 2 }, () => Float64Array.from({ length: 784 }, () => rng.next()));
    expect(maxDiff(vit, pruned, [...images, ...uniform]) < 1e-9).to.equal(true);

    // the last block's attention: 4 heads x 1 query row x 17 keys; its MLP on one token
    expect(shapeOfNode(vit, "blocks.1/attn/Softmax", "softmax")).to.deep.equal([4, 17, 17]);
    expect(shapeOfNode(pruned, "blocks.1/attn/Softmax", "softmax")).to.deep.equal([4, 1, 17]);
    expect(shapeOfNode(pruned, "blocks.1/attn/q/MatMul", "dense")).to.deep.equal([1, 32]);
    expect(shapeOfNode(pruned, "blocks.1/mlp/fc1/MatMul", "dense")).to.deep.equal([1, 64]);
    expect(shapeOfNode(pruned, "blocks.1/mlp/act", "gelu")).to.deep.equal([1, 64]);
    expect(shapeOfNode(pruned, "blocks.1/mlp/fc2/MatMul", "dense")).to.deep.equal([1, 32]);
    expect(shapeOfNode(pruned, "/norm/LayerNormalization", "layerNorm")).to.deep.equal([1, 32]);
    // every key and value is still needed
    expect(shapeOfNode(pruned, "blocks.1/attn/k/MatMul", "dense")).to.deep.equal([17, 32]);
    expect(shapeOfNode(pruned, "blocks.1/attn/v/MatMul", "dense")).to.deep.equal([17, 32]);
    expect(shapeOfNode(pruned, "blocks.1/norm1/LayerNormalization", "layerNorm")).to.deep.equal([17, 32]);

    // the first block and the embedding are untouched: same nodes, same shapes
    const before = graphShapes(vit);
    const after = graphShapes(pruned);
    const early = vit.nodes.filter((n) => !n.name.includes("blocks.1") && !n.name.startsWith("/norm") && !n.name.startsWith("/Gather") && !n.name.startsWith("/head"));
    expect(early.length).to.be.above(20);
    for (const n of early) {
      const same = pruned.nodes.find((m) => m.name === n.name);
      expect(same?.op).to.equal(n.op);
      expect(after.get(same!.output)).to.deep.equal(before.get(n.output));
    }
    const names = pruned.nodes.map((n) => n.name);
    expect(new Set(names).size).to.equal(names.length);
    expect(pruned.output).to.equal(vit.output);
    expect(graphSize(pruned).elements).to.be.below(graphSize(vit).elements * 0.7);
  });

  it("pushes through a transpose (the axis maps through perm) and an elementwise op, to the graph input", function () {
    const pruned = pruneChecked(graph([3, 4, 5], [
      unary("r", "relu", "x"),
      { name: "t", op: "transpose", perm: [2, 0, 1], inputs: ["r"], output: "t" },
      slice("s", "t", [1], [1], [3]),
    ]));
    expect(opsOf(pruned)).to.deep.equal(["slice", "relu", "transpose"]);
    expect(shapeOfNode(pruned, "r", "relu")).to.deep.equal([2, 4, 5]);
    expect(shapeOfNode(pruned, "t", "transpose")).to.deep.equal([5, 2, 4]);
  });

  it("pushes through a reshape where the axis commutes (outer or inner), and stops where it does not", function () {
    // [6, 8] -> [6, 3, 4]: axis 0 is axis 0 of the input
    const outer = pruneChecked(graph([6, 8], [
      dense("d", "x", 8, 12),
      { name: "m", op: "reshape", shape: [6, 3, 4], inputs: ["d"], output: "m" },
      unary("g", "gelu", "m"),
      slice("s", "g", [0], [2], [4]),
    ]));
    expect(shapeOfNode(outer, "d", "dense")).to.deep.equal([2, 12]);
    expect(shapeOfNode(outer, "m", "reshape")).to.deep.equal([2, 3, 4]);

    // [2, 3, 5] -> dense [2, 3, 4] -> [6, 4]: axis 1 is axis 2 of the input (same size, 6 entries before it);
    // then the selected columns become selected weight rows of the dense
    const inner = pruneChecked(graph([2, 3, 5], [
      dense("d", "x", 5, 4),
      { name: "m", op: "reshape", shape: [6, 4], inputs: ["d"], output: "m" },
      slice("s", "m", [1], [1], [3]),
    ]));
    expect(shapeOfNode(inner, "d", "dense")).to.deep.equal([2, 3, 2]);
    expect(opsOf(inner)).to.deep.equal(["dense", "reshape"]);

    // [6, 8] -> [8, 6]: rows of the output straddle rows of the input
    const stuck = pruneChecked(graph([6, 8], [
      unary("r", "relu", "x"),
      { name: "m", op: "reshape", shape: [8, 6], inputs: ["r"], output: "m" },
      slice("s", "m", [0], [0], [2]),
    ]));
    expect(opsOf(stuck)).to.deep.equal(["relu", "reshape", "slice"]);
    expect(shapeOfNode(stuck, "r", "relu")).to.deep.equal([6, 8]);
  });

  it("pushes through a matmul: M rows into A, N columns into B, batch entries into both", function () {
    const aSide = pruneChecked(attentionLike(slice("out", "s", [1], [0], [2])));
    expect(shapeOfNode(aSide, "a", "dense")).to.deep.equal([2, 2, 6]);
    expect(shapeOfNode(aSide, "k", "dense")).to.deep.equal([2, 5, 6]);
    expect(shapeOfNode(aSide, "s", "matmul")).to.deep.equal([2, 2, 5]);

    const bSide = pruneChecked(attentionLike(slice("out", "s", [2], [3], [5])));
    expect(shapeOfNode(bSide, "a", "dense")).to.deep.equal([2, 5, 6]);
    expect(shapeOfNode(bSide, "k", "dense")).to.deep.equal([2, 2, 6]);
    expect(shapeOfNode(bSide, "b", "transpose")).to.deep.equal([2, 6, 2]);

    const batch = pruneChecked(attentionLike(slice("out", "s", [0], [1], [2])));
    expect(shapeOfNode(batch, "a", "dense")).to.deep.equal([1, 5, 6]);
    expect(shapeOfNode(batch, "k", "dense")).to.deep.equal([1, 5, 6]);
    // both operands read x, so their slices of it merge into one
    expect(opsOf(batch).filter((o) => o === "slice")).to.have.length(1);
  });

  it("pushes through an add of two activations; a slice on an input that others read in full stays a slice", function () {
    // h is read by the add and by a softmax over the sliced axis (which needs every row)
    const shared = pruneChecked(graph([5, 6], [
      dense("h", "x", 6, 6),
      dense("f", "h", 6, 6),
      { name: "sm", op: "softmax", axis: 0, inputs: ["f"], output: "sm" },
      { name: "y", op: "add", inputs: ["h", "sm"], output: "y" },
      slice("out", "y", [0], [2], [3]),
    ]));
    expect(shapeOfNode(shared, "h", "dense")).to.deep.equal([5, 6]);
    expect(shapeOfNode(shared, "sm", "softmax")).to.deep.equal([5, 6]);
    expect(shapeOfNode(shared, "y", "add")).to.deep.equal([1, 6]);
    expect(opsOf(shared).filter((o) => o === "slice")).to.have.length(2);

    // both operands come from h through row-wise ops: the two slices of h merge and move into h's dense
    const merged = pruneChecked(graph([5, 6], [
      dense("h", "x", 6, 6),
      unary("r", "relu", "h"),
      { name: "y", op: "add", inputs: ["h", "r"], output: "y" },
      slice("out", "y", [0], [1], [2]),
    ]));
    expect(opsOf(merged)).to.deep.equal(["slice", "dense", "relu", "add"]);
    expect(shapeOfNode(merged, "h", "dense")).to.deep.equal([1, 6]);
  });

  it("slices a broadcast constant on its non-broadcast axes, with a strided selection", function () {
    const pruned = pruneChecked(graph([3, 4, 5], [
      { name: "a", op: "add", constant: constant([4, 1]), inputs: ["x"], output: "a" },
      { name: "m", op: "mul", constant: constant([3, 1, 5]), inputs: ["a"], output: "m" },
      { name: "s", op: "sub", constant: constant([5]), inputs: ["m"], output: "s" },
      { name: "d", op: "div", constant: constant([]), inputs: ["s"], output: "d" },
      slice("out", "d", [1, 2], [1, 0], [3, 5], [1, 2]),
    ]));
    const dims = (name: string) => {
      const n = pruned.nodes.find((x) => x.op !== "slice" && x.name.startsWith(`${name}[`))!;
      return "constant" in n ? n.constant!.dims : undefined;
    };
    expect([dims("a"), dims("m"), dims("s"), dims("d")]).to.deep.equal([[2, 1], [3, 1, 3], [3], []]);
    expect(opsOf(pruned)).to.deep.equal(["slice", "add", "mul", "sub", "div"]);
    expect(shapeOfNode(pruned, "d", "div")).to.deep.equal([3, 2, 3]);
  });

  it("selects output features of a dense as rows of its weight", function () {
    const pruned = pruneChecked(graph([3, 8], [dense("d", "x", 8, 10), unary("r", "relu", "d"), slice("out", "r", [1], [2], [9], [3])]));
    expect(opsOf(pruned)).to.deep.equal(["dense", "relu"]);
    expect(shapeOfNode(pruned, "d", "dense")).to.deep.equal([3, 3]);
  });

  it("pushes through a concat: parts off the axis, only the parts the range meets along it", function () {
    // a class-token-like constant row on top of a dense output: [1 + 3, 4]
    const withToken = (last: GraphNode) => graph([3, 4], [
      dense("d", "x", 4, 4),
      { name: "c", op: "concat", axis: 0, parts: [{ constant: constant([1, 4]) }, { input: 0 }], inputs: ["d"], output: "c" },
      last,
    ]);
    // rows 1..2 lie in the dense part: the concat goes, the dense runs on two rows
    const inPart = pruneChecked(withToken(slice("out", "c", [0], [1], [3])));
    expect(opsOf(inPart)).to.deep.equal(["slice", "dense"]);
    expect(shapeOfNode(inPart, "d", "dense")).to.deep.equal([2, 4]);
    // rows 0..1: the token and one dense row
    const both = pruneChecked(withToken(slice("out", "c", [0], [0], [2])));
    expect(shapeOfNode(both, "d", "dense")).to.deep.equal([1, 4]);
    expect(shapeOfNode(both, "c", "concat")).to.deep.equal([2, 4]);
    // columns: every part sliced, the constant too
    const cols = pruneChecked(withToken(slice("out", "c", [1], [1], [3])));
    expect(shapeOfNode(cols, "d", "dense")).to.deep.equal([3, 2]);
    expect(shapeOfNode(cols, "c", "concat")).to.deep.equal([4, 2]);
    // the token alone is a constant: the slice stays
    const token = pruneChecked(withToken(slice("out", "c", [0], [0], [1])));
    expect(opsOf(token)).to.deep.equal(["dense", "concat", "slice"]);
  });

  it("merges consecutive slices and turns a gather of an index run into a slice", function () {
    const twice = pruneChecked(graph([10, 4], [
      unary("r", "relu", "x"),
      slice("s1", "r", [0], [1], [9], [2]),
      slice("s2", "s1", [0], [1], [3]),
      unary("g", "gelu", "s2"),
    ]));
    expect(shapeOfNode(twice, "r", "relu")).to.deep.equal([2, 4]);
    expect(opsOf(twice)).to.deep.equal(["slice", "relu", "gelu"]);

    const gathered = pruneChecked(graph([6, 4], [
      dense("d", "x", 4, 4),
      { name: "g", op: "gather", axis: 0, indices: [1, 3, 5], indexDims: [3], inputs: ["d"], output: "g" },
    ]));
    expect(opsOf(gathered)).to.deep.equal(["slice", "dense"]);
    expect(shapeOfNode(gathered, "d", "dense")).to.deep.equal([3, 4]);
  });

  it("stops where the operator needs the whole axis, leaving the graph as it was", function () {
    const cases: GraphModel[] = [
      // on the softmax axis
      graph([4, 6], [dense("d", "x", 6, 6), { name: "sm", op: "softmax", axis: 1, inputs: ["d"], output: "sm" }, slice("out", "sm", [1], [0], [2])]),
      // on the LayerNorm's last axis
      graph([4, 6], [
        dense("d", "x", 6, 6),
        { name: "ln", op: "layerNorm", gamma: randoms(rngW, 6), beta: randoms(rngW, 6), epsilon: 1e-5, inputs: ["d"], output: "ln" },
        slice("out", "ln", [1], [2], [4]),
      ]),
      // below a pool
      graph([2, 4, 4], [
        unary("r", "relu", "x"),
        { name: "p", op: "maxpool", kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0], inputs: ["r"], output: "p" },
        slice("out", "p", [0], [0], [1]),
      ]),
      // a single-index gather below a softmax on its axis: put back as the gather it was
      graph([3, 4], [
        dense("d", "x", 4, 4),
        { name: "sm", op: "softmax", axis: 0, inputs: ["d"], output: "sm" },
        { name: "g", op: "gather", axis: 0, indices: [1], indexDims: [], inputs: ["sm"], output: "g" },
      ]),
    ];
    for (const model of cases) {
      const pruned = pruneChecked(model);
      expect(pruned.nodes.map((n) => [n.name, n.op])).to.deep.equal(model.nodes.map((n) => [n.name, n.op]));
    }

    // a tensor that another node reads in full: the slice stays where it is
    const shared = graph([4, 6], [
      dense("d", "x", 6, 6),
      { name: "t", op: "transpose", perm: [1, 0], inputs: ["d"], output: "t" },
      slice("s", "d", [0], [0], [1]),
      { name: "y", op: "matmul", inputs: ["s", "t"], output: "y" },
    ]);
    expect(pruneChecked(shared).nodes.map((n) => n.name)).to.deep.equal(shared.nodes.map((n) => n.name));
  });
});
