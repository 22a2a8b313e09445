// ONNX importer: reads a PyTorch- or tf2onnx-style .onnx file (opsets 9-21, external data) into the float IR.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from "node:path";
import type { ConvLayer, DenseLayer, FloatModel, Layer } from "../compiler/ir.ts";
import { layerShapes } from "../compiler/ir.ts";
import { AttributeType, DataType, decodeModel } from "./proto.ts";
import type { AttributeMsg, GraphMsg, ModelMsg, NodeMsg, TensorMsg } from "./proto.ts";

/** Every failure to import: a malformed file, an unsupported operator or attribute, a graph the IR cannot hold. */
export class OnnxImportError extends Error {
  override name = "OnnxImportError";
  constructor(
    message: string,
    readonly details: { node?: string; op?: string; file?: string } = {},
  ) {
    super(message);
  }
}

/** Operators the importer turns into layers (or removes), for error messages. */
export const ACTIVATION_OPS = [
  "Gemm", "MatMul", "Add", "Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape",
  "BatchNormalization", "Identity", "Dropout", "ArgMax", "Transpose",
] as const;

/** Operators folded away when all their inputs are constants (shape arithmetic around Flatten, weight transposes). */
export const FOLDED_OPS = [
  "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Transpose", "Reshape", "Identity",
  "Add", "Sub", "Mul", "Div", "ConstantOfShape",
] as const;

const MIN_OPSET = 9;
const MAX_OPSET = 21;

export interface ImportOptions {
  /** Model name for the IR; defaults to the folder name for `model.onnx`, else the file stem. */
  name?: string;
  /** Folder that external-data locations are relative to (defaults to the model file's folder). */
  baseDir?: string;
}

/** Read and import an .onnx file; external data is resolved next to it. */
export function importOnnxFile(path: string, options: ImportOptions = {}): FloatModel {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new OnnxImportError(`cannot read ${path}: ${(err as Error).message}`, { file: path });
  }
  const stem = basename(path).replace(/\.onnx$/i, "");
  const name = options.name ?? (stem === "model" ? basename(dirname(resolve(path))) : stem);
  try {
    return importOnnx(bytes, { name, baseDir: options.baseDir ?? dirname(resolve(path)) });
  } catch (err) {
    if (err instanceof OnnxImportError) {
      err.message = `${path}: ${err.message}`;
      err.details.file = path;
    }
    throw err;
  }
}

