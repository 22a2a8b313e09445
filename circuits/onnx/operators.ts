// Layer operators: nodes that consume the current tensor become IR layers (Gemm, Conv, pools, ...), are folded
// into the previous layer (bias Add, BatchNormalization) or only change how the current tensor is laid out.
import type { ConvLayer, DenseLayer } from "../ir/ir.ts";
import type { Attributes } from "./attributes.ts";
import type { LayerChain, Current } from "./layers.ts";
import type { NodeMsg } from "./proto.ts";
import { numel } from "./tensors.ts";
import type { Const } from "./tensors.ts";

/** Operators the importer turns into layers (or removes), for error messages. */
export const LAYER_OPS = [
  "Gemm", "MatMul", "Add", "Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape",
  "BatchNormalization", "Identity", "Dropout", "ArgMax", "Transpose",
] as const;

/** One node that consumes the current tensor. */
export interface LayerNode {
  node: NodeMsg;
  index: number;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attributes;
  /** The input `name` as a constant (an error naming it `what` if it is not one). */
  constant(name: string | undefined, what: string): Const;
  fail(why: string): never;
}

type LayerOp = (n: LayerNode, chain: LayerChain) => void;

/** Operators that leave the current tensor's values (and so a pending transpose or reordering) unchanged. */
const PASS_THROUGH = ["Identity", "Dropout", "Relu"];

/** Whether the current tensor is the node's first input. */
const first = (n: LayerNode, cur: Current): boolean => n.inputs[0] === cur.name;

/** A pending transpose or reordering, carried over to the node's output. */
const keepLayout = (cur: Current): Pick<Current, "layout" | "order"> => ({ layout: cur.layout, order: cur.order });

/** Apply a node to the current tensor: the attribute check, then the operator's handler. */
export function applyLayerOp(n: LayerNode, chain: LayerChain): void {
  const { op, fail } = n;
  const cur = chain.current;
  n.attrs.check(op);
  if (cur.layout && !PASS_THROUGH.includes(op) && !["Flatten", "Reshape", "Transpose"].includes(op)) {
    fail(`follows a Transpose of the activation; only Relu and a flatten (then Gemm/MatMul) may follow one`);
  }
  if (cur.order && !PASS_THROUGH.includes(op) && op !== "Gemm" && op !== "MatMul") {
    fail("follows a flatten of a transposed activation; only Relu and then Gemm/MatMul may follow");
  }
  const handler = LAYER_HANDLERS.get(op);
  if (!handler) fail(`operator ${op} is not supported on activations (supported: ${LAYER_OPS.join(", ")})`);
  handler!(n, chain);
}

const identity: LayerOp = ({ op, inputs, outputs, fail }, chain) => {
  const cur = chain.current;
  if (op === "Dropout" && inputs.length > 1) {
    const mode = inputs[2] ? chain.consts.get(inputs[2]) : undefined;
    if (mode && mode.data[0]) fail("training_mode = true is not supported");
  }
  if (outputs[1]) {
    // the mask output of Dropout: all ones in inference
    chain.consts.set(outputs[1], { dims: cur.shape, data: new Float64Array(numel(cur.shape)).fill(1), int: true });
  }
  chain.setCurrent(outputs[0], cur.shape, cur.producer, keepLayout(cur));
};

const relu: LayerOp = ({ node, outputs }, chain) => {
  const cur = chain.current;
  chain.layers.push({ kind: "relu", name: chain.layerName("relu", node) });
  chain.setCurrent(outputs[0], cur.shape, undefined, keepLayout(cur));
};

const transpose: LayerOp = ({ outputs, attrs, fail }, chain) => {
  const cur = chain.current;
  const r = cur.shape.length;
  const q = attrs.ints("perm", cur.shape.map((_, i) => r - 1 - i));
  if (q.length !== r || q[0] !== 0 || [...q].sort((a, b) => a - b).some((v, i) => v !== i)) {
    fail(`perm [${q.join(", ")}] must permute the ${r} axes and keep the batch axis first`);
  }
  // compose with an earlier transpose; back to the IR's own layout clears it
  const base = cur.layout ?? { canonical: cur.shape, perm: cur.shape.map((_, i) => i) };
  const perm = q.map((k) => base.perm[k]!);
  const layout = perm.every((v, i) => v === i) ? undefined : { canonical: base.canonical, perm };
  chain.setCurrent(outputs[0], q.map((k) => cur.shape[k]!), undefined, { layout });
};

