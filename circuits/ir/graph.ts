// The graph model IR: named tensors with static shapes (batch axis removed) and nodes in topological order, each an
// operator over one or more activations and its own constants. It holds what the sequential IR (ir.ts) cannot:
// residual adds, attention (a product of two activations), softmax, LayerNorm, GELU, reshapes and transposes.
// circuits/onnx/graph-import.ts builds it, graph-prune.ts removes dead rows, graph-float.ts runs it in float64, and
// circuits/compiler/quantize-graph.ts quantizes it for the engine and the direct route.
import type { FloatModel, Layer, Shape } from "./ir.ts";
import type { InputPreprocess } from "./preprocess.ts";

/** A constant tensor held by a node (a bias row, a positional embedding, a class token). Dims are the constant's own,
 *  right-aligned against the activation it meets (numpy broadcasting); data is C-order. */
export interface GraphConst {
  dims: number[];
  data: Float64Array;
}

interface NodeBase {
  /** Unique within the graph; errors name it. */
  name: string;
  /** Activation tensors read, by name (constants are held by the node itself). */
  inputs: string[];
  /** The tensor written. */
  output: string;
}

/** y = x W^T + b over the last axis of x ([..., in] -> [..., out]); W is [out][in] row-major, as DenseLayer. */
export interface DenseNode extends NodeBase {
  op: "dense";
  inFeatures: number;
  outFeatures: number;
  weight: Float64Array;
  bias: Float64Array;
}

/** 2-D convolution over [C, H, W], groups = 1, with ConvLayer's fields and meaning. */
export interface ConvNode extends NodeBase {
  op: "conv";
  inChannels: number;
  outChannels: number;
  kernel: [number, number];
  stride: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  weight: Float64Array;
  bias: Float64Array;
}

export interface ReluNode extends NodeBase {
  op: "relu";
}

/** Pooling over [C, H, W] with PoolLayer's meaning (average pooling divides by the full window). */
export interface PoolNode extends NodeBase {
  op: "maxpool" | "avgpool";
  kernel: [number, number];
  stride: [number, number];
  pads: [number, number, number, number];
}

/** Elementwise arithmetic. add: two activations of one shape (a residual), or one activation and `constant`
 *  (broadcast into the activation's shape: a bias, a positional embedding); sub, mul, div: an activation and a
 *  constant, always x - c, x * c, x / c. */
export interface BinaryNode extends NodeBase {
  op: "add" | "sub" | "mul" | "div";
  constant?: GraphConst;
}

/** Product of two activations [..., M, K] x [..., K, N] with equal leading axes (attention's Q K^T and A V). */
export interface MatMulNode extends NodeBase {
  op: "matmul";
}

export interface SoftmaxNode extends NodeBase {
  op: "softmax";
  /** Non-negative axis of the node's input. */
  axis: number;
}

/** (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (biased variance). */
export interface LayerNormNode extends NodeBase {
  op: "layerNorm";
  gamma: Float64Array;
  beta: Float64Array;
  epsilon: number;
}

/** GELU: "erf" is x Phi(x) exactly, "tanh" the approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export interface GeluNode extends NodeBase {
  op: "gelu";
  form: "erf" | "tanh";
}

/** Same values in C-order, another shape of the same size. */
export interface ReshapeNode extends NodeBase {
  op: "reshape";
  shape: Shape;
}

export interface TransposeNode extends NodeBase {
  op: "transpose";
  /** Output axis i is input axis perm[i]. */
  perm: number[];
}

/** One operand of a concat: an activation (by its index in `inputs`) or a constant (a class token). */
export type ConcatPart = { input: number } | { constant: GraphConst };

export interface ConcatNode extends NodeBase {
  op: "concat";
  axis: number;
  /** The operands in order; constants have the output's rank. */
  parts: ConcatPart[];
}

