// Float reference executor for the IR: the ground truth the importer is checked against and fidelity compares with.
import type { FloatModel, Layer } from "./ir.ts";
import { layerShapes } from "./ir.ts";
import { applyPreprocess } from "./preprocess.ts";
import { runGraphFloat } from "./graph-float.ts";

export interface FloatRun {
  /** The model's output: logits, or [index] when the model ends in argmax. */
  output: Float32Array;
  /** The output of every layer, in IR order (flattened C-order). */
  layers: Float32Array[];
}

/** Run one raw input (shape model.inputShape, flattened C-order) through the float IR: the model's preprocessing
 *  (input normalization) first, when it has one, then the layers. Sums accumulate in float64. */
export function runFloat(model: FloatModel, input: Float32Array): FloatRun {
  const inSize = model.inputShape.reduce((a, b) => a * b, 1);
  if (input.length !== inSize) throw new Error(`${model.name}: input has ${input.length} values, expected ${inSize}`);
  if (model.graph) {
    // a graph model: the graph's node outputs stand for the layers (fidelity matches ops to nodes by name)
    const { preprocess, ...graph } = model.graph;
    void preprocess;
    const run = runGraphFloat({ ...graph, ...(model.preprocess ? { preprocess: model.preprocess } : {}) }, input);
    return { output: Float32Array.from(run.output), layers: graph.nodes.map((n) => Float32Array.from(run.tensors.get(n.output)!)) };
  }
  const shapes = layerShapes(model);
  let x = model.preprocess ? applyPreprocess(model.preprocess, model.inputShape, input) : input;
  let shape = model.inputShape;
  const layers: Float32Array[] = [];
  model.layers.forEach((layer, i) => {
    x = step(layer, x, shape);
    shape = shapes[i]!;
    layers.push(x);
  });
  return { output: x, layers };
}

function step(layer: Layer, x: Float32Array, shape: number[]): Float32Array {
  switch (layer.kind) {
    case "dense": {
      const { inFeatures: K, outFeatures: N, weight, bias } = layer;
      const y = new Float32Array(N);
      let n = 0;
      // four rows at a time share each input load; each sum adds its terms in k order
      for (; n + 4 <= N; n += 4) {
        const r0 = n * K;
        const r1 = r0 + K;
        const r2 = r1 + K;
        const r3 = r2 + K;
        let s0 = bias[n]!;
        let s1 = bias[n + 1]!;
        let s2 = bias[n + 2]!;
        let s3 = bias[n + 3]!;
        for (let k = 0; k < K; k++) {
          const v = x[k]!;
          s0 += weight[r0 + k]! * v;
          s1 += weight[r1 + k]! * v;
          s2 += weight[r2 + k]! * v;
          s3 += weight[r3 + k]! * v;
        }
        y[n] = s0;
        y[n + 1] = s1;
        y[n + 2] = s2;
        y[n + 3] = s3;
      }
      for (; n < N; n++) {
        let s = bias[n]!;
        const row = n * K;
        for (let k = 0; k < K; k++) s += weight[row + k]! * x[k]!;
        y[n] = s;
      }
      return y;
    }
    case "conv": {
      const [C, H, W] = shape as [number, number, number];
      const { outChannels: M, kernel: [kh, kw], stride: [sh, sw], pads: [pt, pl, pb, pr], weight, bias } = layer;
      const oh = Math.floor((H + pt + pb - kh) / sh) + 1;
      const ow = Math.floor((W + pl + pr - kw) / sw) + 1;
      return conv2d(x, C, H, W, M, kh, kw, sh, sw, pt, pl, oh, ow, weight, bias);
    }
    case "relu":
      return x.map((v) => (v > 0 ? v : 0));
    case "maxpool":
    case "avgpool": {
      const [C, H, W] = shape as [number, number, number];
      const { kernel: [kh, kw], stride: [sh, sw], pads: [pt, pl, pb, pr] } = layer;
      const oh = Math.floor((H + pt + pb - kh) / sh) + 1;
      const ow = Math.floor((W + pl + pr - kw) / sw) + 1;
      return pool2d(x, new Float32Array(C * oh * ow), [C, H, W], [oh, ow], layer);
    }
    case "flatten":
      return x;
    case "argmax": {
      let best = 0;
      for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
      return Float32Array.of(best);
    }
  }
}

