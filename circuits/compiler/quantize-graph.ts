// Fixed-point quantization of a GraphModel (transformers): one scale per tensor, calibrated on float runs; linear
// layers as in quantize.ts (per-channel weight scales, multiplier and shift), the transformer ops through the
// primitives of nonlinear.ts, and every pure data movement (reshape, transpose, slice, gather, concat, flatten)
// composed into index maps that cost no constraint. The result is a QuantizedModel of version 2: its ops name the
// ops they read, and the engine (engine-graph.ts) and the direct route (gadgets-nonlinear.ts) run it.
import type { DenseLayer, ConvLayer, PoolLayer, Shape } from "../ir/ir.ts";
import type { GraphModel, GraphNode } from "../ir/graph.ts";
import { graphShapes, numel } from "../ir/graph.ts";
import { broadcastIndex, evalNode, runGraphFloat } from "../ir/graph-float.ts";
import { foldPreprocess } from "../ir/preprocess.ts";
import { geluParams, layerNormParams, matmulParams, quotientBits, softmaxParams } from "./nonlinear.ts";
import {
  checkWidth, inputQuantOf, sealCommitment, MAX_FIELD_BITS, opSize, OverflowError, quantizeLinear, quantWidths,
  type QLayout, type QOp, type QuantizedModel, type QuantOptions,
} from "./quantize.ts";

/** Options of the graph quantizer: the sequential ones, and the transformer primitives' precision. */
export interface GraphQuantOptions extends QuantOptions {
  /** P: softmax probabilities at scale 2^-P (default 12). */
  softmaxFrac?: number;
}

/** Where a tensor's integers come from: an op's output (-1: the model input), their width and their scale. */
interface QTensor {
  op: number;
  bits: number;
  scale: number;
}

const abs = (v: bigint): bigint => (v < 0n ? -v : v);
const LAYOUT_OPS = new Set(["reshape", "transpose", "gather", "slice", "concat", "flatten"]);


/** Quantize `model`; `calibration` inputs (raw, as the model takes them) set every tensor's scale. Errors name the
 *  node and what is not supported or would overflow the field. */
