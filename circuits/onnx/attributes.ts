// Node attributes: typed getters with ONNX defaults, and the attributes each layer operator accepts.
import { nodeError } from "./errors.ts";
import { AttributeType } from "./proto.ts";
import type { AttributeMsg, NodeMsg } from "./proto.ts";

/** Attributes accepted per layer operator; any other attribute on such a node is an error (it may change the math). */
export const KNOWN_ATTRS: Readonly<Record<string, readonly string[] | undefined>> = {
  Identity: [], Dropout: ["ratio", "seed", "is_test"], Relu: [],
  Gemm: ["alpha", "beta", "transA", "transB", "broadcast"], MatMul: [], Add: ["axis", "broadcast"],
  Conv: ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"],
  MaxPool: ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"],
  AveragePool: ["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"],
  GlobalAveragePool: [], Flatten: ["axis"], Reshape: ["allowzero"], Transpose: ["perm"],
  BatchNormalization: ["epsilon", "momentum", "spatial", "training_mode", "is_test"],
  ArgMax: ["axis", "keepdims", "select_last_index"],
};

/** The attributes of node `index`; a getter returns the default when the attribute is absent. */
export class Attributes {
  constructor(
    private readonly node: NodeMsg,
    private readonly index: number,
  ) {}

  /** Reject attributes the operator `op` does not list in KNOWN_ATTRS (operators not listed are not checked). */
  check(op: string): void {
    const known = KNOWN_ATTRS[op];
    if (!known) return;
    for (const a of this.node.attribute ?? []) {
      if (!known.includes(a.name ?? "")) {
        throw nodeError(this.node, this.index, `attribute ${a.name} is not supported (supported: ${known.join(", ") || "none"})`);
      }
    }
  }

  get(name: string): AttributeMsg | undefined {
    return (this.node.attribute ?? []).find((a) => a.name === name);
  }

  int(name: string, dflt: number): number {
    const a = this.get(name);
    if (!a) return dflt;
    this.expectType(a, AttributeType.INT, "an integer");
    return a.i ?? 0;
  }

  float(name: string, dflt: number): number {
    const a = this.get(name);
    if (!a) return dflt;
    this.expectType(a, AttributeType.FLOAT, "a float");
    return a.f ?? 0;
  }

  ints(name: string, dflt: number[]): number[] {
    const a = this.get(name);
    if (!a) return dflt;
    this.expectType(a, AttributeType.INTS, "a list of integers");
    return a.ints ?? [];
  }

  string(name: string, dflt: string): string {
    const a = this.get(name);
    if (!a) return dflt;
    this.expectType(a, AttributeType.STRING, "a string");
    return new TextDecoder().decode(a.s ?? new Uint8Array());
  }

  private expectType(a: AttributeMsg, type: number, what: string): void {
    // files that omit the type field are accepted as written
    if (a.type !== undefined && a.type !== type) throw nodeError(this.node, this.index, `attribute ${a.name} must be ${what}`);
  }
}
