// Input preprocessing: the per-channel affine map a training pipeline applies to raw inputs before the network
// (torchvision's ToTensor scaling and Normalize: t = x * scale + offset, then (t - mean) / std). A model package
// takes RAW inputs; the float model applies this map first (runFloat), and the quantizer folds it into the first
// linear layer (foldPreprocess), so the circuit and the engine compute on the quantized raw input.
import type { ConvLayer, DenseLayer, Layer, Shape } from "./ir.ts";

/** Per input channel (each array as long as the model's channel count): t = x * scale + offset; y = (t - mean) / std. */
export interface InputPreprocess {
  scale: number[];
  offset: number[];
  mean: number[];
  std: number[];
}

/** What a user gives: any of the four, one number (every channel) or one per channel. */
export type PreprocessSpec = Partial<Record<keyof InputPreprocess, number | readonly number[]>>;

const FIELDS = ["scale", "offset", "mean", "std"] as const;
const DEFAULTS: Record<(typeof FIELDS)[number], number> = { scale: 1, offset: 0, mean: 0, std: 1 };

/** A preprocessing specification that does not fit the model or is not a number. */
export class PreprocessError extends Error {
  override name = "PreprocessError";
}

/** Channels of an input shape: the first axis of [C, H, W] (or [C, ...]), 1 for a vector. */
export function inputChannels(shape: Shape): number {
  return shape.length >= 2 ? shape[0]! : 1;
}

const kindOf = (v: unknown): string =>
  Array.isArray(v) ? "a list" : v === null ? "null" : typeof v === "string" ? `a string (${JSON.stringify(v)})` : typeof v === "boolean" ? String(v) : `a ${typeof v}`;

/** The values of each field (numbers, each checked), before they are fitted to the model's channels: PreprocessError
 *  naming the field for an unknown field, a value that is not a number or a list of numbers, a std or scale of 0, a
 *  negative std. Needs no model: a --preprocess file is checked as soon as it is read. */
export function checkPreprocessSpec(spec: PreprocessSpec): Record<(typeof FIELDS)[number], number[]> {
  const unknown = Object.keys(spec).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length) throw new PreprocessError(`preprocess: unknown field ${unknown.join(", ")} (known: ${FIELDS.join(", ")})`);
  if (FIELDS.every((f) => spec[f] === undefined)) throw new PreprocessError(`preprocess: give at least one of ${FIELDS.join(", ")}`);
  const out = {} as Record<(typeof FIELDS)[number], number[]>;
  for (const f of FIELDS) {
    const given: unknown = spec[f];
    if (given !== undefined && typeof given !== "number" && !Array.isArray(given)) {
      throw new PreprocessError(`preprocess ${f}: expected a number or a list of numbers (one per channel), found ${kindOf(given)}`);
    }
    const values: unknown[] = given === undefined ? [DEFAULTS[f]] : typeof given === "number" ? [given] : [...(given as unknown[])];
    if (values.length === 0) throw new PreprocessError(`preprocess ${f}: expected a number or a non-empty list of numbers`);
    const notNumber = values.findIndex((v) => typeof v !== "number");
    if (notNumber >= 0) throw new PreprocessError(`preprocess ${f}[${notNumber}]: expected a number, found ${kindOf(values[notNumber])}`);
    const nums = values as number[];
    nums.forEach((v, c) => {
      if (!Number.isFinite(v)) throw new PreprocessError(`preprocess ${f}[${c}] = ${String(v)} is not a finite number`);
      if ((f === "std" || f === "scale") && v === 0) {
        throw new PreprocessError(`preprocess ${f}[${c}] is 0: ${f === "std" ? "dividing by a standard deviation of 0" : "a scale of 0"} maps every input to one value`);
      }
      if (f === "std" && v < 0) throw new PreprocessError(`preprocess std[${c}] = ${v}: a standard deviation is positive`);
    });
    out[f] = nums;
  }
  return out;
}

/** The full per-channel preprocessing for a model input of `shape`; PreprocessError naming the problem. */
export function resolvePreprocess(spec: PreprocessSpec, shape: Shape): InputPreprocess {
  const C = inputChannels(shape);
  const checked = checkPreprocessSpec(spec);
  const out = {} as InputPreprocess;
  for (const f of FIELDS) {
    const nums = checked[f];
    if (nums.length !== 1 && nums.length !== C) {
      throw new PreprocessError(
        `preprocess ${f} has ${nums.length} values, but the model input [${shape.join(", ")}] has ${C} channel${C === 1 ? "" : "s"}: give one value, or one per channel`,
      );
    }
    out[f] = nums.length === C ? nums : Array.from({ length: C }, () => nums[0]!);
  }
  return out;
}