/** A convolution as im2col and one dot product per output (its own function, so the JIT optimizes it alone). */
function conv2d(
  x: Float32Array, C: number, H: number, W: number, M: number, kh: number, kw: number, sh: number, sw: number,
  pt: number, pl: number, oh: number, ow: number, weight: Float32Array, bias: Float32Array,
): Float32Array {
  // im2col: each output's window laid out contiguously (padding as 0), then one dot product per output. Each
  // sum still takes its terms in (c, u, v) order, as a per-output loop would; a padded tap adds 0.
  const K = C * kh * kw;
  const P = oh * ow;
  // (filled in output order, so the writes are sequential; the input is small enough to stay in cache)
  const cols = new Float64Array(P * K);
  let n = 0;
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++)
      for (let c = 0; c < C; c++)
        for (let u = 0; u < kh; u++) {
          const r = i * sh + u - pt;
          if (r < 0 || r >= H) {
            n += kw;
            continue;
          }
          const row = (c * H + r) * W;
          for (let v = 0; v < kw; v++, n++) {
            const col = j * sw + v - pl;
            if (col >= 0 && col < W) cols[n] = x[row + col]!;
          }
        }
  // Two channels times four outputs at a time: each weight load serves four sums, each window value two; every
  // sum still adds its terms in (c, u, v) order.
  const y = new Float32Array(M * P);
  let m = 0;
  for (; m + 2 <= M; m += 2) {
    const wa = m * K;
    const wb = wa + K;
    const ba = bias[m]!;
    const bb = bias[m + 1]!;
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
        const x0 = cols[c0 + k]!;
        const x1 = cols[c1 + k]!;
        const x2 = cols[c2 + k]!;
        const x3 = cols[c3 + k]!;
        a0 += w * x0;
        a1 += w * x1;
        a2 += w * x2;
        a3 += w * x3;
        b0 += v * x0;
        b1 += v * x1;
        b2 += v * x2;
        b3 += v * x3;
      }
      const ya = m * P + p;
      const yb = ya + P;
      y[ya] = a0;
      y[ya + 1] = a1;
      y[ya + 2] = a2;
      y[ya + 3] = a3;
      y[yb] = b0;
      y[yb + 1] = b1;
      y[yb + 2] = b2;
      y[yb + 3] = b3;
    }
    for (; p < P; p++) {
      const cp = p * K;
      let sa = ba;
      let sb = bb;
      for (let k = 0; k < K; k++) {
        sa += weight[wa + k]! * cols[cp + k]!;
        sb += weight[wb + k]! * cols[cp + k]!;
      }
      y[m * P + p] = sa;
      y[(m + 1) * P + p] = sb;
    }
  }
  for (; m < M; m++) {
    const wm = m * K;
    for (let p = 0; p < P; p++) {
      let s = bias[m]!;
      const cp = p * K;
      for (let k = 0; k < K; k++) s += weight[wm + k]! * cols[cp + k]!;
      y[m * P + p] = s;
    }
  }
  return y;
}

/**
 * Max or average pooling of a [C, H, W] tensor into `y` ([C, oh, ow]), padding skipped: max over the window's inside
 * cells, average over the full window (count_include_pad = 1, as the IR specifies). Shared by the float engines.
 */
export function pool2d<T extends Float32Array | Float64Array>(
  x: ArrayLike<number>,
  y: T,
  [C, H, W]: readonly [number, number, number],
  [oh, ow]: readonly [number, number],
  p: { kind?: string; op?: string; kernel: readonly [number, number]; stride: readonly [number, number]; pads: readonly number[] },
): T {
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride;
  const [pt, pl] = p.pads as [number, number];
  const max = (p.kind ?? p.op) === "maxpool";
  for (let c = 0; c < C; c++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let best = -Infinity;
        let sum = 0;
        for (let u = 0; u < kh; u++) {
          const r = i * sh + u - pt;
          if (r < 0 || r >= H) continue;
          for (let v = 0; v < kw; v++) {
            const q = j * sw + v - pl;
            if (q < 0 || q >= W) continue;
            const val = x[(c * H + r) * W + q]!;
            if (val > best) best = val;
            sum += val;
          }
        }
        y[(c * oh + i) * ow + j] = max ? best : sum / (kh * kw);
      }
  return y;
}
