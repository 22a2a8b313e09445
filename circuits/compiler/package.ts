// A model package on disk, for every layer: the compiler writes it, the prover proves with it, the daemons serve
// it. manifest.json (the compiler's, checked on read), where the artifacts are (named by the manifest, else found
// by circom's output layout: a bare circom package needs no manifest) and the quantized model.
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import { FatalError } from "../../sdk/errors.ts";
import type { SetupKindName } from "../../sdk/protocol.ts";
import type { InputPreprocess } from "../ir/preprocess.ts";
import type { OpCost, Visibility } from "./emit.ts";
import { parseQuant, type QuantizedModel } from "./quantize.ts";

/** A model package directory lacks what the caller needs, or its manifest.json does not parse or validate. */
export class PackageError extends FatalError {
  override name = "PackageError";
}

export const MANIFEST_FILE = "manifest.json";
const FORMAT = "ozk-model-package";

/** A powers-of-tau file as a setup record names it. */
export interface PtauInfo {
  file: string;
  sha256: string;
  power: number;
}

/** How a package's proving key was made (manifest.json `setup`). */
export interface SetupRecord {
  /** ceremony: at least two secret contributions through `ozk ceremony`; single-contributor: `ozk model build`'s one
   *  secret contribution; unsafe-dev: a known insecure powers of tau or the native dev setup (forgeable). */
  kind: SetupKindName;
  /** The phase-1 file: its name, sha256 and power; null for the native dev setup (no powers of tau). */
  ptau: PtauInfo | null;
  /** The secret phase-2 contributions in order: the name each contributor gave and the contribution hash
   *  (blake2b-512, hex; the value snarkjs prints as "Contribution Hash" and `ozk ceremony verify` lists). */
  contributions: { name: string; hash: string }[];
  /** The public beacon applied last, if any: its hash (hex) and log2 of the sha256 iteration count. */
  beacon: { hash: string; iterationsExp: number } | null;
}

/** manifest.json `fidelityGate`: what `ozk model build` measured before writing the package. */
export interface FidelityGateRecord {
  /** passed: agreement at or above minAgreement; skipped: written without the check (--skip-fidelity). */
  status: "passed" | "skipped";
  /** Fraction of samples whose quantized top-1 class equals the float one; null when skipped. */
  agreement: number | null;
  minAgreement: number;
  /** Samples evaluated (0 when skipped) and what they were. */
  samples: number;
  data: string | null;
}

export interface ModelManifest {
  format: typeof FORMAT;
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
  /** The input preprocessing of the training code, per input channel: t = x * scale + offset, then (t - mean) / std.
   *  Inputs stay RAW (quantized with inputScale/inputRange; the inputHash commits to them); the circuit applies the
   *  map, folded into its first layer. Absent: the network takes the inputs as they are. */
  preprocess?: InputPreprocess;
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
  /** The fidelity gate of `ozk model build`: the quantized model's top-1 agreement with the float model when it was
   *  built, or that the gate was skipped (--skip-fidelity). Absent in packages built by the library alone. */
  fidelityGate?: FidelityGateRecord;
  /** The final Softmax or LogSoftmax of the ONNX file, left out at import: the outputs are the logits it would
   *  have turned into probabilities (the same top-1 class). Absent when the file outputs logits. */
  strippedOutputOp?: string;
  /** role -> file name, relative to the package folder. */
  artifacts: Record<string, string>;
  /** file name -> sha256 (hex). */
  sha256: Record<string, string>;
}

/** sha256 (hex) of a file, read in 1 MiB chunks (keys of big models are gigabytes). */
export const sha256File = (path: string): string => {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
};

/** Largest manifest.json and quant.json read (a quantized model of a few million weights is far below). */
const MAX_MANIFEST_BYTES = 16 << 20;
const MAX_QUANT_BYTES = 1 << 30;

/**
 * A package file, checked before it is opened: a regular file (a FIFO would block the reader forever, a device
 * never end) of at most `max` bytes. Packages come from strangers (a download, a shared models folder).
 */
