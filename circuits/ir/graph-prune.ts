// Dead-row elimination for the graph IR ("slice hoisting"). A model often reads only part of a tensor: a vision
// transformer's head reads the class token, row 0 of the final LayerNorm's [tokens, dim] output. Every row the output
// never depends on is wasted work, and in a circuit each element of each operator costs constraints. This pass moves
// such selections (slices) as far up the graph as the operators' semantics allow, so the operators below them run on
// the selected part only, then deletes what no longer feeds the output.
//
// The rewrite is exact: each operator it moves a slice through computes every kept element from the same operands,
// in the same order, as before, so the pruned graph's output equals the original's bit for bit in float64.
//
// Steps:
//  1. A gather of one index that drops its axis becomes a slice keeping the axis (size 1) and a reshape to the
//     gather's shape; a gather of an arithmetic run of indices along one axis becomes a slice alone.
//  2. Repeatedly: a slice of a tensor whose only reader is that slice (and which is not the model output) is replaced
//     by its producer applied to sliced inputs (pushThrough says which producers allow it and how). The new slices on
//     the producer's inputs are nodes of their own; each moves on in a later round if it, too, is its tensor's only
//     reader, and otherwise stays (a slice is only wiring). Identical slices of one tensor are merged, and a slice
//     that keeps everything is dropped, so that a tensor read only through one selection can be pushed through.
//  3. Gathers whose slice did not move are put back as they were, and nodes whose outputs nobody reads are removed.
import type { ConcatPart, GatherNode, GraphConst, GraphModel, GraphNode, SliceNode } from "./graph.ts";
import { graphShapes, numel } from "./graph.ts";
import type { Shape } from "./ir.ts";

/** The indices start, start + step, ... below end along one axis; end is kept tight (one past the last index). */
interface Range {
  start: number;
  end: number;
  step: number;
}

/** A selection on every axis of a tensor: a range, or null where the whole axis is kept. */
type Spec = (Range | null)[];

const rangeCount = (r: Range): number => Math.ceil((r.end - r.start) / r.step);

/** `r` in canonical form for an axis of `size`: null when it keeps the whole axis, else with a tight end and step 1
 *  for a single index, so equal selections compare equal. */
function canonical(r: Range, size: number): Range | null {
  const n = rangeCount(r);
  if (r.start === 0 && n === size) return null;
  const step = n === 1 ? 1 : r.step;
  return { start: r.start, end: r.start + (n - 1) * step + 1, step };
}

const isIdentity = (spec: Spec): boolean => spec.every((r) => r === null);

/** The selection a slice node makes on its input of shape `shape`. */
function specOfSlice(node: SliceNode, shape: Shape): Spec {
  const spec: Spec = shape.map(() => null);
  node.axes.forEach((a, i) => {
    spec[a] = canonical({ start: node.starts[i]!, end: node.ends[i]!, step: node.steps[i]! }, shape[a]!);
  });
  return spec;
}

/** The slice node fields that make the selection `spec`. */
function sliceFields(spec: Spec): Pick<SliceNode, "axes" | "starts" | "ends" | "steps"> {
  const axes = spec.flatMap((r, a) => (r ? [a] : []));
  return {
    axes,
    starts: axes.map((a) => spec[a]!.start),
    ends: axes.map((a) => spec[a]!.end),
    steps: axes.map((a) => spec[a]!.step),
  };
}

/** The shape `spec` leaves of `shape`. */
const specShape = (spec: Spec, shape: Shape): Shape => shape.map((d, a) => (spec[a] ? rangeCount(spec[a]) : d));

/** numpy-style text for names: [0:1] keeps row 0, [:, 2:5] columns 2 to 4; trailing whole axes are left out. */
function specLabel(spec: Spec): string {
  const parts = spec.map((r) => (r ? `${r.start}:${r.end}${r.step === 1 ? "" : `:${r.step}`}` : ":"));
  while (parts.length > 0 && parts[parts.length - 1] === ":") parts.pop();
  return `[${parts.join(",")}]`;
}

/** The selected part of a C-order array of shape `dims`, C-order. */
function sliceData(data: Float64Array, dims: Shape, spec: Spec): Float64Array {
  const strides = dims.map((_, i) => numel(dims.slice(i + 1)));
  const out = specShape(spec, dims);
  const y = new Float64Array(numel(out));
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < y.length; o++) {
    let src = 0;
    for (let a = 0; a < dims.length; a++) {
      const r = spec[a];
      src += (r ? r.start + idx[a]! * r.step : idx[a]!) * strides[a]!;
    }
    y[o] = data[src]!;
    for (let a = dims.length - 1; a >= 0; a--) {
      if (++idx[a]! < out[a]!) break;
      idx[a] = 0;
    }
  }
  return y;
}