/** Pick entries along `axis` at constant indices; `indexDims` replace the axis ([] for one scalar index: dropped). */
export interface GatherNode extends NodeBase {
  op: "gather";
  axis: number;
  indices: number[];
  indexDims: number[];
}

/** start:end:step on each of `axes` (non-negative, in range, step >= 1); a split is one slice per part. */
export interface SliceNode extends NodeBase {
  op: "slice";
  axes: number[];
  starts: number[];
  ends: number[];
  steps: number[];
}

export interface ReduceMeanNode extends NodeBase {
  op: "reduceMean";
  axes: number[];
  keepDims: boolean;
}

/** All axes to one vector, C-order. */
export interface FlattenNode extends NodeBase {
  op: "flatten";
}

/** A vector to the index of its maximum (first on ties), as [1]. */
export interface ArgmaxNode extends NodeBase {
  op: "argmax";
}

export type GraphNode =
  | DenseNode | ConvNode | ReluNode | PoolNode | BinaryNode | MatMulNode | SoftmaxNode | LayerNormNode | GeluNode
  | ReshapeNode | TransposeNode | ConcatNode | GatherNode | SliceNode | ReduceMeanNode | FlattenNode | ArgmaxNode;

export type GraphOp = GraphNode["op"];

export interface GraphModel {
  name: string;
  /** The one input tensor (the ONNX input's name) and its shape without the batch axis. */
  input: { name: string; shape: Shape };
  /** The tensor the model outputs. */
  output: string;
  /** In topological order: a node reads only the input and earlier nodes' outputs. */
  nodes: GraphNode[];
  /** Applied to the raw input first, as in FloatModel. */
  preprocess?: InputPreprocess;
  /** A final Softmax or LogSoftmax left out by the importer (the output is the logits), as in FloatModel. */
  strippedOutputOp?: string;
}

export const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;