const gemm: LayerOp = (n, chain) => {
  const { inputs, attrs, fail } = n;
  const cur = chain.current;
  if (!first(n, cur)) fail("the activation must be input A");
  if (cur.shape.length !== 2) fail(`input A must be a matrix [1, K], got [${cur.shape.join(", ")}]; flatten first`);
  if (attrs.int("transA", 0) !== 0) fail("transA = 1 is not supported (supported: transA = 0)");
  const transB = attrs.int("transB", 0);
  const alpha = attrs.float("alpha", 1);
  const beta = attrs.float("beta", 1);
  const B = n.constant(inputs[1], "input B");
  const K = cur.shape[1]!;
  if (B.dims.length !== 2) fail(`input B must be 2-D, got [${B.dims.join(", ")}]`);
  const [b0, b1] = B.dims as [number, number];
  const N = transB ? b0 : b1;
  if ((transB ? b1 : b0) !== K) fail(`input B [${B.dims.join(", ")}] (transB = ${transB}) does not match K = ${K}`);
  const weight = new Float32Array(N * K);
  for (let o = 0; o < N; o++)
    for (let k = 0; k < K; k++) weight[o * K + k] = alpha * B.data[transB ? o * K + k : k * N + o]!;
  const bias = new Float32Array(N);
  if (inputs[2]) {
    const C = n.constant(inputs[2], "input C");
    const cn = numel(C.dims);
    if (cn === N && C.dims.filter((d) => d !== 1).length <= 1 && (C.dims.length < 2 || C.dims[0] === 1 || N === 1)) {
      for (let o = 0; o < N; o++) bias[o] = beta * C.data[o]!;
    } else if (cn === 1) bias.fill(beta * C.data[0]!);
    else fail(`input C [${C.dims.join(", ")}] must broadcast to [1, ${N}]`);
  }
  pushDense(n, chain, weight, bias, K, N);
};

const matMul: LayerOp = (n, chain) => {
  const { inputs, fail } = n;
  const cur = chain.current;
  if (!first(n, cur)) fail("the activation must be the first input (x @ W)");
  if (cur.shape.length !== 2) fail(`input must be a matrix [1, K], got [${cur.shape.join(", ")}]; flatten first`);
  const W = n.constant(inputs[1], "input B");
  const K = cur.shape[1]!;
  if (W.dims.length !== 2 || W.dims[0] !== K) fail(`weight [${W.dims.join(", ")}] must be [${K}, N]`);
  const N = W.dims[1]!;
  const weight = new Float32Array(N * K);
  for (let o = 0; o < N; o++) for (let k = 0; k < K; k++) weight[o * K + k] = W.data[k * N + o]!;
  pushDense(n, chain, weight, new Float32Array(N), K, N);
};

/** The layer that produced the current tensor directly, if it is a dense or conv layer (bias and BatchNorm fold into it). */
function producerLinear(chain: LayerChain): DenseLayer | ConvLayer | undefined {
  const cur = chain.current;
  const layer = cur.producer !== undefined ? chain.layers[cur.producer] : undefined;
  return layer && (layer.kind === "dense" || layer.kind === "conv") ? layer : undefined;
}

const addBias: LayerOp = (n, chain) => {
  const { inputs, outputs, fail } = n;
  const cur = chain.current;
  const c = n.constant(first(n, cur) ? inputs[1] : inputs[0], "the other operand");
  const L = producerLinear(chain);
  if (!L) return fail("adding a constant is supported only as the bias right after Gemm, MatMul or Conv");
  const channels = L.kind === "dense" ? L.outFeatures : L.outChannels;
  const cn = numel(c.dims);
  // bias must vary along the channel/feature axis only: [N], [1,N] for dense; [C,1,1], [1,C,1,1] for conv; or a scalar
  const rankOk = L.kind === "dense"
    ? c.dims.length <= 2 && (c.dims.length < 2 || c.dims[0] === 1)
    : c.dims.length >= 3 && c.dims.slice(-2).every((d) => d === 1) && (c.dims.length === 3 || c.dims[0] === 1);
  if (cn === 1) for (let i = 0; i < channels; i++) L.bias[i]! += c.data[0]!;
  else if (cn === channels && rankOk) for (let i = 0; i < channels; i++) L.bias[i]! += c.data[i]!;
  else fail(`constant of shape [${c.dims.join(", ")}] is not a per-${L.kind === "dense" ? "feature" : "channel"} bias for ${L.name}`);
  chain.setCurrent(outputs[0], cur.shape, cur.producer);
};

