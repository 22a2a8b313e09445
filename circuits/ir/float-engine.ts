// Float reference executor for the IR: the ground truth the importer is checked against and fidelity compares with.
import type { FloatModel, Layer } from "./ir.ts";
import { layerShapes } from "./ir.ts";
import { applyPreprocess } from "./preprocess.ts";

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
      for (let n = 0; n < N; n++) {
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
      const y = new Float32Array(M * oh * ow);
      for (let m = 0; m < M; m++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            let s = bias[m]!;
            for (let c = 0; c < C; c++)
              for (let u = 0; u < kh; u++) {
                const r = i * sh + u - pt;
                if (r < 0 || r >= H) continue;
                for (let v = 0; v < kw; v++) {
                  const q = j * sw + v - pl;
                  if (q < 0 || q >= W) continue;
                  s += weight[((m * C + c) * kh + u) * kw + v]! * x[(c * H + r) * W + q]!;
                }
              }
            y[(m * oh + i) * ow + j] = s;
          }
      return y;
    }
    case "relu":
      return x.map((v) => (v > 0 ? v : 0));
    case "maxpool":
    case "avgpool": {
      const [C, H, W] = shape as [number, number, number];
      const { kernel: [kh, kw], stride: [sh, sw], pads: [pt, pl, pb, pr] } = layer;
      const oh = Math.floor((H + pt + pb - kh) / sh) + 1;
      const ow = Math.floor((W + pl + pr - kw) / sw) + 1;
      const y = new Float32Array(C * oh * ow);
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
            // average pooling divides by the full window (count_include_pad = 1), as the IR specifies
            y[(c * oh + i) * ow + j] = layer.kind === "maxpool" ? best : sum / (kh * kw);
          }
      return y;
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
