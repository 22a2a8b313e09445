// The bit-exact integer reference engine: exactly what every circuit route computes, used by the provider,
// the challenger, the fidelity report and the witness tests.
import { opInputs, type QLinear, type QMaxPool, type QOp, type QuantizedModel } from "./quantize.ts";
import { quantizeInput } from "../../sdk/quantize.ts";
import { countInputClamps, enginePlan, runPlan, type ClampCounts } from "./engine-plan.ts";
import { requantize } from "./requantize.ts";
import { runGraphOp } from "./engine-graph.ts";

export { requantize } from "./requantize.ts";

export { newClampCounts, type ClampCounts } from "./engine-plan.ts";

export interface QuantizedRun {
  /** The model's integer outputs (logits at q.outputScale, or [index] for argmax models). */
  outputs: bigint[];
  /** outputs * outputScale. */
  logits: number[];
  /** The integer output of every op in q.ops, in order (flattened C-order). */
  layers: bigint[][];
}

// Input quantization lives in the SDK (sdk/quantize.ts), so a dApp quantizes with the same code as the engine.
export { quantizeInput, type InputQuantization } from "../../sdk/quantize.ts";

/** Run a float input (quantized with quantizeInput) or an already-quantized integer input. With `clamps`, counts
 *  the input values clamped to the declared range and the activations that saturate their width (engine-plan.ts). */
export function runQuantized(q: QuantizedModel, input: Float32Array | readonly number[] | readonly bigint[], clamps?: ClampCounts): QuantizedRun {
  const ints = typeof input[0] === "bigint";
  const xq = ints ? checkInts(q, input as readonly bigint[]) : quantizeInput(q, input as Float32Array);
  if (clamps) {
    clamps.runs++;
    if (!ints) countInputClamps(input as Float32Array, q.inputRange, q.inputScale / 2, clamps);
  }
  const plan = enginePlan(q);
  if (plan) {
    // exact in float64 (engine-plan.ts); the bigint layers are made only if someone reads them
    const fl = runPlan(plan, Float64Array.from(xq, Number), clamps);
    const x = Array.from(fl[fl.length - 1] ?? Float64Array.from(xq, Number), BigInt);
    let layers: bigint[][] | undefined;
    return {
      outputs: x,
      logits: x.map((v) => (q.outputKind === "argmax" ? Number(v) : Number(v) * q.outputScale)),
      get layers() {
        return (layers ??= fl.map((l) => Array.from(l, BigInt)));
      },
    };
  }
  const layers: bigint[][] = [];
  let x = xq;
  q.ops.forEach((op, k) => {
    const counter = { clamped: 0 };
    const ins = opInputs(q.ops, k).map((i) => (i < 0 ? xq : layers[i]!));
    x = op.kind === "linear" ? runLinear(op, ins[0]!, counter) : runOp(op, ins, counter);
    if (clamps && counter.clamped > 0) {
      clamps.ops[k]! += counter.clamped;
      clamps.opRuns[k]!++;
    }
    layers.push(x);
  });
  const logits = x.map((v) => (q.outputKind === "argmax" ? Number(v) : Number(v) * q.outputScale));
  return { outputs: x, logits, layers };
}

/** The integer output of every op as float64 (exact: integers below 2^53 where the fast plan applies, else converted
 *  from the bigint engine's): what the fidelity report compares with the float model, without a bigint per value. */
export function runQuantizedLayers(q: QuantizedModel, input: Float32Array, clamps?: ClampCounts): Float64Array[] {
  const plan = enginePlan(q);
  if (!plan) return runQuantized(q, input, clamps).layers.map((l) => Float64Array.from(l, Number));
  const xq = quantizeInput(q, input);
  if (clamps) {
    clamps.runs++;
    countInputClamps(input, q.inputRange, q.inputScale / 2, clamps);
  }
  return runPlan(plan, Float64Array.from(xq, Number), clamps);
}

