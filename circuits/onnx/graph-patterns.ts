// Subgraphs the graph importer folds into one node, found before the walk: LayerNorm as torch decomposes it before
// opset 17 (ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta) and GELU in its erf form
// (Div sqrt2 or Mul 1/sqrt2, Erf, Add 1, Mul x, Mul 0.5) and its tanh form (x^3, Mul 0.044715, Add x, Mul
// sqrt(2/pi), Tanh, Add 1, Mul x, Mul 0.5), each product and sum in either operand order. Matching is by wiring and
// by the values of constant operands (initializers and Constant nodes). Once a pattern's anchor matches (an Erf, a
// Tanh, a ReduceMean whose mean is subtracted from its own input), anything else that differs is an error naming the
// node where it differs: such a near miss is never folded, nor computed piecewise.
import { Attributes } from "./attributes.ts";
import { nodeError } from "./errors.ts";
import type { GraphMsg, NodeMsg } from "./proto.ts";
import { decodeTensor } from "./tensors.ts";
import type { Const } from "./tensors.ts";

interface PatternBase {
  /** Indices of the ONNX nodes the pattern replaces. */
  nodes: number[];
  /** The highest of them: where the fused node is placed (every input is known by then). */
  last: number;
  /** The activation it reads and the tensor it writes. */
  x: string;
  output: string;
}

export type Pattern =
  | (PatternBase & { kind: "gelu"; form: "erf" | "tanh" })
  | (PatternBase & { kind: "layerNorm"; axes: number[]; epsilon: number; gamma?: Const; beta?: Const });

/** Relative tolerance for a pattern constant (float32 storage of sqrt 2, sqrt(2/pi), ...). */
const TOL = 1e-5;
const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= TOL * Math.abs(b);