function sliceConst(c: GraphConst, spec: Spec): GraphConst {
  return isIdentity(spec) ? c : { dims: specShape(spec, c.dims), data: sliceData(c.data, c.dims, spec) };
}

/** Selection `outer` of the part `inner` keeps of an axis of `size`: one selection on the whole axis. */
function composeRange(inner: Range | null, size: number, outer: Range | null): Range | null {
  if (!outer) return inner;
  const base = inner ?? { start: 0, end: size, step: 1 };
  const start = base.start + outer.start * base.step;
  const step = base.step * outer.step;
  return canonical({ start, end: start + (rangeCount(outer) - 1) * step + 1, step }, size);
}

/** The producer `p` rewritten to compute only the part `spec` of its output (shape `out`), and the selection each of
 *  the rewritten node's inputs needs (named as in the original graph; the caller slices them); null where the
 *  operator does not let the selection through. */
function pushThrough(p: GraphNode, spec: Spec, ins: Shape[], out: Shape): { node: GraphNode; specs: Spec[] } | null {
  const r = out.length;
  const whole = (rank: number): Spec => new Array<Range | null>(rank).fill(null);
  switch (p.op) {
    case "relu":
    case "gelu":
      return { node: { ...p }, specs: [spec] };
    case "add":
    case "sub":
    case "mul":
    case "div": {
      // two activations of one shape: both sliced alike
      if (!p.constant) return { node: { ...p }, specs: [spec, spec] };
      // a constant is right-aligned against the activation; its size-1 (broadcast) axes stay as they are
      const cd = p.constant.dims;
      const off = r - cd.length;
      const cspec = cd.map((d, i) => (d === 1 ? null : spec[i + off]!));
      return { node: { ...p, constant: sliceConst(p.constant, cspec) }, specs: [spec] };
    }
    case "layerNorm":
      // each row is normalized on its own: any selection of rows goes through, one within a row does not
      return spec[r - 1] ? null : { node: { ...p }, specs: [spec] };
    case "softmax":
      return spec[p.axis] ? null : { node: { ...p }, specs: [spec] };
    case "dense": {
      // rows of the input map to rows of the output; a selection of output features selects weight rows and biases
      const inSpec = [...spec.slice(0, -1), null];
      const f = spec[r - 1];
      if (!f) return { node: { ...p }, specs: [inSpec] };
      return {
        node: {
          ...p,
          outFeatures: rangeCount(f),
          weight: sliceData(p.weight, [p.outFeatures, p.inFeatures], [f, null]),
          bias: sliceData(p.bias, [p.outFeatures], [f]),
        },
        specs: [inSpec],
      };
    }
    case "transpose": {
      // output axis a is input axis perm[a]
      const inSpec = whole(r);
      p.perm.forEach((src, a) => (inSpec[src] = spec[a]!));
      return { node: { ...p }, specs: [inSpec] };
    }
    case "reshape": {
      // A selected output axis commutes with the reshape when some input axis has the same size and the same product
      // of sizes before it: then element (before, k, after) of the output is element (before, k, after) of the input,
      // and keeping some k on both sides keeps the C-order correspondence. (For a size above 1 that input axis is
      // unique.) Axes that merge or split several axes do not commute, and stop the slice.
      const s = ins[0]!;
      const inSpec = whole(s.length);
      for (let j = 0; j < r; j++) {
        const sel = spec[j];
        if (!sel) continue;
        const before = numel(out.slice(0, j));
        const i = s.findIndex((d, k) => d === out[j] && numel(s.slice(0, k)) === before);
        if (i < 0) return null;
        inSpec[i] = sel;
      }
      return { node: { ...p, shape: specShape(spec, out) }, specs: [inSpec] };
    }
    case "matmul": {
      // [..., M, K] x [..., K, N]: leading axes select from both operands, M rows of A only, N columns of B only
      const lead = spec.slice(0, r - 2);
      return { node: { ...p }, specs: [[...lead, spec[r - 2]!, null], [...lead, null, spec[r - 1]!]] };
    }
    case "concat":
      return pushThroughConcat(p, spec, ins);
    case "slice": {
      // two slices in a row are one slice of the first one's input
      const s = ins[0]!;
      const own = specOfSlice(p, s);
      const merged = s.map((d, a) => composeRange(own[a]!, d, spec[a]!));
      return { node: { ...p, ...sliceFields(merged) }, specs: [whole(s.length)] };
    }
    default:
      // conv, pools, reduceMean, gather, flatten, argmax: the slice stays below them
      return null;
  }
}

/** A selection through a concat: off the concat axis every part is selected alike; along it, only the parts the range
 *  meets are kept, each with the part of the range that falls in it. When that leaves a single activation part the
 *  concat becomes a slice of it (free to move on); when it leaves only constants the slice stays. */
