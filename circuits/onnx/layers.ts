// The state of an import: the constants known so far, the layers emitted, and the current tensor — the one
// non-constant tensor that flows through the model's single chain of layers.
import type { Layer } from "../ir/ir.ts";
import { OnnxImportError } from "./errors.ts";
import type { NodeMsg } from "./proto.ts";
import type { Const } from "./tensors.ts";

/** The non-constant tensor the next layer consumes (the graph input at first, then each layer's output). */
export interface Current {
  name: string;
  /** Shape with the batch axis (fixed to 1). */
  shape: number[];
  /** Index into layers of the conv/dense that produced it directly, for folding a bias Add or BatchNormalization. */
  producer?: number;
  /**
   * Set after a Transpose of the current tensor (tf2onnx writes NCHW -> NHWC before Keras' Flatten): the ONNX tensor
   * is the IR's [1, C, H, W] tensor (`canonical`) with axes permuted by `perm`. Only Relu and a flatten may follow.
   */
  layout?: { canonical: number[]; perm: number[] };
  /** After flattening a permuted tensor: ONNX element j is IR element order[j]; the next Gemm/MatMul absorbs it. */
  order?: Int32Array;
}

export class LayerChain {
  readonly layers: Layer[] = [];
  current: Current;
  private readonly counts = new Map<string, number>();
  private readonly taken = new Set<string>();

  /** `consts` holds the initializers and every folded constant, by tensor name. */
  constructor(
    input: Current,
    readonly consts: Map<string, Const>,
  ) {
    this.current = input;
  }

  /** Make `name` the current tensor. */
  setCurrent(name: string | undefined, shape: number[], producer?: number, keep?: Pick<Current, "layout" | "order">): void {
    if (!name) throw new OnnxImportError("a node has no output name");
    this.current = { name, shape, producer, layout: keep?.layout, order: keep?.order };
  }

  /** A layer name from the node's PyTorch scope ("/fc1/Gemm" -> "fc1"), else `<kind>_<k>`; unique within the model. */
  layerName(base: string, node: NodeMsg): string {
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
}
