// Fidelity report: the float model (onnxruntime) against the quantized model (the bit-exact integer engine) on a
// labelled set: accuracies, top-1 agreement, logit error, and per-layer error of dequantized activations.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import type { FloatModel, Layer } from "../ir/ir.ts";
import { newClampCounts, runQuantizedLayers } from "../compiler/engine.ts";
import { MAX_DATA_FILE_BYTES, mapUnitRange, readUserFile } from "../data/datasets.ts";
import { adviceFor } from "./advice.ts";
import type { QOp, QuantizedModel } from "../compiler/quantize.ts";
import { opScale, opSize, parseQuant, quantize } from "../compiler/quantize.ts";
import type { QuantOptions } from "../compiler/quantize.ts";
import type { LabelledSet } from "../data/mnist.ts";
import { calibrationSample, heldOutSample } from "../data/mnist.ts";
import { importModelFile } from "../onnx/model-import.ts";
import { MANIFEST_FILE, readManifest } from "../compiler/package.ts";
import { applyPreprocess, resolvePreprocess, type PreprocessSpec } from "../ir/preprocess.ts";
import { applyOutputOp } from "../ir/output-op.ts";
import { FloatRunner } from "./float-runner.ts";

/** Error statistics of a dequantized vector against its float counterpart. */
export interface ErrorStats {
  /** Mean and max of |quantized - float| over every element of every sample. */
  meanAbsError: number;
  maxAbsError: number;
  /**
   * Error as a percentage of the float vector's magnitude: per sample, |q - f| / max|f| * 100
   * (mean over elements, then over samples; max over all). Relative to the vector's largest value, because
   * per-element relative error is meaningless for values near zero.
   */
  meanPercentError: number;
  maxPercentError: number;
}

export interface LayerFidelity extends ErrorStats {
  /** Quantized op name (the IR layer it computes, with a fused relu where there is one). */
  name: string;
  kind: string;
  outputs: number;
  /** Real value of one integer step at this layer's output. */
  scale: number;
  /** Values of this layer that saturated its signed width (summed over samples), and the samples with any. */
  clamped: number;
  clampedSamples: number;
}

export interface FidelityReport {
  model: string;
  onnx: string;
  data: string;
  samples: number;
  /** Where the quantized model came from: a quant.json file, or calibration done for this report. */
  quantization: string;
  floatAccuracy: number;
  quantizedAccuracy: number;
  /** Fraction of samples where the quantized top-1 class equals the float top-1 class. */
  agreement: number;
  minAgreement: number;
  passed: boolean;
  logits: ErrorStats;
  layers: LayerFidelity[];
  /** Largest |onnxruntime - float IR| output difference: the importer's own check (should be ~1e-6). */
  importerMaxAbsDiff: number;
  /** Up to 20 samples whose top-1 classes differ. */
  disagreements: { index: number; label: number; float: number; quantized: number }[];
  /** Input values outside the declared input range (clamped to it before quantizing), and the data's own range. */
  inputClamps: { values: number; samples: number; range: [number, number]; dataMin: number; dataMax: number };
  /** Whether the data has labels (else the accuracies are meaningless: agreement only). */
  labelled: boolean;
  /** The data is the calibration data itself (then saturation is rounding past the calibrated maximum). */
  dataIsCalibration?: boolean;
  /** The quantized model was calibrated on uniform random inputs (no calibration data). */
  uniformCalibration?: boolean;
  /** What would help, from what was measured (advice.ts); empty when nothing clamps and the gate passes. */
  advice: string[];
}

export interface FidelityOptions {
  /** Labelled inputs; default: the MNIST held-out split. */
  data?: LabelledSet;
  dataName?: string;
  /** `data` is the calibration data the quantized model was calibrated on (the advice words saturation from that). */
  dataIsCalibration?: boolean;
  /** The quantized model was calibrated on uniform random inputs (the advice then suggests calibration data). */
  uniformCalibration?: boolean;
  /** Use only the first N samples. */
  samples?: number;
  /** Required top-1 agreement (default 0.995). */
  minAgreement?: number;
  /** The quantized model; default: quant.json beside the .onnx if present, else quantize with `quant` options. */
  quantized?: QuantizedModel;
  quantPath?: string;
  /** Ignore a quant.json beside the model and calibrate afresh. */
  requantize?: boolean;
  quant?: QuantOptions;
  /** Calibration inputs when quantizing here; default: what `ozk model build` uses (512 MNIST training digits). */
  calibration?: Float32Array[];
  /** Input preprocessing (normalization) of the float model; default: the package manifest's. A quantized model
   *  always evaluates the float model with its own (quant.json `preprocess`): one given here must be the same. */
  preprocess?: PreprocessSpec;
  onProgress?: (done: number, total: number) => void;
}

