// `ozk model build`, the compiler's part: FloatModel (or model.onnx) -> quant.json, circuit.circom, circuit.r1cs (and
// circuit.wasm on the circom route) and a manifest without a key, each step cached by a content hash of its inputs.
// The Groth16 setup that adds circuit.zkey, vkey.json and Verifier.sol is the prover's (prover/setup/build.ts).
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FloatModel } from "../ir/ir.ts";
import { resolvePreprocess, type InputPreprocess, type PreprocessSpec } from "../ir/preprocess.ts";
import { isGraphModel, parseQuant, quantize, serializeQuant, type QuantOptions, type QuantizedModel } from "./quantize.ts";
import { publicCount, synthesize, type OpCost, type Visibility } from "./emit.ts";
import { generateCircom } from "./circom.ts";
import { readR1csHeader } from "./r1cs.ts";
import { sha256File, writeManifest, type ModelManifest } from "./package.ts";

export { sha256File };
import { importModelFile } from "../onnx/model-import.ts";
import { valuesPerLimb } from "../../sdk/hash.ts";
import { moduleExtension, packageRootUrl } from "../../sdk/package-root.ts";

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: the repository (or the installed package, when running from its compiled build). */
export const REPO_ROOT = fileURLToPath(packageRootUrl(import.meta.url, 2));

/** Calibration inputs, and the id the quantize step's cache key records for them. */
export interface Calibration {
  inputs: Float32Array[];
  id: string;
}

export interface CompileOptions {
  /** Package folder (default models/<name>). */
  out?: string;
  /** Model name when `source` is a file (default: the importer's, from the file name or its folder's). */
  name?: string;
  visibility?: Visibility;
  quant?: QuantOptions;
  /** Calibration inputs (e.g. mnistCalibration() of circuits/data/mnist.ts); default: uniformCalibration over the
   *  model's input range, which knows nothing of the data: a model trained on a dataset should be given a sample of it. */
  calibration?: Float32Array[] | Calibration;
  /** direct (default): R1CS and witness from TypeScript; circom: compile circuit.circom with circom2 (wasm witness
   *  generator; small models only, circom2 folds about 1.6k weight terms per second). */
  route?: "direct" | "circom";
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Input preprocessing of the training code (per-channel scale/offset, then mean/std normalization): the package
   *  takes raw inputs, its float model normalizes them first, its circuit folds the map into the first layer. */
  preprocess?: PreprocessSpec | InputPreprocess;
  /** Called with the quantized model before the constraints are emitted: throw to stop the build there. */
  checkSize?: (q: QuantizedModel, nConstraints: number) => void;
}

/** The input range and calibration inputs compileCircuit quantizes `model` with (the same for `ozk model inspect`). */
export function quantizationInputs(model: FloatModel, opts: Pick<CompileOptions, "quant" | "calibration">): { inputRange: [number, number]; calibration: Calibration } {
  const inputRange = opts.quant?.inputRange ?? [0, 1];
  const calibration: Calibration = Array.isArray(opts.calibration)
    ? { inputs: opts.calibration, id: sha256(Buffer.concat(opts.calibration.map((c) => Buffer.from(c.buffer)))) }
    : (opts.calibration ?? uniformCalibration(model.inputShape.reduce((a, b) => a * b, 1), inputRange));
  return { inputRange, calibration };
}

/** At most how often the emit logs its progress (OZK_PROGRESS_MS, default 3 s), and how often a long step logs
 *  that it is still running (default 10 s; OZK_PROGRESS_MS too when set, at least 0.1 s). */
const PROGRESS_MS = Number(process.env.OZK_PROGRESS_MS ?? 3_000);
export const HEARTBEAT_MS = process.env.OZK_PROGRESS_MS === undefined ? 10_000 : Math.max(100, PROGRESS_MS);

const sha256 = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");

/** "mnist-mlp" -> "MnistMlpVerifier" */
export function verifierName(model: string): string {
  const pascal = model
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");
  return `${/^[0-9]/.test(pascal) ? "M" + pascal : pascal}Verifier`;
}

/** Names of the public signals in order, matching sdk publicSignals(). */
export function publicSignalNames(q: QuantizedModel): string[] {
  const limbs = publicCount(q) - 2;
  const k = valuesPerLimb(q.outputBits);
  return [
    ...Array.from({ length: limbs }, (_, j) => `packedOutputs[${j}] (outputs ${j * k}..${Math.min(q.outputCount, (j + 1) * k) - 1}, ${q.outputBits}-bit)`),
    "inputHash",
    "weightsCommitment",
  ];
}

