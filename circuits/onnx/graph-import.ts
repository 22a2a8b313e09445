// ONNX -> graph IR (circuits/ir/graph.ts): any graph whose operators the graph IR holds, including transformers.
// Shape plumbing (Shape, Gather, Unsqueeze, Concat on shapes, Constant, Cast) folds to constants through fold.ts;
// the decomposed LayerNorm and the two GELU forms torch writes are recognized first (graph-patterns below) and become
// one node each; BatchNormalization and a bias Add fold into the Conv/Gemm/MatMul before them; Identity and Dropout
// disappear; a final Softmax or LogSoftmax is left out as import.ts does. The sequential importer is untouched.
import type { ConcatPart, GraphConst, GraphModel, GraphNode } from "../ir/graph.ts";
import { graphShapes, nodeShape, numel } from "../ir/graph.ts";
import type { Shape } from "../ir/ir.ts";
import { Attributes } from "./attributes.ts";
import { nodeError, OnnxImportError } from "./errors.ts";
import { foldNode } from "./fold.ts";
import { DataType, decodeModel } from "./proto.ts";
import type { GraphMsg, ModelMsg, NodeMsg } from "./proto.ts";
import { decodeTensor } from "./tensors.ts";
import type { Const } from "./tensors.ts";
import { findPatterns } from "./graph-patterns.ts";
import { importFileWith, MAX_OPSET, MIN_OPSET, type ImportOptions } from "./import.ts";
import type { Pattern } from "./graph-patterns.ts";

/** ONNX operators the graph importer takes on activations (constants fold through fold.ts). */
export const GRAPH_OPS = [
  "Gemm", "MatMul", "Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Sub", "Mul", "Div",
  "Softmax", "LayerNormalization", "Reshape", "Transpose", "Concat", "Gather", "Slice", "Split", "ReduceMean",
  "Flatten", "Squeeze", "Unsqueeze", "ArgMax", "BatchNormalization", "Identity", "Dropout", "Shape",
  // only inside a recognized LayerNorm or GELU pattern
  "Erf", "Tanh", "Pow", "Sqrt",
] as const;

/** Model name and external-data folder, as for the sequential importer. */
export type GraphImportOptions = ImportOptions;

/** Read and import an .onnx file as a graph. */
export function importOnnxGraphFile(path: string, options: GraphImportOptions = {}): GraphModel {
  return importFileWith(path, options, importOnnxGraph);
}

/** Import serialized ONNX bytes as a graph. */
export function importOnnxGraph(bytes: Uint8Array, options: GraphImportOptions = {}): GraphModel {
  let model: ModelMsg;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new OnnxImportError(`not a valid ONNX file (protobuf decoding failed: ${(err as Error).message}); is it truncated?`);
  }
  try {
    return new GraphImporter(model, options).run();
  } catch (err) {
    if (err instanceof OnnxImportError) throw err;
    throw new OnnxImportError(`malformed ONNX model: ${(err as Error).message}`);
  }
}

/** A graph node before the importer names it and its output (distributes over the union of node kinds). */
type NodeSpec = GraphNode extends unknown ? (GraphNode extends infer N ? (N extends GraphNode ? Omit<N, "name" | "output"> : never) : never) : never;

/** Per-node context: the node, its attributes, and typed access to its inputs. */
interface Visit {
  node: NodeMsg;
  index: number;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attributes;
  fail(why: string): never;
}

class GraphImporter {
  readonly graph: GraphMsg;
  readonly opset: number;
  readonly consts = new Map<string, Const>();
  /** Activation tensors: ONNX name -> graph tensor name (Identity and Dropout alias) and its graph shape. */
  readonly alias = new Map<string, string>();
  readonly shapes = new Map<string, Shape>();
  readonly nodes: GraphNode[] = [];
  readonly nodeNames = new Set<string>();
  /** How many nodes read each ONNX tensor (a bias or BatchNormalization folds only into a single-use producer). */
  readonly uses = new Map<string, number>();
  stripped: string | undefined;

  constructor(
    model: ModelMsg,
    readonly options: GraphImportOptions,
  ) {
    if (!model.graph?.node?.length) throw new OnnxImportError("not a valid ONNX model: it has no graph or the graph has no nodes");
    this.graph = model.graph;
    const op = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
    if (!op || op.version === undefined) throw new OnnxImportError("not a valid ONNX model: no opset_import for the default domain");
    this.opset = op.version;
    if (this.opset < MIN_OPSET || this.opset > MAX_OPSET) {
      throw new OnnxImportError(`opset ${this.opset} is not supported (supported: ${MIN_OPSET} to ${MAX_OPSET})`);
    }
  }