export function quantizeGraph(model: GraphModel, calibration: Float32Array[], options: GraphQuantOptions = {}): QuantizedModel {
  // (the primitives take inputs of up to 40 bits: 32 keeps every width they see in range)
  const { inputBits, weightBits, activationBits, outputBits, multiplierBits } = quantWidths(options, 32);
  const softmaxFrac = checkWidth("softmaxFrac", options.softmaxFrac ?? 12, 4, 30);
  const { inputRange, inputScale } = inputQuantOf(calibration, options.inputRange, inputBits);
  const shapes = graphShapes(model);
  const consumers = new Map<string, GraphNode[]>();
  for (const node of model.nodes) for (const t of node.inputs) consumers.set(t, [...(consumers.get(t) ?? []), node]);
  const fail = (node: GraphNode, why: string): never => {
    throw new Error(`node ${node.name} (${node.op}): ${why}`);
  };

  // Float statistics: max |value| of every tensor over the calibration set.
  const maxAbs = new Map<string, number>();
  for (const x of calibration) {
    for (const [name, values] of runGraphFloat(model, x).tensors) {
      let m = maxAbs.get(name) ?? 0;
      for (const v of values) m = Math.max(m, Math.abs(v));
      maxAbs.set(name, m);
    }
  }
  const top = 2 ** (activationBits - 1) - 1;
  /** The scale that maps a tensor's calibrated maximum to the top of an activation. */
  const scaleOf = (tensor: string, fallback: number): number => {
    const m = maxAbs.get(tensor) ?? 0;
    return m > 0 ? m / top : fallback;
  };

  // The op that produces the output (through data movement and a final argmax) gets the output width.
  const producer = new Map(model.nodes.map((n) => [n.output, n]));
  let lastNode = producer.get(model.output);
  while (lastNode && (LAYOUT_OPS.has(lastNode.op) || lastNode.op === "argmax")) lastNode = producer.get(lastNode.inputs[0]!);

  // Input preprocessing folds into the one node that reads the input, which must be a dense or conv layer.
  let folded: { node: GraphNode; layer: DenseLayer | ConvLayer; padRaw?: number[] } | undefined;
  if (model.preprocess) {
    const readers = consumers.get(model.input.name) ?? [];
    const first = readers[0];
    if (readers.length !== 1 || !first || (first.op !== "dense" && first.op !== "conv") || (first.op === "dense" && model.input.shape.length !== 1)) {
      throw new Error(`${model.name}: input preprocessing folds into the first layer, which must be the input's only reader and a dense (over a vector) or conv layer`);
    }
    const r = foldPreprocess([nodeLayer(first)], model.input.shape, model.preprocess);
    folded = { node: first, layer: r.layers[0] as DenseLayer | ConvLayer, ...(r.padRaw ? { padRaw: r.padRaw } : {}) };
  }

  const ops: QOp[] = [];
  const tensors = new Map<string, QTensor>([[model.input.name, { op: -1, bits: inputBits, scale: inputScale }]]);
  const fused = new Set<GraphNode>();
  const push = (op: QOp): number => ops.push(op) - 1;

  const sizeOf = (k: number): number => (k < 0 ? numel(model.input.shape) : opSize(ops[k]!));
  /** A dense, conv or avgpool node as one QLinear (a dense over [rows, in] with `rows`); a relu that is its output's
   *  only reader fuses into the requantization. */
  const linear = (node: GraphNode, x: QTensor, inShape: Shape, outShape: Shape): void => {
    if (node.op !== "dense" && node.op !== "conv" && node.op !== "avgpool") fail(node, "is not a linear layer");
    const readers = consumers.get(node.output) ?? [];
    const relu = readers.length === 1 && readers[0]!.op === "relu" && node.output !== model.output ? readers[0]! : undefined;
    if (relu) fused.add(relu);
    const isLast = node.name === lastNode?.name;
    const observed = maxAbs.get(relu ? relu.output : node.output) ?? 0;
    const bits = isLast ? outputBits : activationBits;
    if (node.op !== "dense" && inShape.length !== 3) fail(node, "expects a [C, H, W] input");
    const layer = folded?.node === node ? folded.layer : nodeLayer(node);
    const rows = node.op === "dense" ? numel(inShape) / node.inFeatures : 1;
    const [qIn, qOut] = node.op === "dense" ? [[node.inFeatures], [node.outFeatures]] : [inShape, outShape];
    const op = quantizeLinear(layer, qIn, qOut, x.scale, x.bits, bits, relu !== undefined, isLast, observed, weightBits, multiplierBits, folded?.node === node ? folded.padRaw : undefined);
    const k = push({ ...op, inputs: [x.op], inShape, outShape, ...(node.op === "dense" ? { rows } : {}) });
    tensors.set(relu ? relu.output : node.output, { op: k, bits, scale: op.outScale });
  };

  for (const node of model.nodes) {
    if (fused.has(node)) continue;
    const ins = node.inputs.map((t) => tensors.get(t)!);
    const x = ins[0]!;
    const inShape = shapes.get(node.inputs[0]!)!;
    const outShape = shapes.get(node.output)!;
    const set = (t: QTensor) => tensors.set(node.output, t);
    switch (node.op) {
      case "dense":
      case "conv":
      case "avgpool":
        linear(node, x, inShape, outShape);
        break;
      case "maxpool":
        if (inShape.length !== 3) fail(node, "expects a [C, H, W] input");
        set({ ...x, op: push({ kind: "maxpool", name: node.name, inputs: [x.op], inShape, outShape, kernel: node.kernel, stride: node.stride, pads: node.pads, bits: x.bits, scale: x.scale }) });
        break;
      case "relu":
        set({ ...x, op: push({ kind: "relu", name: node.name, inputs: [x.op], shape: outShape, bits: x.bits, scale: x.scale }) });
        break;
      case "mul":
      case "div": {
        // a positive scalar only rescales: the integers stay, their scale changes (attention's 1 / sqrt(d))
        const c = node.constant!;
        if (c.data.length !== 1 || !(c.data[0]! > 0)) fail(node, "only a positive scalar constant is supported as a multiplier or divisor");
        set({ ...x, scale: node.op === "mul" ? x.scale * c.data[0]! : x.scale / c.data[0]! });
        break;
      }
      case "add":
      case "sub": {
        const outScale = scaleOf(node.output, x.scale);
        const ratios = ins.map((t) => t.scale / outScale);
        const shift = Math.max(0, multiplierBits + 3 - Math.floor(Math.log2(Math.max(...ratios))));
        const M = ratios.map((r) => BigInt(Math.round(r * 2 ** shift)));
        if (M.some((m) => m < 1n)) fail(node, "an input's scale is too small against the output's to add (its multiplier rounds to 0)");
        let bias: bigint[] = [];
        if (node.constant) {
          const at = broadcastIndex(node.constant, outShape);
          const sign = node.op === "sub" ? -1 : 1;
          bias = Array.from(at, (j) => {
            const v = Math.round((sign * node.constant!.data[j]! * 2 ** shift) / outScale);
            if (!Number.isFinite(v)) fail(node, "a constant does not quantize to a finite integer");
            return BigInt(v);
          });
        }
        const accBound = ins.reduce((a, t, j) => a + M[j]! * (1n << BigInt(t.bits - 1)), bias.reduce((m, b) => (abs(b) > m ? abs(b) : m), 0n));
        const qBits = quotientBits(accBound, 1n, shift);
        const k = push({
          kind: "add", name: node.name, inputs: ins.map((t) => t.op), shape: outShape, multiplier: M.map(String), bias: bias.map(String),
          shift, qBits, inBits: ins.map((t) => t.bits), outBits: activationBits, outScale,
        });
        set({ op: k, bits: activationBits, scale: outScale });
        break;
      }
      case "matmul": {
        const [a, b] = ins as [QTensor, QTensor];
        const bShape = shapes.get(node.inputs[1]!)!;
        const n = inShape[inShape.length - 2]!;
        const kk = inShape[inShape.length - 1]!;
        const m = bShape[bShape.length - 1]!;
        const outScale = scaleOf(node.output, a.scale * b.scale);
        const params = matmulParams({ n, k: kk, m, aBits: a.bits, bBits: b.bits, aScale: a.scale, bScale: b.scale, outBits: activationBits, outScale });
        set({ op: push({ kind: "matmul", name: node.name, inputs: [a.op, b.op], batch: numel(inShape.slice(0, -2)), params, outScale }), bits: activationBits, scale: outScale });
        break;
      }
      case "softmax": {
        const params = softmaxParams({ n: inShape[node.axis]!, inBits: x.bits, inScale: x.scale, outFrac: softmaxFrac });
        const outScale = 2 ** -softmaxFrac;
        set({ op: push({ kind: "softmax", name: node.name, inputs: [x.op], shape: outShape, axis: node.axis, params, outScale }), bits: softmaxFrac + 2, scale: outScale });
        break;
      }
      case "layerNorm": {
        const outScale = scaleOf(node.output, 1 / top);
        const params = layerNormParams({
          n: inShape[inShape.length - 1]!, inBits: x.bits, inScale: x.scale, gamma: Array.from(node.gamma), beta: Array.from(node.beta),
          eps: node.epsilon > 0 ? node.epsilon : 1e-12, outBits: activationBits, outScale,
        });
        set({ op: push({ kind: "layerNorm", name: node.name, inputs: [x.op], shape: outShape, params, outScale }), bits: activationBits, scale: outScale });
        break;
      }
      case "gelu": {
        const outScale = scaleOf(node.output, x.scale);
        const params = geluParams({ inBits: x.bits, inScale: x.scale, outBits: activationBits, outScale, form: node.form });
        set({ op: push({ kind: "gelu", name: node.name, inputs: [x.op], shape: outShape, params, outScale }), bits: activationBits, scale: outScale });
        break;
      }
      case "reshape":
      case "transpose":
      case "gather":
      case "slice":
      case "concat":
      case "flatten":
        layoutNode(node, ins, node.inputs.map((t) => shapes.get(t)!), outShape, ops, sizeOf, set, fail);
        break;
      case "argmax":
        if (node.output !== model.output) fail(node, "argmax must compute the model's output");
        set({ op: push({ kind: "argmax", name: node.name, inputs: [x.op], n: numel(inShape), bits: x.bits }), bits: outputBits, scale: 1 });
        break;
      case "reduceMean": {
        // the reduced axes moved last (a layout, when they are not), then a dense of weight 1/n per kept position:
        // its rows are the kept positions in order, which is the reduction's output order
        const kept = inShape.map((_, a) => a).filter((a) => !node.axes.includes(a));
        const perm = [...kept, ...[...node.axes].sort((a, b) => a - b)];
        const n = numel(node.axes.map((a) => inShape[a]!));
        let src = x;
        if (perm.some((p, i) => p !== i)) {
          const moved = `${node.output}/reduced-last`;
          layoutNode({ op: "transpose", name: `${node.name}/transpose`, inputs: node.inputs, output: moved, perm }, [x], [inShape], perm.map((p) => inShape[p]!), ops,
            sizeOf, (t) => tensors.set(moved, t), fail);
          src = tensors.get(moved)!;
        }
        const mean: GraphNode = { op: "dense", name: node.name, inputs: node.inputs, output: node.output, inFeatures: n, outFeatures: 1, weight: new Float64Array(n).fill(1 / n), bias: new Float64Array(1) };
        linear(mean, src, [numel(inShape) / n, n], outShape);
        break;
      }
    }
  }

  const out = tensors.get(model.output)!;
  if (out.op < 0) throw new Error(`${model.name}: the output is the input itself; nothing to prove`);
  const live = liveOps(ops, out.op);
  const outOp = live[live.length - 1]!;
  const outputKind = outOp.kind === "argmax" ? "argmax" : "logits";
  let maxBits = inputBits;
  for (const op of live) {
    if (op.kind === "linear") maxBits = Math.max(maxBits, ...op.shift.map((s, c) => s + op.qBits[c]!));
    else if (op.kind === "add") maxBits = Math.max(maxBits, op.shift + op.qBits);
    else if (op.kind === "matmul") maxBits = Math.max(maxBits, op.params.s + op.params.Q);
    else if (op.kind === "layerNorm") maxBits = Math.max(maxBits, op.params.s + op.params.Q, op.params.hiBits);
  }
  if (maxBits > MAX_FIELD_BITS) {
    throw new OverflowError(`${model.name}: an intermediate needs ${maxBits} bits, over the ${MAX_FIELD_BITS}-bit bound that keeps it below the BN254 field (p ~ 2^253.6)`);
  }
  const q: QuantizedModel = {
    format: "ozk-quant",
    version: 2,
    name: model.name,
    inputShape: model.input.shape,
    inputBits,
    inputScale,
    inputRange,
    ...(model.preprocess ? { preprocess: model.preprocess } : {}),
    weightBits,
    activationBits,
    outputBits: outOp.kind === "argmax" ? outputBits : out.bits,
    multiplierBits,
    outputScale: outputKind === "argmax" ? 1 : out.scale,
    outputKind,
    outputCount: numel(graphShapes(model).get(model.output)!),
    commitBits: 0,
    weightsCommitment: "0",
    maxBits,
    ops: live,
  };
  return sealCommitment(q, "a constant");
}