export class FidelityError extends Error {
  override name = "FidelityError";
}

/** Read a labelled set from JSON: { "inputs": number[][], "labels": number[] } (each input flattened C-order). */
export function readLabelledSet(path: string): LabelledSet {
  let parsed: { inputs?: unknown; labels?: unknown };
  try {
    parsed = JSON.parse(readUserFile(path, MAX_DATA_FILE_BYTES, "labelled data file").toString("utf8")) as typeof parsed;
  } catch (err) {
    throw new FidelityError(`cannot read labelled data ${path}: ${(err as Error).message}`);
  }
  const { inputs, labels } = parsed;
  if (!Array.isArray(inputs) || !Array.isArray(labels) || inputs.length !== labels.length || inputs.length === 0) {
    throw new FidelityError(`${path}: expected {"inputs": number[][], "labels": number[]} of equal, non-zero length`);
  }
  return { images: inputs.map((x) => Float32Array.from(x as number[])), labels: labels.map(Number) };
}

const argmax = (v: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
};

class ErrorAccumulator {
  private sumAbs = 0;
  private count = 0;
  private maxAbs = 0;
  private sumPct = 0;
  private samples = 0;
  private maxPct = 0;
  add(q: ArrayLike<number>, f: ArrayLike<number>): void {
    let mag = 0;
    for (let i = 0; i < f.length; i++) mag = Math.max(mag, Math.abs(f[i]!));
    let sum = 0;
    let worst = 0;
    for (let i = 0; i < f.length; i++) {
      const e = Math.abs(q[i]! - f[i]!);
      sum += e;
      worst = Math.max(worst, e);
    }
    this.sumAbs += sum;
    this.count += f.length;
    this.maxAbs = Math.max(this.maxAbs, worst);
    if (mag > 0) {
      this.sumPct += (100 * sum) / f.length / mag;
      this.maxPct = Math.max(this.maxPct, (100 * worst) / mag);
      this.samples++;
    }
  }
  stats(): ErrorStats {
    return {
      meanAbsError: this.count ? this.sumAbs / this.count : 0,
      maxAbsError: this.maxAbs,
      meanPercentError: this.samples ? this.sumPct / this.samples : 0,
      maxPercentError: this.maxPct,
    };
  }
}

/** For each quantized op, the IR layer whose float output it approximates (a fused relu maps to the relu). */
function matchLayers(model: FloatModel, q: QuantizedModel): { op: QOp; layer: number; applyRelu: boolean }[] {
  if (model.graph) {
    // a graph model: the float "layers" are the node outputs (float-engine.ts); an op is named after its node, and a
    // layout after the last node of the moves it composes. A fused relu is applied to the dense's float output.
    const nodes = new Map(model.graph.nodes.map((n, i) => [n.name, i]));
    return q.ops.flatMap((op) => {
      const i = nodes.get(op.name);
      return i === undefined ? [] : [{ op, layer: i, applyRelu: op.kind === "linear" && op.relu }];
    });
  }
  const index = new Map<string, number>(model.layers.map((l, i) => [l.name, i]));
  const out: { op: QOp; layer: number; applyRelu: boolean }[] = [];
  for (const op of q.ops) {
    const i = index.get(op.name);
    if (i === undefined) continue;
    if (op.kind === "linear" && op.relu) {
      const next: Layer | undefined = model.layers[i + 1];
      if (next?.kind === "relu") out.push({ op, layer: i + 1, applyRelu: false });
      else out.push({ op, layer: i, applyRelu: true });
    } else out.push({ op, layer: i, applyRelu: false });
  }
  return out;
}


