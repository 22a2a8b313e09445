// `ozk model build`: FloatModel (or model.onnx) -> provable package (quant.json, circuit.circom, circuit.r1cs,
// circuit.zkey, vkey.json, Verifier.sol, manifest.json), each step cached by a content hash of its inputs.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as snarkjs from "snarkjs";
import type { FloatModel } from "./ir.ts";
import { parseQuant, quantize, serializeQuant, type QuantOptions, type QuantizedModel } from "./quantize.ts";
import { publicCount, synthesize, type OpCost, type Visibility } from "./emit.ts";
import { generateCircom } from "./circom.ts";
import { readR1csHeader } from "./r1cs.ts";
import { valuesPerLimb } from "../../sdk/hash.ts";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, "../..");

export interface BuildOptions {
  /** Package folder (default models/<name>). */
  out?: string;
  visibility?: Visibility;
  /** Powers of tau (default: OZK_PTAU, then /work/shared/ptau/dev_pot16.ptau, then ../shared/ptau/dev_pot16.ptau). */
  ptau?: string;
  quant?: QuantOptions;
  /** Calibration inputs; default: 512 MNIST training digits for 784-input models, else seeded uniform samples in inputRange. */
  calibration?: Float32Array[];
  /** direct (default): R1CS and witness from TypeScript; circom: compile circuit.circom with circom2 (wasm witness
   *  generator; small models only, circom2 folds about 1.6k weight terms per second). */
  route?: "direct" | "circom";
  /** Skip the Groth16 setup (zkey, vkey, verifier): for scale measurements and ptau-less machines. */
  skipSetup?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Where the named Solidity verifier is also written (default contracts/verifiers; null: nowhere else). */
  contractsDir?: string | null;
}

export interface ModelManifest {
  format: "ozk-model-package";
  version: 1;
  name: string;
  /** Off-chain package id: sha256 over the circuit-defining artifacts (quant.json, r1cs, vkey). On chain the
   *  registry derives its own modelId = keccak256(abi.encode(owner, artifactHash)), artifactHash = sha256(manifest.json). */
  modelId: string;
  route: "direct" | "circom";
  /** How a witness is made: direct, the TypeScript emitter (circuits/compiler/emit.ts synthesize); circom, circuit.wasm. */
  witnessGenerator: string;
  visibility: Visibility;
  inputShape: number[];
  inputLength: number;
  inputBits: number;
  inputScale: number;
  inputRange: [number, number];
  outputKind: "logits" | "argmax";
  outputLength: number;
  outputBits: number;
  outputScale: number;
  weightsCommitment: string;
  constraints: number;
  wires: number;
  publicSignals: string[];
  verifierContract: string | null;
  ptau: { file: string; sha256: string } | null;
  costs: OpCost[];
  /** role -> file name, relative to the package folder. */
  artifacts: Record<string, string>;
  /** file name -> sha256 (hex). */
  sha256: Record<string, string>;
}

const sha256 = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");
const sha256File = (path: string): string => sha256(readFileSync(path));

/** The default powers-of-tau file, or undefined when none is found. */
export function defaultPtau(): string | undefined {
  const candidates = [process.env.OZK_PTAU, "/work/shared/ptau/dev_pot16.ptau", resolve(REPO_ROOT, "../shared/ptau/dev_pot16.ptau")];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** The power (log2 of the largest circuit) a .ptau file supports. */
export function ptauPower(path: string): number {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(64);
    readSync(fd, buf, 0, 64, 0);
    if (buf.toString("ascii", 0, 4) !== "ptau") throw new Error(`${path} is not a powers-of-tau file`);
    // magic, version, nSections, then section 1 (type u32, size u64): n8, q (n8 bytes), power
    const n8 = buf.readUInt32LE(24);
    const b2 = Buffer.alloc(4);
    readSync(fd, b2, 0, 4, 28 + n8);
    return b2.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

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
  const files = ["quantize.ts", "engine.ts", "emit.ts", "r1cs.ts", "circom.ts", "build.ts"].map((f) => readFileSync(join(here, f)));
  return sha256(Buffer.concat(files));
}

async function loadFloatModel(source: string): Promise<{ model: FloatModel; onnxPath: string }> {
  const path = statSync(source).isDirectory() ? join(source, "model.onnx") : source;
  if (!existsSync(path)) throw new Error(`no model at ${path} (give a package folder holding model.onnx, or an .onnx file)`);
  const { importOnnxFile } = (await import("../onnx/import.ts")) as { importOnnxFile: (p: string) => FloatModel };
  return { model: importOnnxFile(path), onnxPath: path };
}

async function defaultCalibration(model: FloatModel, range: [number, number]): Promise<{ inputs: Float32Array[]; id: string }> {
  const n = model.inputShape.reduce((a, b) => a * b, 1);
  if (n === 784) {
    const { loadMnist } = (await import("../data/mnist.ts")) as { loadMnist: () => { train: { images: Float32Array[] } } };
    const train = loadMnist().train.images;
    const step = Math.max(1, Math.floor(train.length / 512));
    return { inputs: train.filter((_, i) => i % step === 0).slice(0, 512), id: "mnist-train-512" };
  }
  let seed = 0x9e3779b9;
  const rand = (): number => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed / 4294967296;
  };
  const inputs = Array.from({ length: 64 }, () => Float32Array.from({ length: n }, () => range[0] + rand() * (range[1] - range[0])));
  return { inputs, id: `uniform-64-${range.join(",")}` };
}