export function findPatterns(nodes: NodeMsg[], graph: GraphMsg, opset: number, initializers: Map<string, Const>): Pattern[] {
  const producer = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o) producer.set(o, i);
    for (const t of n.input ?? []) if (t) consumers.set(t, [...(consumers.get(t) ?? []), i]);
  });
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name));
  const out = (i: number) => nodes[i]!.output?.[0] ?? "";
  const op = (i: number | undefined) => (i === undefined ? undefined : nodes[i]!.opType);
  const fail = (i: number, why: string): never => {
    throw nodeError(nodes[i]!, i, why);
  };
  /** The one node reading t (t is not also a graph output), else undefined. */
  const single = (t: string): number | undefined => {
    const c = consumers.get(t) ?? [];
    return c.length === 1 && !graphOutputs.has(t) ? c[0] : undefined;
  };
  /** The operand of binary node i that is not t (t itself for t * t). */
  const other = (i: number, t: string): string | undefined => {
    const ins = nodes[i]!.input ?? [];
    if (ins.length !== 2) return undefined;
    return ins[0] === t ? ins[1] : ins[1] === t ? ins[0] : undefined;
  };
  /** A constant known without evaluating anything: an initializer or a Constant node's value. */
  const constant = (t: string | undefined): Const | undefined => {
    if (!t) return undefined;
    const c = initializers.get(t);
    if (c) return c;
    const p = producer.get(t);
    if (p === undefined || nodes[p]!.opType !== "Constant") return undefined;
    const a = nodes[p]!.attribute?.[0];
    if (a?.name === "value" && a.t) return decodeTensor(a.t, `Constant ${t}`, undefined);
    if (a?.name === "value_float") return { dims: [], data: Float64Array.of(a.f ?? 0), int: false };
    if (a?.name === "value_int") return { dims: [], data: Float64Array.of(a.i ?? 0), int: true };
    return undefined;
  };
  const scalar = (t: string | undefined): number | undefined => {
    const c = constant(t);
    return c && c.data.length === 1 ? c.data[0] : undefined;
  };
  const describe = (i: number | undefined, t: string) => (i === undefined ? `${t} is read by ${(consumers.get(t) ?? []).length} nodes${graphOutputs.has(t) ? " and is a graph output" : ""}` : `found ${op(i)}`);

  /** After h = erf(..) or tanh(..): Add 1, then the product of x, 0.5 and (1 + h) in any grouping. */
  const geluTail = (anchor: number, h: string, x: string, what: string): { nodes: number[]; output: string } => {
    const add = single(h);
    if (op(add) !== "Add" || !near(scalar(other(add!, h)), 1)) {
      fail(add ?? anchor, `${what}: expected Add of 1 to the ${op(anchor)} output, ${add === undefined ? describe(add, h) : `found ${op(add)} with ${other(add, h) ?? "?"}`}`);
    }
    const onePlus = out(add!);
    const m1 = single(onePlus);
    if (op(m1) !== "Mul") fail(m1 ?? add!, `${what}: expected Mul of (1 + ${op(anchor)}), ${describe(m1, onePlus)}`);
    const o1 = other(m1!, onePlus)!;
    if (o1 === x || near(scalar(o1), 0.5)) {
      // (x * (1 + h)) * 0.5 or (0.5 * (1 + h)) * x
      const m2 = single(out(m1!));
      const want = o1 === x ? "0.5" : "x";
      const o2 = m2 === undefined ? undefined : other(m2, out(m1!));
      const ok = op(m2) === "Mul" && (o1 === x ? near(scalar(o2), 0.5) : o2 === x);
      if (!ok) fail(m2 ?? m1!, `${what}: expected Mul by ${want} after ${nodes[m1!]!.name || "the Mul"}, ${m2 === undefined ? describe(m2, out(m1!)) : `found ${op(m2)} with ${o2 ?? "?"}`}`);
      return { nodes: [add!, m1!, m2!], output: out(m2!) };
    }
    // (x * 0.5) * (1 + h)
    const h0 = producer.get(o1);
    const ok = h0 !== undefined && op(h0) === "Mul" && single(o1) === m1 && near(scalar(other(h0, x)), 0.5);
    if (!ok) fail(m1!, `${what}: (1 + ${op(anchor)}) must be multiplied by x and by 0.5; its other operand ${o1} is neither`);
    return { nodes: [add!, h0!, m1!], output: out(m1!) };
  };

  const erfGelu = (e: number): Pattern => {
    const what = "Erf is supported only in GELU, x * 0.5 * (1 + erf(x / sqrt 2))";
    const t = nodes[e]!.input?.[0] ?? "";
    const d = producer.get(t);
    const ins = d === undefined ? [] : nodes[d]!.input ?? [];
    const byDiv = op(d) === "Div" && near(scalar(ins[1]), Math.SQRT2);
    const byMulIdx = op(d) === "Mul" ? [0, 1].find((k) => near(scalar(ins[1 - k]), Math.SQRT1_2)) : undefined;
    if ((!byDiv && byMulIdx === undefined) || single(t) !== e) {
      fail(d ?? e, `${what}: its input must be x / sqrt 2 (Div by ${Math.SQRT2.toFixed(7)} or Mul by ${Math.SQRT1_2.toFixed(7)}) read by nothing else${d === undefined ? "" : `, found ${op(d)} by ${scalar(ins[1]) ?? scalar(ins[0]) ?? "a non-constant"}`}`);
    }
    const x = byDiv ? ins[0]! : ins[byMulIdx!]!;
    const tail = geluTail(e, out(e), x, what);
    return { kind: "gelu", form: "erf", x, nodes: [d!, e, ...tail.nodes], last: 0, output: tail.output };
  };

  const tanhGelu = (th: number): Pattern => {
    const what = "Tanh is supported only in GELU's tanh form, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))";
    const k = Math.sqrt(2 / Math.PI);
    const t = nodes[th]!.input?.[0] ?? "";
    const m = producer.get(t);
    const u = m === undefined ? undefined : [0, 1].map((j) => nodes[m]!.input?.[j]).find((v) => v && near(scalar(other(m, v)), k));
    if (op(m) !== "Mul" || !u || single(t) !== th) fail(m ?? th, `${what}: its input must be sqrt(2/pi) (${k.toFixed(7)}) times the inner sum, read by nothing else`);
    const a = producer.get(u!);
    if (op(a) !== "Add" || single(u!) !== m) fail(a ?? m!, `${what}: expected Add of x and 0.044715 x^3 inside, found ${op(a) ?? "no node"}`);
    // which operand of the Add is x: the one the other operand cubes
    for (const x of nodes[a!]!.input ?? []) {
      const w = other(a!, x);
      const wm = w === undefined ? undefined : producer.get(w);
      if (wm === undefined || op(wm) !== "Mul" || single(w!) !== a) continue;
      const cube = [0, 1].map((j) => nodes[wm]!.input?.[j]).find((v) => v && near(scalar(other(wm, v)), 0.044715));
      const cubeNodes = cube ? cubeOf(cube, x) : undefined;
      if (!cubeNodes) continue;
      const tail = geluTail(th, out(th), x, what);
      return { kind: "gelu", form: "tanh", x, nodes: [...cubeNodes, wm, a!, m!, th, ...tail.nodes], last: 0, output: tail.output };
    }
    return fail(a!, `${what}: the Add must sum x and 0.044715 * x^3 (x^3 as Pow(x, 3) or x * x * x)`);
  };

  /** The nodes computing c = x^3 (Pow 3, or x * (x * x) in any order), each read only on the way; else undefined. */
  const cubeOf = (c: string, x: string): number[] | undefined => {
    const p = producer.get(c);
    if (p === undefined || single(c) === undefined) return undefined;
    const ins = nodes[p]!.input ?? [];
    if (op(p) === "Pow") return ins[0] === x && scalar(ins[1]) === 3 ? [p] : undefined;
    if (op(p) !== "Mul") return undefined;
    const sq = other(p, x);
    const q = sq === undefined ? undefined : producer.get(sq);
    if (q === undefined || op(q) !== "Mul" || single(sq!) !== p) return undefined;
    const qi = nodes[q]!.input ?? [];
    return qi[0] === x && qi[1] === x ? [q, p] : undefined;
  };

  const reduceAxes = (i: number): number[] => {
    const n = nodes[i]!;
    if (opset >= 18 && n.input?.[1]) {
      const c = constant(n.input[1]);
      if (!c) fail(i, "a LayerNorm's ReduceMean axes must be a constant");
      return Array.from(c!.data);
    }
    const attrs = new Attributes(n, i);
    if (attrs.int("keepdims", 1) !== 1) fail(i, "a LayerNorm's ReduceMean must keep the reduced axis (keepdims = 1)");
    return attrs.ints("axes", []);
  };

  const layerNorm = (r1: number, s: number): Pattern => {
    const what = "decomposed LayerNorm (ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta)";
    const x = nodes[r1]!.input![0]!;
    const axes = reduceAxes(r1);
    const d = out(s);
    const cs = (consumers.get(d) ?? []).sort((a, b) => a - b);
    const p = cs.find((i) => op(i) === "Pow" || op(i) === "Mul");
    const dv = cs.find((i) => op(i) === "Div");
    if (cs.length !== 2 || p === undefined || dv === undefined || graphOutputs.has(d)) {
      fail(s, `${what}: x - mean must be read by exactly a Pow and a Div, found ${cs.map((i) => op(i)).join(", ") || "none"}`);
    }
    if (op(p) !== "Pow" || nodes[p!]!.input?.[0] !== d) fail(p!, `${what}: x - mean must be squared by Pow(x - mean, 2)`);
    const e = scalar(nodes[p!]!.input?.[1]);
    if (e !== 2) fail(p!, `${what}: exponent ${e ?? "(not a constant)"}, the variance needs Pow 2`);
    const r2 = single(out(p!));
    if (op(r2) !== "ReduceMean") fail(r2 ?? p!, `${what}: expected ReduceMean of the squares, ${describe(r2, out(p!))}`);
    if (reduceAxes(r2!).join() !== axes.join()) fail(r2!, `${what}: the two ReduceMeans reduce different axes`);
    const a = single(out(r2!));
    const eps = a === undefined ? undefined : scalar(other(a, out(r2!)));
    if (op(a) !== "Add" || eps === undefined || !(eps >= 0)) {
      fail(a ?? r2!, `${what}: expected Add of a constant epsilon to the variance, before Sqrt; ${a === undefined ? describe(a, out(r2!)) : `found ${op(a)}${op(a) === "Add" ? " of a non-constant" : ""}`}`);
    }
    const q = single(out(a!));
    if (op(q) !== "Sqrt") fail(q ?? a!, `${what}: expected Sqrt of variance + epsilon, ${describe(q, out(a!))}`);
    if (single(out(q!)) !== dv || nodes[dv!]!.input?.[1] !== out(q!) || nodes[dv!]!.input?.[0] !== d) {
      fail(dv!, `${what}: expected Div of x - mean by the Sqrt`);
    }
    const pattern: Pattern = { kind: "layerNorm", x, axes, epsilon: eps!, nodes: [r1, s, p!, r2!, a!, q!, dv!], last: 0, output: out(dv!) };
    // the affine part, when present: Mul by a constant gamma, then Add of a constant beta
    const g = single(pattern.output);
    const gamma = g !== undefined && op(g) === "Mul" ? constant(other(g, pattern.output)) : undefined;
    if (gamma) {
      pattern.gamma = gamma;
      pattern.nodes.push(g!);
      pattern.output = out(g!);
      const b = single(pattern.output);
      const beta = b !== undefined && op(b) === "Add" ? constant(other(b, pattern.output)) : undefined;
      if (beta) {
        pattern.beta = beta;
        pattern.nodes.push(b!);
        pattern.output = out(b!);
      }
    }
    return pattern;
  };

  const patterns: Pattern[] = [];
  const taken = new Map<number, number>();
  nodes.forEach((n, i) => {
    let p: Pattern | undefined;
    if (n.opType === "Erf") p = erfGelu(i);
    else if (n.opType === "Tanh") p = tanhGelu(i);
    else if (n.opType === "ReduceMean") {
      // the anchor: the mean is read only by Sub(x, mean) of the same x
      const s = single(out(i));
      const x = n.input?.[0];
      if (s !== undefined && op(s) === "Sub" && nodes[s]!.input?.[0] === x && nodes[s]!.input?.[1] === out(i)) p = layerNorm(i, s);
    }
    if (!p) return;
    p.last = Math.max(...p.nodes);
    for (const k of p.nodes) {
      if (taken.has(k)) fail(k, `belongs to two fused patterns (anchored at nodes #${taken.get(k)} and #${i})`);
      taken.set(k, i);
    }
    patterns.push(p);
  });
  return patterns;
}