/** Resolve the quantized model for an .onnx file: explicit, quant.json beside it, or calibrated here. */
export function quantizedFor(onnxPath: string, model: FloatModel, o: FidelityOptions): { q: QuantizedModel; source: string } {
  if (o.quantized) return { q: o.quantized, source: "given" };
  const beside = o.quantPath ?? join(dirname(onnxPath), "quant.json");
  let note = "";
  if (!o.requantize && existsSync(beside)) {
    const q = parseQuant(readFileSync(beside, "utf8"));
    if (q.name !== model.name || q.inputShape.join() !== model.inputShape.join()) {
      throw new FidelityError(`${beside} is for model ${q.name} [${q.inputShape}], not ${model.name} [${model.inputShape}]; pass --requantize`);
    }
    // a package built from an older model.onnx carries a stale quant.json: its manifest says which file it was built from
    const built = builtFrom(join(dirname(beside), "manifest.json"));
    const current = createHash("sha256").update(readFileSync(onnxPath)).digest("hex");
    if (o.quantPath || !built || built === current) return { q, source: beside };
    note = `; ${beside} is stale (built from model.onnx ${built.slice(0, 12)}, this is ${current.slice(0, 12)}): rebuild the package`;
  }
  if (o.quantPath && !existsSync(o.quantPath)) throw new FidelityError(`quant file ${o.quantPath} not found`);
  // The MNIST digits (pixels in [0, 1]) are presented in the declared input range, as `ozk model build` does.
  const range = o.quant?.inputRange ?? [0, 1];
  const calibration = o.calibration ?? mapUnitRange(calibrationSample(), range);
  const q = quantize(model, calibration, { ...o.quant, inputRange: range });
  return { q, source: `calibrated here on ${calibration.length} inputs (${o.calibration ? "given" : "mnist-train-512, as ozk model build"})${note}` };
}

/** sha256 of the model.onnx a package manifest was built from, if the manifest records it. */
function builtFrom(manifestPath: string): string | undefined {
  if (!existsSync(manifestPath)) return undefined;
  try {
    const m = JSON.parse(readFileSync(manifestPath, "utf8")) as { sha256?: Record<string, string>; artifacts?: Record<string, string> };
    return m.sha256?.[m.artifacts?.onnx ?? "model.onnx"];
  } catch {
    return undefined;
  }
}