function pushThroughConcat(p: Extract<GraphNode, { op: "concat" }>, spec: Spec, ins: Shape[]): { node: GraphNode; specs: Spec[] } | null {
  const ax = p.axis;
  const range = spec[ax];
  const parts: ConcatPart[] = [];
  const inputs: string[] = [];
  const specs: Spec[] = [];
  let off = 0;
  for (const part of p.parts) {
    const len = ("input" in part ? ins[part.input]! : part.constant.dims)[ax]!;
    const at = off; // where the part starts along the concat axis
    off += len;
    let sub: Range | null = null;
    if (range) {
      // the first selected index at or after the part's start, and the end of the range within the part
      const first = range.start >= at ? range.start : range.start + Math.ceil((at - range.start) / range.step) * range.step;
      const end = Math.min(range.end, at + len);
      if (first >= end) continue;
      sub = canonical({ start: first - at, end: end - at, step: range.step }, len);
    }
    const partSpec = spec.map((x, a) => (a === ax ? sub : x));
    if ("input" in part) {
      parts.push({ input: inputs.length });
      inputs.push(p.inputs[part.input]!);
      specs.push(partSpec);
    } else {
      parts.push({ constant: sliceConst(part.constant, partSpec) });
    }
  }
  if (inputs.length === 0) return null;
  if (parts.length === 1) {
    const node: SliceNode = { name: p.name, op: "slice", inputs, output: p.output, ...sliceFields(specs[0]!) };
    return { node, specs: [specs[0]!.map(() => null)] };
  }
  return { node: { ...p, parts, inputs }, specs };
}

/** Reads of each tensor: one per input slot of each node, and one for the model output. */
function useCounts(nodes: GraphNode[], output: string): Map<string, number> {
  const uses = new Map<string, number>([[output, 1]]);
  for (const n of nodes) for (const t of n.inputs) uses.set(t, (uses.get(t) ?? 0) + 1);
  return uses;
}

/** `nodes` without those whose outputs do not reach `output`. */
function deadCodeElim(nodes: GraphNode[], output: string): GraphNode[] {
  const needed = new Set([output]);
  const keep = new Array<boolean>(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!needed.has(n.output)) continue;
    keep[i] = true;
    for (const t of n.inputs) needed.add(t);
  }
  return nodes.filter((_, i) => keep[i]);
}

/** `nodes` with every read of tensor `from` reading `to` instead. */
const renameReads = (nodes: GraphNode[], from: string, to: string): GraphNode[] =>
  nodes.map((n) => (n.inputs.includes(from) ? { ...n, inputs: n.inputs.map((t) => (t === from ? to : t)) } : n));

/** `base`, or `base_2`, `base_3`, ... if taken; the name returned is marked taken. */
function fresh(base: string, taken: Set<string>): string {
  let name = base;
  for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
  taken.add(name);
  return name;
}

/** The indices as a range (start, start + step, ... with step >= 1), or null if they are not one. */
function indexRun(indices: number[]): Range | null {
  const [first, second] = indices;
  if (first === undefined) return null;
  const step = second === undefined ? 1 : second - first;
  if (step < 1 || indices.some((v, i) => v !== first + i * step)) return null;
  return { start: first, end: indices[indices.length - 1]! + 1, step };
}

/** A gather rewritten as a slice (and, when it drops its axis, a reshape named as the gather was). */
interface GatherRewrite {
  gather: GatherNode;
  slice: string;
  reshape?: string;
}

/** The graph with every selection pushed as far up as the operators allow and the work no longer needed removed.
 *  Computes the same output as `model` on every input; node and tensor names of untouched nodes are kept, new ones
 *  are derived from the old (`/blocks.1/attn/Softmax[:,0:1]` is that softmax on row 0 of its second axis). */