/** Import serialized ONNX bytes. */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): FloatModel {
  let model: ModelMsg;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new OnnxImportError(`not a valid ONNX file (protobuf decoding failed: ${(err as Error).message}); is it truncated?`);
  }
  try {
    return new Importer(model, options).run();
  } catch (err) {
    if (err instanceof OnnxImportError) throw err;
    // a structurally odd file that slipped past the checks: still one clear error, never a raw stack
    throw new OnnxImportError(`malformed ONNX model: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Constants and folding

/** A tensor known at import time. Integers (shapes, indices) and floats share one representation. */
interface Const {
  dims: number[];
  data: Float64Array;
  int: boolean;
}

const numel = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

function copyBytes(raw: Uint8Array): ArrayBuffer {
  // raw_data may be an unaligned view into the file buffer; typed arrays need an aligned copy
  return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
}

// ---------------------------------------------------------------------------------------------------------------

interface Activation {
  name: string;
  /** Shape with the batch axis (fixed to 1). */
  shape: number[];
  /** Index into layers of the conv/dense that produced it directly, for folding a bias Add or BatchNormalization. */
  producer?: number;
  /**
   * Set after a Transpose of the activation (tf2onnx writes NCHW -> NHWC before Keras' Flatten): the ONNX tensor is
   * the IR's [1, C, H, W] tensor (`canonical`) with axes permuted by `perm`. Only Relu and a flatten may follow.
   */
  layout?: { canonical: number[]; perm: number[] };
  /** After flattening a permuted tensor: ONNX element j is IR element order[j]; the next Gemm/MatMul absorbs it. */
  order?: Int32Array;
}

class Importer {
  private readonly graph: GraphMsg;
  private readonly opset: number;
  private readonly consts = new Map<string, Const>();
  private readonly layers: Layer[] = [];
  private head!: Activation;
  private readonly counts = new Map<string, number>();
  private readonly taken = new Set<string>();

  constructor(
    private readonly model: ModelMsg,
    private readonly options: ImportOptions,
  ) {
    if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
      throw new OnnxImportError("not a valid ONNX model: it has no graph or the graph has no nodes");
    }
    this.graph = model.graph;
    const op = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
    if (!op || op.version === undefined) throw new OnnxImportError("not a valid ONNX model: no opset_import for the default domain");
    this.opset = op.version;
    if (this.opset < MIN_OPSET || this.opset > MAX_OPSET) {
      throw new OnnxImportError(`opset ${this.opset} is not supported (supported: ${MIN_OPSET} to ${MAX_OPSET})`);
    }
  }

  run(): FloatModel {
    for (const t of this.graph.initializer ?? []) {
      if (!t.name) throw new OnnxImportError("an initializer has no name");
      this.consts.set(t.name, this.tensor(t, `initializer ${t.name}`));
    }
    const inputs = (this.graph.input ?? []).filter((v) => v.name && !this.consts.has(v.name));
    if (inputs.length !== 1) {
      throw new OnnxImportError(
        `the graph must have exactly one non-constant input, found ${inputs.length} (${inputs.map((i) => i.name).join(", ")})`,
      );
    }
    const input = inputs[0]!;
    const tt = input.type?.tensorType;
    if (!tt) throw new OnnxImportError(`graph input ${input.name} is not a tensor`);
    if (tt.elemType !== DataType.FLOAT) {
      throw new OnnxImportError(`graph input ${input.name} has element type ${tt.elemType}; only float32 (1) inputs are supported`);
    }
    const dims = tt.shape?.dim ?? [];
    if (dims.length < 2) throw new OnnxImportError(`graph input ${input.name} must have a batch axis and at least one feature axis`);
    const inputShape = dims.slice(1).map((d, i) => {
      if (d.dimValue === undefined || d.dimValue <= 0) {
        throw new OnnxImportError(`graph input ${input.name}: axis ${i + 1} must have a fixed size (found "${d.dimParam ?? "?"}")`);
      }
      return d.dimValue;
    });
    const batch = dims[0]!;
    if (batch.dimValue !== undefined && batch.dimValue > 1) {
      throw new OnnxImportError(`graph input ${input.name}: batch axis is ${batch.dimValue}; use 1 or a symbolic batch size`);
    }
    this.head = { name: input.name!, shape: [1, ...inputShape] };

    const outputs = this.graph.output ?? [];
    if (outputs.length !== 1) throw new OnnxImportError(`the graph must have exactly one output, found ${outputs.length}`);
    const outputName = outputs[0]!.name!;

    let sawArgmax = false;
    for (const [index, node] of (this.graph.node ?? []).entries()) {
      if (sawArgmax && this.touchesHead(node)) {
        throw this.nodeError(node, index, "ArgMax must be the last operation on the activation");
      }
      this.visit(node, index);
      if (node.opType === "ArgMax") sawArgmax = true;
    }
    if (this.head.name !== outputName) {
      throw new OnnxImportError(
        `graph output ${outputName} is not computed by the model's single chain of layers (which ends in ${this.head.name})`,
      );
    }
    const result: FloatModel = {
      name: this.options.name ?? (this.graph.name || "model"),
      inputName: input.name!,
      inputShape,
      outputName,
      layers: this.layers,
    };
    try {
      layerShapes(result);
    } catch (err) {
      throw new OnnxImportError(`imported layers do not chain: ${(err as Error).message}`);
    }
    return result;
  }

  // --- tensors -------------------------------------------------------------------------------------------------

  private tensor(t: TensorMsg, what: string): Const {
    const dims = t.dims ?? [];
    const n = numel(dims);
    const type = t.dataType ?? 0;
    let raw = t.rawData;
    if (t.dataLocation === 1) raw = this.external(t, what);
    const out = new Float64Array(n);
    const int = type !== DataType.FLOAT && type !== DataType.DOUBLE && type !== DataType.FLOAT16;
    const fill = (values: ArrayLike<number>) => {
      if (values.length !== n) throw new OnnxImportError(`${what}: holds ${values.length} values, dims [${dims.join(", ")}] need ${n}`);
      out.set(values);
    };
    if (raw && raw.length > 0) {
      const buf = copyBytes(raw);
      const expect = n * ({ 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8 } as Record<number, number>)[type]!;
      if (raw.length !== expect) {
        throw new OnnxImportError(`${what}: raw data is ${raw.length} bytes, dims [${dims.join(", ")}] of type ${type} need ${expect}`);
      }
      switch (type) {
        case DataType.FLOAT: fill(new Float32Array(buf)); break;
        case DataType.DOUBLE: fill(new Float64Array(buf)); break;
        case DataType.INT32: fill(new Int32Array(buf)); break;
        case DataType.INT64: fill(Array.from(new BigInt64Array(buf), Number)); break;
        case DataType.UINT8: case DataType.BOOL: fill(new Uint8Array(buf)); break;
        case DataType.INT8: fill(new Int8Array(buf)); break;
        default: throw new OnnxImportError(`${what}: tensor data type ${type} is not supported (float, double, int8/32/64, uint8, bool)`);
      }
    } else if (n === 0) {
      // empty tensor
    } else if (type === DataType.FLOAT && t.floatData?.length) fill(t.floatData);
    else if (type === DataType.DOUBLE && t.doubleData?.length) fill(t.doubleData);
    else if (type === DataType.INT64 && t.int64Data?.length) fill(t.int64Data);
    else if ([DataType.INT32, DataType.INT8, DataType.UINT8, DataType.BOOL].includes(type as 6) && t.int32Data?.length) fill(t.int32Data);
    else throw new OnnxImportError(`${what}: no data for dims [${dims.join(", ")}] of type ${type}`);
    return { dims: [...dims], data: out, int };
  }

  private external(t: TensorMsg, what: string): Uint8Array {
    const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
    const location = entry("location");
    if (!location) throw new OnnxImportError(`${what}: external data without a location`);
    if (isAbsolute(location) || normalize(location).split(sep).includes("..")) {
      throw new OnnxImportError(`${what}: external data location ${location} must be a relative path inside the model folder`);
    }
    const base = this.options.baseDir;
    if (!base) throw new OnnxImportError(`${what}: stored in external file ${location}; import from a file path so it can be found`);
    const file = join(base, location);
    if (!existsSync(file)) throw new OnnxImportError(`${what}: external data file ${file} not found`);
    const size = statSync(file).size;
    const offset = Number(entry("offset") ?? 0);
    const length = entry("length") !== undefined ? Number(entry("length")) : size - offset;
    if (!(offset >= 0 && length >= 0 && offset + length <= size)) {
      throw new OnnxImportError(`${what}: external data range offset ${offset} length ${length} is outside ${file} (${size} bytes)`);
    }
    return readFileSync(file).subarray(offset, offset + length);
  }

  // --- nodes ---------------------------------------------------------------------------------------------------

  private label(node: NodeMsg, index: number): string {
    return node.name ? `"${node.name}"` : `#${index}`;
  }

  private nodeError(node: NodeMsg, index: number, why: string): OnnxImportError {
    return new OnnxImportError(`node ${this.label(node, index)} (${node.opType}): ${why}`, {
      node: node.name || `#${index}`,
      op: node.opType,
    });
  }

  private touchesHead(node: NodeMsg): boolean {
    return (node.input ?? []).includes(this.head.name);
  }

  private visit(node: NodeMsg, index: number): void {
    const op = node.opType ?? "";
    const fail = (why: string): never => {
      throw this.nodeError(node, index, why);
    };
    if (node.domain && node.domain !== "ai.onnx") fail(`operator domain "${node.domain}" is not supported (only the default ONNX domain)`);
    const inputs = (node.input ?? []).filter((n) => n !== "");
    const outputs = node.output ?? [];
    const onHead = inputs.filter((n) => n === this.head.name);
    const unknown = inputs.filter((n) => n !== this.head.name && !this.consts.has(n));
    if (unknown.length > 0) {
      fail(`input ${unknown[0]} is neither a constant nor the current activation; only a single chain of layers is supported (no branches or skip connections)`);
    }
    if (onHead.length === 0 && op !== "Shape") {
      // everything is known at import time: fold it
      this.fold(node, index, inputs, outputs);
      return;
    }
    if (op === "Shape") {
      if (onHead.length === 0) {
        this.fold(node, index, inputs, outputs);
        return;
      }
      const start = this.intAttr(node, index, "start", 0);
      const end = this.intAttr(node, index, "end", this.head.shape.length);
      const r = this.head.shape.length;
      const s = start < 0 ? start + r : start;
      const e = end < 0 ? end + r : Math.min(end, r);
      const dims = this.head.shape.slice(s, e);
      this.consts.set(outputs[0]!, { dims: [dims.length], data: Float64Array.from(dims), int: true });
      return;
    }
    if (onHead.length > 1) fail("uses the activation twice; only a single chain of layers is supported");
    this.layerOp(node, index, op, inputs, outputs, fail);
  }

  private constIn(node: NodeMsg, index: number, name: string | undefined, what: string): Const {
    const c = name ? this.consts.get(name) : undefined;
    if (!c) throw this.nodeError(node, index, `${what} must be a constant (initializer or folded), got ${name ?? "nothing"}`);
    return c;
  }

  private setHead(name: string | undefined, shape: number[], producer?: number, keep?: Pick<Activation, "layout" | "order">): void {
    if (!name) throw new OnnxImportError("a node has no output name");
    this.head = { name, shape, producer, layout: keep?.layout, order: keep?.order };
  }

  /** A layer name from the node's PyTorch scope ("/fc1/Gemm" -> "fc1"), else `<kind>_<k>`; unique within the model. */
  private layerName(base: string, node: NodeMsg): string {
    const parts = (node.name ?? "").split("/").filter((p) => p !== "");
    if (parts.length > 1 && parts[parts.length - 1] === node.opType) parts.pop();
    let name = parts.length > 0 && !(parts.length === 1 && parts[0] === node.opType) ? parts.join(".") : "";
    if (!name || this.taken.has(name)) {
      let k = this.counts.get(base) ?? 0;
      do name = `${base}_${++k}`;
      while (this.taken.has(name));
      this.counts.set(base, k);
    }
    this.taken.add(name);
    return name;
  }

  private layerOp(node: NodeMsg, index: number, op: string, inputs: string[], outputs: string[], fail: (why: string) => never): void {
    const h = this.head;
    const xFirst = inputs[0] === h.name;
    this.checkAttrs(node, index, op);
    const passThrough = ["Identity", "Dropout", "Relu"];
    if (h.layout && !passThrough.includes(op) && !["Flatten", "Reshape", "Transpose"].includes(op)) {
      fail(`follows a Transpose of the activation; only Relu and a flatten (then Gemm/MatMul) may follow one`);
    }
    if (h.order && !passThrough.includes(op) && op !== "Gemm" && op !== "MatMul") {
      fail("follows a flatten of a transposed activation; only Relu and then Gemm/MatMul may follow");
    }
    const keep = { layout: h.layout, order: h.order };
    switch (op) {
      case "Identity":
      case "Dropout": {
        if (op === "Dropout" && inputs.length > 1) {
          const mode = inputs[2] ? this.consts.get(inputs[2]) : undefined;
          if (mode && mode.data[0]) fail("training_mode = true is not supported");
        }
        if (outputs[1]) {
          // the mask output of Dropout: all ones in inference
          this.consts.set(outputs[1], { dims: h.shape, data: new Float64Array(numel(h.shape)).fill(1), int: true });
        }
        this.setHead(outputs[0], h.shape, h.producer, keep);
        return;
      }
      case "Relu":
        this.layers.push({ kind: "relu", name: this.layerName("relu", node) });
        this.setHead(outputs[0], h.shape, undefined, keep);
        return;
      case "Transpose": {
        const r = h.shape.length;
        const q = this.intsAttr(node, index, "perm", h.shape.map((_, i) => r - 1 - i));
        if (q.length !== r || q[0] !== 0 || [...q].sort((a, b) => a - b).some((v, i) => v !== i)) {
          fail(`perm [${q.join(", ")}] must permute the ${r} axes and keep the batch axis first`);
        }
        // compose with an earlier transpose; back to the IR's own layout clears it
        const base = h.layout ?? { canonical: h.shape, perm: h.shape.map((_, i) => i) };
        const perm = q.map((k) => base.perm[k]!);
        const layout = perm.every((v, i) => v === i) ? undefined : { canonical: base.canonical, perm };
        this.setHead(outputs[0], q.map((k) => h.shape[k]!), undefined, { layout });
        return;
      }
      case "Gemm": {
        if (!xFirst) fail("the activation must be input A");
        if (h.shape.length !== 2) fail(`input A must be a matrix [1, K], got [${h.shape.join(", ")}]; flatten first`);
        if (this.intAttr(node, index, "transA", 0) !== 0) fail("transA = 1 is not supported (supported: transA = 0)");
        const transB = this.intAttr(node, index, "transB", 0);
        const alpha = this.floatAttr(node, index, "alpha", 1);
        const beta = this.floatAttr(node, index, "beta", 1);
        const B = this.constIn(node, index, inputs[1], "input B");
        const K = h.shape[1]!;
        if (B.dims.length !== 2) fail(`input B must be 2-D, got [${B.dims.join(", ")}]`);
        const [b0, b1] = B.dims as [number, number];
        const N = transB ? b0 : b1;
        if ((transB ? b1 : b0) !== K) fail(`input B [${B.dims.join(", ")}] (transB = ${transB}) does not match K = ${K}`);
        const weight = new Float32Array(N * K);
        for (let n = 0; n < N; n++)
          for (let k = 0; k < K; k++) weight[n * K + k] = alpha * B.data[transB ? n * K + k : k * N + n]!;
        const bias = new Float32Array(N);
        if (inputs[2]) {
          const C = this.constIn(node, index, inputs[2], "input C");
          const cn = numel(C.dims);
          if (cn === N && C.dims.filter((d) => d !== 1).length <= 1 && (C.dims.length < 2 || C.dims[0] === 1 || N === 1)) {
            for (let n = 0; n < N; n++) bias[n] = beta * C.data[n]!;
          } else if (cn === 1) bias.fill(beta * C.data[0]!);
          else fail(`input C [${C.dims.join(", ")}] must broadcast to [1, ${N}]`);
        }
        this.pushDense(node, weight, bias, K, N, outputs[0]);
        return;
      }
      case "MatMul": {
        if (!xFirst) fail("the activation must be the first input (x @ W)");
        if (h.shape.length !== 2) fail(`input must be a matrix [1, K], got [${h.shape.join(", ")}]; flatten first`);
        const W = this.constIn(node, index, inputs[1], "input B");
        const K = h.shape[1]!;
        if (W.dims.length !== 2 || W.dims[0] !== K) fail(`weight [${W.dims.join(", ")}] must be [${K}, N]`);
        const N = W.dims[1]!;
        const weight = new Float32Array(N * K);
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) weight[n * K + k] = W.data[k * N + n]!;
        this.pushDense(node, weight, new Float32Array(N), K, N, outputs[0]);
        return;
      }
      case "Add": {
        const c = this.constIn(node, index, xFirst ? inputs[1] : inputs[0], "the other operand");
        const layer = h.producer !== undefined ? this.layers[h.producer] : undefined;
        if (!layer || (layer.kind !== "dense" && layer.kind !== "conv")) {
          fail("adding a constant is supported only as the bias right after Gemm, MatMul or Conv");
        }
        const L = layer as DenseLayer | ConvLayer;
        const channels = L.kind === "dense" ? L.outFeatures : L.outChannels;
        const cn = numel(c.dims);
        // bias must vary along the channel/feature axis only: [N], [1,N] for dense; [C,1,1], [1,C,1,1] for conv; or a scalar
        const rankOk = L.kind === "dense"
          ? c.dims.length <= 2 && (c.dims.length < 2 || c.dims[0] === 1)
          : c.dims.length >= 3 && c.dims.slice(-2).every((d) => d === 1) && (c.dims.length === 3 || c.dims[0] === 1);
        if (cn === 1) for (let i = 0; i < channels; i++) L.bias[i]! += c.data[0]!;
        else if (cn === channels && rankOk) for (let i = 0; i < channels; i++) L.bias[i]! += c.data[i]!;
        else fail(`constant of shape [${c.dims.join(", ")}] is not a per-${L.kind === "dense" ? "feature" : "channel"} bias for ${L.name}`);
        this.setHead(outputs[0], h.shape, h.producer);
        return;
      }
      case "Conv": {
        if (!xFirst) fail("the activation must be input X");
        if (h.shape.length !== 4) fail(`only 2-D convolution on [1, C, H, W] is supported, input is [${h.shape.join(", ")}]`);
        const W = this.constIn(node, index, inputs[1], "weight W");
        if (W.dims.length !== 4) fail(`weight must be [M, C, kH, kW], got [${W.dims.join(", ")}]`);
        const [M, C, kH, kW] = W.dims as [number, number, number, number];
        const group = this.intAttr(node, index, "group", 1);
        if (group !== 1) fail(`group = ${group} is not supported (supported: group = 1)`);
        if (C !== h.shape[1]) fail(`weight has ${C} input channels, the activation has ${h.shape[1]}`);
        const ks = this.intsAttr(node, index, "kernel_shape", [kH, kW]);
        if (ks[0] !== kH || ks[1] !== kW) fail(`kernel_shape [${ks.join(", ")}] does not match the weight [${kH}, ${kW}]`);
        const dil = this.intsAttr(node, index, "dilations", [1, 1]);
        if (dil.some((d) => d !== 1)) fail(`dilations [${dil.join(", ")}] are not supported (supported: 1)`);
        const stride = this.intsAttr(node, index, "strides", [1, 1]) as [number, number];
        const pads = this.pads(node, index, [kH, kW], stride, h.shape);
        const bias = new Float32Array(M);
        if (inputs[2]) {
          const B = this.constIn(node, index, inputs[2], "bias B");
          if (numel(B.dims) !== M) fail(`bias has ${numel(B.dims)} values, expected ${M}`);
          bias.set(B.data);
        }
        const layer: ConvLayer = {
          kind: "conv", name: this.layerName("conv", node), inChannels: C, outChannels: M,
          kernel: [kH, kW], stride, pads, weight: Float32Array.from(W.data), bias,
        };
        this.layers.push(layer);
        const oh = Math.floor((h.shape[2]! + pads[0] + pads[2] - kH) / stride[0]) + 1;
        const ow = Math.floor((h.shape[3]! + pads[1] + pads[3] - kW) / stride[1]) + 1;
        if (oh < 1 || ow < 1) fail("kernel larger than the padded input");
        this.setHead(outputs[0], [1, M, oh, ow], this.layers.length - 1);
        return;
      }
      case "MaxPool":
      case "AveragePool": {
        if (h.shape.length !== 4) fail(`only 2-D pooling on [1, C, H, W] is supported, input is [${h.shape.join(", ")}]`);
        if (outputs[1]) fail("the Indices output is not supported");
        const k = this.intsAttr(node, index, "kernel_shape", []) as [number, number];
        if (k.length !== 2) fail("kernel_shape must have 2 values");
        if (this.intAttr(node, index, "ceil_mode", 0) !== 0) fail("ceil_mode = 1 is not supported (supported: 0)");
        const dil = this.intsAttr(node, index, "dilations", [1, 1]);
        if (dil.some((d) => d !== 1)) fail(`dilations [${dil.join(", ")}] are not supported (supported: 1)`);
        const stride = this.intsAttr(node, index, "strides", [1, 1]) as [number, number];
        const pads = this.pads(node, index, k, stride, h.shape);
        if (op === "AveragePool" && pads.some((p) => p !== 0) && this.intAttr(node, index, "count_include_pad", 0) !== 1) {
          fail("padding with count_include_pad = 0 is not supported (supported: no padding, or count_include_pad = 1)");
        }
        this.layers.push({ kind: op === "MaxPool" ? "maxpool" : "avgpool", name: this.layerName(op === "MaxPool" ? "maxpool" : "avgpool", node), kernel: [k[0], k[1]], stride, pads });
        const oh = Math.floor((h.shape[2]! + pads[0] + pads[2] - k[0]) / stride[0]) + 1;
        const ow = Math.floor((h.shape[3]! + pads[1] + pads[3] - k[1]) / stride[1]) + 1;
        if (oh < 1 || ow < 1) fail("kernel larger than the padded input");
        this.setHead(outputs[0], [1, h.shape[1]!, oh, ow]);
        return;
      }
      case "GlobalAveragePool": {
        if (h.shape.length !== 4) fail(`input must be [1, C, H, W], got [${h.shape.join(", ")}]`);
        const [, c, hh, ww] = h.shape as [number, number, number, number];
        this.layers.push({ kind: "avgpool", name: this.layerName("avgpool", node), kernel: [hh, ww], stride: [1, 1], pads: [0, 0, 0, 0] });
        this.setHead(outputs[0], [1, c, 1, 1]);
        return;
      }
      case "Flatten": {
        const axis = this.intAttr(node, index, "axis", 1);
        if (axis !== 1 && !(axis === -1 && h.shape.length === 2)) fail(`axis = ${axis} is not supported (supported: 1, keeping the batch axis)`);
        this.flattenTo(node, outputs[0]);
        return;
      }
      case "Reshape": {
        if (!xFirst) fail("the activation must be the data input");
        const target = this.constIn(node, index, inputs[1], "the shape input");
        const allowzero = this.intAttr(node, index, "allowzero", 0);
        const total = numel(h.shape);
        const dims = Array.from(target.data, (d, i) => (d === 0 && !allowzero ? h.shape[i]! : d));
        const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        const shape = dims.map((d) => (d === -1 ? total / known : d));
        if (dims.filter((d) => d === -1).length > 1 || numel(shape) !== total || !shape.every(Number.isInteger)) {
          fail(`cannot reshape [${h.shape.join(", ")}] to [${Array.from(target.data).join(", ")}]`);
        }
        if (shape.length === h.shape.length && shape.every((d, i) => d === h.shape[i])) {
          this.setHead(outputs[0], h.shape, h.producer, keep);
        } else if (shape.length === 2 && shape[0] === 1) {
          this.flattenTo(node, outputs[0]);
        } else {
          fail(`reshape of [${h.shape.join(", ")}] to [${shape.join(", ")}] is not supported (supported: flatten to [batch, -1])`);
        }
        return;
      }
      case "BatchNormalization": {
        if (!xFirst) fail("the activation must be input X");
        if (outputs.slice(1).some((o) => o)) fail("training outputs (running mean/var) are not supported");
        if (this.intAttr(node, index, "training_mode", 0) !== 0) fail("training_mode = 1 is not supported");
        if (this.intAttr(node, index, "spatial", 1) !== 1) fail("spatial = 0 is not supported");
        const eps = this.floatAttr(node, index, "epsilon", 1e-5);
        const layer = h.producer !== undefined ? this.layers[h.producer] : undefined;
        if (!layer || (layer.kind !== "dense" && layer.kind !== "conv")) {
          fail("BatchNormalization is supported only right after Conv, Gemm or MatMul (it is folded into their weights)");
        }
        const L = layer as DenseLayer | ConvLayer;
        const channels = L.kind === "dense" ? L.outFeatures : L.outChannels;
        const [scale, beta, mean, variance] = [1, 2, 3, 4].map((i) => {
          const c = this.constIn(node, index, inputs[i], `input ${["", "scale", "B", "mean", "var"][i]}`);
          if (numel(c.dims) !== channels) fail(`parameter ${inputs[i]} has ${numel(c.dims)} values, expected ${channels}`);
          return c.data;
        }) as [Float64Array, Float64Array, Float64Array, Float64Array];
        const per = L.weight.length / channels;
        for (let ch = 0; ch < channels; ch++) {
          const s = scale[ch]! / Math.sqrt(variance[ch]! + eps);
          for (let j = 0; j < per; j++) L.weight[ch * per + j] = L.weight[ch * per + j]! * s;
          L.bias[ch] = (L.bias[ch]! - mean[ch]!) * s + beta[ch]!;
        }
        this.setHead(outputs[0], h.shape, h.producer);
        return;
      }
      case "ArgMax": {
        const axis = this.intAttr(node, index, "axis", 0);
        if (h.shape.length !== 2 || (axis !== 1 && axis !== -1)) {
          fail(`only ArgMax over the features of [1, N] (axis = 1) is supported, input [${h.shape.join(", ")}], axis ${axis}`);
        }
        if (this.intAttr(node, index, "select_last_index", 0) !== 0) fail("select_last_index = 1 is not supported (supported: 0)");
        this.layers.push({ kind: "argmax", name: this.layerName("argmax", node) });
        const keep = this.intAttr(node, index, "keepdims", 1);
        this.setHead(outputs[0], keep ? [1, 1] : [1]);
        return;
      }
      default:
        fail(`operator ${op} is not supported on activations (supported: ${ACTIVATION_OPS.join(", ")})`);
    }
  }

  private pushDense(node: NodeMsg, weight: Float32Array, bias: Float32Array, K: number, N: number, output?: string): void {
    const order = this.head.order;
    if (order) {
      // the input arrives in the ONNX (transposed) order: move each weight column to the IR element it multiplies
      const reordered = new Float32Array(weight.length);
      for (let n = 0; n < N; n++) for (let j = 0; j < K; j++) reordered[n * K + order[j]!] = weight[n * K + j]!;
      weight = reordered;
    }
    this.layers.push({ kind: "dense", name: this.layerName("dense", node), inFeatures: K, outFeatures: N, weight, bias });
    this.setHead(output, [1, N], this.layers.length - 1);
  }

  private flattenTo(node: NodeMsg, output?: string): void {
    const h = this.head;
    if (h.layout) {
      // the IR flattens its own [C, H, W] order; remember where each element of the ONNX order lands
      const { canonical, perm } = h.layout;
      const dims = perm.map((k) => canonical[k]!);
      const strides = canonical.map((_, i) => numel(canonical.slice(i + 1)));
      const n = numel(dims);
      const order = new Int32Array(n);
      const idx = new Array<number>(dims.length).fill(0);
      for (let j = 0; j < n; j++) {
        let i = 0;
        for (let a = 0; a < dims.length; a++) i += idx[a]! * strides[perm[a]!]!;
        order[j] = i;
        for (let a = dims.length - 1; a >= 0; a--) {
          if (++idx[a]! < dims[a]!) break;
          idx[a] = 0;
        }
      }
      if (canonical.length > 2) this.layers.push({ kind: "flatten", name: this.layerName("flatten", node) });
      this.setHead(output, [1, n], undefined, { order });
      return;
    }
    if (h.shape.length > 2) this.layers.push({ kind: "flatten", name: this.layerName("flatten", node) });
    this.setHead(output, [1, numel(h.shape.slice(1))], h.shape.length > 2 ? undefined : h.producer);
  }

  /** Explicit pads or auto_pad resolved against the input size, as [top, left, bottom, right]. */
  private pads(node: NodeMsg, index: number, k: number[], stride: number[], shape: number[]): [number, number, number, number] {
    const autoPad = this.stringAttr(node, index, "auto_pad", "NOTSET");
    if (autoPad === "NOTSET") {
      const p = this.intsAttr(node, index, "pads", [0, 0, 0, 0]);
      if (p.length !== 4 || p.some((x) => x < 0)) throw this.nodeError(node, index, `pads [${p.join(", ")}] must be 4 non-negative values`);
      return p as [number, number, number, number];
    }
    if (autoPad === "VALID") return [0, 0, 0, 0];
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      const begin: number[] = [];
      const end: number[] = [];
      for (let a = 0; a < 2; a++) {
        const size = shape[2 + a]!;
        const out = Math.ceil(size / stride[a]!);
        const total = Math.max((out - 1) * stride[a]! + k[a]! - size, 0);
        const small = Math.floor(total / 2);
        begin.push(autoPad === "SAME_UPPER" ? small : total - small);
        end.push(autoPad === "SAME_UPPER" ? total - small : small);
      }
      return [begin[0]!, begin[1]!, end[0]!, end[1]!];
    }
    throw this.nodeError(node, index, `auto_pad = ${autoPad} is not supported (supported: NOTSET, VALID, SAME_UPPER, SAME_LOWER)`);
  }

  // --- attributes ----------------------------------------------------------------------------------------------

  private static readonly knownAttrs: Record<string, string[]> = {
    Identity: [], Dropout: ["ratio", "seed", "is_test"], Relu: [],
    Gemm: ["alpha", "beta", "transA", "transB", "broadcast"], MatMul: [], Add: ["axis", "broadcast"],
    Conv: ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"],
    MaxPool: ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"],
    AveragePool: ["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"],
    GlobalAveragePool: [], Flatten: ["axis"], Reshape: ["allowzero"], Transpose: ["perm"],
    BatchNormalization: ["epsilon", "momentum", "spatial", "training_mode", "is_test"],
    ArgMax: ["axis", "keepdims", "select_last_index"],
  };

  private checkAttrs(node: NodeMsg, index: number, op: string): void {
    const known = Importer.knownAttrs[op];
    if (!known) return;
    for (const a of node.attribute ?? []) {
      if (!known.includes(a.name ?? "")) {
        throw this.nodeError(node, index, `attribute ${a.name} is not supported (supported: ${known.join(", ") || "none"})`);
      }
    }
  }

  private attr(node: NodeMsg, name: string): AttributeMsg | undefined {
    return (node.attribute ?? []).find((a) => a.name === name);
  }

  private intAttr(node: NodeMsg, index: number, name: string, dflt: number): number {
    const a = this.attr(node, name);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== AttributeType.INT) throw this.nodeError(node, index, `attribute ${name} must be an integer`);
    return a.i ?? 0;
  }

  private floatAttr(node: NodeMsg, index: number, name: string, dflt: number): number {
    const a = this.attr(node, name);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== AttributeType.FLOAT) throw this.nodeError(node, index, `attribute ${name} must be a float`);
    return a.f ?? 0;
  }

  private intsAttr(node: NodeMsg, index: number, name: string, dflt: number[]): number[] {
    const a = this.attr(node, name);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== AttributeType.INTS) throw this.nodeError(node, index, `attribute ${name} must be a list of integers`);
    return a.ints ?? [];
  }

  private stringAttr(node: NodeMsg, index: number, name: string, dflt: string): string {
    const a = this.attr(node, name);
    if (!a) return dflt;
    if (a.type !== undefined && a.type !== AttributeType.STRING) throw this.nodeError(node, index, `attribute ${name} must be a string`);
    return new TextDecoder().decode(a.s ?? new Uint8Array());
  }

  // --- constant folding ----------------------------------------------------------------------------------------

  private fold(node: NodeMsg, index: number, inputs: string[], outputs: string[]): void {
    const op = node.opType ?? "";
    const fail = (why: string): never => {
      throw this.nodeError(node, index, why);
    };
    const c = (i: number): Const => this.constIn(node, index, inputs[i], `input ${i + 1}`);
    const set = (v: Const) => this.consts.set(outputs[0]!, v);
    const axisOf = (a: number, rank: number) => (a < 0 ? a + rank : a);
    switch (op) {
      case "Constant": {
        const a = (node.attribute ?? [])[0];
        if (!a) fail("has no value attribute");
        const v = a!;
        if (v.name === "value" && v.t) set(this.tensor(v.t, `node ${this.label(node, index)} value`));
        else if (v.name === "value_float") set({ dims: [], data: Float64Array.of(v.f ?? 0), int: false });
        else if (v.name === "value_floats") set({ dims: [v.floats!.length], data: Float64Array.from(v.floats!), int: false });
        else if (v.name === "value_int") set({ dims: [], data: Float64Array.of(v.i ?? 0), int: true });
        else if (v.name === "value_ints") set({ dims: [v.ints!.length], data: Float64Array.from(v.ints!), int: true });
        else fail(`attribute ${v.name} is not supported (supported: value, value_float(s), value_int(s))`);
        return;
      }
      case "Identity":
      case "Dropout":
        set(c(0));
        return;
      case "Shape": {
        const x = c(0);
        set({ dims: [x.dims.length], data: Float64Array.from(x.dims), int: true });
        return;
      }
      case "Cast": {
        const to = this.intAttr(node, index, "to", DataType.FLOAT);
        const x = c(0);
        const int = to !== DataType.FLOAT && to !== DataType.DOUBLE && to !== DataType.FLOAT16;
        set({ dims: x.dims, data: int ? x.data.map(Math.trunc) : x.data.slice(), int });
        return;
      }
      case "Gather": {
        const data = c(0);
        const idx = c(1);
        const r = data.dims.length;
        const axis = axisOf(this.intAttr(node, index, "axis", 0), r);
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
        set({ dims: [...data.dims.slice(0, axis), ...idx.dims, ...data.dims.slice(axis + 1)], data: Float64Array.from(out), int: data.int });
        return;
      }
      case "Unsqueeze":
      case "Squeeze": {
        const x = c(0);
        const axesList = inputs[1] ? Array.from(c(1).data) : this.intsAttr(node, index, "axes", []);
        let dims = [...x.dims];
        if (op === "Unsqueeze") {
          const rank = dims.length + axesList.length;
          for (const a of axesList.map((a) => axisOf(a, rank)).sort((p, q) => p - q)) dims.splice(a, 0, 1);
        } else {
          const rank = dims.length;
          const drop = axesList.length ? axesList.map((a) => axisOf(a, rank)) : dims.map((d, i) => (d === 1 ? i : -1));
          dims = dims.filter((_, i) => !drop.includes(i));
        }
        set({ dims, data: x.data, int: x.int });
        return;
      }
      case "Concat": {
        const parts = inputs.map((_, i) => c(i));
        const r = parts[0]!.dims.length;
        const axis = axisOf(this.intAttr(node, index, "axis", 0), r);
        const outer = numel(parts[0]!.dims.slice(0, axis));
        const out: number[] = [];
        for (let o = 0; o < outer; o++)
          for (const p of parts) {
            const chunk = numel(p.dims.slice(axis));
            for (let j = 0; j < chunk; j++) out.push(p.data[o * chunk + j]!);
          }
        const dims = [...parts[0]!.dims];
        dims[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
        set({ dims, data: Float64Array.from(out), int: parts[0]!.int });
        return;
      }
      case "Slice": {
        const x = c(0);
        if (x.dims.length !== 1) fail("constant Slice is supported on 1-D tensors only");
        const starts = inputs[1] ? Array.from(c(1).data) : this.intsAttr(node, index, "starts", []);
        const ends = inputs[2] ? Array.from(c(2).data) : this.intsAttr(node, index, "ends", []);
        const step = inputs[4] ? c(4).data[0]! : 1;
        const n = x.dims[0]!;
        const clamp = (v: number) => Math.max(0, Math.min(n, v < 0 ? v + n : v));
        const out: number[] = [];
        if (step > 0) for (let i = clamp(starts[0]!); i < clamp(ends[0]!); i += step) out.push(x.data[i]!);
        else fail("negative Slice steps are not supported");
        set({ dims: [out.length], data: Float64Array.from(out), int: x.int });
        return;
      }
      case "Transpose": {
        const x = c(0);
        const r = x.dims.length;
        const perm = this.intsAttr(node, index, "perm", x.dims.map((_, i) => r - 1 - i));
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
        set({ dims, data: out, int: x.int });
        return;
      }
      case "Reshape": {
        const x = c(0);
        const target = Array.from(c(1).data, (d, i) => (d === 0 ? x.dims[i]! : d));
        const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        set({ dims: target.map((d) => (d === -1 ? x.data.length / known : d)), data: x.data, int: x.int });
        return;
      }
      case "ConstantOfShape": {
        const shape = Array.from(c(0).data);
        const a = this.attr(node, "value");
        const v = a?.t ? this.tensor(a.t, "value") : { data: Float64Array.of(0), int: false, dims: [1] };
        set({ dims: shape, data: new Float64Array(numel(shape)).fill(v.data[0] ?? 0), int: v.int });
        return;
      }
      case "Add":
      case "Sub":
      case "Mul":
      case "Div": {
        const a = c(0);
        const b = c(1);
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
        set({ dims: a.data.length >= b.data.length ? a.dims : b.dims, data: out, int });
        return;
      }
      default:
        fail(`operator ${op} is not supported on constants (foldable: ${FOLDED_OPS.join(", ")})`);
    }
  }
}
