// The bit-exact engine of the graph ops (quantize.ts QGraphOp): layouts, adds, products of two activations, softmax,
// LayerNorm and GELU, each exactly the integer function its gadget constrains (nonlinear.ts, gadgets-nonlinear.ts).
import { geluQ, layerNormQ, matmulQ, softmaxQ } from "./nonlinear.ts";
import type { QAdd, QGraphOp, QLayout, QSoftmax } from "./quantize.ts";
import { requantize } from "./requantize.ts";

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** One graph op on its inputs' values. `counter` counts the values an add clamps (the primitives clamp too, but
 *  their outputs are bounded by construction or saturate by design: softmax, LayerNorm, GELU). */
export function runGraphOp(op: QGraphOp, ins: bigint[][], counter?: { clamped: number }): bigint[] {
  switch (op.kind) {
    case "layout":
      return runLayout(op, ins);
    case "add":
      return runAdd(op, ins, counter);
    case "matmul": {
      const [a, b] = ins as [bigint[], bigint[]];
      const { n, k, m } = op.params;
      const out: bigint[] = [];
      for (let t = 0; t < op.batch; t++) appendTo(out, matmulQ(op.params, a.slice(t * n * k, (t + 1) * n * k), b.slice(t * k * m, (t + 1) * k * m)));
      return out;
    }
    case "softmax": {
      const x = ins[0]!;
      const y = new Array<bigint>(x.length);
      for (const idx of softmaxVectors(op)) softmaxQ(op.params, idx.map((i) => x[i]!)).forEach((v, j) => (y[idx[j]!] = v));
      return y;
    }
    case "layerNorm": {
      const x = ins[0]!;
      const n = op.params.n;
      const out: bigint[] = [];
      for (let r = 0; r < x.length; r += n) appendTo(out, layerNormQ(op.params, x.slice(r, r + n)));
      return out;
    }
    case "gelu":
      return geluQ(op.params, ins[0]!);
  }
}

/** Appends `xs` to `out` (not push(...xs): a long vector would overflow the argument stack). */
function appendTo(out: bigint[], xs: readonly bigint[]): void {
  for (const x of xs) out.push(x);
}

/** The inputs laid end to end, each value taken where src points (constants below 0). The inputs are indexed where
 *  they are, not copied end to end: a file may name one big input many times. */
export function runLayout(op: QLayout, ins: bigint[][]): bigint[] {
  const consts = op.constants.map(BigInt);
  if (ins.length === 1) {
    const x = ins[0]!;
    return op.src.map((s) => (s >= 0 ? x[s]! : consts[-1 - s]!));
  }
  const starts: number[] = [];
  let total = 0;
  for (const x of ins) {
    starts.push(total);
    total += x.length;
  }
  return op.src.map((s) => {
    if (s < 0) return consts[-1 - s]!;
    let lo = 0;
    let hi = ins.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= s) lo = mid;
      else hi = mid - 1;
    }
    return ins[lo]![s - starts[lo]!]!;
  });
}

function runAdd(op: QAdd, ins: bigint[][], counter?: { clamped: number }): bigint[] {
  const M = op.multiplier.map(BigInt);
  const bias = op.bias.map(BigInt);
  const n = size(op.shape);
  const out = new Array<bigint>(n);
  for (let i = 0; i < n; i++) {
    let acc = bias.length ? bias[i]! : 0n;
    for (let j = 0; j < ins.length; j++) acc += M[j]! * ins[j]![i]!;
    out[i] = requantize(acc, 1n, op.shift, op.outBits, false, counter);
  }
  return out;
}

/** The flat indices of each vector a softmax normalizes (along op.axis), outer-major. */
export function softmaxVectors(op: QSoftmax): number[][] {
  const outer = size(op.shape.slice(0, op.axis));
  const len = op.shape[op.axis]!;
  const inner = size(op.shape.slice(op.axis + 1));
  const out: number[][] = [];
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < inner; j++) out.push(Array.from({ length: len }, (_, i) => (o * len + i) * inner + j));
  return out;
}
