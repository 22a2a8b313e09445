// `ozk model build`: FloatModel (or model.onnx) -> provable package (quant.json, circuit.circom, circuit.r1cs,
// circuit.zkey, vkey.json, Verifier.sol, manifest.json), each step cached by a content hash of its inputs. The key
// gets one secret phase-2 contribution (setup.ts); `ozk ceremony` replaces it with a multi-party one.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FloatModel } from "./ir.ts";
import { parseQuant, quantize, serializeQuant, type QuantOptions, type QuantizedModel } from "./quantize.ts";
import { publicCount, synthesize, type OpCost, type Visibility } from "./emit.ts";
import { generateCircom } from "./circom.ts";
import { readR1csHeader } from "./r1cs.ts";
import { applyBeacon, contributeSecret, describePtau, initialKey, isUnsafePtau, ptauPower, releaseCurve, setupRecordOf, UNSAFE_PTAU_SHA256, type SetupRecord } from "./setup.ts";
import { exportVerifier, verifierCodeHash } from "./verifier.ts";
import { valuesPerLimb } from "../../sdk/hash.ts";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, "../..");

export interface BuildOptions {
  /** Package folder (default models/<name>). */
  out?: string;
  visibility?: Visibility;
  /** Powers of tau (default: the file OZK_PTAU names). */
  ptau?: string;
  /** Mark the powers of tau as insecure (a development file): the manifest records the key as unsafe-dev. */
  unsafeDev?: boolean;
  /** A public beacon applied after the secret contribution (optional; it adds no secrecy). */
  beacon?: { hash: string; iterationsExp: number };
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
  /** keccak256 of the verifier's runtime bytecode as the repository's solc settings (solc.config.ts) compile
   *  Verifier.sol: compare with EXTCODEHASH of a deployed verifier. null without a key. */
  verifierCodeHash: string | null;
  /** How the proving key was made (kind, powers of tau, contributions, beacon); null without a key. */
  setup: SetupRecord | null;
  costs: OpCost[];
  /** role -> file name, relative to the package folder. */
  artifacts: Record<string, string>;
  /** file name -> sha256 (hex). */
  sha256: Record<string, string>;
}

const sha256 = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");
const sha256File = (path: string): string => sha256(readFileSync(path));

