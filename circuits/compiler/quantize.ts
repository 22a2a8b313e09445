// Fixed-point quantization of a FloatModel: calibrated scales, integer multiplier + rounding shift per
// output channel, saturation to the declared widths, and the field-overflow analysis that every circuit relies on.
import type { ConvLayer, DenseLayer, FloatModel, Layer, PoolLayer, Shape } from "../ir/ir.ts";
import { layerShapes } from "../ir/ir.ts";
import { runFloat } from "../ir/float-engine.ts";
import { foldPreprocess, type InputPreprocess } from "../ir/preprocess.ts";
import { hashVector } from "../../sdk/hash.ts";
import { quantizeGraph } from "./quantize-graph.ts";
import { checkQuant } from "./quant-check.ts";
import type { GeluParams, LayerNormParams, MatMulParams, SoftmaxParams } from "./nonlinear.ts";

/** Widest two's-complement value any linear combination may reach: |v| < 2^MAX_FIELD_BITS < p/2 with margin. */
export const MAX_FIELD_BITS = 250;

export interface QuantOptions {
  /** Signed width of a quantized input value (default 8). */
  inputBits?: number;
  /** Declared float range of the inputs (default: the calibration range). Inputs are clamped to it. */
  inputRange?: [number, number];
  /** Signed width of a quantized weight (default 8). */
  weightBits?: number;
  /** Signed width of hidden activations (default 10: +0.3% top-1 agreement on the MNIST CNN for ~1% more constraints). */
  activationBits?: number;
  /** Signed width of each output value (default 24): ten 24-bit logits pack into one public signal. */
  outputBits?: number;
  /** Precision of the requantization multiplier M in M / 2^shift (default 12). */
  multiplierBits?: number;
}

/**
 * One fused integer layer: acc = bias + sum W x (dense, conv, or a window sum for avgpool),
 * y = clamp(floor((acc * M + 2^(shift-1)) / 2^shift)) to outBits signed (to [0, hi] with relu).
 * Per output channel c: multiplier[c], shift[c], qBits[c] (width of the unclamped quotient).
 */
export interface QLinear extends GraphInputs {
  kind: "linear";
  name: string;
  /** Graph models, dense only: the layer maps each of `rows` rows of its input ([rows, in] -> [rows, out]); the
   *  channel of output o is o % out. Absent: one row (a vector, channels first for conv and avgpool). */
  rows?: number;
  source: "dense" | "conv" | "avgpool";
  inShape: Shape;
  outShape: Shape;
  /** Conv/avgpool geometry; absent for dense. */
  kernel?: [number, number];
  stride?: [number, number];
  pads?: [number, number, number, number];
  /** Conv only, present when the model's input preprocessing folded into this layer and it pads: per input channel,
   *  the integer the padded border holds (the quantized raw value that preprocesses to 0). Absent: zero padding. */
  padValue?: number[];
  /** dense: [out][in]; conv: [outC][inC][kh][kw]; avgpool: empty (all ones, per channel). */
  weight: number[];
  /** Per output channel, at accumulator scale (decimal strings: may exceed 2^53). */
  bias: string[];
  multiplier: string[];
  shift: number[];
  qBits: number[];
  relu: boolean;
  inBits: number;
  outBits: number;
  inScale: number;
  outScale: number;
  weightScale: number[];
  /** max |acc| per channel over every input in range (decimal strings). */
  accBound: string[];
}

export interface QMaxPool extends GraphInputs {
  kind: "maxpool";
  name: string;
  inShape: Shape;
  outShape: Shape;
  kernel: [number, number];
  stride: [number, number];
  pads: [number, number, number, number];
  bits: number;
  scale: number;
}

export interface QRelu extends GraphInputs {
  kind: "relu";
  name: string;
  shape: Shape;
  bits: number;
  scale: number;
}

export interface QArgmax extends GraphInputs {
  kind: "argmax";
  name: string;
  n: number;
  bits: number;
}

/** Graph models (quantize-graph.ts): the ops an op reads, by index into ops (-1: the model input), in the order its
 *  kind takes them. Absent: the op before it (the model input for the first): a sequential model names none. */
interface GraphInputs {
  inputs?: number[];
}

/** Values moved, not computed (reshape, transpose, slice, gather, concat, flatten, composed): output value i is the
 *  value src[i] of the inputs' values laid end to end, or constants[-1 - src[i]] when src[i] < 0. No constraint. */