export function assertRegularFile(path: string, max = Number.MAX_SAFE_INTEGER): void {
  const st = statSync(path);
  if (!st.isFile()) throw new PackageError(`${path} is not a regular file`);
  if (st.size > max) throw new PackageError(`${path} is ${st.size} bytes, more than the ${max} this reads`);
}

/** A file name a manifest gives, as a path inside the package; absolute names and ".." are refused. */
export function packagePath(root: string, rel: string): string {
  if (rel === "" || isAbsolute(rel) || rel.split(/[\\/]/).includes("..")) throw new PackageError(`the manifest names a file outside its package: ${JSON.stringify(rel)}`);
  return join(root, rel);
}

/** manifest.json of `dir` parsed, or undefined when there is none; invalid JSON is a PackageError. */
function parseManifestFile(dir: string): Record<string, unknown> | undefined {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return undefined;
  assertRegularFile(path, MAX_MANIFEST_BYTES);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new PackageError(`${path} is not valid JSON`, { cause: err });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new PackageError(`${path} is not a JSON object`);
  return parsed as Record<string, unknown>;
}

type FieldCheck = (v: unknown) => boolean;
const isString: FieldCheck = (v) => typeof v === "string";
const isNumber: FieldCheck = (v) => typeof v === "number" && Number.isFinite(v);
const isStringMap: FieldCheck = (v) => typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
/** The fields a consumer of a compiler package reads; packages built before `verifierCodeHash` and `setup` were
 *  recorded lack those two, so they are not required. */
const REQUIRED_FIELDS: Record<string, [FieldCheck, string]> = {
  name: [isString, "a string"],
  route: [(v) => v === "direct" || v === "circom", '"direct" or "circom"'],
  visibility: [(v) => v === "constant" || v === "committed", '"constant" or "committed"'],
  inputShape: [(v) => Array.isArray(v) && v.every((x) => Number.isInteger(x)), "an array of integers"],
  inputLength: [(v) => Number.isInteger(v), "an integer"],
  inputBits: [(v) => Number.isInteger(v), "an integer"],
  inputScale: [isNumber, "a number"],
  outputLength: [(v) => Number.isInteger(v), "an integer"],
  outputBits: [(v) => Number.isInteger(v), "an integer"],
  weightsCommitment: [(v) => typeof v === "string" && /^\d+$/.test(v), "a decimal string"],
  constraints: [(v) => Number.isInteger(v), "an integer"],
  publicSignals: [(v) => Array.isArray(v) && v.every(isString), "an array of strings"],
  verifierContract: [(v) => v === null || typeof v === "string", "a string or null"],
  artifacts: [isStringMap, "an object of file names"],
  sha256: [isStringMap, "an object of hashes"],
};

function validateManifest(raw: Record<string, unknown>, path: string): ModelManifest {
  if (raw.format !== FORMAT) throw new PackageError(`${path} is not an ozk model package manifest (format is ${JSON.stringify(raw.format)}, expected "${FORMAT}")`);
  if (raw.version !== 1) throw new PackageError(`${path} has manifest version ${JSON.stringify(raw.version)}; this ozk reads version 1`);
  const bad = Object.entries(REQUIRED_FIELDS)
    .filter(([field, [ok]]) => !ok(raw[field]))
    .map(([field, [, want]]) => `${field}: ${field in raw ? `expected ${want}` : "missing"}`);
  if (bad.length) throw new PackageError(`${path} is missing or has invalid fields: ${bad.map((b) => b.split(":")[0]).join(", ")}`, { details: bad.join("\n"), docsPath: "model-package.md#manifestjson" });
  return raw as unknown as ModelManifest;
}

/** The compiler manifest of the package in `pkgDir`, checked; PackageError naming what is missing or wrong. */
export function readManifest(pkgDir: string): ModelManifest {
  const raw = parseManifestFile(pkgDir);
  if (!raw) throw new PackageError(`${pkgDir} is not a model package (no ${MANIFEST_FILE}); run ozk model build first`);
  return validateManifest(raw, join(pkgDir, MANIFEST_FILE));
}