interface Cache {
  [step: string]: string;
}

/** Build (or refresh) the package of `source`: an .onnx file, a folder with model.onnx, or a FloatModel. */
export async function buildModel(source: string | FloatModel, opts: BuildOptions = {}): Promise<ModelManifest> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[ozk] ${line}\n`));
  const visibility = opts.visibility ?? "constant";
  const t0 = Date.now();
  const step = async <T>(what: string, f: () => Promise<T> | T): Promise<T> => {
    const s = Date.now();
    log(`${what} ...`);
    const r = await f();
    log(`${what}: done in ${((Date.now() - s) / 1000).toFixed(1)} s`);
    return r;
  };

  let model: FloatModel;
  let modelKey: string;
  let onnxPath: string | undefined;
  if (typeof source === "string") {
    ({ model, onnxPath } = await loadFloatModel(source));
    modelKey = sha256File(onnxPath);
  } else {
    model = source;
    modelKey = sha256(JSON.stringify(model, (_, v) => (v instanceof Float32Array ? Array.from(v) : v)));
  }
  const out = resolve(opts.out ?? join(REPO_ROOT, "models", model.name));
  mkdirSync(join(out, "build"), { recursive: true });
  const cachePath = join(out, "build", "cache.json");
  const cache: Cache = existsSync(cachePath) ? (JSON.parse(readFileSync(cachePath, "utf8")) as Cache) : {};
  const saveCache = (): void => writeFileSync(cachePath, JSON.stringify(cache, null, 2) + "\n");
  const fresh = (key: string, file: string, value: string): boolean => cache[key] === value && existsSync(join(out, file)) && cache[`${file}#sha256`] === sha256File(join(out, file));
  const record = (key: string, file: string, value: string): void => {
    cache[key] = value;
    cache[`${file}#sha256`] = sha256File(join(out, file));
    saveCache();
  };
  const code = codeHash();

  // 1. quantization
  const inputRange = opts.quant?.inputRange ?? [0, 1];
  const calibration = opts.calibration ? { inputs: opts.calibration, id: sha256(Buffer.concat(opts.calibration.map((c) => Buffer.from(c.buffer)))) } : await defaultCalibration(model, inputRange);
  const quantKey = sha256(JSON.stringify({ modelKey, quant: { ...opts.quant, inputRange }, calibration: calibration.id, code }));
  const quantPath = join(out, "quant.json");
  let q: QuantizedModel;
  if (fresh("quant", "quant.json", quantKey)) {
    q = parseQuant(readFileSync(quantPath, "utf8"));
    log("quantize: cached");
  } else {
    q = await step(`quantize ${model.name} (${calibration.inputs.length} calibration inputs)`, () => quantize(model, calibration.inputs, { ...opts.quant, inputRange }));
    writeFileSync(quantPath, serializeQuant(q));
    record("quant", "quant.json", quantKey);
  }

  // 2. circuit.circom (the circom route's source; the direct route below is what gets proved)
  const circomKey = sha256(JSON.stringify({ q: sha256File(quantPath), visibility, code }));
  if (!fresh("circom", "circuit.circom", circomKey)) {
    // includes resolve through `-l .` from the repo root (circom2 reads nothing outside its working directory)
    writeFileSync(join(out, "circuit.circom"), generateCircom(q, { visibility }));
    record("circom", "circuit.circom", circomKey);
  }

  // 3. circuit.r1cs: emitted directly (default), or compiled from circuit.circom with circom2
  const route = opts.route ?? "direct";
  const r1csKey = sha256(JSON.stringify({ q: sha256File(quantPath), visibility, code, route }));
  const r1csPath = join(out, "circuit.r1cs");
  const statsPath = join(out, "build", "r1cs-stats.json");
  let stats: { nWires: number; nConstraints: number; costs: OpCost[] };
  let cached = false;
  if (fresh("r1cs", "circuit.r1cs", r1csKey) && existsSync(statsPath) && (route === "direct" || existsSync(join(out, "circuit.wasm")))) {
    stats = JSON.parse(readFileSync(statsPath, "utf8")) as typeof stats;
    log(`r1cs: cached (${stats.nConstraints} constraints)`);
    cached = true;
  } else if (route === "direct") {
    stats = await step("emit constraints (direct route)", () => {
      const s = synthesize(q, { visibility, r1csPath, progress: (n) => log(`  ${n} constraints`) });
      return { nWires: s.nWires, nConstraints: s.nConstraints, costs: s.costs };
    });
  } else {
    stats = await step("compile circuit.circom with circom2 (circom route)", () => compileWithCircom(q, out, visibility));
  }
  if (!cached) {
    writeFileSync(statsPath, JSON.stringify(stats, null, 2) + "\n");
    record("r1cs", "circuit.r1cs", r1csKey);
    log(`r1cs: ${stats.nConstraints} constraints, ${stats.nWires} wires, ${(statSync(r1csPath).size / 1e6).toFixed(1)} MB`);
  }

  // 4. Groth16 setup
  const name = verifierName(model.name);
  let ptauInfo: ModelManifest["ptau"] = null;
  if (!opts.skipSetup) {
    const ptau = opts.ptau ?? defaultPtau();
    if (!ptau || !existsSync(ptau)) {
      throw new Error(`no powers-of-tau file${ptau ? ` at ${ptau}` : ""}: pass --ptau <file> or set OZK_PTAU (development: ../shared/ptau/dev_pot16.ptau)`);
    }
    const power = ptauPower(ptau);
    const needed = Math.ceil(Math.log2(stats.nConstraints + publicCount(q) + 1));
    if (needed > power) {
      throw new Error(`${model.name} needs a powers-of-tau file of power ${needed} (${stats.nConstraints} constraints), but ${ptau} has power ${power}`);
    }
    const ptauSha = cache[`ptau:${ptau}:${statSync(ptau).mtimeMs}`] ?? sha256File(ptau);
    cache[`ptau:${ptau}:${statSync(ptau).mtimeMs}`] = ptauSha;
    ptauInfo = { file: basename(ptau), sha256: ptauSha };
    const zkeyKey = sha256(JSON.stringify({ r1cs: sha256File(r1csPath), ptauSha }));
    const zkeyPath = join(out, "circuit.zkey");
    if (fresh("zkey", "circuit.zkey", zkeyKey)) {
      log("zkey: cached");
    } else {
      await step(`Groth16 setup (${stats.nConstraints} constraints, ptau power ${power})`, async () => {
        const tmp = join(out, "build", "circuit_0000.zkey");
        const logger = { info: (m: string) => /section|Writing|Reading/i.test(m) || log(`  ${m}`), debug: () => {}, warn: (m: string) => log(`  warning: ${m}`), error: (m: string) => log(`  error: ${m}`) };
        const r = await snarkjs.zKey.newZKey(r1csPath, ptau, tmp, logger);
        if (r === -1) throw new Error(`snarkjs newZKey failed for ${r1csPath} with ${ptau}`);
        // A public beacon closes phase 2 deterministically (development setup; a real deployment runs a ceremony).
        await snarkjs.zKey.beacon(tmp, zkeyPath, "ozk dev beacon", sha256(`ozk:${model.name}`), 10);
        rmSync(tmp, { force: true });
      });
      record("zkey", "circuit.zkey", zkeyKey);
    }
    const derivedKey = sha256File(zkeyPath) + name;
    if (!fresh("vkey", "vkey.json", derivedKey) || !fresh("verifier", "Verifier.sol", derivedKey)) {
      await step("export verification key and Solidity verifier", async () => {
        const vkey = await snarkjs.zKey.exportVerificationKey(zkeyPath);
        writeFileSync(join(out, "vkey.json"), JSON.stringify(vkey, null, 1) + "\n");
        const require = createRequire(import.meta.url);
        const templates = join(dirname(require.resolve("snarkjs")), "../templates");
        const sol = await snarkjs.zKey.exportSolidityVerifier(zkeyPath, { groth16: readFileSync(join(templates, "verifier_groth16.sol.ejs"), "utf8") });
        const named = sol.replace(/contract Groth16Verifier\b/, `contract ${name}`).replace(/pragma solidity [^;]+;/, "pragma solidity >=0.8.0 <0.9.0;");
        writeFileSync(join(out, "Verifier.sol"), named);
        const contractsDir = opts.contractsDir === undefined ? join(REPO_ROOT, "contracts", "verifiers") : opts.contractsDir;
        if (contractsDir) {
          mkdirSync(contractsDir, { recursive: true });
          writeFileSync(join(contractsDir, `${name}.sol`), named);
        }
      });
      record("vkey", "vkey.json", derivedKey);
      record("verifier", "Verifier.sol", derivedKey);
    }
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
  }

  // 5. manifest
  const artifacts: Record<string, string> = { quant: "quant.json", circom: "circuit.circom", r1cs: "circuit.r1cs" };
  if (route === "circom") artifacts.wasm = "circuit.wasm";
  if (onnxPath && resolve(dirname(onnxPath)) === out) artifacts.onnx = basename(onnxPath);
  if (!opts.skipSetup) Object.assign(artifacts, { zkey: "circuit.zkey", vkey: "vkey.json", verifier: "Verifier.sol" });
  const hashes: Record<string, string> = {};
  for (const f of Object.values(artifacts)) hashes[f] = cache[`${f}#sha256`] ?? sha256File(join(out, f));
  const modelId = "0x" + sha256(["quant.json", "circuit.r1cs", "vkey.json"].map((f) => hashes[f] ?? "").join(":"));
  const manifest: ModelManifest = {
    format: "ozk-model-package",
    version: 1,
    name: model.name,
    modelId,
    route,
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
    outputKind: q.outputKind,
    outputLength: q.outputCount,
    outputBits: q.outputBits,
    outputScale: q.outputScale,
    weightsCommitment: q.weightsCommitment,
    constraints: stats.nConstraints,
    wires: stats.nWires,
    publicSignals: publicSignalNames(q),
    verifierContract: opts.skipSetup ? null : name,
    ptau: ptauInfo,
    costs: stats.costs,
    artifacts,
    sha256: hashes,
  };
  writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  saveCache();
  log(`package ${out}: ${stats.nConstraints} constraints, built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return manifest;
}

/** sha256 of manifest.json: the artifactHash a model is registered with. */
export function artifactHash(pkgDir: string): `0x${string}` {
  return `0x${sha256File(join(pkgDir, "manifest.json"))}`;
}

export function readManifest(pkgDir: string): ModelManifest {
  const path = join(pkgDir, "manifest.json");
  if (!existsSync(path)) throw new Error(`${pkgDir} is not a model package (no manifest.json); run ozk model build first`);
  return JSON.parse(readFileSync(path, "utf8")) as ModelManifest;
}

/** The circom route: compile circuit.circom with circom2 from the repo root (it reads nothing outside its working
 *  directory), then move circuit.r1cs and circuit.wasm into the package. Per-layer costs are the direct route's. */
function compileWithCircom(q: QuantizedModel, out: string, visibility: Visibility): { nWires: number; nConstraints: number; costs: OpCost[] } {
  const work = join(REPO_ROOT, "build", "circom-route", sha256(readFileSync(join(out, "circuit.circom"))).slice(0, 16));
  mkdirSync(work, { recursive: true });
  copyFileSync(join(out, "circuit.circom"), join(work, "circuit.circom"));
  const rel = relative(REPO_ROOT, work);
  try {
    execFileSync(process.execPath, ["node_modules/circom2/cli.js", join(rel, "circuit.circom"), "--r1cs", "--wasm", "-l", ".", "-l", "node_modules", "-o", rel], { cwd: REPO_ROOT, stdio: "pipe" });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`circom2 failed on ${join(out, "circuit.circom")}: ${(e.stderr?.toString() || e.stdout?.toString() || String(err)).trim().slice(0, 2000)}`);
  }
  copyFileSync(join(work, "circuit.r1cs"), join(out, "circuit.r1cs"));
  copyFileSync(join(work, "circuit_js", "circuit.wasm"), join(out, "circuit.wasm"));
  rmSync(work, { recursive: true, force: true });
  const header = readR1csHeader(join(out, "circuit.r1cs"));
  return { nWires: header.nWires, nConstraints: header.nConstraints, costs: synthesize(q, { visibility }).costs };
}