export interface QLayout {
  kind: "layout";
  name: string;
  inputs: number[];
  outShape: Shape;
  src: number[];
  /** Integers at `scale` (decimal strings): a class token, a constant concatenated in. */
  constants: string[];
  bits: number;
  scale: number;
}

/** y_i = clamp(floor((sum_j M_j x_j[i] + bias[i] + 2^(shift-1)) / 2^shift)): a residual add of activations at two
 *  scales, or an activation plus (minus) a constant. */
export interface QAdd {
  kind: "add";
  name: string;
  inputs: number[];
  shape: Shape;
  /** One per input (decimal strings). */
  multiplier: string[];
  /** Per element at the accumulator scale (decimal strings), or empty for none. */
  bias: string[];
  shift: number;
  qBits: number;
  inBits: number[];
  outBits: number;
  outScale: number;
}

/** Products of two activations, [batch, n, k] x [batch, k, m] (nonlinear.ts matmulQ per batch). */
export interface QMatMul {
  kind: "matmul";
  name: string;
  inputs: number[];
  batch: number;
  params: MatMulParams;
  outScale: number;
}

/** Softmax over `axis` of `shape` (nonlinear.ts softmaxQ per vector): probabilities at scale 2^-outFrac. */
export interface QSoftmax {
  kind: "softmax";
  name: string;
  inputs: number[];
  shape: Shape;
  axis: number;
  params: SoftmaxParams;
  outScale: number;
}

/** LayerNorm over the last axis of `shape` (nonlinear.ts layerNormQ per row). */
export interface QLayerNorm {
  kind: "layerNorm";
  name: string;
  inputs: number[];
  shape: Shape;
  params: LayerNormParams;
  outScale: number;
}

/** GELU per element (nonlinear.ts geluQ). */
export interface QGelu {
  kind: "gelu";
  name: string;
  inputs: number[];
  shape: Shape;
  params: GeluParams;
  outScale: number;
}

export type QGraphOp = QLayout | QAdd | QMatMul | QSoftmax | QLayerNorm | QGelu;
export type QOp = QLinear | QMaxPool | QRelu | QArgmax | QGraphOp;

/** The ops `ops[k]` reads (indices into ops, -1 the model input). */
export const opInputs = (ops: readonly QOp[], k: number): number[] => ops[k]!.inputs ?? [k - 1];

/** Real value of one integer step of op's output. */
export function opScale(op: QOp): number {
  switch (op.kind) {
    case "linear":
    case "add":
    case "matmul":
    case "softmax":
    case "layerNorm":
    case "gelu":
      return op.outScale;
    case "maxpool":
    case "relu":
    case "layout":
      return op.scale;
    case "argmax":
      return 1;
  }
}

/** Number of values op outputs. */
export function opSize(op: QOp): number {
  switch (op.kind) {
    case "linear":
    case "maxpool":
    case "layout":
      return size(op.outShape);
    case "relu":
    case "add":
    case "softmax":
    case "layerNorm":
    case "gelu":
      return size(op.shape);
    case "matmul":
      return op.batch * op.params.n * op.params.m;
    case "argmax":
      return 1;
  }
}

/** True for a model with graph ops or graph inputs (only the bigint engine and the direct route run it). */
export const isGraphModel = (q: QuantizedModel): boolean =>
  q.version === 2 || q.ops.some((op) => !SEQUENTIAL_KINDS.has(op.kind) || op.inputs !== undefined || (op.kind === "linear" && op.rows !== undefined));
const SEQUENTIAL_KINDS = new Set(["linear", "maxpool", "relu", "argmax"]);

export interface QuantizedModel {
  format: "ozk-quant";
  /** 1: a sequential model; 2: a graph model (ops name their inputs; transformer ops). */
  version: 1 | 2;
  name: string;
  inputShape: Shape;
  inputBits: number;
  inputScale: number;
  inputRange: [number, number];
  /** The input preprocessing of the float model (inputs are RAW: it is folded into the first linear op). */
  preprocess?: InputPreprocess;
  weightBits: number;
  activationBits: number;
  outputBits: number;
  multiplierBits: number;
  /** Real value of output integer 1 (1 for argmax outputs). */
  outputScale: number;
  outputKind: "logits" | "argmax";
  outputCount: number;
  /** Signed width each committed value (weights, then biases) is packed with for the weights commitment. */
  commitBits: number;
  /** sdk hashVector(commitValues(q), commitBits), decimal. */
  weightsCommitment: string;
  /** Widest intermediate in bits (the overflow analysis result; <= MAX_FIELD_BITS). */
  maxBits: number;
  ops: QOp[];
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const bitLength = (v: bigint): number => (v <= 0n ? 0 : v.toString(2).length);
const signedBits = (v: bigint): number => bitLength(v < 0n ? -v - 1n : v) + 1;

export class OverflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OverflowError";
  }
}

