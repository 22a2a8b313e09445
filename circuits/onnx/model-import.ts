// One entry for every tool that reads a user's .onnx file: the sequential importer (import.ts) when the model is a
// chain of layers, else the graph importer (graph-import.ts), its graph pruned to what the output needs
// (ir/graph-prune.ts). A graph model is a FloatModel with empty layers and its `graph`.
import { readFileSync } from "node:fs";
import type { FloatModel } from "../ir/ir.ts";
import { decodeModel } from "./proto.ts";
import { pruneGraph } from "../ir/graph-prune.ts";
import { importOnnxGraphFile } from "./graph-import.ts";
import { importOnnxFile, OnnxImportError, type ImportOptions } from "./import.ts";

/** The model in `path`: sequential when it can be, a graph otherwise. When neither importer takes it, the error is
 *  the sequential importer's, with the graph importer's reason added. */
export function importModelFile(path: string, options: ImportOptions = {}): FloatModel {
  try {
    return importOnnxFile(path, options);
  } catch (err) {
    if (!(err instanceof OnnxImportError)) throw err;
    let graph;
    try {
      graph = importOnnxGraphFile(path, options);
    } catch (graphErr) {
      if (graphErr instanceof OnnxImportError && graphErr.message !== err.message) {
        err.message += `; as a graph (transformers): ${graphErr.message.replace(`${path}: `, "")}`;
      }
      throw err;
    }
    const g = pruneGraph(graph);
    // the ONNX output's name (onnxruntime's key): the graph's output tensor unless a final softmax was left out
    const onnxOutput = decodeModel(readFileSync(path)).graph?.output?.[0]?.name ?? g.output;
    return {
      name: g.name,
      inputName: g.input.name,
      inputShape: g.input.shape,
      outputName: onnxOutput,
      layers: [],
      ...(g.preprocess ? { preprocess: g.preprocess } : {}),
      ...(g.strippedOutputOp ? { strippedOutputOp: g.strippedOutputOp } : {}),
      graph: g,
    };
  }
}