  run(): GraphModel {
    const nodes = this.graph.node ?? [];
    for (const t of this.graph.initializer ?? []) {
      if (!t.name) throw new OnnxImportError("an initializer has no name");
      this.consts.set(t.name, decodeTensor(t, `initializer ${t.name}`, this.options.baseDir));
    }
    for (const n of nodes) for (const i of n.input ?? []) if (i) this.uses.set(i, (this.uses.get(i) ?? 0) + 1);
    const inputs = (this.graph.input ?? []).filter((v) => v.name && !this.consts.has(v.name));
    if (inputs.length !== 1) {
      throw new OnnxImportError(`the graph must have exactly one non-constant input, found ${inputs.length} (${inputs.map((i) => i.name).join(", ")})`);
    }
    const input = inputs[0]!;
    const tt = input.type?.tensorType;
    if (!tt) throw new OnnxImportError(`graph input ${input.name} is not a tensor`);
    if (tt.elemType !== DataType.FLOAT) throw new OnnxImportError(`graph input ${input.name} has element type ${tt.elemType}; only float32 (1) inputs are supported`);
    const dims = tt.shape?.dim ?? [];
    if (dims.length < 2) throw new OnnxImportError(`graph input ${input.name} must have a batch axis and at least one feature axis`);
    const inputShape = dims.slice(1).map((d, i) => {
      if (d.dimValue === undefined || d.dimValue <= 0) throw new OnnxImportError(`graph input ${input.name}: axis ${i + 1} must have a fixed size (found "${d.dimParam ?? "?"}")`);
      return d.dimValue;
    });
    if (dims[0]!.dimValue !== undefined && dims[0]!.dimValue > 1) {
      throw new OnnxImportError(`graph input ${input.name}: batch axis is ${dims[0]!.dimValue}; use 1 or a symbolic batch size`);
    }
    this.alias.set(input.name!, input.name!);
    this.shapes.set(input.name!, inputShape);
    const outputs = this.graph.output ?? [];
    if (outputs.length !== 1) throw new OnnxImportError(`the graph must have exactly one output, found ${outputs.length}`);

    // LayerNorm and GELU patterns first: their nodes are skipped below, the fused node is placed at the pattern's last node
    const patterns = findPatterns(nodes, this.graph, this.opset, this.consts);
    const inPattern = new Map<number, Pattern>();
    for (const p of patterns) for (const i of p.nodes) inPattern.set(i, p);

    for (const [index, node] of nodes.entries()) {
      const p = inPattern.get(index);
      if (p) {
        if (index === p.last) this.emitPattern(p, node, index);
        continue;
      }
      this.visit(node, index);
    }
    const out = this.alias.get(outputs[0]!.name!);
    if (!out) {
      throw new OnnxImportError(`graph output ${outputs[0]!.name} is ${this.consts.has(outputs[0]!.name!) ? "a constant" : "not computed by any node"}`);
    }
    const result: GraphModel = {
      name: this.options.name ?? (this.graph.name || "model"),
      input: { name: input.name!, shape: inputShape },
      output: out,
      nodes: this.nodes,
    };
    if (this.stripped) result.strippedOutputOp = this.stripped;
    try {
      graphShapes(result);
    } catch (err) {
      throw new OnnxImportError(`imported graph is not well formed: ${(err as Error).message}`);
    }
    return result;
  }

  /** A node name unique in the graph: the ONNX node's name, else op and position. */
  nodeName(node: NodeMsg, index: number, suffix = ""): string {
    let name = (node.name || `${node.opType}_${index}`) + suffix;
    for (let k = 2; this.nodeNames.has(name); k++) name = `${node.name || `${node.opType}_${index}`}${suffix}_${k}`;
    this.nodeNames.add(name);
    return name;
  }

  /** Add a node writing the ONNX tensor `output`; its shape comes from graph.ts, errors re-raised naming the ONNX node. */
  emit(v: Visit, partial: NodeSpec, output: string | undefined, suffix = ""): void {
    if (!output) v.fail("has no output name");
    const node = { ...partial, name: this.nodeName(v.node, v.index, suffix), output: output! } as GraphNode;
    let shape: Shape;
    try {
      shape = nodeShape(node, node.inputs.map((t) => this.shapes.get(t)!));
    } catch (err) {
      // graph.ts names the graph node; the message names the ONNX node instead
      const prefix = `node ${node.name} (${node.op}): `;
      const message = (err as Error).message;
      return v.fail(message.startsWith(prefix) ? message.slice(prefix.length) : message);
    }
    this.nodes.push(node);
    this.alias.set(output!, output!);
    this.shapes.set(output!, shape);
  }

  /** The graph tensor an ONNX activation name refers to, or undefined for a constant or unknown name. */
  act(name: string | undefined): string | undefined {
    return name ? this.alias.get(name) : undefined;
  }