/** Compare the float and quantized model of an .onnx file. Never throws on low agreement: check `passed`. */
export async function fidelity(onnxPath: string, o: FidelityOptions = {}): Promise<FidelityReport> {
  // The model.onnx of a package is named by its manifest (the build named it after the .onnx it came from).
  const pkgDir = dirname(onnxPath);
  const manifest = existsSync(join(pkgDir, MANIFEST_FILE)) ? readManifest(pkgDir) : undefined;
  const model = importModelFile(onnxPath, manifest ? { name: manifest.name } : {});
  // Inputs are raw; the float model normalizes them as the training code did, exactly as the quantized model does
  // (folded into its first layer), so the two are compared on the same inputs.
  const given = o.preprocess ? resolvePreprocess(o.preprocess, model.inputShape) : undefined;
  const pre = given ?? manifest?.preprocess;
  if (pre) model.preprocess = pre;
  const { q, source } = quantizedFor(onnxPath, model, o);
  if (given && JSON.stringify(q.preprocess ?? null) !== JSON.stringify(given)) {
    throw new FidelityError(`the quantized model (${source}) was built ${q.preprocess ? "with another input preprocessing" : "without input preprocessing"} than the one given: pass --requantize to calibrate with it, or rebuild the package with it`);
  }
  // the quantized model in use says what it computes: with its preprocessing, or none
  if (q.preprocess) model.preprocess = q.preprocess;
  else delete model.preprocess;
  let data = o.data ?? mnistIn(q.inputRange);
  const inSize = model.inputShape.reduce((a, b) => a * b, 1);
  if (o.samples !== undefined) data = { images: data.images.slice(0, o.samples), labels: data.labels.slice(0, o.samples) };
  if (data.images.length === 0) throw new FidelityError("no samples to evaluate");
  const bad = data.images.findIndex((x) => x.length !== inSize);
  if (bad >= 0) {
    const hint = o.data ? "" : ": the default data is the MNIST held-out digits (784 values each); give your own labelled set with --data <file.json> ({\"inputs\": number[][], \"labels\": number[]})";
    throw new FidelityError(`sample ${bad} has ${data.images[bad]!.length} values; ${model.name} takes ${inSize} ([${model.inputShape}])${hint}`);
  }

  // one onnxruntime thread: it runs beside this thread's float and integer engines (the next sample's float
  // inference is started before this sample's engines run, so the two overlap)
  const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  // onnxruntime runs the exported graph, which expects the normalized input the training code gave it
  const infer = (x: Float32Array) =>
    session.run({ [model.inputName]: new ort.Tensor("float32", model.preprocess ? applyPreprocess(model.preprocess, model.inputShape, x) : x, [1, ...model.inputShape]) });
  const matched = matchLayers(model, q);
  const layerErr = matched.map(() => new ErrorAccumulator());
  const logitErr = new ErrorAccumulator();
  const argmaxModel = q.outputKind === "argmax";
  // for argmax models the "logits" are the vector entering the argmax
  const logitOp = argmaxModel ? q.ops.length - 2 : q.ops.length - 1;
  const nLayers = model.graph ? model.graph.nodes.length : model.layers.length;
  const logitLayer = argmaxModel ? nLayers - 2 : nLayers - 1;

  const clamps = newClampCounts(q);
  let dataMin = Infinity;
  let dataMax = -Infinity;
  let floatCorrect = 0;
  let quantCorrect = 0;
  let agree = 0;
  let importerMaxAbsDiff = 0;
  const disagreements: FidelityReport["disagreements"] = [];
  let next = infer(data.images[0]!);
  // the float engine runs on a worker thread, one sample ahead of this thread's integer engine
  const floats = new FloatRunner(model);
  let nextFloat = floats.run(data.images[0]!);
  try {
    for (let s = 0; s < data.images.length; s++) {
      const x = data.images[s]!;
      const label = data.labels[s]!;
      const ortOut = await next;
      if (s + 1 < data.images.length) next = infer(data.images[s + 1]!);
      const flLayers = await nextFloat;
      if (s + 1 < data.images.length) nextFloat = floats.run(data.images[s + 1]!);
      // (a final Softmax the importer left out: onnxruntime gives probabilities, the layers the logits)
      const fl = { layers: flLayers, output: applyOutputOp(model.strippedOutputOp, flLayers[flLayers.length - 1]!) };
      const ortValues = Array.from(ortOut[model.outputName]!.data as ArrayLike<number | bigint>, Number);
      ortValues.forEach((v, i) => (importerMaxAbsDiff = Math.max(importerMaxAbsDiff, Math.abs(v - fl.output[i]!))));
      const ql = runQuantizedLayers(q, x, clamps);
      for (let i = 0; i < x.length; i++) {
        if (x[i]! < dataMin) dataMin = x[i]!;
        if (x[i]! > dataMax) dataMax = x[i]!;
      }
      const qOut = ql[ql.length - 1]!;

      const floatTop = argmaxModel ? ortValues[0]! : argmax(ortValues);
      const quantTop = argmaxModel ? qOut[0]! : argmax(qOut);
      if (floatTop === label) floatCorrect++;
      if (quantTop === label) quantCorrect++;
      if (floatTop === quantTop) agree++;
      else if (disagreements.length < 20) disagreements.push({ index: s, label, float: floatTop, quantized: quantTop });

      if (logitOp >= 0 && logitLayer >= 0) {
        const scale = opScale(q.ops[logitOp]!);
        const fLogits = argmaxModel ? fl.layers[logitLayer]! : model.strippedOutputOp ? fl.layers[fl.layers.length - 1]! : ortValues;
        logitErr.add(ql[logitOp]!.map((v) => v * scale), fLogits);
      }
      matched.forEach(({ op, layer, applyRelu }, k) => {
        const qi = q.ops.indexOf(op);
        const scale = opScale(op);
        let f: ArrayLike<number> = fl.layers[layer]!;
        if (applyRelu) f = Array.from(f, (v) => Math.max(0, v));
        if (op.kind === "argmax") return;
        layerErr[k]!.add(ql[qi]!.map((v) => v * scale), f);
      });
      o.onProgress?.(s + 1, data.images.length);
    }
  } finally {
    await floats.close();
  }
  const n = data.images.length;
  const minAgreement = o.minAgreement ?? 0.995;
  const agreement = agree / n;
  const labelled = data.labels.some((l) => l >= 0);
  const report: FidelityReport = {
    model: model.name,
    onnx: onnxPath,
    data: o.dataName ?? `mnist held-out split (circuits/data/mnist.ts)${q.inputRange[0] === 0 && q.inputRange[1] === 1 ? "" : `, mapped onto [${q.inputRange.join(", ")}]`}`,
    samples: n,
    quantization: source,
    floatAccuracy: floatCorrect / n,
    quantizedAccuracy: quantCorrect / n,
    agreement,
    minAgreement,
    passed: agreement >= minAgreement,
    logits: logitErr.stats(),
    layers: matched
      .filter(({ op }) => op.kind !== "argmax")
      .map(({ op }, k) => ({
        name: op.name,
        kind: op.kind === "linear" ? `${op.source}${op.relu ? "+relu" : ""}` : op.kind,
        outputs: opSize(op),
        scale: opScale(op),
        ...layerErr[k]!.stats(),
        clamped: clamps.ops[q.ops.indexOf(op)]!,
        clampedSamples: clamps.opRuns[q.ops.indexOf(op)]!,
      })),
    importerMaxAbsDiff,
    disagreements,
    inputClamps: { values: clamps.input, samples: clamps.inputRuns, range: [q.inputRange[0], q.inputRange[1]], dataMin, dataMax },
    labelled,
    ...(o.dataIsCalibration ? { dataIsCalibration: true } : {}),
    ...(o.uniformCalibration ? { uniformCalibration: true } : {}),
    advice: [],
  };
  report.advice = adviceFor(report, q);
  return report;
}