export function checkWidth(what: string, bits: number, lo: number, hi: number): number {
  if (!Number.isInteger(bits) || bits < lo || bits > hi) throw new RangeError(`${what} must be an integer in [${lo}, ${hi}], got ${bits}`);
  return bits;
}

/** The widths of `options` with their defaults, each checked (input and activation widths up to `maxBits`). */
export function quantWidths(options: QuantOptions, maxBits: number): Required<Pick<QuantOptions, "inputBits" | "weightBits" | "activationBits" | "outputBits" | "multiplierBits">> {
  return {
    inputBits: checkWidth("inputBits", options.inputBits ?? 8, 2, maxBits),
    weightBits: checkWidth("weightBits", options.weightBits ?? 8, 2, 32),
    activationBits: checkWidth("activationBits", options.activationBits ?? 10, 2, maxBits),
    outputBits: checkWidth("outputBits", options.outputBits ?? 24, 2, 248),
    multiplierBits: checkWidth("multiplierBits", options.multiplierBits ?? 12, 1, 240),
  };
}

/** The declared input range (default: the calibration inputs' range) and the input scale that maps it onto
 *  `inputBits` signed integers. */
export function inputQuantOf(calibration: Float32Array[], range: [number, number] | undefined, inputBits: number): { inputRange: [number, number]; inputScale: number } {
  if (calibration.length === 0) throw new Error("quantize: need at least one calibration input");
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of calibration) {
    for (const v of x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const inputRange = range ?? [lo, hi];
  const inMag = Math.max(Math.abs(inputRange[0]), Math.abs(inputRange[1])) || 1;
  return { inputRange, inputScale: inMag / (2 ** (inputBits - 1) - 1) };
}

/** Quantize `model`; `calibration` inputs set the activation scales. Throws OverflowError if any value could wrap the field. */
export function quantize(model: FloatModel, calibration: Float32Array[], options: QuantOptions = {}): QuantizedModel {
  if (model.graph) {
    const { preprocess, ...graph } = model.graph;
    void preprocess;
    return quantizeGraph({ ...graph, ...(model.preprocess ? { preprocess: model.preprocess } : {}) }, calibration, options);
  }
  const { inputBits, weightBits, activationBits, outputBits, multiplierBits } = quantWidths(options, 64);
  const layers = normalizeRelus(model.layers);
  const shapes = layerShapes({ ...model, layers });

  // Float statistics: max |value| after each IR layer over the calibration set.
  const { inputRange, inputScale } = inputQuantOf(calibration, options.inputRange, inputBits);
  const maxAbs = new Map<string, number>();
  for (const x of calibration) {
    const run = runFloat({ ...model, layers }, x);
    layers.forEach((l, i) => {
      let m = maxAbs.get(l.name) ?? 0;
      for (const v of run.layers[i]!) m = Math.max(m, Math.abs(v));
      maxAbs.set(l.name, m);
    });
  }
  const ops: QOp[] = [];
  let shape: Shape = model.inputShape;
  let scale = inputScale;
  let bits = inputBits;
  let maxBits = inputBits;
  const lastLinear = lastIndex(layers, (l) => l.kind === "dense" || l.kind === "conv" || l.kind === "avgpool");
  // The statistics above come from the float model as it is (preprocessing, then the layers); the integer model
  // takes the raw input, so the preprocessing folds into the first linear layer, which has the same activations.
  const folded = model.preprocess ? foldPreprocess(layers, model.inputShape, model.preprocess) : { layers };
  const firstLinear = layers.findIndex((l) => l.kind !== "flatten");

  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const outShape = shapes[i]!;
    if (layer.kind === "flatten") {
      shape = outShape;
      continue;
    }
    if (layer.kind === "dense" || layer.kind === "conv" || layer.kind === "avgpool") {
      const relu = layers[i + 1]?.kind === "relu";
      const isLast = i === lastLinear && !layers.slice(i + 1).some((l) => l.kind === "maxpool");
      const outBits = isLast ? outputBits : activationBits;
      const observed = maxAbs.get(relu ? layers[i + 1]!.name : layer.name) ?? 0;
      const qLayer = folded.layers[i] as DenseLayer | ConvLayer | (PoolLayer & { kind: "avgpool" });
      const padRaw = i === firstLinear ? folded.padRaw : undefined;
      const op = quantizeLinear(qLayer, shape, outShape, scale, bits, outBits, relu, isLast, observed, weightBits, multiplierBits, padRaw);
      ops.push(op);
      maxBits = Math.max(maxBits, ...op.shift.map((s, c) => s + op.qBits[c]!));
      shape = outShape;
      scale = op.outScale;
      bits = outBits;
      if (relu) i++;
      continue;
    }
    if (layer.kind === "maxpool") {
      ops.push({ kind: "maxpool", name: layer.name, inShape: shape, outShape, kernel: layer.kernel, stride: layer.stride, pads: layer.pads, bits, scale });
      maxBits = Math.max(maxBits, bits + 1);
    } else if (layer.kind === "relu") {
      ops.push({ kind: "relu", name: layer.name, shape, bits, scale });
    } else if (layer.kind === "argmax") {
      if (i !== layers.length - 1) throw new Error(`layer ${layer.name}: argmax must be the last layer`);
      ops.push({ kind: "argmax", name: layer.name, n: size(shape), bits });
      maxBits = Math.max(maxBits, bits + 1);
      shape = outShape;
      bits = outputBits;
      scale = 1;
    }
    shape = outShape;
  }
  if (bits > outputBits) throw new Error(`${model.name}: the last layer yields ${bits}-bit values, wider than outputBits = ${outputBits}`);
  if (maxBits > MAX_FIELD_BITS) {
    throw new OverflowError(`${model.name}: an intermediate needs ${maxBits} bits, over the ${MAX_FIELD_BITS}-bit bound that keeps it below the BN254 field (p ~ 2^253.6)`);
  }
  const last = ops[ops.length - 1];
  const outputKind = last?.kind === "argmax" ? "argmax" : "logits";
  const partial: QuantizedModel = {
    format: "ozk-quant",
    version: 1,
    name: model.name,
    inputShape: model.inputShape,
    inputBits,
    inputScale,
    inputRange,
    ...(model.preprocess ? { preprocess: model.preprocess } : {}),
    weightBits,
    activationBits,
    outputBits,
    multiplierBits,
    outputScale: outputKind === "argmax" ? 1 : scale,
    outputKind,
    outputCount: size(shape),
    commitBits: 0,
    weightsCommitment: "0",
    maxBits,
    ops,
  };
  return sealCommitment(partial, "a bias");
}