  emitPattern(p: Pattern, node: NodeMsg, index: number): void {
    const v = this.visitOf(node, index);
    const x = this.act(p.x);
    if (!x) v.fail(`the ${p.kind === "gelu" ? "GELU" : "LayerNorm"} pattern's input ${p.x} must be an activation`);
    const shape = this.shapes.get(x!)!;
    if (p.kind === "gelu") {
      this.emit(v, { op: "gelu", form: p.form, inputs: [x!] }, p.output);
      return;
    }
    const r = shape.length;
    const axes = p.axes.map((a) => (a < 0 ? a + r + 1 : a));
    if (axes.length !== 1 || axes[0] !== r) v.fail(`the LayerNorm pattern reduces axes [${p.axes.join(", ")}]; supported: the last axis only`);
    const D = shape[r - 1]!;
    const vec = (c: Const | undefined, fill: number, what: string): Float64Array => {
      if (!c) return new Float64Array(D).fill(fill);
      if (c.data.length === D) return Float64Array.from(c.data);
      if (c.data.length === 1) return new Float64Array(D).fill(c.data[0]!);
      return v.fail(`LayerNorm ${what} has ${c.data.length} values, the last axis ${D}`);
    };
    this.emit(v, { op: "layerNorm", inputs: [x!], gamma: vec(p.gamma, 1, "gamma"), beta: vec(p.beta, 0, "beta"), epsilon: p.epsilon }, p.output);
  }

  visitOf(node: NodeMsg, index: number): Visit {
    return {
      node, index, op: node.opType ?? "", inputs: node.input ?? [], outputs: node.output ?? [], attrs: new Attributes(node, index),
      fail: (why: string): never => {
        throw nodeError(node, index, why);
      },
    };
  }

  visit(node: NodeMsg, index: number): void {
    const v = this.visitOf(node, index);
    const { op, fail } = v;
    if (node.domain && node.domain !== "ai.onnx") fail(`operator domain "${node.domain}" is not supported (only the default ONNX domain)`);
    const named = v.inputs.filter((n) => n !== "");
    const unknown = named.filter((n) => !this.consts.has(n) && !this.alias.has(n));
    if (unknown.length > 0) fail(`input ${unknown[0]} is not produced by an earlier node (the graph must be in topological order)`);
    const acts = named.filter((n) => this.alias.has(n));
    if (acts.length === 0) {
      // everything known at import time: evaluate it
      const constant = (i: number): Const => {
        const c = named[i] ? this.consts.get(named[i]!) : undefined;
        if (!c) fail(`input ${i + 1} must be a constant`);
        return c!;
      };
      foldNode({ node, index, op, inputs: named, attrs: v.attrs, input: constant, tensor: (t, what) => decodeTensor(t, what, this.options.baseDir), fail }, this.consts, v.outputs[0]);
      return;
    }
    const handler = Object.hasOwn(HANDLERS, op) ? HANDLERS[op] : undefined;
    if (!handler) {
      const why = ["Erf", "Tanh", "Pow", "Sqrt"].includes(op)
        ? `operator ${op} on an activation is supported only inside a LayerNorm or GELU pattern, and this node is in none`
        : `operator ${op} is not supported (supported on activations: ${GRAPH_OPS.join(", ")})`;
      fail(why);
    }
    handler!.call(this, v);
  }

  // --- helpers for handlers ---------------------------------------------------------------------------------------

  /** The graph shape of activation input i, and its ONNX rank (one more: the batch axis). */
  shapeOf(v: Visit, i: number): Shape {
    const t = this.act(v.inputs[i]);
    if (!t) v.fail(`input ${i + 1} (${v.inputs[i] ?? "none"}) must be an activation`);
    return this.shapes.get(t!)!;
  }

  constant(v: Visit, i: number, what: string): Const {
    const c = v.inputs[i] ? this.consts.get(v.inputs[i]!) : undefined;
    if (!c) v.fail(`${what} must be a constant (initializer or folded), got ${v.inputs[i] || "nothing"}`);
    return c!;
  }

  /** An ONNX axis of a tensor of graph rank r (ONNX rank r + 1) as a graph axis; the batch axis is refused. */
  axis(v: Visit, a: number, r: number, what = "axis"): number {
    const n = a < 0 ? a + r + 1 : a;
    if (n < 0 || n > r) v.fail(`${what} ${a} is out of range for a rank-${r + 1} tensor`);
    if (n === 0) v.fail(`${what} ${a} is the batch axis; operations across the batch are not supported`);
    return n - 1;
  }

  /** A constant operand with the batch axis dropped when it has the activation's ONNX rank or more. */
  graphConst(v: Visit, c: Const, rank: number, what: string): GraphConst {
    let dims = [...c.dims];
    while (dims.length > rank) {
      if (dims[0] !== 1) v.fail(`${what} [${c.dims.join(", ")}] has a batch axis of ${dims[0]}`);
      dims = dims.slice(1);
    }
    return { dims, data: Float64Array.from(c.data) };
  }

  /** The node that wrote graph tensor t, if it is a dense or conv read by this node alone (bias and BatchNorm fold into it). */
  foldTarget(v: Visit, onnxName: string): Extract<GraphNode, { op: "dense" | "conv" }> | undefined {
    const t = this.act(onnxName);
    const once = (n: string) => (this.uses.get(n) ?? 0) === 1 && n !== this.graph.output?.[0]?.name;
    if (!t || !once(onnxName) || !once(t)) return undefined;
    const producer = this.nodes.find((n) => n.output === t);
    return producer && (producer.op === "dense" || producer.op === "conv") ? producer : undefined;
  }

