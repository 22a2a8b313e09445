// Float64 reference engine for the graph IR: the ground truth the graph importer is checked against (onnxruntime,
// the sequential float engine) and that a graph quantizer will be measured by. Plain loops, every sum in float64.
import type { GraphConst, GraphModel, GraphNode } from "./graph.ts";
import { graphShapes, numel } from "./graph.ts";
import type { Shape } from "./ir.ts";
import { applyPreprocess } from "./preprocess.ts";
import { pool2d } from "./float-engine.ts";

export interface GraphRun {
  /** The model's output tensor (flattened C-order). */
  output: Float64Array;
  /** Every tensor by name: the (preprocessed) input and each node's output. */
  tensors: Map<string, Float64Array>;
}

/** Run one raw input (shape model.input.shape, C-order) through the graph: preprocessing first, when the model has
 *  one, then the nodes. */
export function runGraphFloat(model: GraphModel, input: ArrayLike<number>): GraphRun {
  const shapes = graphShapes(model);
  const inSize = numel(model.input.shape);
  if (input.length !== inSize) throw new Error(`${model.name}: input has ${input.length} values, expected ${inSize}`);
  // preprocessing runs in float32 steps, as the sequential engine and PyTorch's Normalize compute it
  const x0 = model.preprocess ? applyPreprocess(model.preprocess, model.input.shape, Float32Array.from(input)) : input;
  const tensors = new Map<string, Float64Array>([[model.input.name, Float64Array.from(x0)]]);
  for (const node of model.nodes) {
    const ins = node.inputs.map((t) => tensors.get(t)!);
    const inShapes = node.inputs.map((t) => shapes.get(t)!);
    tensors.set(node.output, evalNode(node, ins, inShapes, shapes.get(node.output)!));
  }
  return { output: tensors.get(model.output)!, tensors };
}

/** C-order strides of a shape. */
const stridesOf = (s: Shape): number[] => s.map((_, i) => numel(s.slice(i + 1)));

