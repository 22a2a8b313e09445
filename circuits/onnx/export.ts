// ONNX exporter: writes the float IR as a .onnx file shaped like PyTorch's torch.onnx.export (or tf2onnx) output.
import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import type { FloatModel } from "../ir/ir.ts";
import { layerShapes } from "../ir/ir.ts";
import { AttributeType, DataType, encodeModel } from "./proto.ts";
import type { AttributeMsg, ModelMsg, NodeMsg, TensorMsg, ValueInfoMsg } from "./proto.ts";

// --- attribute helpers -----------------------------------------------------------------------------------------

export const attrInt = (name: string, i: number): AttributeMsg => ({ name, type: AttributeType.INT, i });
export const attrInts = (name: string, ints: number[]): AttributeMsg => ({ name, type: AttributeType.INTS, ints });
export const attrFloat = (name: string, f: number): AttributeMsg => ({ name, type: AttributeType.FLOAT, f });
export const attrString = (name: string, s: string): AttributeMsg => ({ name, type: AttributeType.STRING, s: new TextEncoder().encode(s) });
export const attrTensor = (name: string, t: TensorMsg): AttributeMsg => ({ name, type: AttributeType.TENSOR, t });

/** A float32 tensor with its data in raw_data (little-endian), as PyTorch writes initializers. */
export function floatTensor(name: string, dims: number[], data: ArrayLike<number>): TensorMsg {
  const f = Float32Array.from(data);
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(f.buffer) };
}

/** An int64 tensor in raw_data. */
export function int64Tensor(name: string, dims: number[], data: number[]): TensorMsg {
  const v = BigInt64Array.from(data.map((d) => BigInt(d)));
  return { name, dims, dataType: DataType.INT64, rawData: new Uint8Array(v.buffer) };
}

/** Batch axis of graph inputs/outputs: a symbolic name (dynamic, PyTorch's dynamic_axes) or a fixed size. */
export type BatchDim = string | number;