const conv: LayerOp = (n, chain) => {
  const { node, inputs, outputs, attrs, fail } = n;
  const cur = chain.current;
  if (!first(n, cur)) fail("the activation must be input X");
  if (cur.shape.length !== 4) fail(`only 2-D convolution on [1, C, H, W] is supported, input is [${cur.shape.join(", ")}]`);
  const W = n.constant(inputs[1], "weight W");
  if (W.dims.length !== 4) fail(`weight must be [M, C, kH, kW], got [${W.dims.join(", ")}]`);
  const [M, C, kH, kW] = W.dims as [number, number, number, number];
  const group = attrs.int("group", 1);
  if (group !== 1) fail(`group = ${group} is not supported (supported: group = 1)`);
  if (C !== cur.shape[1]) fail(`weight has ${C} input channels, the activation has ${cur.shape[1]}`);
  const ks = attrs.ints("kernel_shape", [kH, kW]);
  if (ks[0] !== kH || ks[1] !== kW) fail(`kernel_shape [${ks.join(", ")}] does not match the weight [${kH}, ${kW}]`);
  const dil = attrs.ints("dilations", [1, 1]);
  if (dil.some((d) => d !== 1)) fail(`dilations [${dil.join(", ")}] are not supported (supported: 1)`);
  const stride = attrs.ints("strides", [1, 1]) as [number, number];
  const pads = resolvePads(n, [kH, kW], stride, cur.shape);
  const bias = new Float32Array(M);
  if (inputs[2]) {
    const B = n.constant(inputs[2], "bias B");
    if (numel(B.dims) !== M) fail(`bias has ${numel(B.dims)} values, expected ${M}`);
    bias.set(B.data);
  }
  const layer: ConvLayer = {
    kind: "conv", name: chain.layerName("conv", node), inChannels: C, outChannels: M,
    kernel: [kH, kW], stride, pads, weight: Float32Array.from(W.data), bias,
  };
  chain.layers.push(layer);
  const oh = Math.floor((cur.shape[2]! + pads[0] + pads[2] - kH) / stride[0]) + 1;
  const ow = Math.floor((cur.shape[3]! + pads[1] + pads[3] - kW) / stride[1]) + 1;
  if (oh < 1 || ow < 1) fail("kernel larger than the padded input");
  chain.setCurrent(outputs[0], [1, M, oh, ow], chain.layers.length - 1);
};

const pool: LayerOp = (n, chain) => {
  const { node, op, outputs, attrs, fail } = n;
  const cur = chain.current;
  if (cur.shape.length !== 4) fail(`only 2-D pooling on [1, C, H, W] is supported, input is [${cur.shape.join(", ")}]`);
  if (outputs[1]) fail("the Indices output is not supported");
  const k = attrs.ints("kernel_shape", []) as [number, number];
  if (k.length !== 2) fail("kernel_shape must have 2 values");
  if (attrs.int("ceil_mode", 0) !== 0) fail("ceil_mode = 1 is not supported (supported: 0)");
  const dil = attrs.ints("dilations", [1, 1]);
  if (dil.some((d) => d !== 1)) fail(`dilations [${dil.join(", ")}] are not supported (supported: 1)`);
  const stride = attrs.ints("strides", [1, 1]) as [number, number];
  const pads = resolvePads(n, k, stride, cur.shape);
  if (op === "AveragePool" && pads.some((p) => p !== 0) && attrs.int("count_include_pad", 0) !== 1) {
    fail("padding with count_include_pad = 0 is not supported (supported: no padding, or count_include_pad = 1)");
  }
  const kind = op === "MaxPool" ? "maxpool" : "avgpool";
  chain.layers.push({ kind, name: chain.layerName(kind, node), kernel: [k[0], k[1]], stride, pads });
  const oh = Math.floor((cur.shape[2]! + pads[0] + pads[2] - k[0]) / stride[0]) + 1;
  const ow = Math.floor((cur.shape[3]! + pads[1] + pads[3] - k[1]) / stride[1]) + 1;
  if (oh < 1 || ow < 1) fail("kernel larger than the padded input");
  chain.setCurrent(outputs[0], [1, cur.shape[1]!, oh, ow]);
};

