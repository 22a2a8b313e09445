// The reference engine's fast path: a quantized model compiled once into float64 arrays, for models whose every
// value and every partial sum is an integer below 2^53 (then float64 arithmetic is exact, and any summation order
// gives the same integers the bigint engine gives). runQuantized (engine.ts) uses it when it applies; the fidelity
// report reads its integer-valued Float64Arrays directly. Saturation is counted as it happens, per op, for free.
import { isGraphModel, type QLinear, type QMaxPool, type QOp, type QuantizedModel } from "./quantize.ts";

/**
 * Clamps seen while running: `input` counts input values outside the declared inputRange by more than half an
 * input step (clamped to it before scaling), `ops[k]` the values of q.ops[k] that saturated their signed width (a relu's cut at 0 is not counted).
 * Counts accumulate over runs; `runs`, `inputRuns` and `opRuns` count the runs, and those with any clamp.
 */
export interface ClampCounts {
  runs: number;
  input: number;
  inputRuns: number;
  ops: number[];
  opRuns: number[];
}

export function newClampCounts(q: QuantizedModel): ClampCounts {
  return { runs: 0, input: 0, inputRuns: 0, ops: q.ops.map(() => 0), opRuns: q.ops.map(() => 0) };
}

type Step = (x: Float64Array) => { y: Float64Array; clamped: number };

export interface EnginePlan {
  steps: Step[];
}

const plans = new WeakMap<QuantizedModel, EnginePlan | null>();

/** The fast plan of `q`, or null when some value or partial sum could reach 2^53 (the bigint engine runs then). */
export function enginePlan(q: QuantizedModel): EnginePlan | null {
  let p = plans.get(q);
  if (p === undefined) {
    p = compile(q);
    plans.set(q, p);
  }
  return p;
}

function compile(q: QuantizedModel): EnginePlan | null {
  // graph models run on the bigint engine (their primitives are bigint code, nonlinear.ts)
  if (q.inputBits > 52 || q.activationBits > 52 || q.outputBits > 52 || isGraphModel(q)) return null;
  const steps: Step[] = [];
  for (const op of q.ops) {
    const s = compileOp(op);
    if (!s) return null;
    steps.push(s);
  }
  return { steps };
}

function compileOp(op: QOp): Step | null {
  switch (op.kind) {
    case "linear":
      return compileLinear(op);
    case "maxpool":
      return compileMaxPool(op);
    case "relu":
      return (x) => ({ y: x.map((v) => (v > 0 ? v : 0)), clamped: 0 });
    case "argmax":
      return (x) => {
        let best = 0;
        for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
        return { y: Float64Array.of(best), clamped: 0 };
      };
    default:
      return null;
  }
}