/** Sets q's commitBits (the widest committed constant, at least weightBits) and weightsCommitment; `what` names the
 *  kind of constant in the error when one is wider than a commitment limb holds. */
export function sealCommitment(q: QuantizedModel, what: string): QuantizedModel {
  const values = commitValues(q);
  q.commitBits = values.reduce((m, v) => Math.max(m, signedBits(v)), q.weightBits);
  if (q.commitBits > 248) throw new OverflowError(`${q.name}: ${what} needs ${q.commitBits} bits, more than a commitment limb holds`);
  q.weightsCommitment = hashVector(values, q.commitBits).toString();
  return q;
}

/** The committed values in order: every linear op's weights, then its biases; in a graph model also each op's other
 *  constants, in op order (LayerNorm gamma then beta, an add's biases, a layout's constants). */
export function commitValues(q: QuantizedModel): bigint[] {
  const out: bigint[] = [];
  for (const op of q.ops) {
    if (op.kind === "linear" && op.source !== "avgpool") {
      for (const w of op.weight) out.push(BigInt(w));
      for (const b of op.bias) out.push(BigInt(b));
    } else if (op.kind === "layerNorm") {
      for (const v of op.params.gamma) out.push(v);
      for (const v of op.params.bias) out.push(v);
    } else if (op.kind === "add") {
      for (const b of op.bias) out.push(BigInt(b));
    } else if (op.kind === "layout") {
      for (const c of op.constants) out.push(BigInt(c));
    }
  }
  return out;
}

function lastIndex<T>(xs: T[], f: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (f(xs[i]!)) return i;
  return -1;
}

