// ONNX importer: reads a PyTorch- or tf2onnx-style .onnx file (opsets 9-21, external data) into the float IR.
// This entry validates the graph and walks its nodes; tensors.ts decodes tensor data, attributes.ts reads
// attributes, operators.ts turns nodes on the current tensor into layers, fold.ts evaluates constant nodes.
import { readFileSync } from "node:fs";
import { basename, dirname, normalize, relative, resolve } from "node:path";
import type { FloatModel } from "../ir/ir.ts";
import { layerShapes } from "../ir/ir.ts";
import { Attributes } from "./attributes.ts";
import { LayerChain } from "./layers.ts";
import { nodeError, OnnxImportError } from "./errors.ts";
import { FOLDED_OPS, foldNode } from "./fold.ts";
import { applyLayerOp, LAYER_OPS } from "./operators.ts";
import { DataType, decodeModel } from "./proto.ts";
import type { GraphMsg, ModelMsg, NodeMsg, TensorMsg } from "./proto.ts";
import { decodeTensor, externalDataPath } from "./tensors.ts";
import type { Const } from "./tensors.ts";

export { OnnxImportError } from "./errors.ts";
export { FOLDED_OPS } from "./fold.ts";
export { LAYER_OPS } from "./operators.ts";
/** @deprecated the former name of LAYER_OPS (operators on the current tensor). */
export const ACTIVATION_OPS = LAYER_OPS;

/** Every operator the importer handles somewhere: on the activation (LAYER_OPS) or on constants (FOLDED_OPS). */
const KNOWN_OPS = new Set<string>([...LAYER_OPS, ...FOLDED_OPS]);
/** Operators that turn logits into probabilities: the circuit proves the logits, whose top-1 class is the same. */
const PROBABILITY_OPS = new Set(["Softmax", "LogSoftmax"]);

/** The ONNX opsets both importers (sequential and graph) read. */
export const MIN_OPSET = 9;
export const MAX_OPSET = 21;

export interface ImportOptions {
  /** Model name for the IR; defaults to the folder name for `model.onnx`, else the file stem. */
  name?: string;
  /** Folder that external-data locations are relative to (defaults to the model file's folder). */
  baseDir?: string;
}

/** Read and import an .onnx file; external data is resolved next to it. */
export function importOnnxFile(path: string, options: ImportOptions = {}): FloatModel {
  return importFileWith(path, options, importOnnx);
}

/**
 * Reads an .onnx file and imports it with `importBytes` (the sequential importer or the graph importer): the model is
 * named after its folder for `model.onnx`, else the file stem; external data resolves next to the file; an import
 * error names the file.
 */
export function importFileWith<T>(path: string, options: ImportOptions, importBytes: (bytes: Uint8Array, options: ImportOptions) => T): T {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new OnnxImportError(`cannot read ${path}: ${(err as Error).message}`, { file: path });
  }
  const stem = basename(path).replace(/\.onnx$/i, "");
  const name = options.name ?? (stem === "model" ? basename(dirname(resolve(path))) : stem);
  try {
    return importBytes(bytes, { name, baseDir: options.baseDir ?? dirname(resolve(path)) });
  } catch (err) {
    if (err instanceof OnnxImportError) {
      err.message = `${path}: ${err.message}`;
      err.details.file = path;
    }
    throw err;
  }
}

/** The external-data files an .onnx file's initializers name (relative paths, as stored; none for a self-contained file). */
export function externalDataFiles(path: string): string[] {
  let model: ModelMsg;
  try {
    model = decodeModel(readFileSync(path));
  } catch (err) {
    throw new OnnxImportError(`${path}: not a valid ONNX file (${(err as Error).message})`, { file: path });
  }
  const files = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    const location = t.dataLocation === 1 ? t.externalData?.find((e) => e.key === "location")?.value : undefined;
    // checked here, before anyone copies it: a hostile location must not reach outside the model's folder
    if (location) files.add(normalize(relative(dirname(path), externalDataPath(dirname(path), location, `${path}: initializer ${t.name ?? "?"}`))));
  }
  return [...files];
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

class Importer {
  private readonly graph: GraphMsg;
  private readonly opset: number;
  private readonly consts = new Map<string, Const>();
  private chain!: LayerChain;
  /** The final Softmax/LogSoftmax left out, if any. */
  private stripped: string | undefined;

  constructor(
    model: ModelMsg,
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
    // Operators first: a model the importer cannot take (an LSTM, say) is told so, not asked to fix its input shape.
    this.checkOperators();
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
    this.chain = new LayerChain({ name: input.name!, shape: [1, ...inputShape] }, this.consts);

    const outputs = this.graph.output ?? [];
    if (outputs.length !== 1) throw new OnnxImportError(`the graph must have exactly one output, found ${outputs.length}`);
    const outputName = outputs[0]!.name!;

    let sawArgmax = false;
    for (const [index, node] of (this.graph.node ?? []).entries()) {
      if (sawArgmax && (node.input ?? []).includes(this.chain.current.name)) {
        throw nodeError(node, index, "ArgMax must be the last operation on the activation");
      }
      this.visit(node, index);
      if (node.opType === "ArgMax") sawArgmax = true;
    }
    if (this.chain.current.name !== outputName) {
      throw new OnnxImportError(
        `graph output ${outputName} is not computed by the model's single chain of layers (which ends in ${this.chain.current.name})`,
      );
    }
    const result: FloatModel = {
      name: this.options.name ?? (this.graph.name || "model"),
      inputName: input.name!,
      inputShape,
      outputName,
      layers: this.chain.layers,
    };
    if (this.stripped) result.strippedOutputOp = this.stripped;
    try {
      layerShapes(result);
    } catch (err) {
      throw new OnnxImportError(`imported layers do not chain: ${(err as Error).message}`);
    }
    return result;
  }

