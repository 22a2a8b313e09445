// Seeded random transformer-like GraphModels (circuits/ir/graph.ts) for the graph quantizer and direct-route tests:
// LayerNorm, Q/K/V projections split into heads, attention (Q K^T, a positive scalar, softmax, A V), the output
// projection and a residual with the input, a second LayerNorm, an MLP with GELU, a second residual, then data
// movement (concat with a constant token, slice, gather, flatten) and a final dense head.
import type { GraphConst, GraphModel, GraphNode } from "../../circuits/ir/graph.ts";
import { numel } from "../../circuits/ir/graph.ts";
import { rng } from "./random-models.ts";

export interface TransformerOptions {
  /** Tokens (default: 3..5 at random). */
  tokens?: number;
  /** Model width (default: 4..8 at random, even when there are two heads). */
  width?: number;
  /** Attention heads, 1 or 2 (default: at random). */
  heads?: 1 | 2;
  /** The softmax axis of the [heads, T, T] scores: "last" (2, as attention does) or "other" (1, over the queries). */
  softmaxAxis?: "last" | "other";
  /** GELU form (default: at random). */
  gelu?: "erf" | "tanh";
  /** The scores' scale as a mul by 1/sqrt(dh) or a div by sqrt(dh) (default: at random). */
  scaleBy?: "mul" | "div";
  /** The data movement before the head: a class token concatenated first, gathered with the last row and flattened;
   *  a strided slice of rows and columns, flattened; or a token appended last and two columns gathered from every row
   *  (default: at random). */
  tail?: "token-gather" | "slice-flatten" | "token-last";
  /** Add a constant positional embedding to the input first (default: at random). */
  positional?: boolean;
  /** Outputs per row of the head (default: 2..4). */
  classes?: number;
}

const values = (r: () => number, n: number, mag: number): Float64Array => Float64Array.from({ length: n }, () => (r() * 2 - 1) * mag);

/** A random transformer block and head on a [T, D] input; the same seed and options give the same graph. */
export function randomTransformer(seed: number, opts: TransformerOptions = {}): GraphModel {
  const r = rng(seed * 31 + 7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const heads = opts.heads ?? pick([1, 2] as const);
  const T = opts.tokens ?? 3 + Math.floor(r() * 3);
  let D = opts.width ?? 4 + Math.floor(r() * 5);
  if (heads === 2 && D % 2 === 1) D++;
  const dh = D / heads;
  const F = 2 * D;
  const C = opts.classes ?? 2 + Math.floor(r() * 3);
  const softmaxAxis = (opts.softmaxAxis ?? "last") === "last" ? 2 : 1;
  const gelu = opts.gelu ?? pick(["erf", "tanh"] as const);
  const scaleBy = opts.scaleBy ?? pick(["mul", "div"] as const);
  const tail = opts.tail ?? pick(["token-gather", "slice-flatten", "token-last"] as const);
  const positional = opts.positional ?? r() < 0.5;

  const nodes: GraphNode[] = [];
  const node = <N extends GraphNode>(n: N): string => {
    nodes.push(n);
    return n.output;
  };
  const dense = (name: string, input: string, inF: number, outF: number): string =>
    node({ name, op: "dense", inputs: [input], output: name, inFeatures: inF, outFeatures: outF, weight: values(r, inF * outF, 1 / Math.sqrt(inF)), bias: values(r, outF, 0.1) });
  const layerNorm = (name: string, input: string): string =>
    node({
      name, op: "layerNorm", inputs: [input], output: name, epsilon: 1e-5,
      gamma: Float64Array.from({ length: D }, () => 0.5 + r()), beta: values(r, D, 0.2),
    });
  const reshape = (name: string, input: string, shape: number[]): string => node({ name, op: "reshape", inputs: [input], output: name, shape });
  const transpose = (name: string, input: string, perm: number[]): string => node({ name, op: "transpose", inputs: [input], output: name, perm });
  const constant = (dims: number[], mag: number): GraphConst => ({ dims, data: values(r, numel(dims), mag) });

  let x = "x";
  if (positional) x = node({ name: "pos", op: "add", inputs: [x], output: "pos", constant: constant([T, D], 0.3) });
  const h = layerNorm("ln1", x);
  const q = dense("q", h, D, D);
  const k = dense("k", h, D, D);
  const v = dense("v", h, D, D);
  // heads: q, v to [H, T, dh]; k to [H, dh, T] (K^T)
  const qh = transpose("q_heads", reshape("q_split", q, [T, heads, dh]), [1, 0, 2]);
  const kt = transpose("k_heads_t", reshape("k_split", k, [T, heads, dh]), [1, 2, 0]);
  const vh = transpose("v_heads", reshape("v_split", v, [T, heads, dh]), [1, 0, 2]);
  const scores = node({ name: "scores", op: "matmul", inputs: [qh, kt], output: "scores" });
  const scaled = node({
    name: "scale", op: scaleBy, inputs: [scores], output: "scale",
    constant: { dims: [], data: Float64Array.of(scaleBy === "mul" ? 1 / Math.sqrt(dh) : Math.sqrt(dh)) },
  });
  const attn = node({ name: "softmax", op: "softmax", inputs: [scaled], output: "softmax", axis: softmaxAxis });
  const ctx = node({ name: "context", op: "matmul", inputs: [attn, vh], output: "context" });
  const merged = reshape("merge", transpose("context_t", ctx, [1, 0, 2]), [T, D]);
  const o = dense("proj", merged, D, D);
  const res1 = node({ name: "res1", op: "add", inputs: [o, "x"], output: "res1" });
  const h2 = layerNorm("ln2", res1);
  const up = dense("fc1", h2, D, F);
  const g = node({ name: "gelu", op: "gelu", inputs: [up], output: "gelu", form: gelu });
  const down = dense("fc2", g, F, D);
  const res2 = node({ name: "res2", op: "add", inputs: [down, res1], output: "res2" });

  let pre: string;
  let width = D;
  if (tail === "token-gather") {
    // a class token first, then it and the last row, flattened
    const cat = node({ name: "cls", op: "concat", inputs: [res2], output: "cls", axis: 0, parts: [{ constant: constant([1, D], 0.5) }, { input: 0 }] });
    const rows = node({ name: "pick", op: "gather", inputs: [cat], output: "pick", axis: 0, indices: [0, T], indexDims: [2] });
    pre = node({ name: "flat", op: "flatten", inputs: [rows], output: "flat" });
    width = 2 * D;
  } else if (tail === "slice-flatten") {
    const sl = node({ name: "rows", op: "slice", inputs: [res2], output: "rows", axes: [0, 1], starts: [0, 1], ends: [T, D], steps: [2, 1] });
    pre = node({ name: "flat", op: "flatten", inputs: [sl], output: "flat" });
    width = Math.ceil(T / 2) * (D - 1);
  } else {
    // a token last, then two columns of every row (the head maps each of the T + 1 rows)
    const cat = node({ name: "tok", op: "concat", inputs: [res2], output: "tok", axis: 0, parts: [{ input: 0 }, { constant: constant([1, D], 0.5) }] });
    pre = node({ name: "pick", op: "gather", inputs: [cat], output: "pick", axis: 1, indices: [D - 1, 0], indexDims: [2] });
    width = 2;
  }
  dense("head", pre, width, C);
  return {
    name: `transformer-${seed}`,
    input: { name: "x", shape: [T, D] },
    output: "head",
    nodes,
  };
}

/** `n` random inputs with values uniform in [lo, hi]. */
export function randomGraphInputs(seed: number, n: number, len: number, lo = -1, hi = 1): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => lo + (hi - lo) * r()));
}