  /** `output` names the same tensor as `input` (Identity, Dropout, a reshape to the same shape). */
  same(v: Visit, input: string | undefined, output: string | undefined): void {
    const t = this.act(input);
    if (!t || !output) v.fail("needs an activation input and an output");
    this.alias.set(output!, t!);
  }

  pads(v: Visit, k: number[], stride: number[], shape: Shape): [number, number, number, number] {
    const autoPad = v.attrs.string("auto_pad", "NOTSET");
    if (autoPad === "NOTSET") {
      const p = v.attrs.ints("pads", [0, 0, 0, 0]);
      if (p.length !== 4 || p.some((x) => x < 0)) v.fail(`pads [${p.join(", ")}] must be 4 non-negative values`);
      return p as [number, number, number, number];
    }
    if (autoPad === "VALID") return [0, 0, 0, 0];
    if (autoPad !== "SAME_UPPER" && autoPad !== "SAME_LOWER") v.fail(`auto_pad = ${autoPad} is not supported`);
    const begin: number[] = [];
    const end: number[] = [];
    for (let a = 0; a < 2; a++) {
      const size = shape[1 + a]!;
      const total = Math.max((Math.ceil(size / stride[a]!) - 1) * stride[a]! + k[a]! - size, 0);
      const small = Math.floor(total / 2);
      begin.push(autoPad === "SAME_UPPER" ? small : total - small);
      end.push(autoPad === "SAME_UPPER" ? total - small : small);
    }
    return [begin[0]!, begin[1]!, end[0]!, end[1]!];
  }

  /** The last node of the graph, if it is this ONNX node's Softmax/LogSoftmax writing the graph output. */
  isFinal(v: Visit): boolean {
    const nodes = this.graph.node ?? [];
    return v.index === nodes.length - 1 && v.outputs[0] === this.graph.output?.[0]?.name;
  }

  dense(v: Visit, x: string, weight: Float64Array, bias: Float64Array, K: number, N: number): void {
    this.emit(v, { op: "dense", inputs: [x], inFeatures: K, outFeatures: N, weight, bias }, v.outputs[0]);
  }
}

type Handler = (this: GraphImporter, v: Visit) => void;

/** Reject attributes outside `known` (an unknown attribute may change the math). */
function only(v: Visit, known: string[]): void {
  for (const a of v.node.attribute ?? []) if (!known.includes(a.name ?? "")) v.fail(`attribute ${a.name} is not supported (supported: ${known.join(", ") || "none"})`);
}

