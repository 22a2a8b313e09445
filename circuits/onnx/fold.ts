// Constant folding: nodes whose inputs are all known at import time (shape arithmetic around Flatten, weight
// transposes, Constant nodes) are evaluated here and become constants for the layers that use them.
import type { Attributes } from "./attributes.ts";
import { nodeLabel } from "./errors.ts";
import { DataType } from "./proto.ts";
import type { NodeMsg, TensorMsg } from "./proto.ts";
import { isIntType, numel } from "./tensors.ts";
import type { Const } from "./tensors.ts";

/** Operators folded away when all their inputs are constants (shape arithmetic around Flatten, weight transposes). */
export const FOLDED_OPS = [
  "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Transpose", "Reshape", "Identity",
  "Add", "Sub", "Mul", "Div", "ConstantOfShape",
] as const;

/** One node to fold, with what a folder needs to read its inputs and attributes. */
export interface FoldNode {
  node: NodeMsg;
  index: number;
  op: string;
  inputs: string[];
  attrs: Attributes;
  /** Input i as a constant (an error if it is not one). */
  input(i: number): Const;
  /** Decode a tensor-valued attribute. */
  tensor(t: TensorMsg, what: string): Const;
  fail(why: string): never;
}

type Folder = (n: FoldNode) => Const;

const axisOf = (a: number, rank: number) => (a < 0 ? a + rank : a);

const passThrough: Folder = (n) => n.input(0);

const unsqueezeOrSqueeze: Folder = ({ op, inputs, input, attrs }) => {
  const x = input(0);
  const axesList = inputs[1] ? Array.from(input(1).data) : attrs.ints("axes", []);
  let dims = [...x.dims];
  if (op === "Unsqueeze") {
    const rank = dims.length + axesList.length;
    for (const a of axesList.map((a) => axisOf(a, rank)).sort((p, q) => p - q)) dims.splice(a, 0, 1);
  } else {
    const rank = dims.length;
    const drop = axesList.length ? axesList.map((a) => axisOf(a, rank)) : dims.map((d, i) => (d === 1 ? i : -1));
    dims = dims.filter((_, i) => !drop.includes(i));
  }
  return { dims, data: x.data, int: x.int };
};

/** Add, Sub, Mul, Div on equal shapes or with a scalar; integer division truncates. */
const arithmetic: Folder = ({ op, input, fail }) => {
  const a = input(0);
  const b = input(1);
  const n = Math.max(a.data.length, b.data.length);
  if (!(a.data.length === b.data.length || a.data.length === 1 || b.data.length === 1)) {
    fail("constant arithmetic is supported on equal shapes or with a scalar");
  }
  const int = a.int && b.int;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = a.data[a.data.length === 1 ? 0 : i]!;
    const y = b.data[b.data.length === 1 ? 0 : i]!;
    const r = op === "Add" ? x + y : op === "Sub" ? x - y : op === "Mul" ? x * y : x / y;
    out[i] = int && op === "Div" ? Math.trunc(r) : r;
  }
  return { dims: a.data.length >= b.data.length ? a.dims : b.dims, data: out, int };
};