/** The output shape of `node` given its inputs' shapes, or an error naming the node and the problem. */
export function nodeShape(node: GraphNode, inputs: Shape[]): Shape {
  const fail = (why: string): never => {
    throw new Error(`node ${node.name} (${node.op}): ${why}; input shape${inputs.length > 1 ? "s" : ""} ${inputs.map(fmt).join(", ")}`);
  };
  const arity = node.op === "concat" ? node.parts.filter((p) => "input" in p).length
    : node.op === "matmul" || (node.op === "add" && !node.constant) ? 2 : 1;
  if (inputs.length !== arity || node.inputs.length !== arity) fail(`takes ${arity} activation input(s), has ${node.inputs.length}`);
  const s = inputs[0]!;
  const axisIn = (a: number, r: number, what: string) => {
    if (!Number.isInteger(a) || a < 0 || a >= r) fail(`${what} ${a} is not an axis of a rank-${r} tensor`);
  };
  const window = (c: number, h: number, w: number, k: [number, number], st: [number, number], p: number[]): Shape => {
    if (k.some((v) => v < 1) || st.some((v) => v < 1) || p.some((v) => v < 0)) fail("kernel and stride must be positive, pads non-negative");
    const oh = Math.floor((h + p[0]! + p[2]! - k[0]) / st[0]) + 1;
    const ow = Math.floor((w + p[1]! + p[3]! - k[1]) / st[1]) + 1;
    if (oh < 1 || ow < 1) fail("kernel larger than the padded input");
    return [c, oh, ow];
  };
  switch (node.op) {
    case "dense":
      if (s.length < 1 || s[s.length - 1] !== node.inFeatures) fail(`expects a last axis of ${node.inFeatures}`);
      if (node.weight.length !== node.inFeatures * node.outFeatures || node.bias.length !== node.outFeatures) {
        fail(`weight must hold ${node.outFeatures} x ${node.inFeatures} values and bias ${node.outFeatures}`);
      }
      return [...s.slice(0, -1), node.outFeatures];
    case "conv": {
      if (s.length !== 3 || s[0] !== node.inChannels) fail(`expects [${node.inChannels}, H, W]`);
      if (node.weight.length !== node.outChannels * node.inChannels * node.kernel[0] * node.kernel[1] || node.bias.length !== node.outChannels) {
        fail("weight or bias size does not match the channels and kernel");
      }
      return window(node.outChannels, s[1]!, s[2]!, node.kernel, node.stride, node.pads);
    }
    case "maxpool":
    case "avgpool":
      if (s.length !== 3) fail("expects [C, H, W]");
      return window(s[0]!, s[1]!, s[2]!, node.kernel, node.stride, node.pads);
    case "relu":
    case "gelu":
      return s;
    case "add":
    case "sub":
    case "mul":
    case "div": {
      if (!node.constant) {
        if (node.op !== "add") fail("needs a constant operand (only add takes two activations)");
        if (fmt(s) !== fmt(inputs[1]!)) fail("the two activations must have the same shape");
        return s;
      }
      const c = node.constant.dims;
      if (numel(c) !== node.constant.data.length) fail(`constant dims ${fmt(c)} do not match its ${node.constant.data.length} values`);
      if (c.length > s.length || c.some((d, i) => d !== 1 && d !== s[s.length - c.length + i])) {
        fail(`constant ${fmt(c)} does not broadcast into the activation (it may not enlarge it)`);
      }
      return s;
    }
    case "matmul": {
      const b = inputs[1]!;
      if (s.length < 2 || b.length !== s.length) fail("expects two activations of equal rank >= 2");
      if (fmt(s.slice(0, -2)) !== fmt(b.slice(0, -2))) fail("leading axes differ");
      if (s[s.length - 1] !== b[b.length - 2]) fail(`inner sizes differ (${s[s.length - 1]} vs ${b[b.length - 2]})`);
      return [...s.slice(0, -1), b[b.length - 1]!];
    }
    case "softmax":
      axisIn(node.axis, s.length, "axis");
      return s;
    case "layerNorm": {
      const d = s[s.length - 1];
      if (d === undefined || node.gamma.length !== d || node.beta.length !== d) fail(`gamma and beta must have one value per last-axis entry (${d})`);
      if (!(node.epsilon >= 0)) fail(`epsilon ${node.epsilon} must be non-negative`);
      return s;
    }
    case "reshape":
      if (node.shape.some((d) => !Number.isInteger(d) || d < 1) || numel(node.shape) !== numel(s)) fail(`cannot reshape to ${fmt(node.shape)}`);
      return node.shape;
    case "transpose":
      if (node.perm.length !== s.length || [...node.perm].sort((a, b) => a - b).some((v, i) => v !== i)) {
        fail(`perm [${node.perm.join(", ")}] is not a permutation of ${s.length} axes`);
      }
      return node.perm.map((p) => s[p]!);
    case "concat": {
      const shapes = node.parts.map((p) => ("input" in p ? inputs[p.input] : p.constant.dims));
      if (shapes.some((x) => x === undefined)) fail("a part names a missing input");
      const r = shapes[0]!.length;
      axisIn(node.axis, r, "axis");
      for (const x of shapes as Shape[]) {
        if (x.length !== r || x.some((d, i) => i !== node.axis && d !== shapes[0]![i])) fail(`parts ${shapes.map((x) => fmt(x!)).join(", ")} differ off axis ${node.axis}`);
      }
      const out = [...shapes[0]!];
      out[node.axis] = (shapes as Shape[]).reduce((a, x) => a + x[node.axis]!, 0);
      return out;
    }
    case "gather": {
      axisIn(node.axis, s.length, "axis");
      if (numel(node.indexDims) !== node.indices.length) fail("indices do not match their dims");
      const bad = node.indices.find((i) => !Number.isInteger(i) || i < 0 || i >= s[node.axis]!);
      if (bad !== undefined) fail(`index ${bad} is out of range for axis ${node.axis} of size ${s[node.axis]}`);
      return [...s.slice(0, node.axis), ...node.indexDims, ...s.slice(node.axis + 1)];
    }
    case "slice": {
      const out = [...s];
      const n = node.axes.length;
      if (node.starts.length !== n || node.ends.length !== n || node.steps.length !== n) fail("axes, starts, ends and steps differ in length");
      node.axes.forEach((a, i) => {
        axisIn(a, s.length, "axis");
        const [b, e, st] = [node.starts[i]!, node.ends[i]!, node.steps[i]!];
        if (!(st >= 1 && b >= 0 && b < e && e <= s[a]!)) fail(`slice ${b}:${e}:${st} of axis ${a} (size ${s[a]}) is not a non-empty forward range`);
        out[a] = Math.ceil((e - b) / st);
      });
      return out;
    }
    case "reduceMean": {
      if (node.axes.length === 0) fail("no axes to reduce");
      node.axes.forEach((a) => axisIn(a, s.length, "axis"));
      return node.keepDims ? s.map((d, i) => (node.axes.includes(i) ? 1 : d)) : s.filter((_, i) => !node.axes.includes(i));
    }
    case "flatten":
      return [numel(s)];
    case "argmax":
      if (s.length !== 1) fail("expects a vector");
      return [1];
  }
}