/** relu commutes with maxpool and flatten: move it up so it fuses into the linear layer before them. */
function normalizeRelus(layers: Layer[]): Layer[] {
  const out = [...layers];
  for (let moved = true; moved; ) {
    moved = false;
    for (let i = 1; i < out.length; i++) {
      const prev = out[i - 1]!;
      if (out[i]!.kind === "relu" && (prev.kind === "maxpool" || prev.kind === "flatten")) {
        out[i - 1] = out[i]!;
        out[i] = prev;
        moved = true;
      }
    }
  }
  return out.filter((l, i) => !(l.kind === "relu" && out[i - 1]?.kind === "relu"));
}

export function quantizeLinear(
  layer: DenseLayer | ConvLayer | (PoolLayer & { kind: "avgpool" }),
  inShape: Shape,
  outShape: Shape,
  inScale: number,
  inBits: number,
  outBits: number,
  relu: boolean,
  isLast: boolean,
  observed: number,
  weightBits: number,
  multiplierBits: number,
  padRaw?: number[],
): QLinear {
  const channels = outShape[0]!;
  const perChannel = layer.kind === "avgpool" ? 1 : size(inShape) === 0 ? 0 : layer.weight.length / channels;
  const wMax = 2 ** (weightBits - 1) - 1;
  const weight: number[] = [];
  const weightScale: number[] = [];
  const biasReal: number[] = [];
  if (layer.kind === "avgpool") {
    for (let c = 0; c < channels; c++) {
      weightScale.push(1 / (layer.kernel[0] * layer.kernel[1]));
      biasReal.push(0);
    }
  } else {
    for (let c = 0; c < channels; c++) {
      let m = 0;
      for (let k = 0; k < perChannel; k++) m = Math.max(m, Math.abs(layer.weight[c * perChannel + k]!));
      const s = m > 0 ? m / wMax : 1;
      weightScale.push(s);
      for (let k = 0; k < perChannel; k++) weight.push(Math.round(layer.weight[c * perChannel + k]! / s));
      biasReal.push(layer.bias[c]!);
    }
  }
  const bias = biasReal.map((b, c) => {
    const v = Math.round(b / (inScale * weightScale[c]!));
    if (!Number.isFinite(v)) throw new OverflowError(`layer ${layer.name}: bias ${b} does not quantize to a finite integer`);
    return BigInt(v);
  });
  const inMag = 1n << BigInt(inBits - 1);
  // The border of a conv over a preprocessed input holds the raw value that preprocesses to 0, quantized like an input;
  // it lies in the input's integer range, so the bound below (every tap at most 2^(inBits-1)) covers it.
  const padValue = padRaw?.map((r, c) => {
    const v = Math.round(r / inScale);
    if (!(v >= -Number(inMag) && v < Number(inMag))) {
      throw new RangeError(
        `layer ${layer.name}: its padded border must hold the raw input ${r} (channel ${c}: (mean - offset) / scale, which preprocesses to 0), outside what ${inBits}-bit inputs of scale ${inScale} hold; widen the input range`,
      );
    }
    return v;
  });
  const fanIn = layer.kind === "avgpool" ? layer.kernel[0] * layer.kernel[1] : perChannel;
  const accBound = bias.map((b, c) => {
    let s = 0n;
    if (layer.kind === "avgpool") s = BigInt(fanIn);
    else for (let k = 0; k < perChannel; k++) s += BigInt(Math.abs(weight[c * perChannel + k]!));
    return s * inMag + (b < 0n ? -b : b);
  });

  // Output scale: hidden layers map the calibrated maximum to the top of the range; the last layer avoids
  // saturation altogether when that keeps >= 12 bits of resolution on typical outputs.
  const top = 2 ** (outBits - 1) - 1;
  let outScale: number;
  if (layer.kind === "avgpool") {
    outScale = inScale;
  } else if (isLast) {
    const worst = Math.max(...accBound.map((a, c) => Number(a) * inScale * weightScale[c]!));
    const typical = observed > 0 ? observed : worst;
    outScale = Math.min(worst / top, typical / 2 ** 12);
    if (!(outScale > 0)) outScale = 1;
  } else {
    outScale = observed > 0 ? observed / top : inScale;
  }
  const multiplier: bigint[] = [];
  const shift: number[] = [];
  const qBits: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = (inScale * weightScale[c]!) / outScale;
    let s = Math.max(0, multiplierBits - 1 - Math.floor(Math.log2(m)));
    let M = roundScaled(m, s);
    if (M === 0n) {
      M = 1n;
      s = Math.max(0, Math.ceil(-Math.log2(m)));
    }
    const roundTerm = s > 0 ? 1n << BigInt(s - 1) : 0n;
    const qMax = (accBound[c]! * M + roundTerm) >> BigInt(s);
    multiplier.push(M);
    shift.push(s);
    qBits.push(bitLength(qMax) + 1);
  }
  return {
    kind: "linear",
    name: layer.name,
    source: layer.kind,
    inShape,
    outShape,
    ...(layer.kind === "dense" ? {} : { kernel: layer.kernel, stride: layer.stride, pads: layer.pads }),
    ...(padValue?.some((v) => v !== 0) ? { padValue } : {}),
    weight,
    bias: bias.map(String),
    multiplier: multiplier.map(String),
    shift,
    qBits,
    relu,
    inBits,
    outBits,
    inScale,
    outScale,
    weightScale,
    accBound: accBound.map(String),
  };
}