/** The MNIST held-out digits in a model's declared input range (mapped linearly from [0, 1]). */
function mnistIn(range: readonly [number, number]): LabelledSet {
  const set = heldOutSample();
  return { images: mapUnitRange(set.images, range), labels: set.labels };
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
/** Agreement as a percent with two decimals, rounded down so a failing 99.499% never prints as a passing 99.50%. */
export const agreementPct = (v: number) => `${(Math.floor(10000 * v + 1e-9) / 100).toFixed(2)}%`;
const num = (v: number) => (v === 0 ? "0" : Math.abs(v) >= 0.01 ? v.toFixed(4) : v.toExponential(2));

/** The report as a readable table. */
export function formatReport(r: FidelityReport): string {
  const lines: string[] = [];
  lines.push(`fidelity of ${r.model} (${r.onnx})`);
  lines.push(`  data:          ${r.data}, ${r.samples} samples`);
  lines.push(`  quantization:  ${r.quantization}`);
  lines.push("");
  const acc = (v: number): string => (r.labelled === false ? "n/a   " : pct(v));
  lines.push(`  float accuracy       ${acc(r.floatAccuracy)}   (onnxruntime${r.labelled === false ? "; the data has no labels" : ""})`);
  lines.push(`  quantized accuracy   ${acc(r.quantizedAccuracy)}   (integer engine)`);
  lines.push(`  top-1 agreement      ${agreementPct(r.agreement)}   (required ${agreementPct(r.minAgreement)}) ${r.passed ? "ok" : "FAIL"}`);
  lines.push(`  logits abs error     mean ${num(r.logits.meanAbsError)}, max ${num(r.logits.maxAbsError)}`);
  lines.push(`  logits % error       mean ${r.logits.meanPercentError.toFixed(2)}%, max ${r.logits.maxPercentError.toFixed(2)}%   (of the largest |logit| per sample)`);
  lines.push("");
  if (r.inputClamps) {
    const c = r.inputClamps;
    lines.push(`  input clamps         ${c.values} values in ${c.samples} samples outside [${c.range.join(", ")}] (data spans [${num(c.dataMin)}, ${num(c.dataMax)}])`);
  }
  const header = ["layer", "kind", "outputs", "scale", "mean abs err", "max abs err", "mean %", "max %", "clamped (samples)"];
  const rows = r.layers.map((l) => [
    l.name, l.kind, String(l.outputs), l.scale.toExponential(3), num(l.meanAbsError), num(l.maxAbsError), l.meanPercentError.toFixed(2), l.maxPercentError.toFixed(2),
    `${l.clamped ?? 0} (${l.clampedSamples ?? 0})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => "  " + row.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  lines.push(fmt(header));
  for (const row of rows) lines.push(fmt(row));
  if (r.disagreements.length) {
    lines.push("");
    lines.push(`  disagreements (first ${r.disagreements.length}): ` + r.disagreements.map((d) => `#${d.index} label ${d.label}: float ${d.float}, quantized ${d.quantized}`).join("; "));
  }
  for (const a of r.advice ?? []) lines.push(`  warning: ${a}`);
  return lines.join("\n");
}
