// `ozk model build <source> --out <dir>`: a package written exactly where asked, whole or not at all. The build runs
// in a staging folder beside the target (".<name>.building-<pid>"), with the source's model.onnx and its
// external-data files copied in; once the model is quantized its constraints are counted and the powers of tau's
// power checked, before anything is emitted; after compiling, the fidelity gate compares the quantized model with
// the float one and stops the build below the required agreement; the key comes from the powers of tau or, with
// `devSetup`, the native UNSAFE dev setup; only a finished package is renamed into place. A target that
// is already a package is rebuilt from a copy of itself (its build cache and a ceremony key are kept) and replaced
// on success; any other existing target is refused unless `force`, and even then unless it holds only files a build
// writes. Never a target (force or not) that is or holds the user's home, the working directory or the package root,
// that holds the source model deeper inside it, or that holds a `.git` without being a package already.
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { compileCircuit, logBuilt, uniformCalibration, type Calibration } from "../../circuits/compiler/build.ts";
import { MANIFEST_FILE, readManifest, writeManifest, type FidelityGateRecord, type ModelManifest } from "../../circuits/compiler/package.ts";
import { parseQuant } from "../../circuits/compiler/quantize.ts";
import type { LabelledSet } from "../../circuits/data/mnist.ts";
import { externalDataFiles } from "../../circuits/onnx/import.ts";
import { guardedReason } from "../../sdk/node/folders.ts";
import { buildPackage, type BuildOptions } from "./build.ts";
import { defaultPtau, ptauPower } from "./phase2.ts";
import { sizeCheck, unsafeDevKey } from "./build-setup.ts";

/** The agreement `ozk model fidelity` requires by default, and so does the build's gate. */
export const DEFAULT_MIN_AGREEMENT = 0.995;
/** Samples the build's gate evaluates by default: enough to resolve 0.5% (5 samples), quick for the shipped models. */
export const DEFAULT_GATE_SAMPLES = 1000;

/** The quantized model disagrees with the float model more than the gate allows. */
export class FidelityGateError extends Error {
  override name = "FidelityGateError";
}

export interface FidelityGateOptions {
  /** Required top-1 agreement (default DEFAULT_MIN_AGREEMENT). */
  minAgreement?: number;
  /** Labelled data; default: the MNIST held-out split for a model calibrated on MNIST, else the calibration inputs. */
  data?: LabelledSet;
  dataName?: string;
  /** `data` is the calibration data itself (the same file). */
  dataIsCalibration?: boolean;
  /** Evaluate the first n samples (default DEFAULT_GATE_SAMPLES). */
  samples?: number;
  /** Write the package without the check; the manifest records that it was skipped. */
  skip?: boolean;
  /** Called after each evaluated sample (a progress line). */
  onProgress?: (done: number, total: number) => void;
}

export interface BuildFolderOptions extends Omit<BuildOptions, "out" | "name"> {
  /** Stop after the constraint system (no key, no verifier): `--skip-setup`. */
  skipSetup?: boolean;
  /** The key from the native UNSAFE development setup (no powers of tau, any size; anyone can forge its proofs):
   *  `--setup unsafe-dev`. The package is complete (vkey, Verifier.sol, verifierContract) and its setup kind unsafe-dev. */
  devSetup?: boolean;
  /** Replace an existing target that is not a model package but holds only files a build writes (BUILD_ENTRIES). */
  force?: boolean;
  gate?: FidelityGateOptions;
  /** Whether `calibration` is MNIST (the gate then evaluates on the MNIST held-out split). */
  mnist?: boolean;
}

export interface BuiltFolder {
  manifest: ModelManifest;
  /** The package folder (absolute). */
  out: string;
  gate: FidelityGateRecord;
}

const STAGING = ".building-";

/** What a build writes into a package folder: the only entries a target replaced with `force` may hold. */
export const BUILD_ENTRIES = new Set([
  MANIFEST_FILE, "model.onnx", "quant.json", "circuit.circom", "circuit.r1cs", "circuit.wasm", "circuit.zkey", "vkey.json",
  "Verifier.sol", "training.json", "fidelity.json", "build", "ceremony",
]);

/** Whether `inner` is inside the folder `outer` (not the folder itself). */
function inside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Whether process `pid` is alive (a staging folder of a live build is not stale). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes staging folders of `target` left by builds that were killed (their process is gone). */
function removeStale(target: string): void {
  const prefix = `.${basename(target)}${STAGING}`;
  let entries: string[];
  try {
    entries = readdirSync(dirname(target));
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(e.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) rmSync(join(dirname(target), e), { recursive: true, force: true });
  }
}

/** Whether `dir` holds an ozk model package (a manifest.json of the package format). */
function isPackage(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, MANIFEST_FILE), "utf8")) as { format?: unknown }).format === "ozk-model-package";
  } catch {
    return false;
  }
}

