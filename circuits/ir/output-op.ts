// The final Softmax / LogSoftmax the ONNX importer leaves out (FloatModel.strippedOutputOp): what the ONNX file
// outputs, from the logits the layers compute. For comparing with onnxruntime, which runs the whole file.

/** `op` ("Softmax" or "LogSoftmax") over `logits`; the logits themselves when nothing was left out. */
export function applyOutputOp(op: string | undefined, logits: ArrayLike<number>): number[] {
  const x = Array.from(logits);
  if (!op) return x;
  const max = Math.max(...x);
  const logSum = Math.log(x.reduce((a, v) => a + Math.exp(v - max), 0)) + max;
  if (op === "LogSoftmax") return x.map((v) => v - logSum);
  if (op === "Softmax") return x.map((v) => Math.exp(v - logSum));
  throw new Error(`unknown output operator ${op}`);
}