/** Hash of the compiler sources: a code change invalidates cached steps. */
function codeHash(): string {
  const ext = moduleExtension(import.meta.url);
  const files = [
    "quantize", "quantize-graph", "engine", "engine-graph", "emit", "builder", "nonlinear", "gadgets-nonlinear", "requantize", "r1cs", "circom", "build",
    "../../sdk/quantize", "../ir/preprocess", "../ir/graph-prune",
  ].map((f) => readFileSync(join(here, f + ext)));
  return sha256(Buffer.concat(files));
}

function loadFloatModel(source: string, name?: string): { model: FloatModel; onnxPath: string } {
  const path = statSync(source).isDirectory() ? join(source, "model.onnx") : source;
  if (!existsSync(path)) throw new Error(`no model at ${path} (give a package folder holding model.onnx, or an .onnx file)`);
  return { model: importModelFile(path, name ? { name } : {}), onnxPath: path };
}

/** `count` seeded uniform samples in `range`: the calibration of a model built without data. */
export function uniformCalibration(inputLength: number, range: [number, number], count = 64): Calibration {
  let seed = 0x9e3779b9;
  const rand = (): number => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed / 4294967296;
  };
  const inputs = Array.from({ length: count }, () => Float32Array.from({ length: inputLength }, () => range[0] + rand() * (range[1] - range[0])));
  return { inputs, id: `uniform-${count}-${range.join(",")}` };
}

/** The step cache of a package folder (build/cache.json): step -> input hash, and file#sha256 of each output. */
export class BuildCache {
  readonly path: string;
  private readonly entries: Record<string, string>;

  constructor(readonly out: string) {
    mkdirSync(join(out, "build"), { recursive: true });
    this.path = join(out, "build", "cache.json");
    this.entries = existsSync(this.path) ? (JSON.parse(readFileSync(this.path, "utf8")) as Record<string, string>) : {};
  }

  get(key: string): string | undefined {
    return this.entries[key];
  }

  set(key: string, value: string): void {
    this.entries[key] = value;
  }

  /** Whether `file` was made from inputs hashing to `value` and is unchanged since. */
  fresh(key: string, file: string, value: string): boolean {
    return this.entries[key] === value && existsSync(join(this.out, file)) && this.entries[`${file}#sha256`] === sha256File(join(this.out, file));
  }

  /** Records that `file` was made from inputs hashing to `value`, and saves. */
  record(key: string, file: string, value: string): void {
    this.entries[key] = value;
    this.entries[`${file}#sha256`] = sha256File(join(this.out, file));
    this.save();
  }

  save(): void {
    writeFileSync(this.path, JSON.stringify(this.entries, null, 2) + "\n");
  }
}

/** A compiled circuit in its package folder: the manifest so far (no key; sha256 and modelId not filled in). */
export interface CompiledCircuit {
  out: string;
  manifest: ModelManifest;
  quant: QuantizedModel;
  cache: BuildCache;
  log: (line: string) => void;
  /** Runs `f`, logging "<what> ..." and "<what>: done in N s". */
  step: <T>(what: string, f: () => Promise<T> | T) => Promise<T>;
  /** When compiling started (Date.now()). */
  startedAt: number;
}

/** Quantizes `source` (an .onnx file, a folder with model.onnx, or a FloatModel) and emits its circuit into the
 *  package folder. Writes no manifest: compileModel does, and so does the package build once the key is made. */