/** round(m * 2^s) as a bigint, exact for large s. */
function roundScaled(m: number, s: number): bigint {
  const e = Math.floor(Math.log2(m));
  // m = f * 2^e with f in [1, 2): take 52 bits of f, then shift.
  const f = BigInt(Math.round((m / 2 ** e) * 2 ** 52));
  const total = e + s - 52;
  if (total >= 0) return f << BigInt(total);
  const d = BigInt(-total);
  return (f + (1n << (d - 1n))) >> d;
}

/** quant.json text (stable key order, two-space indent; the integer constants of graph ops as decimal strings). */
export function serializeQuant(q: QuantizedModel): string {
  return JSON.stringify(q, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n";
}

export function parseQuant(text: string): QuantizedModel {
  const q = JSON.parse(text) as QuantizedModel;
  if (q?.format !== "ozk-quant" || (q.version !== 1 && q.version !== 2)) throw new Error("not an ozk quant.json (format ozk-quant, version 1 or 2)");
  if (!Array.isArray(q.ops)) throw new Error("quant.json: ops must be a list");
  q.ops.forEach((op, k) => reviveParams(op, k));
  // every width the circuit relies on, re-derived from the constants it bounds (quant-check.ts)
  checkQuant(q);
  return q;
}

/** The bigint fields of a graph op's params, read back from their decimal strings (errors name the op). */
function reviveParams(op: QOp, k: number): void {
  if (typeof op !== "object" || op === null) throw new Error(`quant.json: op ${k} is not an object`);
  if (op.kind !== "matmul" && op.kind !== "softmax" && op.kind !== "layerNorm" && op.kind !== "gelu") return;
  if (typeof op.params !== "object" || op.params === null) throw new Error(`quant.json: op ${k} (${String(op.name)}): params must be an object`);
  const big = (v: unknown, what: string): bigint => {
    // decimal digits only: BigInt alone also takes "", " 7 ", "0x10"
    if (!(typeof v === "string" && /^-?\d{1,400}$/.test(v)) && !(typeof v === "number" && Number.isSafeInteger(v))) {
      throw new Error(`quant.json: op ${k} (${op.name}): ${what} = ${JSON.stringify(v)} is not an integer`);
    }
    return BigInt(v);
  };
  const list = (v: unknown, what: string): bigint[] => {
    if (!Array.isArray(v)) throw new Error(`quant.json: op ${k} (${op.name}): ${what} must be a list`);
    return v.map((x, i) => big(x, `${what}[${i}]`));
  };
  switch (op.kind) {
    case "matmul":
      op.params.M = big(op.params.M, "params.M");
      break;
    case "softmax":
      op.params.expMul = big(op.params.expMul, "params.expMul");
      op.params.poly = list(op.params.poly, "params.poly");
      break;
    case "layerNorm":
      op.params.gamma = list(op.params.gamma, "params.gamma");
      op.params.bias = list(op.params.bias, "params.bias");
      op.params.epsQ = big(op.params.epsQ, "params.epsQ");
      op.params.M = big(op.params.M, "params.M");
      break;
    case "gelu":
      if (!Array.isArray(op.params.coeffs)) throw new Error(`quant.json: op ${k} (${op.name}): params.coeffs must be a list`);
      op.params.coeffs = op.params.coeffs.map((c, i) => list(c, `params.coeffs[${i}]`));
      op.params.reluMul = big(op.params.reluMul, "params.reluMul");
      break;
    default:
  }
}
