// The importer's one error type, and the per-node error every module raises through it.
import type { NodeMsg } from "./proto.ts";

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

/** How a node is named in messages: its name in quotes, else its position in the graph. */
export function nodeLabel(node: NodeMsg, index: number): string {
  return node.name ? `"${node.name}"` : `#${index}`;
}

/** An error about node `index`, naming it and its operator. */
export function nodeError(node: NodeMsg, index: number, why: string): OnnxImportError {
  return new OnnxImportError(`node ${nodeLabel(node, index)} (${node.opType}): ${why}`, {
    node: node.name || `#${index}`,
    op: node.opType,
  });
}