export async function compileCircuit(source: string | FloatModel, opts: CompileOptions = {}): Promise<CompiledCircuit> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[ozk] ${line}\n`));
  const visibility = opts.visibility ?? "constant";
  const startedAt = Date.now();
  const step = async <T>(what: string, f: () => Promise<T> | T): Promise<T> => {
    const s = Date.now();
    log(`${what} ...`);
    // an asynchronous step (a child process, the setup) says it is still running; a synchronous one logs its own progress
    const beat = setInterval(() => log(`${what}: still running, ${Math.round((Date.now() - s) / 1000)} s`), HEARTBEAT_MS);
    beat.unref();
    try {
      const r = await f();
      log(`${what}: done in ${((Date.now() - s) / 1000).toFixed(1)} s`);
      return r;
    } finally {
      clearInterval(beat);
    }
  };

  let model: FloatModel;
  let modelKey: string;
  let onnxPath: string | undefined;
  if (typeof source === "string") {
    ({ model, onnxPath } = loadFloatModel(source, opts.name));
    modelKey = sha256File(onnxPath);
  } else {
    model = source;
    modelKey = sha256(JSON.stringify(model, (_, v) => (v instanceof Float32Array ? Array.from(v) : v)));
  }
  if (opts.preprocess) model = { ...model, preprocess: resolvePreprocess(opts.preprocess, model.inputShape) };
  const out = resolve(opts.out ?? join(REPO_ROOT, "models", model.name));
  if (model.strippedOutputOp) {
    log(`import: the model's final ${model.strippedOutputOp} is left out: the circuit proves the logits (the same top-1 class); the manifest records strippedOutputOp`);
  }
  const cache = new BuildCache(out);
  const code = codeHash();

  // 1. quantization
  const { inputRange, calibration } = quantizationInputs(model, opts);
  const quantKey = sha256(JSON.stringify({ modelKey, quant: { ...opts.quant, inputRange }, calibration: calibration.id, code, ...preprocessKey(model) }));
  const quantPath = join(out, "quant.json");
  let q: QuantizedModel;
  if (cache.fresh("quant", "quant.json", quantKey)) {
    q = parseQuant(readFileSync(quantPath, "utf8"));
    log("quantize: cached");
  } else {
    q = await step(`quantize ${model.name} (${calibration.inputs.length} calibration inputs)`, () => quantize(model, calibration.inputs, { ...opts.quant, inputRange }));
    writeFileSync(quantPath, serializeQuant(q));
    cache.record("quant", "quant.json", quantKey);
  }
  // the size check (is the powers of tau big enough?) before the constraints are emitted
  let counted: number | undefined;
  const predicted = (): number => (counted ??= synthesize(q, { visibility, countOnly: true }).nConstraints);
  if (opts.checkSize) opts.checkSize(q, predicted());

  // 2. circuit.circom (the circom route's source; the direct route below is what gets proved). The circom templates
  // do not cover the transformer ops yet: a graph model has no circuit.circom and builds on the direct route only.
  const graph = isGraphModel(q);
  const route = opts.route ?? "direct";
  if (graph && route === "circom") {
    throw new Error(`${model.name}: the circom route does not compile graph models (attention, softmax, LayerNorm, GELU, residual adds) yet; build it with the direct route (the default)`);
  }
  const circomKey = sha256(JSON.stringify({ q: sha256File(quantPath), visibility, code }));
  if (graph) rmSync(join(out, "circuit.circom"), { force: true });
  else if (!cache.fresh("circom", "circuit.circom", circomKey)) {
    // includes resolve through `-l .` from the repo root (circom2 reads nothing outside its working directory)
    writeFileSync(join(out, "circuit.circom"), generateCircom(q, { visibility }));
    cache.record("circom", "circuit.circom", circomKey);
  }

  // 3. circuit.r1cs: emitted directly (default), or compiled from circuit.circom with circom2
  const r1csKey = sha256(JSON.stringify({ q: sha256File(quantPath), visibility, code, route }));
  const r1csPath = join(out, "circuit.r1cs");
  const statsPath = join(out, "build", "r1cs-stats.json");
  let stats: { nWires: number; nConstraints: number; costs: OpCost[] };
  let cached = false;
  if (cache.fresh("r1cs", "circuit.r1cs", r1csKey) && existsSync(statsPath) && (route === "direct" || existsSync(join(out, "circuit.wasm")))) {
    stats = JSON.parse(readFileSync(statsPath, "utf8")) as typeof stats;
    log(`r1cs: cached (${stats.nConstraints} constraints)`);
    cached = true;
  } else if (route === "direct") {
    stats = await step("emit constraints (direct route)", () => {
      const total = predicted();
      let last = Date.now();
      const progress = (n: number): void => {
        if (Date.now() - last < PROGRESS_MS) return;
        last = Date.now();
        log(`  emit: ${n} / ${total} constraints (${Math.floor((100 * n) / total)}%)`);
      };
      const s = synthesize(q, { visibility, r1csPath, progress });
      return { nWires: s.nWires, nConstraints: s.nConstraints, costs: s.costs };
    });
  } else {
    stats = await step("compile circuit.circom with circom2 (circom route)", () => compileWithCircom(q, out, visibility));
  }
  if (!cached) {
    writeFileSync(statsPath, JSON.stringify(stats, null, 2) + "\n");
    cache.record("r1cs", "circuit.r1cs", r1csKey);
    log(`r1cs: ${stats.nConstraints} constraints, ${stats.nWires} wires, ${(statSync(r1csPath).size / 1e6).toFixed(1)} MB`);
  }

  const manifest: ModelManifest = {
    format: "ozk-model-package",
    version: 1,
    name: model.name,
    modelId: "",
    route,
    // The label every package carries since the first build (committed manifests have it, and
    // scripts/check-reproducible.ts compares it): the witness is witnessFor in circuits/compiler/witness.ts.
    witnessGenerator:
      route === "direct"
        ? "circuits/compiler/emit.ts synthesize() (proveModel in circuits/compiler/prove.ts)"
        : "circuit.wasm (circom; input JSON from circomInput in circuits/compiler/circom.ts)",
    visibility,
    inputShape: q.inputShape,
    inputLength: q.inputShape.reduce((a, b) => a * b, 1),
    inputBits: q.inputBits,
    inputScale: q.inputScale,
    inputRange: q.inputRange,
    ...(q.preprocess ? { preprocess: q.preprocess } : {}),
    outputKind: q.outputKind,
    outputLength: q.outputCount,
    outputBits: q.outputBits,
    outputScale: q.outputScale,
    weightsCommitment: q.weightsCommitment,
    constraints: stats.nConstraints,
    wires: stats.nWires,
    publicSignals: publicSignalNames(q),
    verifierContract: null,
    verifierCodeHash: null,
    setup: null,
    costs: stats.costs,
    artifacts: { quant: "quant.json", ...(graph ? {} : { circom: "circuit.circom" }), r1cs: "circuit.r1cs" },
    sha256: {},
  };
  if (model.strippedOutputOp) manifest.strippedOutputOp = model.strippedOutputOp;
  if (route === "circom") manifest.artifacts.wasm = "circuit.wasm";
  if (onnxPath && resolve(dirname(onnxPath)) === out) manifest.artifacts.onnx = basename(onnxPath);
  cache.save();
  return { out, manifest, quant: q, cache, log, step, startedAt };
}