/** The powers-of-tau file OZK_PTAU names, or undefined when it is unset or missing. */
export function defaultPtau(): string | undefined {
  const p = process.env.OZK_PTAU;
  return p && existsSync(p) ? p : undefined;
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

  // 4. Groth16 setup: phase 2 from the powers of tau, with a secret contribution (see setup.ts for why)
  let setup: SetupRecord | null = null;
  if (!opts.skipSetup) {
    const ptau = opts.ptau ?? defaultPtau();
    if (!ptau || !existsSync(ptau)) {
      throw new Error(`no powers-of-tau file${ptau ? ` at ${ptau}` : ""}: pass --ptau <file> or set OZK_PTAU (docs/setup.md says where to get one)`);
    }
    const power = ptauPower(ptau);
    const needed = Math.ceil(Math.log2(stats.nConstraints + publicCount(q) + 1));
    if (needed > power) {
      throw new Error(`${model.name} needs a powers-of-tau file of power ${needed} (${stats.nConstraints} constraints), but ${ptau} has power ${power}`);
    }
    const ptauCacheKey = `ptau:${resolve(ptau)}:${statSync(ptau).mtimeMs}`;
    const ptauInfo = describePtau(ptau, cache[ptauCacheKey]);
    cache[ptauCacheKey] = ptauInfo.sha256;
    if (isUnsafePtau(ptauInfo, opts.unsafeDev)) {
      log(`warning: ${ptauInfo.file} is ${ptauInfo.sha256 in UNSAFE_PTAU_SHA256 ? `known insecure (${UNSAFE_PTAU_SHA256[ptauInfo.sha256]})` : "marked insecure (--unsafe-dev)"}: the key is recorded as unsafe-dev`);
    }
    // "phase2": keys of earlier versions (closed by a public beacon only, hence forgeable) are never reused.
    const zkeyKey = sha256(JSON.stringify({ r1cs: sha256File(r1csPath), ptauSha: ptauInfo.sha256, phase2: "secret contribution", beacon: opts.beacon ?? null }));
    const zkeyPath = join(out, "circuit.zkey");
    // A key finalized by `ozk ceremony` for this very circuit and ptau is kept: rebuilding must not replace it.
    const prior = existsSync(join(out, "manifest.json")) ? readManifest(out) : null;
    const ceremonyKey =
      existsSync(join(out, "ceremony", "ceremony.json")) &&
      !!prior?.setup?.contributions.length &&
      prior.setup.ptau?.sha256 === ptauInfo.sha256 &&
      prior.sha256["circuit.r1cs"] === sha256File(r1csPath) &&
      existsSync(zkeyPath) &&
      prior.sha256["circuit.zkey"] === sha256File(zkeyPath);
    if (ceremonyKey) {
      log("zkey: kept (finalized by ozk ceremony)");
    } else if (fresh("zkey", "circuit.zkey", zkeyKey)) {
      log("zkey: cached");
    } else {
      await step(`Groth16 setup (${stats.nConstraints} constraints, ptau power ${power}, one secret contribution)`, async () => {
        const init = join(out, "build", "circuit_0000.zkey");
        const contributed = join(out, "build", "circuit_0001.zkey");
        const logger = { info: (m: string) => /section|Writing|Reading/i.test(m) || log(`  ${m}`), debug: () => {}, warn: (m: string) => log(`  warning: ${m}`), error: (m: string) => log(`  error: ${m}`) };
        await initialKey(r1csPath, ptau, init, logger);
        const hash = await contributeSecret(init, opts.beacon ? contributed : zkeyPath, SINGLE_CONTRIBUTION_NAME);
        log(`  secret contribution hash ${hash}`);
        if (opts.beacon) await applyBeacon(contributed, zkeyPath, opts.beacon.hash, opts.beacon.iterationsExp);
        rmSync(init, { force: true });
        rmSync(contributed, { force: true });
      });
      record("zkey", "circuit.zkey", zkeyKey);
    }
    setup = await setupRecordOf(zkeyPath, ptauInfo, { unsafeDev: opts.unsafeDev, ceremony: !!ceremonyKey });
  }

  // 5. verification key, verifier, manifest
  const manifest: ModelManifest = {
    format: "ozk-model-package",
    version: 1,
    name: model.name,
    modelId: "",
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
    verifierContract: null,
    verifierCodeHash: null,
    setup: null,
    costs: stats.costs,
    artifacts: { quant: "quant.json", circom: "circuit.circom", r1cs: "circuit.r1cs" },
    sha256: {},
  };
  if (route === "circom") manifest.artifacts.wasm = "circuit.wasm";
  if (onnxPath && resolve(dirname(onnxPath)) === out) manifest.artifacts.onnx = basename(onnxPath);
  const contractsDir = opts.contractsDir === undefined ? join(REPO_ROOT, "contracts", "verifiers") : opts.contractsDir;
  saveCache();
  if (setup) await installKey(out, manifest, setup, { contractsDir, log });
  else writeManifest(out, manifest);
  log(`package ${out}: ${stats.nConstraints} constraints, built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return manifest;
}

/** The name `ozk model build` gives its secret phase-2 contribution. */
export const SINGLE_CONTRIBUTION_NAME = "ozk model build (single contributor)";

/**
 * Completes a package around its finished proving key (`<out>/circuit.zkey`): vkey.json, Verifier.sol and the copy
 * in `contractsDir`, then manifest.json with the setup record, the verifier's code hash, modelId and every
 * artifact's sha256. Shared by `ozk model build` and `ozk ceremony finalize`; fills in `manifest`.
 */
export async function installKey(out: string, manifest: ModelManifest, setup: SetupRecord, opts: { contractsDir: string | null; log?: (line: string) => void }): Promise<void> {
  const log = opts.log ?? (() => {});
  const cachePath = join(out, "build", "cache.json");
  mkdirSync(join(out, "build"), { recursive: true });
  const cache: Cache = existsSync(cachePath) ? (JSON.parse(readFileSync(cachePath, "utf8")) as Cache) : {};
  const zkeyPath = join(out, "circuit.zkey");
  const name = verifierName(manifest.name);
  // (cache["circuit.zkey#sha256"] stays as buildModel recorded it: a key from elsewhere is not a cached build key)
  const derivedKey = sha256File(zkeyPath) + name;
  const have = (file: string): boolean => existsSync(join(out, file)) && cache[`${file}#sha256`] === sha256File(join(out, file));
  const contractCopy = opts.contractsDir ? join(opts.contractsDir, `${name}.sol`) : null;
  if (cache.vkey !== derivedKey || cache.verifier !== derivedKey || !have("vkey.json") || !have("Verifier.sol") || (contractCopy && !existsSync(contractCopy))) {
    log("export verification key and Solidity verifier ...");
    await exportVerifier(zkeyPath, out, name, opts.contractsDir);
    cache.vkey = cache.verifier = derivedKey;
    for (const f of ["vkey.json", "Verifier.sol"]) cache[`${f}#sha256`] = sha256File(join(out, f));
  }
  await releaseCurve();
  const solSha = cache["Verifier.sol#sha256"]!;
  const codeHash = cache[`verifierCodeHash:${solSha}`] ?? verifierCodeHash(readFileSync(join(out, "Verifier.sol"), "utf8"), name);
  cache[`verifierCodeHash:${solSha}`] = codeHash;
  writeFileSync(cachePath, JSON.stringify(cache, null, 2) + "\n");
  Object.assign(manifest.artifacts, { zkey: "circuit.zkey", vkey: "vkey.json", verifier: "Verifier.sol" });
  manifest.verifierContract = name;
  manifest.verifierCodeHash = codeHash;
  manifest.setup = setup;
  writeManifest(out, manifest);
}

/** Fills in `sha256` and `modelId` from the files on disk and writes manifest.json. */
function writeManifest(out: string, manifest: ModelManifest): void {
  manifest.sha256 = {};
  for (const f of Object.values(manifest.artifacts)) manifest.sha256[f] = sha256File(join(out, f));
  manifest.modelId = "0x" + sha256(["quant.json", "circuit.r1cs", "vkey.json"].map((f) => manifest.sha256[f] ?? "").join(":"));
  writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
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