function checkInts(q: QuantizedModel, xs: readonly bigint[]): bigint[] {
  const n = q.inputShape.reduce((a, b) => a * b, 1);
  if (xs.length !== n) throw new Error(`${q.name}: input has ${xs.length} values, expected ${n}`);
  const lim = 1n << BigInt(q.inputBits - 1);
  xs.forEach((v, i) => {
    if (v < -lim || v >= lim) throw new RangeError(`input ${i} = ${v} does not fit in ${q.inputBits} signed bits`);
  });
  return [...xs];
}

/** One op on its inputs' values (in the order op.inputs names them; a sequential op takes one). */
export function runOp(op: QOp, ins: bigint[][], counter?: { clamped: number }): bigint[] {
  const x = ins[0]!;
  switch (op.kind) {
    case "linear":
      return runLinear(op, x, counter);
    case "maxpool":
      return runMaxPool(op, x);
    case "relu":
      return x.map((v) => (v > 0n ? v : 0n));
    case "argmax": {
      let best = 0;
      for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
      return [BigInt(best)];
    }
    default:
      return runGraphOp(op, ins, counter);
  }
}


/**
 * The taps of each output of a linear op: for output o, acc = bias[channel] + sum weight[w] * x[i] over its taps.
 * Calls visit(o, channel, inIdx, wIdx, count) with typed arrays reused between calls (avgpool: wIdx all -1).
 */
export function forEachOutput(
  op: QLinear,
  visit: (o: number, channel: number, inIdx: Int32Array, wIdx: Int32Array, count: number) => void,
): void {
  if (op.source === "dense") {
    const rows = op.rows ?? 1;
    const nIn = op.inShape.reduce((a, b) => a * b, 1) / rows;
    const nOut = op.outShape.reduce((a, b) => a * b, 1) / rows;
    const inIdx = new Int32Array(nIn);
    const wIdx = new Int32Array(nIn);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < nIn; k++) inIdx[k] = r * nIn + k;
      for (let o = 0; o < nOut; o++) {
        for (let k = 0; k < nIn; k++) wIdx[k] = o * nIn + k;
        visit(r * nOut + o, o, inIdx, wIdx, nIn);
      }
    }
    return;
  }
  const [C, H, W] = op.inShape as [number, number, number];
  const [OC, OH, OW] = op.outShape as [number, number, number];
  const [kh, kw] = op.kernel!;
  const [sh, sw] = op.stride!;
  const [pt, pl] = op.pads!;
  const conv = op.source === "conv";
  const cap = (conv ? C : 1) * kh * kw;
  const inIdx = new Int32Array(cap);
  const wIdx = new Int32Array(cap);
  for (let oc = 0; oc < OC; oc++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        let n = 0;
        const cs = conv ? 0 : oc;
        const ce = conv ? C : oc + 1;
        for (let c = cs; c < ce; c++)
          for (let u = 0; u < kh; u++) {
            const r = i * sh + u - pt;
            if (r < 0 || r >= H) continue;
            for (let v = 0; v < kw; v++) {
              const col = j * sw + v - pl;
              if (col < 0 || col >= W) continue;
              inIdx[n] = (c * H + r) * W + col;
              wIdx[n] = conv ? ((oc * C + c) * kh + u) * kw + v : -1;
              n++;
            }
          }
        visit((oc * OH + i) * OW + j, oc, inIdx, wIdx, n);
      }
}

/**
 * The border taps of a conv whose border holds `op.padValue` (a preprocessed input's raw zero): for output o, acc also
 * gets weight[w] * padValue[inChannel] for each tap that falls in the padding. Calls visit(o, inChannel, wIdx) once per
 * such tap; nothing for a conv without padValue (zero padding, whose taps add nothing).
 */