/** The quantize step's cache key part for the model's preprocessing (none without one, so older keys still match). */
function preprocessKey(model: FloatModel): { preprocess?: InputPreprocess } {
  return model.preprocess ? { preprocess: model.preprocess } : {};
}

/** The logged last line of a build. */
export function logBuilt(c: CompiledCircuit): void {
  c.log(`package ${c.out}: ${c.manifest.constraints} constraints, built in ${((Date.now() - c.startedAt) / 1000).toFixed(1)} s`);
}

/** Compiles `source` into a package without a key (`ozk model build --skip-setup`): the manifest records no setup. */
export async function compileModel(source: string | FloatModel, opts: CompileOptions = {}): Promise<ModelManifest> {
  const c = await compileCircuit(source, opts);
  writeManifest(c.out, c.manifest);
  logBuilt(c);
  return c.manifest;
}

/** The circom route: compile circuit.circom with circom2 from the repo root (it reads nothing outside its working
 *  directory), then move circuit.r1cs and circuit.wasm into the package. Per-layer costs are the direct route's. */
async function compileWithCircom(q: QuantizedModel, out: string, visibility: Visibility): Promise<{ nWires: number; nConstraints: number; costs: OpCost[] }> {
  const work = join(REPO_ROOT, "build", "circom-route", sha256(readFileSync(join(out, "circuit.circom"))).slice(0, 16));
  mkdirSync(work, { recursive: true });
  copyFileSync(join(out, "circuit.circom"), join(work, "circuit.circom"));
  const rel = relative(REPO_ROOT, work);
  // asynchronously, so the step's "still running" lines appear while circom2 works (minutes on a large model)
  await new Promise<void>((resolveRun, reject) => {
    const args = ["node_modules/circom2/cli.js", join(rel, "circuit.circom"), "--r1cs", "--wasm", "-l", ".", "-l", "node_modules", "-o", rel];
    execFile(process.execPath, args, { cwd: REPO_ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`circom2 failed on ${join(out, "circuit.circom")}: ${(stderr || stdout || String(err)).trim().slice(0, 2000)}`));
      else resolveRun();
    });
  });
  copyFileSync(join(work, "circuit.r1cs"), join(out, "circuit.r1cs"));
  copyFileSync(join(work, "circuit_js", "circuit.wasm"), join(out, "circuit.wasm"));
  rmSync(work, { recursive: true, force: true });
  const header = readR1csHeader(join(out, "circuit.r1cs"));
  return { nWires: header.nWires, nConstraints: header.nConstraints, costs: synthesize(q, { visibility }).costs };
}