/** Every tensor's shape (the input's and each node's output), checking that the graph is well formed: unique
 *  names, each input defined before it is read, the output computed. Errors name the node. */
export function graphShapes(model: GraphModel): Map<string, Shape> {
  const shapes = new Map<string, Shape>([[model.input.name, model.input.shape]]);
  const names = new Set<string>();
  for (const node of model.nodes) {
    if (names.has(node.name)) throw new Error(`node ${node.name} (${node.op}): the name is used twice`);
    names.add(node.name);
    const ins = node.inputs.map((t) => {
      const s = shapes.get(t);
      if (!s) throw new Error(`node ${node.name} (${node.op}): input ${t} is not the graph input or an earlier node's output`);
      return s;
    });
    if (shapes.has(node.output)) throw new Error(`node ${node.name} (${node.op}): tensor ${node.output} is written twice`);
    shapes.set(node.output, nodeShape(node, ins));
  }
  if (!shapes.has(model.output)) throw new Error(`${model.name}: output ${model.output} is not computed by any node`);
  return shapes;
}

/** The sequential model as a graph: a chain, one node per layer, each layer's output a tensor named after it. */
export function chainToGraph(model: FloatModel): GraphModel {
  let prev = model.inputName;
  const taken = new Set([prev]);
  const nodes = model.layers.map((layer): GraphNode => {
    let output = layer.name;
    for (let k = 1; taken.has(output); k++) output = `${layer.name}_${k}`;
    taken.add(output);
    const base = { name: layer.name, inputs: [prev], output };
    prev = output;
    return layerNode(layer, base);
  });
  const graph: GraphModel = { name: model.name, input: { name: model.inputName, shape: [...model.inputShape] }, output: prev, nodes };
  if (model.preprocess) graph.preprocess = model.preprocess;
  if (model.strippedOutputOp) graph.strippedOutputOp = model.strippedOutputOp;
  return graph;
}

function layerNode(layer: Layer, base: NodeBase): GraphNode {
  switch (layer.kind) {
    case "dense":
      return { ...base, op: "dense", inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, weight: Float64Array.from(layer.weight), bias: Float64Array.from(layer.bias) };
    case "conv":
      return {
        ...base, op: "conv", inChannels: layer.inChannels, outChannels: layer.outChannels, kernel: [...layer.kernel], stride: [...layer.stride],
        pads: [...layer.pads], weight: Float64Array.from(layer.weight), bias: Float64Array.from(layer.bias),
      };
    case "maxpool":
    case "avgpool":
      return { ...base, op: layer.kind, kernel: [...layer.kernel], stride: [...layer.stride], pads: [...layer.pads] };
    case "relu":
    case "flatten":
    case "argmax":
      return { ...base, op: layer.kind };
  }
}