function compileLinear(op: QLinear): Step | null {
  if (op.outBits > 52 || op.inBits > 52) return null;
  const channels = op.outShape[0]!;
  const mult = new Float64Array(channels);
  const div = new Float64Array(channels);
  const round = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const acc = BigInt(op.accBound[c]!);
    const M = BigInt(op.multiplier[c]!);
    const r = op.shift[c]! > 0 ? 1n << BigInt(op.shift[c]! - 1) : 0n;
    // every partial sum is bounded by accBound (bias plus a subset of |w| * 2^(inBits-1) terms), and so is acc * M + r
    if (acc >= 1n << 53n || acc * M + r >= 1n << 53n || op.shift[c]! > 1000) return null;
    mult[c] = Number(M);
    round[c] = Number(r);
    div[c] = 2 ** op.shift[c]!;
  }
  const bias = Float64Array.from(op.bias, Number);
  const weight = Float64Array.from(op.weight);
  const hi = 2 ** (op.outBits - 1) - 1;
  const lo = op.relu ? 0 : -hi - 1;
  const relu = op.relu;
  const nOut = op.outShape.reduce((a, b) => a * b, 1);
  const perChannel = nOut / channels;
  // requantize every accumulator of channel c in place: floor((acc * M + 2^(s-1)) / 2^s), exact below 2^53
  const finish = (acc: Float64Array): number => {
    let clamped = 0;
    for (let c = 0; c < channels; c++) {
      const m = mult[c]!;
      const r = round[c]!;
      const d = div[c]!;
      const end = (c + 1) * perChannel;
      for (let o = c * perChannel; o < end; o++) {
        let y = Math.floor((acc[o]! * m + r) / d);
        if (y > hi) {
          y = hi;
          clamped++;
        } else if (y < lo) {
          if (!relu) clamped++;
          y = lo;
        }
        acc[o] = y;
      }
    }
    return clamped;
  };
  if (op.source === "dense") {
    const nIn = op.inShape.reduce((a, b) => a * b, 1);
    return (x) => {
      const acc = new Float64Array(nOut);
      let o = 0;
      // four rows at a time share each input load
      for (; o + 4 <= nOut; o += 4) {
        const r0 = o * nIn;
        const r1 = r0 + nIn;
        const r2 = r1 + nIn;
        const r3 = r2 + nIn;
        let s0 = bias[o]!;
        let s1 = bias[o + 1]!;
        let s2 = bias[o + 2]!;
        let s3 = bias[o + 3]!;
        for (let k = 0; k < nIn; k++) {
          const v = x[k]!;
          s0 += weight[r0 + k]! * v;
          s1 += weight[r1 + k]! * v;
          s2 += weight[r2 + k]! * v;
          s3 += weight[r3 + k]! * v;
        }
        acc[o] = s0;
        acc[o + 1] = s1;
        acc[o + 2] = s2;
        acc[o + 3] = s3;
      }
      for (; o < nOut; o++) {
        let s = bias[o]!;
        const row = o * nIn;
        for (let k = 0; k < nIn; k++) s += weight[row + k]! * x[k]!;
        acc[o] = s;
      }
      return { y: acc, clamped: finish(acc) };
    };
  }
  const [C, H, W] = op.inShape as [number, number, number];
  const [OC, OH, OW] = op.outShape as [number, number, number];
  const [kh, kw] = op.kernel!;
  const [sh, sw] = op.stride!;
  const [pt, pl] = op.pads!;
  const conv = op.source === "conv";
  // for kernel offset u (v): the output rows i (columns j) whose input row i*sh+u-pt (column) lies inside the image
  const span = (u: number, pad: number, stride: number, size: number, outSize: number): [number, number] => [
    Math.max(0, Math.ceil((pad - u) / stride)),
    Math.min(outSize, Math.floor((size - 1 + pad - u) / stride) + 1),
  ];
  const rows = Array.from({ length: kh }, (_, u) => span(u, pt, sh, H, OH));
  const cols = Array.from({ length: kw }, (_, v) => span(v, pl, sw, W, OW));
  if (conv) {
    // im2col: each output's window contiguous (filled in output order), then one dot product per output. Integer
    // sums below 2^53 are exact in any order. Padding taps hold 0, or the conv's padValue (a preprocessed input's
    // raw zero, see engine.ts forEachPadTap): the same products the bigint engine adds as its pad terms.
    const K = C * kh * kw;
    const P = OH * OW;
    const padValue = op.padValue ? Float64Array.from(op.padValue, Number) : undefined;
    return (x) => {
      const win = new Float64Array(P * K);
      let n = 0;
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++)
          for (let c = 0; c < C; c++)
            for (let u = 0; u < kh; u++) {
              const r = i * sh + u - pt;
              if (r < 0 || r >= H) {
                if (padValue) win.fill(padValue[c]!, n, n + kw);
                n += kw;
                continue;
              }
              const row = (c * H + r) * W;
              for (let v = 0; v < kw; v++, n++) {
                const col = j * sw + v - pl;
                if (col >= 0 && col < W) win[n] = x[row + col]!;
                else if (padValue) win[n] = padValue[c]!;
              }
            }
      // two channels times four outputs at a time: each weight load serves four sums, each window value two
      const acc = new Float64Array(nOut);
      let oc = 0;
      for (; oc + 2 <= OC; oc += 2) {
        const wa = oc * K;
        const wb = wa + K;
        const ba = bias[oc]!;
        const bb = bias[oc + 1]!;
        let p = 0;
        for (; p + 4 <= P; p += 4) {
          const c0 = p * K;
          const c1 = c0 + K;
          const c2 = c1 + K;
          const c3 = c2 + K;
          let a0 = ba;
          let a1 = ba;
          let a2 = ba;
          let a3 = ba;
          let b0 = bb;
          let b1 = bb;
          let b2 = bb;
          let b3 = bb;
          for (let k = 0; k < K; k++) {
            const w = weight[wa + k]!;
            const v = weight[wb + k]!;
            const x0 = win[c0 + k]!;
            const x1 = win[c1 + k]!;
            const x2 = win[c2 + k]!;
            const x3 = win[c3 + k]!;
            a0 += w * x0;
            a1 += w * x1;
            a2 += w * x2;
            a3 += w * x3;
            b0 += v * x0;
            b1 += v * x1;
            b2 += v * x2;
            b3 += v * x3;
          }
          const ya = oc * P + p;
          const yb = ya + P;
          acc[ya] = a0;
          acc[ya + 1] = a1;
          acc[ya + 2] = a2;
          acc[ya + 3] = a3;
          acc[yb] = b0;
          acc[yb + 1] = b1;
          acc[yb + 2] = b2;
          acc[yb + 3] = b3;
        }
        for (; p < P; p++) {
          const cp = p * K;
          let sa = ba;
          let sb = bb;
          for (let k = 0; k < K; k++) {
            sa += weight[wa + k]! * win[cp + k]!;
            sb += weight[wb + k]! * win[cp + k]!;
          }
          acc[oc * P + p] = sa;
          acc[(oc + 1) * P + p] = sb;
        }
      }
      for (; oc < OC; oc++) {
        const wo = oc * K;
        for (let p = 0; p < P; p++) {
          let s0 = bias[oc]!;
          const wp = p * K;
          for (let k = 0; k < K; k++) s0 += weight[wo + k]! * win[wp + k]!;
          acc[oc * P + p] = s0;
        }
      }
      return { y: acc, clamped: finish(acc) };
    };
  }
  // average pooling: a window sum per channel, by kernel tap over whole output rows
  return (x) => {
    const acc = new Float64Array(nOut);
    for (let oc = 0; oc < OC; oc++) {
      const base = oc * OH * OW;
      acc.fill(bias[oc]!, base, base + OH * OW);
      for (let u = 0; u < kh; u++) {
        const [i0, i1] = rows[u]!;
        for (let v = 0; v < kw; v++) {
          const [j0, j1] = cols[v]!;
          for (let i = i0; i < i1; i++) {
            const outRow = base + i * OW;
            const inRow = (oc * H + i * sh + u - pt) * W + v - pl;
            for (let j = j0; j < j1; j++) acc[outRow + j]! += x[inRow + j * sw]!;
          }
        }
      }
    }
    return { y: acc, clamped: finish(acc) };
  };
}