const FOLDERS = new Map<string, Folder>([
  ["Constant", ({ node, index, tensor, fail }) => {
    const a = (node.attribute ?? [])[0];
    if (!a) fail("has no value attribute");
    const v = a!;
    if (v.name === "value" && v.t) return tensor(v.t, `node ${nodeLabel(node, index)} value`);
    if (v.name === "value_float") return { dims: [], data: Float64Array.of(v.f ?? 0), int: false };
    if (v.name === "value_floats") return { dims: [v.floats!.length], data: Float64Array.from(v.floats!), int: false };
    if (v.name === "value_int") return { dims: [], data: Float64Array.of(v.i ?? 0), int: true };
    if (v.name === "value_ints") return { dims: [v.ints!.length], data: Float64Array.from(v.ints!), int: true };
    return fail(`attribute ${v.name} is not supported (supported: value, value_float(s), value_int(s))`);
  }],
  ["Identity", passThrough],
  ["Dropout", passThrough],
  ["Shape", ({ input }) => {
    const x = input(0);
    return { dims: [x.dims.length], data: Float64Array.from(x.dims), int: true };
  }],
  ["Cast", ({ input, attrs }) => {
    const to = attrs.int("to", DataType.FLOAT);
    const x = input(0);
    const int = isIntType(to);
    return { dims: x.dims, data: int ? x.data.map(Math.trunc) : x.data.slice(), int };
  }],
  ["Gather", ({ input, attrs, fail }) => {
    const data = input(0);
    const idx = input(1);
    const r = data.dims.length;
    const axis = axisOf(attrs.int("axis", 0), r);
    const outer = numel(data.dims.slice(0, axis));
    const size = data.dims[axis]!;
    const inner = numel(data.dims.slice(axis + 1));
    const out: number[] = [];
    for (let o = 0; o < outer; o++)
      for (const raw of idx.data) {
        const i = raw < 0 ? raw + size : raw;
        if (i < 0 || i >= size) fail(`index ${raw} out of range for axis of size ${size}`);
        for (let j = 0; j < inner; j++) out.push(data.data[(o * size + i) * inner + j]!);
      }
    return { dims: [...data.dims.slice(0, axis), ...idx.dims, ...data.dims.slice(axis + 1)], data: Float64Array.from(out), int: data.int };
  }],
  ["Unsqueeze", unsqueezeOrSqueeze],
  ["Squeeze", unsqueezeOrSqueeze],
  ["Concat", ({ inputs, input, attrs }) => {
    const parts = inputs.map((_, i) => input(i));
    const r = parts[0]!.dims.length;
    const axis = axisOf(attrs.int("axis", 0), r);
    const outer = numel(parts[0]!.dims.slice(0, axis));
    const out: number[] = [];
    for (let o = 0; o < outer; o++)
      for (const p of parts) {
        const chunk = numel(p.dims.slice(axis));
        for (let j = 0; j < chunk; j++) out.push(p.data[o * chunk + j]!);
      }
    const dims = [...parts[0]!.dims];
    dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
    return { dims, data: Float64Array.from(out), int: parts[0]!.int };
  }],
  ["Slice", ({ inputs, input, attrs, fail }) => {
    const x = input(0);
    if (x.dims.length !== 1) fail("constant Slice is supported on 1-D tensors only");
    const starts = inputs[1] ? Array.from(input(1).data) : attrs.ints("starts", []);
    const ends = inputs[2] ? Array.from(input(2).data) : attrs.ints("ends", []);
    const step = inputs[4] ? input(4).data[0]! : 1;
    const n = x.dims[0]!;
    const clamp = (v: number) => Math.max(0, Math.min(n, v < 0 ? v + n : v));
    const out: number[] = [];
    if (step > 0) for (let i = clamp(starts[0]!); i < clamp(ends[0]!); i += step) out.push(x.data[i]!);
    else fail("negative Slice steps are not supported");
    return { dims: [out.length], data: Float64Array.from(out), int: x.int };
  }],
  ["Transpose", ({ input, attrs }) => {
    const x = input(0);
    const r = x.dims.length;
    const perm = attrs.ints("perm", x.dims.map((_, i) => r - 1 - i));
    const dims = perm.map((p) => x.dims[p]!);
    const inStrides = x.dims.map((_, i) => numel(x.dims.slice(i + 1)));
    const out = new Float64Array(x.data.length);
    const idx = new Array<number>(r).fill(0);
    for (let o = 0; o < out.length; o++) {
      let src = 0;
      for (let a = 0; a < r; a++) src += idx[a]! * inStrides[perm[a]!]!;
      out[o] = x.data[src]!;
      for (let a = r - 1; a >= 0; a--) {
        if (++idx[a]! < dims[a]!) break;
        idx[a] = 0;
      }
    }
    return { dims, data: out, int: x.int };
  }],
  ["Reshape", ({ input }) => {
    const x = input(0);
    const target = Array.from(input(1).data, (d, i) => (d === 0 ? x.dims[i]! : d));
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    return { dims: target.map((d) => (d === -1 ? x.data.length / known : d)), data: x.data, int: x.int };
  }],
  ["ConstantOfShape", ({ input, attrs, tensor }) => {
    const shape = Array.from(input(0).data);
    const a = attrs.get("value");
    const v = a?.t ? tensor(a.t, "value") : { data: Float64Array.of(0), int: false, dims: [1] };
    return { dims: shape, data: new Float64Array(numel(shape)).fill(v.data[0] ?? 0), int: v.int };
  }],
  ["Add", arithmetic],
  ["Sub", arithmetic],
  ["Mul", arithmetic],
  ["Div", arithmetic],
]);

/** Evaluate a node whose inputs are all constants; its first output becomes a constant. */
export function foldNode(n: FoldNode, consts: Map<string, Const>, output: string | undefined): void {
  const folder = FOLDERS.get(n.op);
  if (!folder) n.fail(`operator ${n.op} is not supported on constants (foldable: ${FOLDED_OPS.join(", ")})`);
  consts.set(output!, folder!(n));
}