/** A dense, conv or avgpool node as the sequential layer quantizeLinear takes. */
function nodeLayer(node: GraphNode): DenseLayer | ConvLayer | (PoolLayer & { kind: "avgpool" }) {
  switch (node.op) {
    case "dense":
      return { kind: "dense", name: node.name, inFeatures: node.inFeatures, outFeatures: node.outFeatures, weight: Float32Array.from(node.weight), bias: Float32Array.from(node.bias) };
    case "conv":
      return {
        kind: "conv", name: node.name, inChannels: node.inChannels, outChannels: node.outChannels, kernel: node.kernel, stride: node.stride,
        pads: node.pads, weight: Float32Array.from(node.weight), bias: Float32Array.from(node.bias),
      };
    case "avgpool":
      return { kind: "avgpool", name: node.name, kernel: node.kernel, stride: node.stride, pads: node.pads };
    default:
      throw new Error(`node ${node.name} (${node.op}) is not a linear layer`);
  }
}

/**
 * A data-movement node as one layout op. Where each output value comes from is learned by running the node's float
 * code on codes instead of values (input j's element i holds offset_j + i; a constant element holds -1 - its index),
 * then composed through inputs that are layouts themselves, so a chain of reshapes and transposes is one index map.
 * A node that moves nothing (a reshape of one input) makes no op.
 */