/** For each element of `shape`, the index of the broadcast constant element it meets (numpy rules, right-aligned). */
export function broadcastIndex(c: GraphConst, shape: Shape): Int32Array {
  const r = shape.length;
  const cd = [...new Array<number>(r - c.dims.length).fill(1), ...c.dims];
  const cs = stridesOf(cd).map((st, i) => (cd[i] === 1 ? 0 : st));
  const out = new Int32Array(numel(shape));
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < out.length; o++) {
    let k = 0;
    for (let a = 0; a < r; a++) k += idx[a]! * cs[a]!;
    out[o] = k;
    for (let a = r - 1; a >= 0; a--) {
      if (++idx[a]! < shape[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

/** Split a shape around `axis`: (outer, size, inner) so element (o, i, j) is at (o * size + i) * inner + j. */
const around = (s: Shape, axis: number): [number, number, number] => [numel(s.slice(0, axis)), s[axis]!, numel(s.slice(axis + 1))];

/** One node's output from its inputs' values and shapes (the layout ops only move values: the quantizer runs them on
 *  index vectors to learn where each output value comes from). */
export function evalNode(node: GraphNode, ins: Float64Array[], inShapes: Shape[], outShape: Shape): Float64Array {
  const x = ins[0]!;
  const s = inShapes[0]!;
  switch (node.op) {
    case "dense": {
      const { inFeatures: K, outFeatures: N, weight, bias } = node;
      const rows = x.length / K;
      const y = new Float64Array(rows * N);
      for (let r = 0; r < rows; r++)
        for (let n = 0; n < N; n++) {
          let acc = bias[n]!;
          for (let k = 0; k < K; k++) acc += weight[n * K + k]! * x[r * K + k]!;
          y[r * N + n] = acc;
        }
      return y;
    }
    case "conv": {
      const [C, H, W] = s as [number, number, number];
      const [M, oh, ow] = outShape as [number, number, number];
      const { kernel: [kh, kw], stride: [sh, sw], pads: [pt, pl], weight, bias } = node;
      const y = new Float64Array(M * oh * ow);
      for (let m = 0; m < M; m++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            let acc = bias[m]!;
            for (let c = 0; c < C; c++)
              for (let u = 0; u < kh; u++) {
                const r = i * sh + u - pt;
                if (r < 0 || r >= H) continue;
                for (let v = 0; v < kw; v++) {
                  const q = j * sw + v - pl;
                  if (q >= 0 && q < W) acc += weight[((m * C + c) * kh + u) * kw + v]! * x[(c * H + r) * W + q]!;
                }
              }
            y[(m * oh + i) * ow + j] = acc;
          }
      return y;
    }
    case "maxpool":
    case "avgpool": {
      const [C, H, W] = s as [number, number, number];
      const [, oh, ow] = outShape as [number, number, number];
      return pool2d(x, new Float64Array(C * oh * ow), [C, H, W], [oh, ow], node);
    }
    case "relu":
      return x.map((v) => (v > 0 ? v : 0));
    case "gelu":
      return node.form === "erf"
        ? x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)))
        : x.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));
    case "add":
    case "sub":
    case "mul":
    case "div": {
      const c = node.constant;
      const other = c ? c.data : ins[1]!;
      const at = c ? broadcastIndex(c, s) : undefined;
      const y = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const b = other[at ? at[i]! : i]!;
        const a = x[i]!;
        y[i] = node.op === "add" ? a + b : node.op === "sub" ? a - b : node.op === "mul" ? a * b : a / b;
      }
      return y;
    }
    case "matmul": {
      const b = ins[1]!;
      const M = s[s.length - 2]!;
      const K = s[s.length - 1]!;
      const N = outShape[outShape.length - 1]!;
      const batches = numel(s.slice(0, -2));
      const y = new Float64Array(batches * M * N);
      for (let t = 0; t < batches; t++)
        for (let m = 0; m < M; m++)
          for (let n = 0; n < N; n++) {
            let acc = 0;
            for (let k = 0; k < K; k++) acc += x[(t * M + m) * K + k]! * b[(t * K + k) * N + n]!;
            y[(t * M + m) * N + n] = acc;
          }
      return y;
    }
    case "softmax": {
      const [outer, size, inner] = around(s, node.axis);
      const y = new Float64Array(x.length);
      for (let o = 0; o < outer; o++)
        for (let j = 0; j < inner; j++) {
          const at = (i: number) => (o * size + i) * inner + j;
          let max = -Infinity;
          for (let i = 0; i < size; i++) max = Math.max(max, x[at(i)]!);
          let sum = 0;
          for (let i = 0; i < size; i++) sum += (y[at(i)] = Math.exp(x[at(i)]! - max));
          for (let i = 0; i < size; i++) y[at(i)]! /= sum;
        }
      return y;
    }
    case "layerNorm": {
      const D = s[s.length - 1]!;
      const y = new Float64Array(x.length);
      for (let r = 0; r < x.length / D; r++) {
        let mean = 0;
        for (let d = 0; d < D; d++) mean += x[r * D + d]!;
        mean /= D;
        let v = 0;
        for (let d = 0; d < D; d++) v += (x[r * D + d]! - mean) ** 2;
        const inv = 1 / Math.sqrt(v / D + node.epsilon);
        for (let d = 0; d < D; d++) y[r * D + d] = (x[r * D + d]! - mean) * inv * node.gamma[d]! + node.beta[d]!;
      }
      return y;
    }
    case "reshape":
    case "flatten":
      return x.slice();
    case "transpose": {
      const st = stridesOf(s);
      const y = new Float64Array(x.length);
      const idx = new Array<number>(outShape.length).fill(0);
      for (let o = 0; o < y.length; o++) {
        let src = 0;
        for (let a = 0; a < idx.length; a++) src += idx[a]! * st[node.perm[a]!]!;
        y[o] = x[src]!;
        for (let a = idx.length - 1; a >= 0; a--) {
          if (++idx[a]! < outShape[a]!) break;
          idx[a] = 0;
        }
      }
      return y;
    }
    case "concat": {
      const parts = node.parts.map((p) => ("input" in p ? { data: ins[p.input]!, dims: inShapes[p.input]! } : { data: p.constant.data, dims: p.constant.dims }));
      const outer = numel(outShape.slice(0, node.axis));
      const y = new Float64Array(numel(outShape));
      let at = 0;
      for (let o = 0; o < outer; o++)
        for (const p of parts) {
          const chunk = numel(p.dims.slice(node.axis));
          y.set(p.data.subarray(o * chunk, (o + 1) * chunk), at);
          at += chunk;
        }
      return y;
    }
    case "gather": {
      const [outer, size, inner] = around(s, node.axis);
      const y = new Float64Array(numel(outShape));
      let at = 0;
      for (let o = 0; o < outer; o++)
        for (const i of node.indices) {
          y.set(x.subarray((o * size + i) * inner, (o * size + i + 1) * inner), at);
          at += inner;
        }
      return y;
    }
    case "slice": {
      const st = stridesOf(s);
      const start = s.map(() => 0);
      const step = s.map(() => 1);
      node.axes.forEach((a, i) => {
        start[a] = node.starts[i]!;
        step[a] = node.steps[i]!;
      });
      const y = new Float64Array(numel(outShape));
      const idx = new Array<number>(s.length).fill(0);
      for (let o = 0; o < y.length; o++) {
        let src = 0;
        for (let a = 0; a < s.length; a++) src += (start[a]! + idx[a]! * step[a]!) * st[a]!;
        y[o] = x[src]!;
        for (let a = s.length - 1; a >= 0; a--) {
          if (++idx[a]! < outShape[a]!) break;
          idx[a] = 0;
        }
      }
      return y;
    }
    case "reduceMean": {
      // sum each element into the output element it reduces to (reduced axes collapse to index 0)
      const keep = s.map((d, i) => (node.axes.includes(i) ? 1 : d));
      const ks = stridesOf(keep);
      const y = new Float64Array(numel(keep));
      const idx = new Array<number>(s.length).fill(0);
      for (let i = 0; i < x.length; i++) {
        let k = 0;
        for (let a = 0; a < s.length; a++) if (!node.axes.includes(a)) k += idx[a]! * ks[a]!;
        y[k]! += x[i]!;
        for (let a = s.length - 1; a >= 0; a--) {
          if (++idx[a]! < s[a]!) break;
          idx[a] = 0;
        }
      }
      const count = x.length / y.length;
      return y.map((v) => v / count);
    }
    case "argmax": {
      let best = 0;
      for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
      return Float64Array.of(best);
    }
  }
}

/** erf to float64 accuracy: its Maclaurin series below |x| = 2.5, the continued fraction of erfc above. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    // erf(x) = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = a;
    let sum = a;
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (a > 6) return Math.sign(x);
  // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...))))), evaluated bottom up
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
}