/** The model name the importer gives `onnxPath` (the folder's name for a model.onnx, else the file's stem). */
function modelNameOf(onnxPath: string): string {
  const stem = basename(onnxPath).replace(/\.onnx$/i, "");
  return stem === "model" ? basename(dirname(resolve(onnxPath))) : stem;
}

/**
 * Builds the package of `source` (an .onnx file or a folder holding model.onnx) into the folder `target`, through a
 * staging folder beside it that is renamed into place only when the build and the fidelity gate succeeded. The
 * package holds a copy of the source model.onnx (and its external-data files), and the manifest records the gate.
 */
export async function buildFolder(source: string, target: string, opts: BuildFolderOptions = {}): Promise<BuiltFolder> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[ozk] ${line}\n`));
  const out = resolve(target);
  if (!existsSync(source)) throw new Error(`no model at ${source} (give an .onnx file, or a folder holding model.onnx)`);
  const srcIsDir = statSync(source).isDirectory();
  const srcOnnx = srcIsDir ? join(source, "model.onnx") : source;
  if (!existsSync(srcOnnx)) throw new Error(`no model at ${srcOnnx} (give an .onnx file, or a folder holding model.onnx)`);
  const name = modelNameOf(srcOnnx);
  // A key needs a powers of tau big enough for the circuit: say so before minutes of compiling, not after (the
  // power is read here, the constraints counted once quantized, before they are emitted).
  let ptau: { file: string; power: number } | undefined;
  if (!opts.skipSetup && !opts.devSetup) {
    const file = opts.ptau ?? defaultPtau();
    if (!file || !existsSync(file)) {
      throw new Error(
        `no powers-of-tau file${file ? ` at ${file}` : ""}: pass --setup <file.ptau> or set OZK_PTAU (docs/own-model.md says where to get one), ` +
          `--setup unsafe-dev for a development key (no powers of tau), or --skip-setup to stop before the key`,
      );
    }
    ptau = { file, power: ptauPower(file) };
  }
  // in place (the folder holding the source model is the target) or over an earlier build: start from a copy of it
  const rebuild = existsSync(out) && statSync(out).isDirectory() && (resolve(dirname(srcOnnx)) === out || isPackage(out));
  // Folders no build replaces, --force or not: replacing one would delete the user's files (or the source model).
  const never = (why: string): Error => new Error(`refusing --out ${out}: ${why}; give the package a folder of its own (a new one, or an earlier package)`);
  const guarded = guardedReason(out);
  if (guarded) throw never(guarded);
  if (inside(resolve(srcOnnx), out) && resolve(dirname(srcOnnx)) !== out) throw never(`it holds the source model ${srcOnnx}`);
  if (existsSync(join(out, ".git")) && !isPackage(out)) throw never("it holds a .git (a repository, not a model package)");
  if (existsSync(out) && !rebuild) {
    const isDir = statSync(out).isDirectory();
    const entries = isDir ? readdirSync(out) : [];
    if ((!isDir || entries.length > 0) && !opts.force) {
      throw new Error(`${out} exists and is not an ozk model package: refusing to replace it (choose another --out, or pass --force to replace it)`);
    }
    const foreign = isDir ? entries.filter((e) => !BUILD_ENTRIES.has(e)) : [basename(out)];
    if (foreign.length) {
      const shown = foreign.slice(0, 5).join(", ") + (foreign.length > 5 ? `, … (${foreign.length} in all)` : "");
      throw never(`${isDir ? `it holds ${shown}, not files a build writes` : "it is a file"}: --force replaces only a folder holding nothing but an earlier build's files`);
    }
  }

  mkdirSync(dirname(out), { recursive: true });
  removeStale(out);
  const stage = join(dirname(out), `.${basename(out)}${STAGING}${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  // An interrupted build (Ctrl-C, a supervisor's SIGTERM) removes its staging folder; kill -9 leaves it to the
  // next build's removeStale. The target is never touched before the final rename.
  const onSignal = (signal: NodeJS.Signals): void => {
    rmSync(stage, { recursive: true, force: true });
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    if (rebuild) cpSync(out, stage, { recursive: true });
    else mkdirSync(stage);
    // the model, its external data, and what the source folder says about its training data
    const stagedOnnx = join(stage, "model.onnx");
    if (resolve(srcOnnx) !== resolve(out, "model.onnx")) {
      copyFileSync(srcOnnx, stagedOnnx);
      for (const f of externalDataFiles(srcOnnx)) {
        mkdirSync(dirname(join(stage, f)), { recursive: true });
        copyFileSync(join(dirname(srcOnnx), f), join(stage, f));
      }
      if (srcIsDir && existsSync(join(source, "training.json"))) copyFileSync(join(source, "training.json"), join(stage, "training.json"));
    }
    // (the library logs the staging folder as the package; the final line below names the target)
    const build = { ...opts, out: stage, name, log: (line: string) => (line.startsWith(`package ${stage}:`) ? undefined : log(line)) };

    // (the circom route's count is circom2's own: checked by the setup, once compiled)
    const checkSize = ptau && (opts.route ?? "direct") === "direct" ? sizeCheck(name, ptau, log) : undefined;
    const compiled = await compileCircuit(stagedOnnx, { ...build, checkSize });
    const gate = await fidelityGate(stagedOnnx, compiled.quant.inputShape.reduce((a, b) => a * b, 1), stage, opts, log);

    let manifest: ModelManifest;
    if (opts.skipSetup) {
      manifest = compiled.manifest;
    } else if (opts.devSetup) {
      await unsafeDevKey(compiled, log);
      manifest = compiled.manifest;
    } else {
      await buildPackage(stagedOnnx, build);
      manifest = readManifest(stage);
    }
    for (const [i, f] of externalDataFiles(stagedOnnx).entries()) manifest.artifacts[i === 0 ? "onnxData" : `onnxData${i}`] = f;
    manifest.artifacts.onnx = "model.onnx";
    manifest.fidelityGate = gate;
    writeManifest(stage, manifest);

    // into place: the old package (if any) is moved aside first and removed once the new one is there
    if (existsSync(out)) {
      const old = join(dirname(out), `.${basename(out)}.replaced-${process.pid}`);
      rmSync(old, { recursive: true, force: true });
      renameSync(out, old);
      renameSync(stage, out);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(stage, out);
    }
    logBuilt({ ...compiled, out });
    return { manifest, out, gate };
  } catch (err) {
    // errors name the user's files, not the hidden staging folder they were copied into (which is removed)
    if (err instanceof Error && err.message.includes(stage)) {
      err.message = err.message.split(join(stage, "model.onnx")).join(srcOnnx).split(stage).join(out);
    }
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Runs the fidelity check on the freshly quantized model in `stage`; throws FidelityGateError below the threshold. */
async function fidelityGate(onnxPath: string, inputLength: number, stage: string, opts: BuildFolderOptions, log: (line: string) => void): Promise<FidelityGateRecord> {
  const g = opts.gate ?? {};
  const minAgreement = g.minAgreement ?? DEFAULT_MIN_AGREEMENT;
  if (g.skip) {
    log(`warning: fidelity gate skipped (--skip-fidelity): the quantized model was not compared with the float model; the manifest records fidelityGate.status "skipped"`);
    return { status: "skipped", agreement: null, minAgreement, samples: 0, data: null };
  }
  const { agreementPct, fidelity, formatReport } = await import("../../circuits/fidelity/report.ts");
  let data = g.data;
  let dataName = g.dataName;
  let labelled = true;
  let dataIsCalibration = g.dataIsCalibration ?? false;
  if (!data && !opts.mnist) {
    // No labelled data: agreement between float and quantized top-1 needs no labels, so the calibration inputs serve.
    const cal = opts.calibration;
    const range = opts.quant?.inputRange ?? [0, 1];
    const inputs = Array.isArray(cal) ? cal : ((cal as Calibration | undefined) ?? uniformCalibration(inputLength, range)).inputs;
    data = { images: inputs, labels: inputs.map(() => -1) };
    dataName = `the ${inputs.length} calibration inputs (no labels: agreement only; give --fidelity-data for a labelled set)`;
    labelled = false;
    dataIsCalibration = true;
  }
  const quantized = parseQuant(readFileSync(join(stage, "quant.json"), "utf8"));
  const samples = g.samples ?? DEFAULT_GATE_SAMPLES;
  const report = await fidelity(onnxPath, { data, dataName, dataIsCalibration, uniformCalibration: opts.calibration === undefined, samples, minAgreement, quantized, onProgress: g.onProgress });
  if (labelled) log(formatReport(report).split("\n").slice(1, 7).join("\n"));
  // a gate on the uniform calibration inputs measures agreement on random values, not on data: say so where it passes
  const onNoise = dataIsCalibration && opts.calibration === undefined
    ? " (on the uniform calibration inputs: random values in the input range, not data; a model trained on data should be built with --calibration mnist or a sample of its data, which the gate then uses)"
    : "";
  log(`fidelity: top-1 agreement ${agreementPct(report.agreement)} on ${report.samples} samples${onNoise} (required ${agreementPct(minAgreement)}): ${report.passed ? "ok" : "FAIL"}`);
  // what clamps, and (on failure) what would help: measured by the report (circuits/fidelity/advice.ts)
  if (report.passed) for (const a of report.advice) log(`warning: ${a}`);
  if (!report.passed) {
    throw new FidelityGateError(
      `fidelity gate: top-1 agreement of the quantized with the float model is ${agreementPct(report.agreement)} ` +
        `(${Math.round((1 - report.agreement) * report.samples)} of ${report.samples} samples differ), below the required ${agreementPct(minAgreement)}; ` +
        `nothing was written. ${report.advice.map((a) => a[0]!.toUpperCase() + a.slice(1)).join(". ")}. ` +
        `\`ozk model fidelity\` compares layer by layer; --min-agreement lowers the threshold, --skip-fidelity writes the package anyway`,
    );
  }
  return { status: "passed", agreement: report.agreement, minAgreement, samples: report.samples, data: report.data };
}
