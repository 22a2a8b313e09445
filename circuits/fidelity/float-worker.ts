// The float engine on a worker thread (float-runner.ts starts it): the model arrives once as workerData, then each
// message is one input; every layer's output goes back with its buffer transferred, not copied.
import { parentPort, workerData } from "node:worker_threads";
import type { FloatModel } from "../ir/ir.ts";
import { runFloat } from "../ir/float-engine.ts";

const model = (workerData as { model: FloatModel }).model;
parentPort!.on("message", (m: { id: number; x: Float32Array }) => {
  const layers = runFloat(model, m.x).layers;
  parentPort!.postMessage({ id: m.id, layers }, [...new Set(layers.map((l) => l.buffer as ArrayBuffer))]);
});