const globalAveragePool: LayerOp = ({ node, outputs, fail }, chain) => {
  const cur = chain.current;
  if (cur.shape.length !== 4) fail(`input must be [1, C, H, W], got [${cur.shape.join(", ")}]`);
  const [, c, hh, ww] = cur.shape as [number, number, number, number];
  chain.layers.push({ kind: "avgpool", name: chain.layerName("avgpool", node), kernel: [hh, ww], stride: [1, 1], pads: [0, 0, 0, 0] });
  chain.setCurrent(outputs[0], [1, c, 1, 1]);
};

const flatten: LayerOp = (n, chain) => {
  const axis = n.attrs.int("axis", 1);
  if (axis !== 1 && !(axis === -1 && chain.current.shape.length === 2)) n.fail(`axis = ${axis} is not supported (supported: 1, keeping the batch axis)`);
  flattenCurrent(n, chain);
};

const reshape: LayerOp = (n, chain) => {
  const { inputs, outputs, attrs, fail } = n;
  const cur = chain.current;
  if (!first(n, cur)) fail("the activation must be the data input");
  const target = n.constant(inputs[1], "the shape input");
  const allowzero = attrs.int("allowzero", 0);
  const total = numel(cur.shape);
  const dims = Array.from(target.data, (d, i) => (d === 0 && !allowzero ? cur.shape[i]! : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const shape = dims.map((d) => (d === -1 ? total / known : d));
  if (dims.filter((d) => d === -1).length > 1 || numel(shape) !== total || !shape.every(Number.isInteger)) {
    fail(`cannot reshape [${cur.shape.join(", ")}] to [${Array.from(target.data).join(", ")}]`);
  }
  if (shape.length === cur.shape.length && shape.every((d, i) => d === cur.shape[i])) {
    chain.setCurrent(outputs[0], cur.shape, cur.producer, keepLayout(cur));
  } else if (shape.length === 2 && shape[0] === 1) {
    flattenCurrent(n, chain);
  } else {
    fail(`reshape of [${cur.shape.join(", ")}] to [${shape.join(", ")}] is not supported (supported: flatten to [batch, -1])`);
  }
};

const batchNormalization: LayerOp = (n, chain) => {
  const { inputs, outputs, attrs, fail } = n;
  const cur = chain.current;
  if (!first(n, cur)) fail("the activation must be input X");
  if (outputs.slice(1).some((o) => o)) fail("training outputs (running mean/var) are not supported");
  if (attrs.int("training_mode", 0) !== 0) fail("training_mode = 1 is not supported");
  if (attrs.int("spatial", 1) !== 1) fail("spatial = 0 is not supported");
  const eps = attrs.float("epsilon", 1e-5);
  const L = producerLinear(chain);
  if (!L) return fail("BatchNormalization is supported only right after Conv, Gemm or MatMul (it is folded into their weights)");
  const channels = L.kind === "dense" ? L.outFeatures : L.outChannels;
  const [scale, beta, mean, variance] = [1, 2, 3, 4].map((i) => {
    const c = n.constant(inputs[i], `input ${["", "scale", "B", "mean", "var"][i]}`);
    if (numel(c.dims) !== channels) fail(`parameter ${inputs[i]} has ${numel(c.dims)} values, expected ${channels}`);
    return c.data;
  }) as [Float64Array, Float64Array, Float64Array, Float64Array];
  const per = L.weight.length / channels;
  for (let ch = 0; ch < channels; ch++) {
    const s = scale[ch]! / Math.sqrt(variance[ch]! + eps);
    for (let j = 0; j < per; j++) L.weight[ch * per + j] = L.weight[ch * per + j]! * s;
    L.bias[ch] = (L.bias[ch]! - mean[ch]!) * s + beta[ch]!;
  }
  chain.setCurrent(outputs[0], cur.shape, cur.producer);
};

const argMax: LayerOp = ({ node, outputs, attrs, fail }, chain) => {
  const cur = chain.current;
  const axis = attrs.int("axis", 0);
  if (cur.shape.length !== 2 || (axis !== 1 && axis !== -1)) {
    fail(`only ArgMax over the features of [1, N] (axis = 1) is supported, input [${cur.shape.join(", ")}], axis ${axis}`);
  }
  if (attrs.int("select_last_index", 0) !== 0) fail("select_last_index = 1 is not supported (supported: 0)");
  chain.layers.push({ kind: "argmax", name: chain.layerName("argmax", node) });
  const keep = attrs.int("keepdims", 1);
  chain.setCurrent(outputs[0], keep ? [1, 1] : [1]);
};

const LAYER_HANDLERS = new Map<string, LayerOp>([
  ["Identity", identity],
  ["Dropout", identity],
  ["Relu", relu],
  ["Transpose", transpose],
  ["Gemm", gemm],
  ["MatMul", matMul],
  ["Add", addBias],
  ["Conv", conv],
  ["MaxPool", pool],
  ["AveragePool", pool],
  ["GlobalAveragePool", globalAveragePool],
  ["Flatten", flatten],
  ["Reshape", reshape],
  ["BatchNormalization", batchNormalization],
  ["ArgMax", argMax],
]);

/** A dense layer [N][K]; a reordering left by a flatten of a transposed tensor is absorbed into its weight columns. */
function pushDense(n: LayerNode, chain: LayerChain, weight: Float32Array, bias: Float32Array, K: number, N: number): void {
  const order = chain.current.order;
  if (order) {
    // the input arrives in the ONNX (transposed) order: move each weight column to the IR element it multiplies
    const reordered = new Float32Array(weight.length);
    for (let o = 0; o < N; o++) for (let j = 0; j < K; j++) reordered[o * K + order[j]!] = weight[o * K + j]!;
    weight = reordered;
  }
  chain.layers.push({ kind: "dense", name: chain.layerName("dense", n.node), inFeatures: K, outFeatures: N, weight, bias });
  chain.setCurrent(n.outputs[0], [1, N], chain.layers.length - 1);
}

/** Flatten the current tensor to [1, n] (a flatten layer unless it already is a vector). */
function flattenCurrent(n: LayerNode, chain: LayerChain): void {
  const cur = chain.current;
  const output = n.outputs[0];
  if (cur.layout) {
    // the IR flattens its own [C, H, W] order; remember where each element of the ONNX order lands
    const { canonical, perm } = cur.layout;
    const dims = perm.map((k) => canonical[k]!);
    const strides = canonical.map((_, i) => numel(canonical.slice(i + 1)));
    const total = numel(dims);
    const order = new Int32Array(total);
    const idx = new Array<number>(dims.length).fill(0);
    for (let j = 0; j < total; j++) {
      let i = 0;
      for (let a = 0; a < dims.length; a++) i += idx[a]! * strides[perm[a]!]!;
      order[j] = i;
      for (let a = dims.length - 1; a >= 0; a--) {
        if (++idx[a]! < dims[a]!) break;
        idx[a] = 0;
      }
    }
    if (canonical.length > 2) chain.layers.push({ kind: "flatten", name: chain.layerName("flatten", n.node) });
    chain.setCurrent(output, [1, total], undefined, { order });
    return;
  }
  if (cur.shape.length > 2) chain.layers.push({ kind: "flatten", name: chain.layerName("flatten", n.node) });
  chain.setCurrent(output, [1, numel(cur.shape.slice(1))], cur.shape.length > 2 ? undefined : cur.producer);
}

/** Explicit pads or auto_pad resolved against the input size, as [top, left, bottom, right]. */
function resolvePads(n: LayerNode, k: number[], stride: number[], shape: number[]): [number, number, number, number] {
  const autoPad = n.attrs.string("auto_pad", "NOTSET");
  if (autoPad === "NOTSET") {
    const p = n.attrs.ints("pads", [0, 0, 0, 0]);
    if (p.length !== 4 || p.some((x) => x < 0)) n.fail(`pads [${p.join(", ")}] must be 4 non-negative values`);
    return p as [number, number, number, number];
  }
  if (autoPad === "VALID") return [0, 0, 0, 0];
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const begin: number[] = [];
    const end: number[] = [];
    for (let a = 0; a < 2; a++) {
      const size = shape[2 + a]!;
      const out = Math.ceil(size / stride[a]!);
      const total = Math.max((out - 1) * stride[a]! + k[a]! - size, 0);
      const small = Math.floor(total / 2);
      begin.push(autoPad === "SAME_UPPER" ? small : total - small);
      end.push(autoPad === "SAME_UPPER" ? total - small : small);
    }
    return [begin[0]!, begin[1]!, end[0]!, end[1]!];
  }
  return n.fail(`auto_pad = ${autoPad} is not supported (supported: NOTSET, VALID, SAME_UPPER, SAME_LOWER)`);
}