function layoutNode(
  node: GraphNode,
  ins: QTensor[],
  inShapes: Shape[],
  outShape: Shape,
  ops: QOp[],
  sizeOf: (op: number) => number,
  set: (t: QTensor) => void,
  fail: (node: GraphNode, why: string) => never,
): void {
  const x = ins[0]!;
  if (ins.some((t) => t.scale !== x.scale || t.bits !== x.bits)) fail(node, "joins tensors of different scales or widths; only tensors of one scale are supported");
  const offsets: number[] = [];
  let total = 0;
  const codes = inShapes.map((s) => {
    offsets.push(total);
    const c = Float64Array.from({ length: numel(s) }, (_, i) => total + i);
    total += c.length;
    return c;
  });
  // constants (a class token) are quantized at the tensor's scale and clamped to its width
  const constants: bigint[] = [];
  const lim = (1n << BigInt(x.bits - 1)) - 1n;
  let evalAt = node;
  if (node.op === "concat") {
    evalAt = {
      ...node,
      parts: node.parts.map((p) => {
        if ("input" in p) return p;
        const data = Float64Array.from(p.constant.data, (v) => {
          let q = BigInt(Math.round(v / x.scale));
          if (q > lim) q = lim;
          if (q < -lim - 1n) q = -lim - 1n;
          constants.push(q);
          return -constants.length;
        });
        return { constant: { dims: p.constant.dims, data } };
      }),
    };
  }
  const moved = evalNode(evalAt, codes, inShapes, outShape);
  // resolve each code to (op, element) or a constant, looking through inputs that are layouts
  const srcOps: number[] = [];
  const refs: ({ op: number; i: number } | bigint)[] = Array.from(moved, (code) => {
    if (code < 0) return constants[-1 - code]!;
    let j = offsets.length - 1;
    while (offsets[j]! > code) j--;
    const t = ins[j]!;
    const i = code - offsets[j]!;
    const producer = t.op >= 0 ? ops[t.op]! : undefined;
    if (producer?.kind !== "layout") return { op: t.op, i };
    const s = producer.src[i]!;
    if (s < 0) return BigInt(producer.constants[-1 - s]!);
    // the producer's inputs laid end to end: find the one holding s
    let jj = 0;
    let base = 0;
    for (; jj < producer.inputs.length - 1; jj++) {
      const n = sizeOf(producer.inputs[jj]!);
      if (s < base + n) break;
      base += n;
    }
    return { op: producer.inputs[jj]!, i: s - base };
  });
  for (const r of refs) if (typeof r !== "bigint" && !srcOps.includes(r.op)) srcOps.push(r.op);
  const base = new Map<number, number>();
  let at = 0;
  for (const op of srcOps) {
    base.set(op, at);
    at += sizeOf(op);
  }
  const outConsts: string[] = [];
  const src = refs.map((r) => {
    if (typeof r === "bigint") {
      outConsts.push(r.toString());
      return -outConsts.length;
    }
    return base.get(r.op)! + r.i;
  });
  // an identity move of one tensor is no op at all
  if (srcOps.length === 1 && outConsts.length === 0 && src.length === sizeOf(srcOps[0]!) && src.every((s, i) => s === i)) {
    set({ ...x, op: srcOps[0]! });
    return;
  }
  const layout: QLayout = { kind: "layout", name: node.name, inputs: srcOps, outShape, src, constants: outConsts, bits: x.bits, scale: x.scale };
  set({ ...x, op: ops.push(layout) - 1 });
}

/** The ops the output depends on, renumbered, the output's op last. */
function liveOps(ops: QOp[], outOp: number): QOp[] {
  const live = new Set<number>();
  const visit = (k: number): void => {
    if (k < 0 || live.has(k)) return;
    live.add(k);
    for (const i of ops[k]!.inputs!) visit(i);
  };
  visit(outOp);
  const keep = [...live].sort((a, b) => a - b);
  if (keep[keep.length - 1] !== outOp) throw new Error("quantize: the output op is not the last live op");
  const index = new Map(keep.map((k, i) => [k, i]));
  return keep.map((k) => ({ ...ops[k]!, inputs: ops[k]!.inputs!.map((i) => (i < 0 ? -1 : index.get(i)!)) }));
}
