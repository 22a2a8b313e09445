// Input quantization: float inputs to the signed integers a model's circuit takes, and from those the inputHash and
// input data a claim or a request commits to. The one implementation: the compiler's reference engine
// (circuits/compiler/engine.ts) quantizes with quantizeInput from here, so a dApp computes bit for bit what the
// provider, the challenger and the circuit compute.
import type { Hex } from "viem";
import { InputError } from "./errors.ts";
import { hashVector } from "./hash.ts";
import { encodeInputData } from "./inputs.ts";

/**
 * What quantizing an input reads of a model: the fields of the same names in a package's manifest.json (or a
 * compiled QuantizedModel). The registry entry holds only `inputLength`; scale and range come from the package.
 * `inputShape` or `inputLength` gives the number of values (both: they must agree).
 */
export interface InputQuantization {
  inputShape?: readonly number[];
  inputLength?: number;
  /** Signed width of each quantized value. */
  inputBits: number;
  /** Float value of one integer step. */
  inputScale: number;
  /** Floats are clamped to [lo, hi] before scaling. */
  inputRange: readonly [number, number] | readonly number[];
  /** Named in error messages. */
  name?: string;
}

// The floats quantized here are the model's RAW inputs, in inputRange: a package whose training code normalized its
// inputs records that in its manifest (`preprocess`) and its circuit applies it, so callers never normalize.

/** A quantized input with what a claim or request needs of it. */
export interface QuantizedInput {
  /** The quantized integers (`inputBits` signed bits each). */
  values: bigint[];
  bits: number;
  /** Poseidon commitment to the values: the claim's and the request's inputHash. */
  inputHash: bigint;
  /** The values in the input-data byte format (sdk/inputs.ts), for calldata, events and challengers. */
  inputData: Hex;
}

/** The number of input values `q` describes; InputError when its fields are malformed or disagree. */
export function inputLengthOf(q: InputQuantization): number {
  const who = q.name ?? "model";
  const fromShape = q.inputShape?.reduce((a, b) => a * b, 1);
  if (q.inputShape && !(q.inputShape.every((d) => Number.isInteger(d) && d > 0))) {
    throw new InputError(`${who}: inputShape ${JSON.stringify(q.inputShape)} is not a list of positive integers`);
  }
  if (q.inputLength !== undefined && !(Number.isInteger(q.inputLength) && q.inputLength > 0)) {
    throw new InputError(`${who}: inputLength ${q.inputLength} is not a positive integer`);
  }
  if (fromShape !== undefined && q.inputLength !== undefined && fromShape !== q.inputLength) {
    throw new InputError(`${who}: inputShape ${JSON.stringify(q.inputShape)} has ${fromShape} values but inputLength is ${q.inputLength}`);
  }
  const n = fromShape ?? q.inputLength;
  if (n === undefined) throw new InputError(`${who}: the input quantization needs inputShape or inputLength`);
  return n;
}

function checkQuantization(q: InputQuantization): void {
  const who = q.name ?? "model";
  if (!Number.isInteger(q.inputBits) || q.inputBits < 2 || q.inputBits > 64) {
    throw new InputError(`${who}: inputBits ${q.inputBits} is not an integer in [2, 64]`);
  }
  if (!(Number.isFinite(q.inputScale) && q.inputScale > 0)) {
    throw new InputError(`${who}: inputScale ${q.inputScale} is not a positive finite number`);
  }
  const [lo, hi] = q.inputRange;
  if (q.inputRange.length !== 2 || typeof lo !== "number" || typeof hi !== "number" || Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) {
    throw new InputError(`${who}: inputRange ${JSON.stringify(q.inputRange)} is not [lo, hi] with lo <= hi`);
  }
}

/**
 * Quantizes a float input: xq = clamp(round(clamp(x, inputRange) / inputScale), -2^(b-1), 2^(b-1) - 1) with
 * b = inputBits, rounding with Math.round (halves round up). The reference engine quantizes with this function.
 * Throws InputError on a wrong number of values, a NaN, or malformed quantization fields.
 */
export function quantizeInput(q: InputQuantization, input: Float32Array | readonly number[]): bigint[] {
  const n = inputLengthOf(q);
  if (input.length !== n) throw new InputError(`${q.name ?? "model"}: input has ${input.length} values, expected ${n}`);
  checkQuantization(q);
  const lo = q.inputRange[0]!;
  const hi = q.inputRange[1]!;
  const top = 2 ** (q.inputBits - 1) - 1;
  const out: bigint[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const raw = input[i]!;
    if (typeof raw !== "number" || Number.isNaN(raw)) throw new InputError(`${q.name ?? "model"}: input ${i} is ${String(raw)}, not a number`);
    const x = Math.min(hi, Math.max(lo, raw));
    const v = Math.round(x / q.inputScale);
    out[i] = BigInt(Math.min(top, Math.max(-top - 1, v)));
  }
  return out;
}

/**
 * Quantizes a float input and derives what a claim or a request commits to: the values, their inputHash and the
 * encoded input data. `expect.length` (e.g. a registry entry's `inputLength`) must match the model's input length.
 */
export function quantizeInputData(
  q: InputQuantization,
  input: Float32Array | readonly number[],
  expect: { length?: number } = {},
): QuantizedInput {
  const n = inputLengthOf(q);
  if (expect.length !== undefined && expect.length !== n) {
    throw new InputError(`${q.name ?? "model"}: the quantization describes ${n} input values, expected ${expect.length} (the registry entry's inputLength?)`);
  }
  const values = quantizeInput(q, input);
  return { values, bits: q.inputBits, inputHash: hashVector(values, q.inputBits), inputData: encodeInputData(values, q.inputBits) };
}