/** Parses a preprocess JSON document (`{"mean": [...], "std": [...], "scale": ..., "offset": ...}`) for `shape`. */
export function parsePreprocess(text: string, shape: Shape, what = "preprocess file"): InputPreprocess {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PreprocessError(`${what}: not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new PreprocessError(`${what}: expected an object like {"mean": [0.1307], "std": [0.3081]}`);
  try {
    return resolvePreprocess(doc as PreprocessSpec, shape);
  } catch (err) {
    throw new PreprocessError(`${what}: ${(err as Error).message}`);
  }
}

/** The flattened index -> channel map of an input of `shape` (C-order: channel-major). */
function channelOf(shape: Shape): (i: number) => number {
  const C = inputChannels(shape);
  const per = shape.reduce((a, b) => a * b, 1) / C;
  return (i) => Math.floor(i / per);
}

/**
 * The preprocessed (normalized) input, in float32 steps as PyTorch computes them on a float32 tensor:
 * t = fl(fl(x * scale) + offset), y = fl(fl(t - mean) / std), the constants themselves float32.
 */
export function applyPreprocess(p: InputPreprocess, shape: Shape, x: Float32Array): Float32Array {
  const ch = channelOf(shape);
  const f = Math.fround;
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = ch(i);
    const t = f(f(x[i]! * f(p.scale[c]!)) + f(p.offset[c]!));
    y[i] = f(f(t - f(p.mean[c]!)) / f(p.std[c]!));
  }
  return y;
}

/** Per channel, y = a * x + k (float64), and the raw value whose preprocessed value is 0 (the padding of a conv). */
export function affineOf(p: InputPreprocess): { a: number[]; k: number[]; zero: number[] } {
  const a = p.scale.map((s, c) => s / p.std[c]!);
  const k = p.offset.map((o, c) => (o - p.mean[c]!) / p.std[c]!);
  const zero = p.mean.map((m, c) => (m - p.offset[c]!) / p.scale[c]!);
  return { a, k, zero };
}

/** The folded weights and biases must stay finite float32 numbers: a tiny std (or a huge scale) overflows them. */
function checkFolded(layer: string, weight: Float32Array, bias: Float32Array, p: InputPreprocess): void {
  if (weight.every(Number.isFinite) && bias.every(Number.isFinite)) return;
  throw new PreprocessError(
    `input preprocessing std [${p.std.join(", ")}] (with scale [${p.scale.join(", ")}]) folded into the first layer ${layer} makes its weights overflow float32: ` +
      `the std is far too small (a standard deviation of pixel data is around 0.1 to 1)`,
  );
}

/**
 * The layers with `p` folded into the first linear layer: W' = W * a[channel of the input], b' = b + sum W * k.
 * Exact for a dense layer and for an unpadded conv. A padded conv pads the normalized input with 0, which is the raw
 * value `padRaw[c]` (not 0): the quantized conv pads its raw input with that value (QLinear.padValue), so every
 * border tap contributes W' * padRaw + W * k = 0, as in the float model. Throws when the first computing layer is not
 * dense or conv (only flatten may come before it).
 */
export function foldPreprocess(layers: Layer[], inputShape: Shape, p: InputPreprocess): { layers: Layer[]; padRaw?: number[] } {
  const i = layers.findIndex((l) => l.kind !== "flatten");
  const first = layers[i];
  if (!first || (first.kind !== "dense" && first.kind !== "conv")) {
    throw new PreprocessError(
      `input preprocessing folds into the model's first layer, which must be a Gemm/MatMul or Conv (after at most a Flatten); this model starts with ${first ? `${first.kind} (${first.name})` : "no layer"}`,
    );
  }
  const { a, k, zero } = affineOf(p);
  const out = [...layers];
  if (first.kind === "dense") {
    const ch = channelOf(inputShape);
    const K = first.inFeatures;
    const weight = new Float32Array(first.weight.length);
    const bias = new Float32Array(first.bias.length);
    for (let n = 0; n < first.outFeatures; n++) {
      let b = first.bias[n]!;
      for (let j = 0; j < K; j++) {
        const w = first.weight[n * K + j]!;
        const c = ch(j);
        weight[n * K + j] = w * a[c]!;
        b += w * k[c]!;
      }
      bias[n] = b;
    }
    checkFolded(first.name, weight, bias, p);
    out[i] = { ...first, weight, bias } satisfies DenseLayer;
    return { layers: out };
  }
  const { inChannels: C, outChannels: M, kernel: [kh, kw] } = first;
  const taps = kh * kw;
  const weight = new Float32Array(first.weight.length);
  const bias = new Float32Array(first.bias.length);
  for (let m = 0; m < M; m++) {
    let b = first.bias[m]!;
    for (let c = 0; c < C; c++)
      for (let t = 0; t < taps; t++) {
        const idx = (m * C + c) * taps + t;
        const w = first.weight[idx]!;
        weight[idx] = w * a[c]!;
        b += w * k[c]!;
      }
    bias[m] = b;
  }
  checkFolded(first.name, weight, bias, p);
  out[i] = { ...first, weight, bias } satisfies ConvLayer;
  const padded = first.pads.some((v) => v > 0);
  return padded ? { layers: out, padRaw: zero } : { layers: out };
}