  /** Whether node `index` is a Softmax/LogSoftmax the importer leaves out: the last node, computing the graph output,
   *  over axis 1 or -1 (shapes are checked once the chain reaches it: strip()). */
  private finalProbabilities(node: NodeMsg, index: number): boolean {
    const nodes = this.graph.node ?? [];
    const axis = node.attribute?.find((a) => a.name === "axis");
    const a = axis?.i === undefined ? (this.opset >= 13 ? -1 : 1) : Number(axis.i);
    const known = (node.attribute ?? []).every((x) => x.name === "axis");
    return index === nodes.length - 1 && node.output?.[0] === this.graph.output?.[0]?.name && (a === 1 || a === -1) && known;
  }

  /** The final Softmax/LogSoftmax over a [batch, n] activation: left out (argmax-preserving), and recorded. */
  private strip(node: NodeMsg, index: number, op: string): void {
    const cur = this.chain.current;
    if (cur.shape.length !== 2) {
      throw nodeError(node, index, `a final ${op} is left out only over a [batch, n] output, here [${cur.shape.join(", ")}]: export the model without it (logits)`);
    }
    this.chain.setCurrent(node.output?.[0], cur.shape, cur.producer, { layout: cur.layout, order: cur.order });
    this.stripped = op;
  }

  /** Every node's operator is one the importer handles; else an error naming the node, its operator and what is supported. */
  private checkOperators(): void {
    for (const [index, node] of (this.graph.node ?? []).entries()) {
      const op = node.opType ?? "";
      if (node.domain && node.domain !== "ai.onnx") throw nodeError(node, index, `operator domain "${node.domain}" is not supported (only the default ONNX domain)`);
      if (PROBABILITY_OPS.has(op)) {
        if (this.finalProbabilities(node, index)) continue;
        throw nodeError(
          node,
          index,
          `operator ${op} is supported only as the model's last operation, over the features of a [batch, n] output (where it is left ` +
            `out: ozk proves the logits, whose top-1 class is the same). Export the model without it: leave softmax out of forward(), ` +
            `or export nn.Sequential(*list(model.children())[:-1]) with torch.onnx.export, then build again`,
        );
      }
      if (!KNOWN_OPS.has(op)) {
        throw nodeError(node, index, `operator ${op} is not supported (supported: ${LAYER_OPS.join(", ")}; on constants only: ${FOLDED_OPS.filter((o) => !(LAYER_OPS as readonly string[]).includes(o)).join(", ")})`);
      }
    }
  }

  private tensor(t: TensorMsg, what: string): Const {
    return decodeTensor(t, what, this.options.baseDir);
  }

  /** Route a node: folded if all its inputs are constants, a layer operator if it consumes the current tensor. */
  private visit(node: NodeMsg, index: number): void {
    const op = node.opType ?? "";
    const fail = (why: string): never => {
      throw nodeError(node, index, why);
    };
    if (node.domain && node.domain !== "ai.onnx") fail(`operator domain "${node.domain}" is not supported (only the default ONNX domain)`);
    const current = this.chain.current;
    const inputs = (node.input ?? []).filter((n) => n !== "");
    const outputs = node.output ?? [];
    const onCurrent = inputs.filter((n) => n === current.name);
    const unknown = inputs.filter((n) => n !== current.name && !this.consts.has(n));
    if (unknown.length > 0) {
      fail(`input ${unknown[0]} is neither a constant nor the current activation; only a single chain of layers is supported (no branches or skip connections)`);
    }
    const attrs = new Attributes(node, index);
    const constant = (name: string | undefined, what: string): Const => {
      const c = name ? this.consts.get(name) : undefined;
      if (!c) throw nodeError(node, index, `${what} must be a constant (initializer or folded), got ${name ?? "nothing"}`);
      return c;
    };
    if (onCurrent.length === 0) {
      // everything is known at import time: fold it
      const input = (i: number) => constant(inputs[i], `input ${i + 1}`);
      foldNode({ node, index, op, inputs, attrs, input, tensor: (t, what) => this.tensor(t, what), fail }, this.consts, outputs[0]);
      return;
    }
    if (op === "Shape") {
      // the shape of the current tensor is known: a constant
      const start = attrs.int("start", 0);
      const end = attrs.int("end", current.shape.length);
      const r = current.shape.length;
      const s = start < 0 ? start + r : start;
      const e = end < 0 ? end + r : Math.min(end, r);
      const dims = current.shape.slice(s, e);
      this.consts.set(outputs[0]!, { dims: [dims.length], data: Float64Array.from(dims), int: true });
      return;
    }
    if (onCurrent.length > 1) fail("uses the activation twice; only a single chain of layers is supported");
    if (PROBABILITY_OPS.has(op)) {
      this.strip(node, index, op);
      return;
    }
    applyLayerOp({ node, index, op, inputs, outputs, attrs, constant, fail }, this.chain);
  }
}
