// The data options of `ozk model build | fidelity` (calibration and fidelity sets: mnist, uniform, a .json or .npy
// file, a folder of images; --input-range), the clamp warning of `ozk model witness | prove | claim | request`,
// and the fidelity progress line. Formats: circuits/data/datasets.ts, docs/own-model.md ("Your data").
import { createHash } from "node:crypto";
import type { Calibration } from "../circuits/compiler/build.ts";
import { newClampCounts, runQuantized } from "../circuits/compiler/engine.ts";
import type { QuantizedModel } from "../circuits/compiler/quantize.ts";
import type { LabelledSet } from "../circuits/data/mnist.ts";
import { userPath } from "./paths.ts";

/** --input-range lo,hi (two finite numbers, lo < hi). */
export function parseInputRange(v: string): [number, number] {
  const parts = v.split(",").map((s) => s.trim());
  const [lo, hi] = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === "") || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo! < hi!)) {
    throw new Error(`--input-range wants lo,hi with lo < hi (e.g. -0.43,2.83), got ${v}`);
  }
  return [lo!, hi!];
}

/**
 * --calibration: "mnist" (512 MNIST training digits, mapped from [0, 1] onto the input range), "uniform" (undefined:
 * the compiler's seeded samples in the range), or a data file / folder read against the model's input shape.
 */
export async function calibrationFrom(set: string, inputShape: readonly number[], range: [number, number]): Promise<Calibration | undefined> {
  if (set === "uniform") return undefined;
  const { mapUnitRange } = await import("../circuits/data/datasets.ts");
  if (set === "mnist") {
    const { mnistCalibration } = await import("../circuits/data/mnist.ts");
    const c = mnistCalibration();
    const unit = range[0] === 0 && range[1] === 1;
    return unit ? c : { inputs: mapUnitRange(c.inputs, range), id: `${c.id}@${range.join(",")}` };
  }
  const { readDataset } = await import("../circuits/data/datasets.ts");
  const d = readDataset(userPath(set), { inputShape });
  const id = createHash("sha256");
  for (const x of d.inputs) id.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  return { inputs: d.inputs, id: `data-${id.digest("hex").slice(0, 16)}` };
}

/** A labelled set from a .json / .npy file or an image folder (--fidelity-data, --data), and its name. */
export async function labelledFrom(source: string, inputShape: readonly number[], labels?: string, classes?: number): Promise<{ data: LabelledSet; name: string }> {
  const { asLabelledSet, readDataset } = await import("../circuits/data/datasets.ts");
  const d = readDataset(userPath(source), { inputShape, labels: labels ? userPath(labels) : undefined, ...(classes !== undefined ? { classes } : {}) });
  return { data: asLabelledSet(d), name: d.name };
}

/** The input shape of an .onnx file (or a folder's model.onnx), for reading data against it. */
export async function onnxInputShape(onnxPath: string): Promise<number[]> {
  return (await onnxShapes(onnxPath)).inputShape;
}

/** The input shape of an .onnx file and its number of outputs (the classes a label may name; undefined when the
 *  layers' shapes do not say), for reading labelled data against it. */
export async function onnxShapes(onnxPath: string): Promise<{ inputShape: number[]; classes?: number }> {
  const { importModelFile } = await import("../circuits/onnx/model-import.ts");
  const { layerShapes } = await import("../circuits/ir/ir.ts");
  const fm = importModelFile(onnxPath);
  if (fm.graph) {
    const { graphShapes } = await import("../circuits/ir/graph.ts");
    const out = graphShapes(fm.graph).get(fm.graph.output)!;
    return { inputShape: fm.inputShape, classes: out.reduce((a, b) => a * b, 1) };
  }
  try {
    const shapes = layerShapes(fm);
    const k = fm.layers.findLastIndex((l) => l.kind !== "argmax");
    const out = shapes[k];
    return out ? { inputShape: fm.inputShape, classes: out.reduce((a, b) => a * b, 1) } : { inputShape: fm.inputShape };
  } catch {
    return { inputShape: fm.inputShape };
  }
}

/**
 * The warning for one float input that clamps: values outside the declared input range, activations saturating
 * their width (either makes the proven result differ from the float model's more than quantization alone). Undefined
 * when nothing clamps.
 */
export function clampWarning(q: QuantizedModel, input: Float32Array): string | undefined {
  const c = newClampCounts(q);
  runQuantized(q, input, c);
  const parts: string[] = [];
  if (c.input > 0) parts.push(`${c.input} input value${c.input === 1 ? "" : "s"} outside the declared input range [${q.inputRange.join(", ")}] (clamped to it)`);
  const sat = q.ops.map((op, k) => ({ name: op.name, n: c.ops[k]! })).filter((s) => s.n > 0);
  if (sat.length) parts.push(`activations saturating their width at ${sat.map((s) => `${s.name} (${s.n})`).join(", ")}`);
  if (!parts.length) return undefined;
  return `warning: ${q.name}: ${parts.join("; ")}: the result may differ from the float model's (\`ozk model fidelity\` measures how often)`;
}

/** Prints clampWarning to stderr, if any. */
export function warnClamps(q: QuantizedModel, input: Float32Array): void {
  const w = clampWarning(q, input);
  if (w) process.stderr.write(`${w}\n`);
}

/** The float values of an input file's JSON (an array, or {"input": [...]}), if it holds floats (not integers). */
export function floatsOf(raw: unknown): Float32Array | undefined {
  const arr = Array.isArray(raw) ? raw : (raw as { input?: unknown } | null)?.input;
  if (!Array.isArray(arr)) return undefined;
  const flat = (arr as unknown[]).flat(8);
  return flat.every((v) => typeof v === "number") ? Float32Array.from(flat as number[]) : undefined;
}

/** A progress callback printing "label: done/total samples, elapsed, ETA" to stderr at most every `everyMs` (timed
 *  from the first sample, so set-up before it does not skew the estimate). */
export function progressLine(label: string, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`), everyMs = 3000, now: () => number = Date.now): (done: number, total: number) => void {
  let start: number | undefined;
  let last = 0;
  return (done, total) => {
    const t = now();
    if (start === undefined) {
      start = t;
      last = t;
      return;
    }
    if (t - last < everyMs || done >= total) return;
    last = t;
    const s = (t - start) / 1000;
    const eta = (s / Math.max(1, done - 1)) * (total - done);
    write(`${label}: ${done}/${total} samples, ${s.toFixed(0)} s, about ${eta.toFixed(0)} s left`);
  };
}