function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfoMsg {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** Builds one ONNX graph node by node; the exporter and the test fixtures use it. */
export class OnnxGraphBuilder {
  readonly nodes: NodeMsg[] = [];
  readonly initializers: TensorMsg[] = [];
  readonly inputs: ValueInfoMsg[] = [];
  readonly outputs: ValueInfoMsg[] = [];
  private constants = 0;

  constructor(
    readonly opset = 17,
    readonly graphName = "main_graph",
  ) {}

  input(name: string, dims: (number | string)[], elemType: number = DataType.FLOAT): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, dims: (number | string)[], elemType: number = DataType.FLOAT): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  initializer(t: TensorMsg): string {
    this.initializers.push(t);
    return t.name!;
  }

  /** Add a node; returns its first output name. PyTorch names outputs `<node name>_output_<i>`. */
  node(opType: string, name: string, inputs: string[], attribute: AttributeMsg[] = [], outputs?: string[]): string {
    const outs = outputs ?? [`${name}_output_0`];
    this.nodes.push({ name, opType, input: inputs, output: outs, attribute });
    return outs[0]!;
  }

  /** A Constant node holding an int64 tensor, named like PyTorch's `/Constant_<k>`. */
  constInt64(values: number[], dims: number[] = [values.length], scope = ""): string {
    const k = this.constants++;
    const name = `${scope}/Constant${k === 0 ? "" : `_${k}`}`;
    return this.node("Constant", name, [], [attrTensor("value", int64Tensor("", dims, values))]);
  }

  /** Unsqueeze with axes as an attribute (opset < 13) or as an input (opset >= 13). */
  unsqueeze(name: string, x: string, axes: number[], scope = ""): string {
    if (this.opset < 13) return this.node("Unsqueeze", name, [x], [attrInts("axes", axes)]);
    return this.node("Unsqueeze", name, [x, this.constInt64(axes, [axes.length], scope)]);
  }

  toModel(producer = { name: "ozk", version: "0.1.0" }): ModelMsg {
    return {
      irVersion: this.opset >= 15 ? 8 : this.opset >= 13 ? 7 : 6,
      producerName: producer.name,
      producerVersion: producer.version,
      opsetImport: [{ domain: "", version: this.opset }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }

  /**
   * Serialize. With `externalData`, initializers of at least `minBytes` move to that side file
   * (data_location = EXTERNAL with location/offset/length), as onnx.save(save_as_external_data=True) does.
   */
  encode(options: { externalData?: { location: string; minBytes?: number; align?: number } } = {}): { onnx: Uint8Array; data?: Uint8Array } {
    const model = this.toModel();
    const ext = options.externalData;
    if (!ext) return { onnx: encodeModel(model) };
    const chunks: Uint8Array[] = [];
    let offset = 0;
    const align = ext.align ?? 64;
    model.graph!.initializer = model.graph!.initializer!.map((t) => {
      const raw = t.rawData;
      if (!raw || raw.length < (ext.minBytes ?? 1024)) return t;
      const pad = (align - (offset % align)) % align;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      chunks.push(raw);
      const entry = {
        ...t,
        rawData: undefined,
        dataLocation: 1,
        externalData: [
          { key: "location", value: ext.location },
          { key: "offset", value: String(offset) },
          { key: "length", value: String(raw.length) },
        ],
      };
      delete entry.rawData;
      offset += raw.length;
      return entry;
    });
    const data = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) {
      data.set(c, at);
      at += c.length;
    }
    return { onnx: encodeModel(model), data };
  }
}

// --- IR export -------------------------------------------------------------------------------------------------

export interface ExportOptions {
  /** Default opset 17, as torch.onnx.export in PyTorch 2.x. */
  opset?: number;
  /**
   * How flattening is written:
   * "shape-pattern": Shape -> Gather -> Unsqueeze -> Concat -> Reshape, what x.view(x.size(0), -1) exports;
   * "flatten": a Flatten node (torch.flatten(x, 1)); "reshape": Reshape to a constant [-1, N] (tf2onnx).
   */
  flatten?: "shape-pattern" | "flatten" | "reshape";
  /** "gemm": Gemm with transB = 1 (nn.Linear); "matmul-add": MatMul by [K, N] then Add (tf2onnx, PyTorch without bias fusion). */
  dense?: "gemm" | "matmul-add";
  /** Batch axis of input and output: symbolic (default "batch_size") or fixed. */
  batch?: BatchDim;
  /** Write each BatchNormalization's parameters after the named conv/dense layer (the layer's weights are left as given). */
  batchNorm?: Record<string, { scale: Float32Array; bias: Float32Array; mean: Float32Array; variance: Float32Array; epsilon?: number }>;
  /** Insert a Dropout (inference no-op) after the named layers, as nn.Dropout exports. */
  dropoutAfter?: string[];
}

/** Build the ONNX graph for a float model. Layer names become PyTorch-style scopes: `/fc1/Gemm`, `fc1.weight`. */
export function buildOnnxGraph(model: FloatModel, options: ExportOptions = {}): OnnxGraphBuilder {
  const opset = options.opset ?? 17;
  const g = new OnnxGraphBuilder(opset);
  const batch = options.batch ?? "batch_size";
  const shapes = layerShapes(model);
  let x = g.input(model.inputName, [batch, ...model.inputShape]);
  let shape = model.inputShape;
  const last = model.layers.length - 1;
  model.layers.forEach((layer, i) => {
    const scope = `/${layer.name}`;
    const outName = i === last ? model.outputName : undefined;
    const outs = outName ? [outName] : undefined;
    switch (layer.kind) {
      case "conv": {
        const w = g.initializer(floatTensor(`${layer.name}.weight`, [layer.outChannels, layer.inChannels, ...layer.kernel], layer.weight));
        const b = g.initializer(floatTensor(`${layer.name}.bias`, [layer.outChannels], layer.bias));
        const bn = options.batchNorm?.[layer.name];
        x = g.node("Conv", `${scope}/Conv`, [x, w, b], [
          attrInts("dilations", [1, 1]), attrInt("group", 1), attrInts("kernel_shape", layer.kernel),
          attrInts("pads", layer.pads), attrInts("strides", layer.stride),
        ], bn ? undefined : outs);
        if (bn) x = batchNorm(g, `${layer.name}_bn`, x, bn, outs);
        break;
      }
      case "dense": {
        const bn = options.batchNorm?.[layer.name];
        const o = bn ? undefined : outs;
        if ((options.dense ?? "gemm") === "gemm") {
          const w = g.initializer(floatTensor(`${layer.name}.weight`, [layer.outFeatures, layer.inFeatures], layer.weight));
          const b = g.initializer(floatTensor(`${layer.name}.bias`, [layer.outFeatures], layer.bias));
          x = g.node("Gemm", `${scope}/Gemm`, [x, w, b], [attrFloat("alpha", 1), attrFloat("beta", 1), attrInt("transB", 1)], o);
        } else {
          const K = layer.inFeatures;
          const N = layer.outFeatures;
          const wt = new Float32Array(K * N);
          for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wt[k * N + n] = layer.weight[n * K + k]!;
          const w = g.initializer(floatTensor(`${layer.name}/kernel`, [K, N], wt));
          const b = g.initializer(floatTensor(`${layer.name}/bias`, [N], layer.bias));
          x = g.node("MatMul", `${scope}/MatMul`, [x, w]);
          x = g.node("Add", `${scope}/Add`, [x, b], [], o);
        }
        if (bn) x = batchNorm(g, `${layer.name}_bn`, x, bn, outs);
        break;
      }
      case "relu":
        x = g.node("Relu", `${scope}/Relu`, [x], [], outs);
        break;
      case "maxpool":
      case "avgpool": {
        const attrs = [attrInts("kernel_shape", layer.kernel), attrInts("pads", layer.pads), attrInts("strides", layer.stride)];
        if (layer.kind === "maxpool") {
          x = g.node("MaxPool", `${scope}/MaxPool`, [x], [attrInt("ceil_mode", 0), ...attrs], outs);
        } else {
          x = g.node("AveragePool", `${scope}/AveragePool`, [x], [attrInt("ceil_mode", 0), attrInt("count_include_pad", 1), ...attrs], outs);
        }
        break;
      }
      case "flatten": {
        const style = options.flatten ?? "shape-pattern";
        const n = shape.reduce((a, b) => a * b, 1);
        if (style === "flatten") {
          x = g.node("Flatten", `${scope}/Flatten`, [x], [attrInt("axis", 1)], outs);
        } else if (style === "reshape") {
          const target = g.initializer(int64Tensor(`${layer.name}/shape`, [2], [-1, n]));
          x = g.node("Reshape", `${scope}/Reshape`, [x, target], opset >= 14 ? [attrInt("allowzero", 0)] : [], outs);
        } else {
          const shapeOut = g.node("Shape", `${scope}/Shape`, [x]);
          const zero = g.constInt64([0], [], scope);
          const batchSize = g.node("Gather", `${scope}/Gather`, [shapeOut, zero], [attrInt("axis", 0)]);
          const unsq = g.unsqueeze(`${scope}/Unsqueeze`, batchSize, [0], scope);
          const minus1 = g.constInt64([-1], [1], scope);
          const target = g.node("Concat", `${scope}/Concat`, [unsq, minus1], [attrInt("axis", 0)]);
          x = g.node("Reshape", `${scope}/Reshape`, [x, target], opset >= 14 ? [attrInt("allowzero", 0)] : [], outs);
        }
        break;
      }
      case "argmax":
        x = g.node("ArgMax", `${scope}/ArgMax`, [x], [attrInt("axis", 1), attrInt("keepdims", 1), attrInt("select_last_index", 0)], outs);
        break;
    }
    if (options.dropoutAfter?.includes(layer.name) && i !== last) {
      x = g.node("Dropout", `/${layer.name}_dropout/Dropout`, [x]);
    }
    shape = shapes[i]!;
  });
  const final = model.layers[last];
  if (final?.kind === "argmax") g.output(model.outputName, [batch, 1], DataType.INT64);
  else g.output(model.outputName, [batch, ...shape]);
  return g;
}

function batchNorm(
  g: OnnxGraphBuilder,
  name: string,
  x: string,
  p: NonNullable<ExportOptions["batchNorm"]>[string],
  outs?: string[],
): string {
  const c = p.scale.length;
  const ins = [
    g.initializer(floatTensor(`${name}.weight`, [c], p.scale)),
    g.initializer(floatTensor(`${name}.bias`, [c], p.bias)),
    g.initializer(floatTensor(`${name}.running_mean`, [c], p.mean)),
    g.initializer(floatTensor(`${name}.running_var`, [c], p.variance)),
  ];
  return g.node("BatchNormalization", `/${name}/BatchNormalization`, [x, ...ins], [
    attrFloat("epsilon", p.epsilon ?? 1e-5), attrFloat("momentum", 0.9),
  ], outs);
}

/** Serialize a float model to ONNX bytes (and the external data file's bytes when asked). */
export function exportOnnx(
  model: FloatModel,
  options: ExportOptions & { externalData?: { location: string; minBytes?: number } } = {},
): { onnx: Uint8Array; data?: Uint8Array } {
  return buildOnnxGraph(model, options).encode({ externalData: options.externalData });
}

/**
 * Write a float model to `path`; with `externalData`, initializers of at least `minBytes` (default 1024) go to
 * `<file>.data` beside it.
 */
export function writeOnnx(
  path: string,
  model: FloatModel,
  options: ExportOptions & { externalData?: boolean | { minBytes: number } } = {},
): void {
  const location = `${basename(path)}.data`;
  const ext = options.externalData;
  const externalData = ext ? { location, minBytes: typeof ext === "object" ? ext.minBytes : 1024 } : undefined;
  const { onnx, data } = exportOnnx(model, { ...options, externalData });
  writeFileSync(path, onnx);
  if (data) writeFileSync(`${path}.data`, data);
}