export function pruneGraph(model: GraphModel): GraphModel {
  const shapes0 = graphShapes(model);
  const nodeNames = new Set(model.nodes.map((n) => n.name));
  const tensorNames = new Set([model.input.name, ...model.nodes.map((n) => n.output)]);
  const graph = (nodes: GraphNode[]): GraphModel => ({ ...model, nodes });

  // 1. gathers of an index run along one axis become slices
  const rewrites: GatherRewrite[] = [];
  let nodes = model.nodes.flatMap((n): GraphNode[] => {
    if (n.op !== "gather") return [n];
    const run = indexRun(n.indices);
    const drops = n.indexDims.length === 0;
    if (!run || n.indexDims.length > 1) return [n];
    const inShape = shapes0.get(n.inputs[0]!)!;
    const spec: Spec = inShape.map(() => null);
    spec[n.axis] = canonical(run, inShape[n.axis]!);
    const slice: SliceNode = { name: fresh(`${n.name}/slice`, nodeNames), op: "slice", inputs: [...n.inputs], output: n.output, ...sliceFields(spec) };
    if (!drops) {
      rewrites.push({ gather: n, slice: slice.name });
      return [slice];
    }
    slice.output = fresh(`${n.inputs[0]}${specLabel(spec)}`, tensorNames);
    rewrites.push({ gather: n, slice: slice.name, reshape: n.name });
    return [slice, { name: n.name, op: "reshape", inputs: [slice.output], output: n.output, shape: shapes0.get(n.output)! }];
  });

  // 2. one rewrite per round until none applies
  for (;;) {
    nodes = deadCodeElim(nodes, model.output);
    const next = pruneStep(nodes, graph(nodes), nodeNames, tensorNames);
    if (!next) break;
    nodes = next;
  }

  // 3. gathers whose slice stayed where it was made are restored
  for (const { gather, slice, reshape } of rewrites) {
    const at = nodes.findIndex((n) => n.name === slice);
    const s = nodes[at];
    if (!s || s.inputs[0] !== gather.inputs[0]) continue;
    if (!reshape) {
      nodes = nodes.map((n, i) => (i === at ? gather : n));
      continue;
    }
    const r = nodes.findIndex((n) => n.name === reshape && n.inputs[0] === s.output);
    if (r < 0 || useCounts(nodes, model.output).get(s.output) !== 1) continue;
    nodes = nodes.flatMap((n, i) => (i === at ? [] : i === r ? [gather] : [n]));
  }
  const pruned = graph(deadCodeElim(nodes, model.output));
  graphShapes(pruned);
  return pruned;
}

/** One rewrite of `nodes` (dropping a slice that keeps everything, merging a slice into an identical one, or pushing a
 *  slice through its producer), or null when none applies. */
function pruneStep(nodes: GraphNode[], model: GraphModel, nodeNames: Set<string>, tensorNames: Set<string>): GraphNode[] | null {
  const shapes = graphShapes(model);
  const uses = useCounts(nodes, model.output);
  const seen = new Map<string, SliceNode>();
  for (const s of nodes) {
    if (s.op !== "slice" || s.output === model.output) continue;
    const spec = specOfSlice(s, shapes.get(s.inputs[0]!)!);
    // a slice that keeps everything: its readers read its input
    if (isIdentity(spec)) return renameReads(nodes.filter((n) => n !== s), s.output, s.inputs[0]!);
    // the same selection of the same tensor, made earlier: that node stays (it comes before every reader of both),
    // writing whichever of the two tensor names is shorter (the other often carries a uniqueness suffix)
    const key = `${s.inputs[0]}\u0000${JSON.stringify(spec)}`;
    const first = seen.get(key);
    if (first !== undefined) {
      const keep = s.output.length < first.output.length ? s.output : first.output;
      const merged = nodes.flatMap((n) => (n === s ? [] : n === first ? [{ ...first, output: keep }] : [n]));
      return renameReads(renameReads(merged, s.output, keep), first.output, keep);
    }
    seen.set(key, s);
  }
  // push the latest slice that can move: it replaces its producer, which only it reads
  for (let i = nodes.length - 1; i >= 0; i--) {
    const s = nodes[i]!;
    if (s.op !== "slice") continue;
    const t = s.inputs[0]!;
    if (t === model.output || uses.get(t) !== 1) continue;
    const pi = nodes.findIndex((n) => n.output === t);
    if (pi < 0) continue; // the graph input
    const p = nodes[pi]!;
    const spec = specOfSlice(s, shapes.get(t)!);
    const pushed = pushThrough(p, spec, p.inputs.map((x) => shapes.get(x)!), shapes.get(t)!);
    if (!pushed) continue;
    const name = fresh(`${p.name}${specLabel(spec)}`, nodeNames);
    const before: GraphNode[] = [];
    const inputs = pushed.node.inputs.map((x, k) => {
      const sp = pushed.specs[k]!;
      if (isIdentity(sp)) return x;
      const output = fresh(`${x}${specLabel(sp)}`, tensorNames);
      before.push({ name: fresh(`${name}/in${k}`, nodeNames), op: "slice", inputs: [x], output, ...sliceFields(sp) });
      return output;
    });
    // the rewritten producer writes the slice's output, so the slice's readers are untouched; it sits where the
    // producer was, after its inputs and before every reader
    const rewritten = { ...pushed.node, name, inputs, output: s.output } as GraphNode;
    return [...nodes.slice(0, pi), ...before, rewritten, ...nodes.slice(pi + 1)].filter((n) => n !== s);
  }
  return null;
}

/** How much a graph computes: its node count and the elements of all node outputs. */
export function graphSize(model: GraphModel): { nodes: number; elements: number } {
  const shapes = graphShapes(model);
  return { nodes: model.nodes.length, elements: model.nodes.reduce((a, n) => a + numel(shapes.get(n.output)!), 0) };
}