function compileMaxPool(op: QMaxPool): Step {
  const [C, H, W] = op.inShape as [number, number, number];
  const [, OH, OW] = op.outShape as [number, number, number];
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  const [pt, pl] = op.pads;
  return (x) => {
    const y = new Float64Array(C * OH * OW);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) {
          let m = -Infinity;
          for (let u = 0; u < kh; u++) {
            const r = i * sh + u - pt;
            if (r < 0 || r >= H) continue;
            for (let v = 0; v < kw; v++) {
              const col = j * sw + v - pl;
              if (col < 0 || col >= W) continue;
              const val = x[(c * H + r) * W + col]!;
              if (val > m) m = val;
            }
          }
          y[(c * OH + i) * OW + j] = m;
        }
    return { y, clamped: 0 };
  };
}

/** Runs the plan on quantized input values; the integer output of every op, as float64. */
export function runPlan(plan: EnginePlan, xq: Float64Array, clamps?: ClampCounts): Float64Array[] {
  const layers: Float64Array[] = [];
  let x = xq;
  for (let k = 0; k < plan.steps.length; k++) {
    const { y, clamped } = plan.steps[k]!(x);
    if (clamps && clamped > 0) {
      clamps.ops[k]! += clamped;
      clamps.opRuns[k]!++;
    }
    layers.push(y);
    x = y;
  }
  return layers;
}

/** Counts the values of a float input outside `range` into `clamps` (the input quantization clamps them); a value
 *  within `slack` of the range (half an input step: float32 rounding of data mapped onto the range) is not counted. */
export function countInputClamps(input: ArrayLike<number>, range: readonly number[], slack: number, clamps: ClampCounts): void {
  const lo = range[0]! - slack;
  const hi = range[1]! + slack;
  let n = 0;
  for (let i = 0; i < input.length; i++) if (input[i]! < lo || input[i]! > hi) n++;
  clamps.input += n;
  if (n > 0) clamps.inputRuns++;
}