/** Fills in `sha256` and `modelId` from the files on disk and writes manifest.json. */
export function writeManifest(pkgDir: string, manifest: ModelManifest): void {
  manifest.sha256 = {};
  for (const f of Object.values(manifest.artifacts)) manifest.sha256[f] = sha256File(join(pkgDir, f));
  manifest.modelId = "0x" + createHash("sha256").update(["quant.json", "circuit.r1cs", "vkey.json"].map((f) => manifest.sha256[f] ?? "").join(":")).digest("hex");
  writeFileSync(join(pkgDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
}

/**
 * Checks every file the manifest lists against its sha256, and that the quantized model, the proving key and the
 * verifying key in use are among them: with the manifest's own hash (the registry's artifactHash) this binds the
 * weights the engine runs and the keys the prover uses to what was registered. A PackageError names the file.
 * Files already checked (`seen`: path, size, mtime and hash) are not hashed again.
 */
export function verifyPackageFiles(pkg: ModelPackage & { manifest: ModelManifest }, seen?: Set<string>): void {
  const listed = new Map<string, string>();
  for (const [file, sha] of Object.entries(pkg.manifest.sha256)) {
    const path = packagePath(pkg.dir, file);
    if (!existsSync(path)) continue; // a file left out (a key not built) is refused where it is needed
    assertRegularFile(path);
    const st = statSync(path);
    const key = `${path}:${st.size}:${st.mtimeMs}:${sha}`;
    if (!seen?.has(key)) {
      if (sha256File(path) !== sha) throw new PackageError(`${file} of ${pkg.dir} does not match the sha256 its manifest records`);
      seen?.add(key);
    }
    listed.set(resolve(path), file);
  }
  for (const [what, path] of [["quantized model", pkg.quantPath], ["proving key", pkg.zkeyPath], ["verifying key", pkg.vkeyPath]] as const) {
    if (path && !listed.has(resolve(path))) throw new PackageError(`the ${what} ${path} of ${pkg.dir} is not a file its manifest lists with a sha256`);
  }
}

/** sha256 of manifest.json: the artifactHash a model is registered with. */
export function artifactHash(pkgDir: string): `0x${string}` {
  return `0x${sha256File(join(pkgDir, MANIFEST_FILE))}`;
}

/** A package directory and where its artifacts are. Nothing is required of it: see loadModelPackage and loadPackage. */
export interface ModelPackage {
  /** Absolute path. */
  dir: string;
  name: string;
  /** How the witness is computed: "circom" (wasm witness generator) or another route (e.g. "direct"). */
  route: string;
  /** The compiler's manifest; undefined for a package without one or with a foreign one (name, route, artifacts). */
  manifest?: ModelManifest;
  zkeyPath?: string;
  /** Witness generator of circom packages. */
  wasmPath?: string;
  /** vkey.json shipped with the package (the key the on-chain verifier was built from). */
  vkeyPath?: string;
  /** quant.json of compiler packages. */
  quantPath?: string;
}

/** A package that can be proved: it has a proving key (and a witness generator when its route is circom). */
export interface ProvablePackage extends ModelPackage {
  zkeyPath: string;
}

/** A compiler package with its quantized model: what the reference engine and the direct-route witness need. */
export interface LoadedPackage extends ModelPackage {
  manifest: ModelManifest;
  quantPath: string;
  quant: QuantizedModel;
}

function findFile(dir: string, pred: (name: string) => boolean, depth = 2): string | undefined {
  if (!existsSync(dir)) return undefined;
  const entries = readdirSync(dir).sort();
  for (const name of entries) {
    const p = join(dir, name);
    if (pred(name) && statSync(p).isFile()) return p;
  }
  if (depth > 0) {
    for (const name of entries) {
      const p = join(dir, name);
      if (statSync(p).isDirectory() && name !== "node_modules") {
        const hit = findFile(p, pred, depth - 1);
        if (hit) return hit;
      }
    }
  }
  return undefined;
}

/** Artifact path from a manifest: artifacts.<kind> as a string, or a { path|file|name } object (foreign manifests). */
function manifestArtifact(manifest: Record<string, unknown> | undefined, kinds: string[]): string | undefined {
  const artifacts = manifest?.artifacts;
  if (!artifacts || typeof artifacts !== "object") return undefined;
  for (const kind of kinds) {
    const a = (artifacts as Record<string, unknown>)[kind];
    if (typeof a === "string") return a;
    if (a && typeof a === "object") {
      const o = a as Record<string, unknown>;
      const p = o.path ?? o.file ?? o.name;
      if (typeof p === "string") return p;
    }
  }
  return undefined;
}

/**
 * The package at `dir`: its manifest (a compiler manifest is validated; a foreign one only supplies name, route
 * and artifacts) and the artifact paths, from the manifest when it names them (in the folder or its build/), else
 * found by convention (any .zkey, .wasm, vkey.json / verification_key.json up to two folders deep).
 */
export function openPackage(dir: string): ModelPackage {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new PackageError(`model package ${dir} is not a directory`);
  const raw = parseManifestFile(root);
  const manifest = raw?.format !== undefined ? validateManifest(raw, join(root, MANIFEST_FILE)) : undefined;
  const at = (rel: string | undefined): string | undefined => {
    if (!rel) return undefined;
    for (const p of [packagePath(root, rel), packagePath(join(root, "build"), rel)]) if (existsSync(p)) return p;
    return undefined;
  };
  const zkeyPath = at(manifestArtifact(raw, ["zkey", "provingKey"])) ?? findFile(root, (n) => n.endsWith(".zkey"));
  const wasmPath = at(manifestArtifact(raw, ["wasm", "witness", "witnessWasm"])) ?? findFile(root, (n) => n.endsWith(".wasm"));
  const vkeyPath = at(manifestArtifact(raw, ["vkey", "verificationKey"])) ?? findFile(root, (n) => n === "vkey.json" || n === "verification_key.json");
  const quantPath = manifest ? at(manifest.artifacts.quant ?? "quant.json") : undefined;
  const route = typeof raw?.route === "string" ? raw.route : wasmPath ? "circom" : "direct";
  const name = typeof raw?.name === "string" ? raw.name : basename(root);
  return { dir: root, name, route, manifest, zkeyPath, wasmPath, vkeyPath, quantPath };
}

/** `pkg` if it can be proved; otherwise a PackageError naming the missing proving key or witness generator. */
export function requireProvable(pkg: ModelPackage, given = pkg.dir): ProvablePackage {
  if (!pkg.zkeyPath) {
    throw new PackageError(`model package ${given} has no proving key (.zkey)`, {
      details: "build it first: ozk model build <dir>",
      docsPath: "prover-service.md#model-packages",
    });
  }
  if (pkg.route === "circom" && !pkg.wasmPath) {
    throw new PackageError(`model package ${given} has no witness generator (.wasm)`, { docsPath: "prover-service.md#model-packages" });
  }
  return pkg as ProvablePackage;
}

/** The package at `dir` for proving (the prover's entry point). */
export function loadModelPackage(dir: string): ProvablePackage {
  return requireProvable(openPackage(dir), dir);
}

/** The compiler package at `dir` with its quantized model (the daemons', the engine's and the witness's entry point). */
export function loadPackage(dir: string): LoadedPackage {
  const pkg = openPackage(dir);
  if (!pkg.manifest) throw new PackageError(`${dir} is not a model package built by ozk (no ${MANIFEST_FILE} of format "${FORMAT}"); run ozk model build first`);
  if (!pkg.quantPath) throw new PackageError(`model package ${dir} has no quantized model (${pkg.manifest.artifacts.quant ?? "quant.json"})`, { details: "build it first: ozk model build <dir>" });
  assertRegularFile(pkg.quantPath, MAX_QUANT_BYTES);
  const quant = parseQuant(readFileSync(pkg.quantPath, "utf8"));
  // The manifest says how inputs are preprocessed (a dApp reads it); the quantized model is what computes it.
  if (JSON.stringify(pkg.manifest.preprocess ?? null) !== JSON.stringify(quant.preprocess ?? null)) {
    throw new PackageError(`model package ${dir}: the manifest's preprocess field does not match the one of its quantized model (${pkg.manifest.artifacts.quant ?? "quant.json"})`, { details: "rebuild it: ozk model build <dir>" });
  }
  return { ...pkg, manifest: pkg.manifest, quantPath: pkg.quantPath, quant };
}