const HANDLERS: Record<string, Handler | undefined> = {
  Identity(v) {
    this.same(v, v.inputs[0], v.outputs[0]);
  },
  Dropout(v) {
    const mode = v.inputs[2] ? this.consts.get(v.inputs[2]) : undefined;
    if (mode && mode.data[0]) v.fail("training_mode = true is not supported");
    if (v.outputs[1]) v.fail("the mask output is not supported");
    this.same(v, v.inputs[0], v.outputs[0]);
  },
  Shape(v) {
    // the activation's shape is static: a constant, with the batch axis of 1
    const full = [1, ...this.shapeOf(v, 0)];
    const r = full.length;
    const norm = (a: number) => (a < 0 ? Math.max(0, a + r) : Math.min(a, r));
    const dims = full.slice(norm(v.attrs.int("start", 0)), norm(v.attrs.int("end", r)));
    this.consts.set(v.outputs[0]!, { dims: [dims.length], data: Float64Array.from(dims), int: true });
  },
  Relu(v) {
    only(v, []);
    this.emit(v, { op: "relu", inputs: [this.act(v.inputs[0])!] }, v.outputs[0]);
  },
  Gemm(v) {
    only(v, ["alpha", "beta", "transA", "transB", "broadcast"]);
    const s = this.shapeOf(v, 0);
    if (s.length !== 1) v.fail(`input A must be [batch, K], got [1, ${s.join(", ")}]`);
    if (v.attrs.int("transA", 0) !== 0) v.fail("transA = 1 is not supported");
    const transB = v.attrs.int("transB", 0);
    const alpha = v.attrs.float("alpha", 1);
    const beta = v.attrs.float("beta", 1);
    const B = this.constant(v, 1, "input B");
    const K = s[0]!;
    if (B.dims.length !== 2 || (transB ? B.dims[1] : B.dims[0]) !== K) v.fail(`input B [${B.dims.join(", ")}] (transB = ${transB}) does not match K = ${K}`);
    const N = transB ? B.dims[0]! : B.dims[1]!;
    const weight = new Float64Array(N * K);
    for (let o = 0; o < N; o++) for (let k = 0; k < K; k++) weight[o * K + k] = alpha * B.data[transB ? o * K + k : k * N + o]!;
    const bias = new Float64Array(N);
    if (v.inputs[2]) {
      const C = this.constant(v, 2, "input C");
      if (C.data.length === N) for (let o = 0; o < N; o++) bias[o] = beta * C.data[o]!;
      else if (C.data.length === 1) bias.fill(beta * C.data[0]!);
      else v.fail(`input C [${C.dims.join(", ")}] must broadcast to [1, ${N}]`);
    }
    this.dense(v, this.act(v.inputs[0])!, weight, bias, K, N);
  },
  MatMul(v) {
    const a = this.act(v.inputs[0]);
    const b = this.act(v.inputs[1]);
    if (a && b) {
      this.emit(v, { op: "matmul", inputs: [a, b] }, v.outputs[0]);
      return;
    }
    if (!a) v.fail("a constant times an activation (W @ x) is not supported; the activation must be the first input");
    const s = this.shapeOf(v, 0);
    const W = this.constant(v, 1, "input B");
    const K = s[s.length - 1]!;
    if (W.dims.length !== 2 || W.dims[0] !== K) v.fail(`weight [${W.dims.join(", ")}] must be [${K}, N] (a constant on the last axis)`);
    const N = W.dims[1]!;
    const weight = new Float64Array(N * K);
    for (let o = 0; o < N; o++) for (let k = 0; k < K; k++) weight[o * K + k] = W.data[k * N + o]!;
    this.dense(v, a!, weight, new Float64Array(N), K, N);
  },
  Add(v) {
    only(v, ["axis", "broadcast"]);
    binary.call(this, v, "add");
  },
  Sub(v) {
    binary.call(this, v, "sub");
  },
  Mul(v) {
    binary.call(this, v, "mul");
  },
  Div(v) {
    binary.call(this, v, "div");
  },
  Conv(v) {
    only(v, ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"]);
    const s = this.shapeOf(v, 0);
    if (s.length !== 3) v.fail(`only 2-D convolution on [1, C, H, W] is supported, input is [1, ${s.join(", ")}]`);
    const W = this.constant(v, 1, "weight W");
    if (W.dims.length !== 4) v.fail(`weight must be [M, C, kH, kW], got [${W.dims.join(", ")}]`);
    const [M, C, kH, kW] = W.dims as [number, number, number, number];
    if (v.attrs.int("group", 1) !== 1) v.fail("group != 1 is not supported");
    if (v.attrs.ints("dilations", [1, 1]).some((d) => d !== 1)) v.fail("dilations other than 1 are not supported");
    const ks = v.attrs.ints("kernel_shape", [kH, kW]);
    if (ks[0] !== kH || ks[1] !== kW) v.fail(`kernel_shape [${ks.join(", ")}] does not match the weight [${kH}, ${kW}]`);
    const stride = v.attrs.ints("strides", [1, 1]) as [number, number];
    const bias = new Float64Array(M);
    if (v.inputs[2]) {
      const B = this.constant(v, 2, "bias B");
      if (B.data.length !== M) v.fail(`bias has ${B.data.length} values, expected ${M}`);
      bias.set(B.data);
    }
    this.emit(v, {
      op: "conv", inputs: [this.act(v.inputs[0])!], inChannels: C, outChannels: M, kernel: [kH, kW], stride,
      pads: this.pads(v, [kH, kW], stride, s), weight: Float64Array.from(W.data), bias,
    }, v.outputs[0]);
  },
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool(v) {
    const s = this.shapeOf(v, 0);
    if (s.length !== 3) v.fail(`input must be [1, C, H, W], got [1, ${s.join(", ")}]`);
    this.emit(v, { op: "avgpool", inputs: [this.act(v.inputs[0])!], kernel: [s[1]!, s[2]!], stride: [1, 1], pads: [0, 0, 0, 0] }, v.outputs[0]);
  },
  BatchNormalization(v) {
    if (v.outputs.slice(1).some((o) => o)) v.fail("training outputs (running mean/var) are not supported");
    if (v.attrs.int("training_mode", 0) !== 0) v.fail("training_mode = 1 is not supported");
    const L = this.foldTarget(v, v.inputs[0]!);
    if (!L) v.fail("BatchNormalization is supported only right after a Conv, Gemm or MatMul that nothing else reads (it is folded into their weights)");
    const eps = v.attrs.float("epsilon", 1e-5);
    const channels = L!.op === "dense" ? L!.outFeatures : L!.outChannels;
    const [scale, beta, mean, variance] = [1, 2, 3, 4].map((i) => {
      const c = this.constant(v, i, `input ${["", "scale", "B", "mean", "var"][i]}`);
      if (c.data.length !== channels) v.fail(`parameter ${v.inputs[i]} has ${c.data.length} values, expected ${channels}`);
      return c.data;
    }) as [Float64Array, Float64Array, Float64Array, Float64Array];
    const per = L!.weight.length / channels;
    for (let ch = 0; ch < channels; ch++) {
      const k = scale[ch]! / Math.sqrt(variance[ch]! + eps);
      for (let j = 0; j < per; j++) L!.weight[ch * per + j]! *= k;
      L!.bias[ch] = (L!.bias[ch]! - mean[ch]!) * k + beta[ch]!;
    }
    this.same(v, v.inputs[0], v.outputs[0]);
  },
  Flatten(v) {
    const s = this.shapeOf(v, 0);
    const axis = v.attrs.int("axis", 1);
    if (axis !== 1 && !(axis === -1 && s.length === 1)) v.fail(`axis = ${axis} is not supported (supported: 1, keeping the batch axis)`);
    if (s.length === 1) this.same(v, v.inputs[0], v.outputs[0]);
    else this.emit(v, { op: "flatten", inputs: [this.act(v.inputs[0])!] }, v.outputs[0]);
  },
  Reshape(v) {
    const s = this.shapeOf(v, 0);
    const target = this.constant(v, 1, "the shape input");
    const full = [1, ...s];
    const allowzero = v.attrs.int("allowzero", 0);
    const dims = Array.from(target.data, (d, i) => (d === 0 && !allowzero ? full[i]! : d));
    const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const shape = dims.map((d) => (d === -1 ? numel(full) / known : d));
    if (dims.filter((d) => d === -1).length > 1 || numel(shape) !== numel(full) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      v.fail(`cannot reshape [${full.join(", ")}] to [${Array.from(target.data).join(", ")}]`);
    }
    if (shape[0] !== 1) v.fail(`reshape to [${shape.join(", ")}] moves data into the batch axis; the first axis must stay 1`);
    const out = shape.slice(1);
    if (out.length === s.length && out.every((d, i) => d === s[i])) this.same(v, v.inputs[0], v.outputs[0]);
    else this.emit(v, { op: "reshape", inputs: [this.act(v.inputs[0])!], shape: out }, v.outputs[0]);
  },
  Unsqueeze: squeeze,
  Squeeze: squeeze,
  Transpose(v) {
    const s = this.shapeOf(v, 0);
    const r = s.length + 1;
    const perm = v.attrs.ints("perm", Array.from({ length: r }, (_, i) => r - 1 - i));
    if (perm.length !== r || perm[0] !== 0) v.fail(`perm [${perm.join(", ")}] must keep the batch axis first`);
    this.emit(v, { op: "transpose", inputs: [this.act(v.inputs[0])!], perm: perm.slice(1).map((p) => p - 1) }, v.outputs[0]);
  },
  Concat(v) {
    const actsIn: string[] = [];
    const first = v.inputs.map((n) => this.act(n)).find((t) => t)!;
    const r = this.shapes.get(first)!.length;
    const axis = this.axis(v, v.attrs.int("axis", 0), r);
    const parts: ConcatPart[] = v.inputs.map((n, i) => {
      const t = this.act(n);
      if (t) return { input: actsIn.push(t) - 1 };
      return { constant: this.graphConst(v, this.constant(v, i, `input ${i + 1}`), r, `input ${i + 1}`) };
    });
    this.emit(v, { op: "concat", inputs: actsIn, axis, parts }, v.outputs[0]);
  },
  Gather(v) {
    const s = this.shapeOf(v, 0);
    const axis = this.axis(v, v.attrs.int("axis", 0), s.length);
    const idx = this.constant(v, 1, "the indices");
    const size = s[axis]!;
    const indices = Array.from(idx.data, (i) => (i < 0 ? i + size : i));
    this.emit(v, { op: "gather", inputs: [this.act(v.inputs[0])!], axis, indices, indexDims: [...idx.dims] }, v.outputs[0]);
  },
  Slice(v) {
    const s = this.shapeOf(v, 0);
    const list = (i: number, attr: string, dflt: number[] | undefined): number[] => {
      if (this.opset >= 10) return v.inputs[i] ? Array.from(this.constant(v, i, attr).data) : dflt ?? v.fail(`needs ${attr}`);
      return v.attrs.ints(attr, dflt ?? []);
    };
    const starts = list(1, "starts", undefined);
    const ends = list(2, "ends", undefined);
    const axesRaw = list(3, "axes", starts.map((_, i) => i));
    const steps = this.opset >= 10 ? list(4, "steps", starts.map(() => 1)) : starts.map(() => 1);
    const axes: number[] = [];
    const b: number[] = [];
    const e: number[] = [];
    const st: number[] = [];
    axesRaw.forEach((a, i) => {
      const n = a < 0 ? a + s.length + 1 : a;
      const size = n === 0 ? 1 : s[n - 1]!;
      const clamp = (x: number) => Math.max(0, Math.min(size, x < 0 ? x + size : x));
      if (steps[i]! < 1) v.fail(`step ${steps[i]} is not supported (supported: positive steps)`);
      const [lo, hi] = [clamp(starts[i]!), clamp(ends[i]!)];
      if (n === 0) {
        if (lo !== 0 || hi !== 1) v.fail("a slice of the batch axis is not supported");
        return;
      }
      axes.push(this.axis(v, a, s.length));
      b.push(lo);
      e.push(hi);
      st.push(steps[i]!);
    });
    this.emit(v, { op: "slice", inputs: [this.act(v.inputs[0])!], axes, starts: b, ends: e, steps: st }, v.outputs[0]);
  },
  Split(v) {
    const s = this.shapeOf(v, 0);
    const axis = this.axis(v, v.attrs.int("axis", 0), s.length);
    const n = v.outputs.length;
    let sizes: number[];
    if (this.opset >= 13 && v.inputs[1]) sizes = Array.from(this.constant(v, 1, "split").data);
    else if (this.opset < 13 && v.attrs.get("split")) sizes = v.attrs.ints("split", []);
    else {
      const each = Math.ceil(s[axis]! / n);
      sizes = Array.from({ length: n }, (_, i) => Math.min(each, s[axis]! - each * i));
    }
    if (sizes.length !== n || sizes.reduce((a, c) => a + c, 0) !== s[axis]! || sizes.some((z) => z < 1)) {
      v.fail(`split sizes [${sizes.join(", ")}] do not divide axis ${axis} of size ${s[axis]} into ${n} parts`);
    }
    let at = 0;
    sizes.forEach((z, i) => {
      this.emit(v, { op: "slice", inputs: [this.act(v.inputs[0])!], axes: [axis], starts: [at], ends: [at + z], steps: [1] }, v.outputs[i], `:${i}`);
      at += z;
    });
  },
  ReduceMean(v) {
    const s = this.shapeOf(v, 0);
    const raw = this.opset >= 18 && v.inputs[1] ? Array.from(this.constant(v, 1, "axes").data) : v.attrs.ints("axes", []);
    const axes = raw.length === 0 ? s.map((_, i) => i) : raw.map((a) => this.axis(v, a, s.length));
    const keepDims = v.attrs.int("keepdims", 1) === 1;
    if (raw.length === 0 && !keepDims) v.fail("a mean over every axis without keepdims would drop the batch axis");
    this.emit(v, { op: "reduceMean", inputs: [this.act(v.inputs[0])!], axes: [...new Set(axes)].sort((a, b) => a - b), keepDims }, v.outputs[0]);
  },
  Softmax: softmax,
  LogSoftmax: softmax,
  LayerNormalization(v) {
    const s = this.shapeOf(v, 0);
    const axis = this.axis(v, v.attrs.int("axis", -1), s.length);
    if (axis !== s.length - 1) v.fail(`axis ${v.attrs.int("axis", -1)} is not supported (supported: the last axis)`);
    if (v.outputs.slice(1).some((o) => o)) v.fail("the Mean and InvStdDev outputs are not supported");
    const D = s[s.length - 1]!;
    const vec = (i: number, fill: number, what: string) => {
      if (!v.inputs[i]) return new Float64Array(D).fill(fill);
      const c = this.constant(v, i, what);
      if (c.data.length !== D) v.fail(`${what} has ${c.data.length} values, the last axis ${D}`);
      return Float64Array.from(c.data);
    };
    this.emit(v, { op: "layerNorm", inputs: [this.act(v.inputs[0])!], gamma: vec(1, 1, "scale"), beta: vec(2, 0, "bias"), epsilon: v.attrs.float("epsilon", 1e-5) }, v.outputs[0]);
  },
  ArgMax(v) {
    const s = this.shapeOf(v, 0);
    const axis = v.attrs.int("axis", 0);
    if (s.length !== 1 || (axis !== 1 && axis !== -1)) v.fail(`only ArgMax over the features of [1, N] is supported, input [1, ${s.join(", ")}], axis ${axis}`);
    if (v.attrs.int("select_last_index", 0) !== 0) v.fail("select_last_index = 1 is not supported");
    this.emit(v, { op: "argmax", inputs: [this.act(v.inputs[0])!] }, v.outputs[0]);
  },
};

/** Add, Sub, Mul, Div with an activation: two activations (Add only), or one and a constant (a bias Add right after
 *  Gemm/MatMul/Conv folds into that node's bias). */
function binary(this: GraphImporter, v: Visit, op: "add" | "sub" | "mul" | "div"): void {
  const a = this.act(v.inputs[0]);
  const b = this.act(v.inputs[1]);
  if (a && b) {
    if (op !== "add") v.fail(`${v.op} of two activations is not supported (only Add; inside a LayerNorm pattern Sub and Div are folded)`);
    this.emit(v, { op: "add", inputs: [a, b] }, v.outputs[0]);
    return;
  }
  const x = (a ?? b)!;
  if (!a && (op === "sub" || op === "div")) v.fail(`${v.op} of a constant by an activation is not supported (supported: activation ${op === "sub" ? "-" : "/"} constant)`);
  const xName = a ? v.inputs[0]! : v.inputs[1]!;
  const s = this.shapes.get(x)!;
  const c = this.constant(v, a ? 1 : 0, "the other operand");
  if (op === "add") {
    const L = this.foldTarget(v, xName);
    const channels = L ? (L.op === "dense" ? L.outFeatures : L.outChannels) : 0;
    const channelAxis = L?.op === "conv" ? 0 : s.length - 1;
    const g = this.graphConst(v, c, s.length, "the constant");
    // a bias: one value per output feature (dense: the last axis) or channel (conv: axis 0), constant elsewhere
    const perChannel = g.dims.length <= s.length && g.dims.every((d, i) => (i === g.dims.length - s.length + channelAxis ? d === channels || d === 1 : d === 1));
    if (L && (g.data.length === 1 || (perChannel && g.data.length === channels))) {
      for (let i = 0; i < channels; i++) L.bias[i]! += g.data[g.data.length === 1 ? 0 : i]!;
      this.same(v, xName, v.outputs[0]);
      return;
    }
    this.emit(v, { op, inputs: [x], constant: g }, v.outputs[0]);
    return;
  }
  this.emit(v, { op, inputs: [x], constant: this.graphConst(v, c, s.length, "the constant") }, v.outputs[0]);
}

/** Squeeze or Unsqueeze of an activation: a reshape (axes from the attribute before opset 13, else the input). */
function squeeze(this: GraphImporter, v: Visit): void {
  const s = this.shapeOf(v, 0);
  const full = [1, ...s];
  const raw = this.opset >= 13 ? (v.inputs[1] ? Array.from(this.constant(v, 1, "axes").data) : undefined) : v.attrs.get("axes") ? v.attrs.ints("axes", []) : undefined;
  let out: number[];
  if (v.op === "Unsqueeze") {
    if (!raw?.length) v.fail("needs axes");
    const r = full.length + raw!.length;
    const axes = raw!.map((a) => (a < 0 ? a + r : a)).sort((a, b) => a - b);
    if (axes.some((a) => a < 0 || a >= r) || new Set(axes).size !== axes.length) v.fail(`axes [${raw!.join(", ")}] are not distinct axes of the rank-${r} result`);
    if (axes[0] === 0) v.fail("inserting an axis before the batch axis is not supported");
    out = [...full];
    for (const a of axes) out.splice(a, 0, 1);
  } else {
    const axes = (raw ?? full.map((d, i) => (d === 1 && i > 0 ? i : -1)).filter((a) => a >= 0)).map((a) => (a < 0 ? a + full.length : a));
    if (axes.includes(0)) v.fail("squeezing the batch axis is not supported");
    const bad = axes.find((a) => full[a] !== 1);
    if (bad !== undefined) v.fail(`axis ${bad} has size ${full[bad]}, only axes of size 1 can be squeezed`);
    out = full.filter((_, i) => !axes.includes(i));
  }
  const shape = out.slice(1);
  if (shape.length === 0) v.fail("the result would have no axis besides the batch axis");
  this.emit(v, { op: "reshape", inputs: [this.act(v.inputs[0])!], shape }, v.outputs[0]);
}

function pool(this: GraphImporter, v: Visit): void {
  const s = this.shapeOf(v, 0);
  if (s.length !== 3) v.fail(`only 2-D pooling on [1, C, H, W] is supported, input is [1, ${s.join(", ")}]`);
  if (v.outputs[1]) v.fail("the Indices output is not supported");
  const k = v.attrs.ints("kernel_shape", []);
  if (k.length !== 2) v.fail("kernel_shape must have 2 values");
  if (v.attrs.int("ceil_mode", 0) !== 0) v.fail("ceil_mode = 1 is not supported");
  if (v.attrs.ints("dilations", [1, 1]).some((d) => d !== 1)) v.fail("dilations other than 1 are not supported");
  const stride = v.attrs.ints("strides", [1, 1]) as [number, number];
  const pads = this.pads(v, k, stride, s);
  if (v.op === "AveragePool" && pads.some((p) => p !== 0) && v.attrs.int("count_include_pad", 0) !== 1) {
    v.fail("padding with count_include_pad = 0 is not supported");
  }
  const op = v.op === "MaxPool" ? "maxpool" : "avgpool";
  this.emit(v, { op, inputs: [this.act(v.inputs[0])!], kernel: [k[0]!, k[1]!], stride, pads }, v.outputs[0]);
}

/** Softmax on an activation: a graph node, except a final one over the features of a [batch, n] output, which is left
 *  out as import.ts does (the circuit proves the logits, whose top-1 class is the same) and recorded. */
function softmax(this: GraphImporter, v: Visit): void {
  only(v, ["axis"]);
  const s = this.shapeOf(v, 0);
  const raw = v.attrs.int("axis", this.opset >= 13 ? -1 : 1);
  const axis = this.axis(v, raw, s.length);
  if (this.isFinal(v) && s.length === 1) {
    this.same(v, v.inputs[0], v.outputs[0]);
    this.stripped = v.op;
    return;
  }
  if (v.op === "LogSoftmax") v.fail("LogSoftmax is supported only as the model's last operation over a [batch, n] output (where it is left out)");
  // before opset 13 Softmax flattens the axes from `axis` on; that equals a softmax over one axis only when it is the last
  if (this.opset < 13 && axis !== s.length - 1) v.fail(`axis ${raw} before opset 13 is supported only as the last axis`);
  this.emit(v, { op: "softmax", inputs: [this.act(v.inputs[0])!], axis }, v.outputs[0]);
}