export function forEachPadTap(op: QLinear, visit: (o: number, inChannel: number, wIdx: number) => void): void {
  if (op.source !== "conv" || !op.padValue) return;
  const [C, H, W] = op.inShape as [number, number, number];
  const [OC, OH, OW] = op.outShape as [number, number, number];
  const [kh, kw] = op.kernel!;
  const [sh, sw] = op.stride!;
  const [pt, pl] = op.pads!;
  for (let oc = 0; oc < OC; oc++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++)
        for (let c = 0; c < C; c++)
          for (let u = 0; u < kh; u++) {
            const r = i * sh + u - pt;
            for (let v = 0; v < kw; v++) {
              const col = j * sw + v - pl;
              if (r >= 0 && r < H && col >= 0 && col < W) continue;
              visit((oc * OH + i) * OW + j, c, ((oc * C + c) * kh + u) * kw + v);
            }
          }
}

/** Per output of `op`, the sum of weight * padValue over its border taps (all zero without padValue). */
export function padTerms(op: QLinear): bigint[] {
  const terms = new Array<bigint>(op.outShape.reduce((a, b) => a * b, 1)).fill(0n);
  const pad = op.padValue?.map(BigInt);
  if (pad) forEachPadTap(op, (o, c, w) => (terms[o]! += BigInt(op.weight[w]!) * pad[c]!));
  return terms;
}

function runLinear(op: QLinear, x: bigint[], counter?: { clamped: number }): bigint[] {
  const nOut = op.outShape.reduce((a, b) => a * b, 1);
  const out: bigint[] = new Array(nOut);
  const bias = op.bias.map(BigInt);
  const mult = op.multiplier.map(BigInt);
  // Accumulate in float64 when every partial sum is an exact integer (< 2^53), else in bigint.
  const fast = op.accBound.every((a) => BigInt(a) < 1n << 53n);
  const xn = fast ? x.map(Number) : [];
  const w = op.weight;
  const pad = padTerms(op);
  forEachOutput(op, (o, c, inIdx, wIdx, n) => {
    let acc: bigint;
    if (fast) {
      let s = Number(bias[c]! + pad[o]!);
      if (op.source === "avgpool") for (let k = 0; k < n; k++) s += xn[inIdx[k]!]!;
      else for (let k = 0; k < n; k++) s += w[wIdx[k]!]! * xn[inIdx[k]!]!;
      acc = BigInt(s);
    } else {
      acc = bias[c]! + pad[o]!;
      if (op.source === "avgpool") for (let k = 0; k < n; k++) acc += x[inIdx[k]!]!;
      else for (let k = 0; k < n; k++) acc += BigInt(w[wIdx[k]!]!) * x[inIdx[k]!]!;
    }
    out[o] = requantize(acc, mult[c]!, op.shift[c]!, op.outBits, op.relu, counter);
  });
  return out;
}

/** For each pooling output in order, the input indices of its window (padding positions skipped), one window at a
 *  time: a file's windows may hold billions of taps, more than memory holds at once. */
export function* eachPoolWindow(op: QMaxPool): Generator<number[]> {
  const [C, H, W] = op.inShape as [number, number, number];
  const [, OH, OW] = op.outShape as [number, number, number];
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.pads;
  for (let c = 0; c < C; c++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        const win: number[] = [];
        for (let u = 0; u < kh; u++) {
          const r = i * sh + u - pt;
          if (r < 0 || r >= H) continue;
          for (let v = 0; v < kw; v++) {
            const col = j * sw + v - pl;
            if (col >= 0 && col < W) win.push((c * H + r) * W + col);
          }
        }
        yield win;
      }
}

/** Every pooling window at once (the circuit builder's use; see eachPoolWindow). */
export function poolWindows(op: QMaxPool): number[][] {
  return [...eachPoolWindow(op)];
}

function runMaxPool(op: QMaxPool, x: bigint[]): bigint[] {
  const out: bigint[] = [];
  for (const win of eachPoolWindow(op)) {
    let m = x[win[0]!]!;
    for (let k = 1; k < win.length; k++) if (x[win[k]!]! > m) m = x[win[k]!]!;
    out.push(m);
  }
  return out;
}
