// Model packages a daemon serves or checks, by on-chain modelId: the quantized model for the reference
// engine, the manifest (shapes, bit widths) and the package folder for proving with the fastest backend; the
// check of a registry entry against the package; the example proof a registration carries.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { keccak256, type Hex } from "viem";
import { artifactHash, loadModelPackage, loadPackage, packagePath, verifyPackageFiles, type LoadedPackage } from "../circuits/compiler/package.ts";
import type { Deployment } from "../sdk/deployments.ts";
import { loadDeployment } from "../sdk/node/deployments.ts";
import { ConfigError, FatalError, RetryableError, errorSummary } from "../sdk/errors.ts";
import { hashVector } from "../sdk/hash.ts";
import { publicSignals } from "../sdk/signals.ts";
import { SETUP_KIND_NAMES, setupKindName, supportedSetupKind, toSolidityProof, type ModelEntry, type SetupKindName, type SetupRecordLike, type SnarkjsProof, type SolidityProof } from "../sdk/protocol.ts";
import type { Logger } from "../sdk/node/logger.ts";
import { sleep } from "../sdk/node/retry.ts";
import { runQuantized } from "../circuits/compiler/engine.ts";
import { selectBackend } from "../prover/backends/index.ts";
import { ProverResponseTooLargeError, type ProverClient } from "../prover/service/client.ts";
import type { Job } from "../prover/service/jobs.ts";
import { proveWithPackage } from "../prover/prove.ts";
import { assertProofValid, packageVerificationKey } from "../prover/verify.ts";
import type { ProverBackend } from "../prover/types.ts";
import { findArtifact } from "./artifacts.ts";

export interface ServedModel {
  modelId: Hex;
  name: string;
  pkg: LoadedPackage;
}

/**
 * Loads each package folder and finds its modelId: the explicit one, or the deployment's entry under the
 * manifest's name. A package the deployment does not know is a ConfigError naming it.
 */
export function loadModels(entries: ReadonlyArray<{ package: string; modelId?: string }>, deployment: Deployment): Map<Hex, ServedModel> {
  const out = new Map<Hex, ServedModel>();
  entries.forEach((e, i) => {
    let pkg: LoadedPackage;
    try {
      pkg = loadPackage(resolve(e.package));
    } catch (err) {
      const why = existsSync(resolve(e.package)) ? errorSummary(err) : "no such folder";
      throw new ConfigError(`models.${i}.package: cannot load the model package ${resolve(e.package)}: ${why}`, [`models.${i}.package: ${why}`], { cause: err });
    }
    const name = pkg.manifest.name;
    const modelId = (e.modelId ?? deployment.models[name])?.toLowerCase() as Hex | undefined;
    if (!modelId) {
      throw new ConfigError(`models[${i}]: the deployment has no model named "${name}"; give its modelId`, [`models.${i}.modelId: missing`]);
    }
    out.set(modelId, { modelId, name, pkg });
  });
  return out;
}

/** What a folder-served package is checked with before it is served: its registry entry (see checkModelEntries). */
export type EntryCheck = (model: ServedModel) => Promise<void>;

/**
 * A folder of model packages a daemon serves (config `modelsDir`), rescanned every `rescanMs`: each sub-folder
 * holding a manifest.json is loaded once the deployment file names a modelId for its model and the registry entry
 * matches the package (`check`); then it is served ("serving new model <name>"). A package that is not ready (not
 * registered yet, a mismatching entry, a half-copied folder, the RPC down) is logged once per reason and retried
 * at the next scan; nothing here throws. Hidden folders (".name", e.g. a build's staging folder) are skipped.
 * A served package is not reloaded: a changed package needs a restart (or a new folder, registered anew).
 */
export class ModelFolder {
  readonly dir: string;
  private nextScan = 0;
  /** Package folder -> the reason it was last not served (logged once per change). */
  private readonly waiting = new Map<string, string>();
  /** Files already found to match their manifest's sha256 (path, size, mtime, hash): not hashed again. */
  private readonly verified = new Set<string>();

  constructor(
    dir: string,
    private readonly o: { rescanMs: number; deployment: string; logger: Logger; check: EntryCheck },
  ) {
    this.dir = resolve(dir);
  }

  /** Scans when `rescanMs` has passed since the last scan; returns the models added. */
  async rescanIfDue(models: Map<Hex, ServedModel>, now = Date.now()): Promise<ServedModel[]> {
    if (now < this.nextScan) return [];
    this.nextScan = now + this.o.rescanMs;
    return this.scan(models);
  }

  /** Loads every package of the folder not yet served whose registry entry exists and matches; returns those added. */
  async scan(models: Map<Hex, ServedModel>): Promise<ServedModel[]> {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => !n.startsWith(".")).sort();
    } catch (err) {
      this.wait(this.dir, `cannot read the folder: ${errorSummary(err)}`);
      return [];
    }
    const served = new Set([...models.values()].map((m) => m.pkg.dir));
    const added: ServedModel[] = [];
    for (const name of names) {
      const dir = join(this.dir, name);
      if (served.has(dir)) continue;
      try {
        if (!statSync(dir).isDirectory() || !existsSync(join(dir, "manifest.json"))) continue;
      } catch {
        continue;
      }
      try {
        const model = await this.load(dir, models);
        models.set(model.modelId, model);
        served.add(dir);
        this.waiting.delete(dir);
        added.push(model);
        this.o.logger.info({ model: model.name, modelId: model.modelId, package: dir }, `serving new model ${model.name}`);
      } catch (err) {
        this.wait(dir, errorSummary(err));
      }
    }
    return added;
  }

  private async load(dir: string, models: Map<Hex, ServedModel>): Promise<ServedModel> {
    const pkg = loadPackage(dir);
    const name = pkg.manifest.name;
    // The deployment file is read afresh: `ozk model register` records the new modelId there.
    const modelId = loadDeployment(this.o.deployment).models[name]?.toLowerCase() as Hex | undefined;
    if (!modelId) throw new Error(`not registered: the deployment has no model named "${name}" (run ozk model register on this package)`);
    const other = models.get(modelId);
    if (other) throw new Error(`model ${name} (${modelId}) is already served from ${other.pkg.dir}`);
    // Every file as the manifest records it: a folder still being copied in is not served half-written.
    for (const file of Object.keys(pkg.manifest.sha256)) {
      if (!existsSync(packagePath(dir, file))) throw new Error(`${file} is missing (still being copied?)`);
    }
    verifyPackageFiles(pkg, this.verified);
    const model: ServedModel = { modelId, name, pkg };
    await this.o.check(model);
    return model;
  }

  private wait(dir: string, reason: string): void {
    if (this.waiting.get(dir) === reason) return;
    this.waiting.set(dir, reason);
    this.o.logger.warn({ package: dir, reason }, `model package not served yet (retried every ${Math.round(this.o.rescanMs / 1000)} s): ${reason}`);
  }
}

let backend: Promise<ProverBackend> | undefined;

/** A prover service to prove on (configFields.prover), with its client. */
export interface RemoteProver {
  client: ProverClient;
  /** Longest wait for one proof, from its submission (ms). */
  timeoutMs: number;
  fallbackLocal: boolean;
  /** The service counts as dead when it has not answered a request for this long (ms, default 30 000). */
  stallMs?: number;
  /** Pause between polls of the job (ms, default 500). */
  pollMs?: number;
}

/** Why the prover service was given up on: one word for metrics and tests, one line for the log. */
export type RemoteFailure = "unreachable" | "silent" | "lost" | "deadline" | "timeout" | "refused" | "failed" | "bad-proof";

/** The prover service did not deliver a valid proof in time; `reason` says why. */
export class RemoteProverError extends RetryableError {
  override name = "RemoteProverError";
  constructor(
    readonly reason: RemoteFailure,
    message: string,
    options: { cause?: unknown; meta?: Record<string, unknown> } = {},
  ) {
    super(message, options);
  }
}

/** Bounds on one proof: when to give the service up (so a local proof still lands in time), and a stop signal. */
export interface ProveBounds {
  /**
   * Epoch ms after which the wait on the service is abandoned for a local proof. Read at every poll, so the caller
   * can move it (a chain whose clock jumps). Only used when the service has a local fallback.
   */
  giveUpAt?: () => number;
  signal?: AbortSignal;
}

/** The claimed signals and the package's key must accept a proof from anywhere but this process. */
async function checkRemoteProof(model: ServedModel, values: readonly bigint[], outputs: bigint[], job: Job): Promise<void> {
  const want = claimSignals(model, values, outputs);
  const got = job.result!.publicSignals;
  if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
    throw new RemoteProverError("bad-proof", `prover service proved other public signals for job ${job.id}`, { meta: { want, got } });
  }
  const pkg = loadModelPackage(model.pkg.dir);
  const vkey = await packageVerificationKey(pkg);
  try {
    await assertProofValid(job.result!, vkey, `proof from the prover service (job ${job.id})`);
  } catch (err) {
    throw new RemoteProverError("bad-proof", errorSummary(err), { cause: err });
  }
}

/** The public signals a proof of `outputs` on `values` must carry: what the contract builds for the claim. */
export function claimSignals(model: ServedModel, values: readonly bigint[], outputs: readonly bigint[]): string[] {
  const m = model.pkg.manifest;
  return publicSignals(outputs, m.outputBits, hashVector(values, m.inputBits), BigInt(m.weightsCommitment)).map(String);
}

/**
 * Proves on the service as job `jobId` (idempotent: a restarted daemon finds the same job) and checks the
 * result here: the signals must be this claim's and the proof must verify under the package's key.
 * Every wait is bounded: by `timeoutMs` from the start, by `bounds.giveUpAt`, and by `stallMs` without any
 * answer from the service (refused connections, requests that hang). A job the service no longer knows, a
 * refused or failed job, an answer over the client's maxBodyBytes and a bad proof end the wait at once. Each of
 * these is a RemoteProverError naming why.
 */
async function proveRemote(model: ServedModel, values: readonly bigint[], outputs: bigint[], remote: RemoteProver, jobId: string, bounds: ProveBounds) {
  const t0 = performance.now();
  const started = Date.now();
  const stallMs = remote.stallMs ?? 30_000;
  const pollMs = remote.pollMs ?? 500;
  const until = (): { at: number; reason: RemoteFailure } => {
    const timeout = started + remote.timeoutMs;
    const giveUp = bounds.giveUpAt?.() ?? Infinity;
    return giveUp < timeout ? { at: giveUp, reason: "deadline" } : { at: timeout, reason: "timeout" };
  };
  const checkTime = (status: string): void => {
    const u = until();
    if (Date.now() < u.at) return;
    const message =
      u.reason === "deadline"
        ? `job ${jobId} still ${status} when a local proof must start to land before the claim's proof deadline`
        : `job ${jobId} still ${status} after prover.timeoutMs (${remote.timeoutMs} ms)`;
    throw new RemoteProverError(u.reason, message);
  };
  let lastAnswer = Date.now();
  /** One request, bounded by the stall time and by the give-up time; transport failures count towards the stall. */
  const ask = async <T>(what: string, call: (timeoutMs: number) => Promise<T>): Promise<T | typeof NO_ANSWER> => {
    const timeoutMs = Math.max(1, Math.min(stallMs, until().at - Date.now()));
    try {
      const out = await call(timeoutMs);
      lastAnswer = Date.now();
      return out;
    } catch (err) {
      // An answer too large to read is no proof, and the next one would be the same: given up at once.
      if (err instanceof ProverResponseTooLargeError) throw new RemoteProverError("bad-proof", `prover service answered job ${jobId} with too large a body: ${errorSummary(err)}`, { cause: err });
      if (!(err instanceof RetryableError)) {
        throw new RemoteProverError("refused", `prover service refused job ${jobId}: ${errorSummary(err)}`, { cause: err });
      }
      const silentFor = Date.now() - lastAnswer;
      if (silentFor >= stallMs) {
        const timedOut = (err.meta as { timedOut?: boolean } | undefined)?.timedOut === true;
        throw new RemoteProverError(timedOut ? "silent" : "unreachable", `no answer from the prover service for ${silentFor} ms (${what}): ${errorSummary(err)}`, { cause: err });
      }
      return NO_ANSWER;
    }
  };
  let job: Job | undefined;
  for (;;) {
    checkTime("unsubmitted");
    const submitted = await ask("submit", (timeoutMs) => remote.client.submit({ id: jobId, modelDir: basename(model.pkg.dir), input: { quantized: values.map(String) } }, { timeoutMs, signal: bounds.signal }));
    if (submitted !== NO_ANSWER) {
      job = submitted;
      break;
    }
    await sleep(Math.max(0, Math.min(pollMs, until().at - Date.now())), bounds.signal);
  }
  while (job.status !== "done" && job.status !== "failed") {
    await sleep(Math.max(0, Math.min(pollMs, until().at - Date.now())), bounds.signal);
    checkTime(job.status);
    const polled = await ask("poll", (timeoutMs) => remote.client.get(jobId, { timeoutMs, signal: bounds.signal }));
    if (polled === NO_ANSWER) continue;
    if (!polled) throw new RemoteProverError("lost", `the prover service no longer knows job ${jobId} (restarted without its job store?)`);
    job = polled;
  }
  if (job.status === "failed" || !job.result) throw new RemoteProverError("failed", `prover service failed job ${jobId}: ${job.error ?? "no result"}`);
  await checkRemoteProof(model, values, outputs, job);
  return { proof: job.result.proof as SnarkjsProof, outputs, backend: `service:${job.result.backend}`, ms: Math.round(performance.now() - t0) };
}

const NO_ANSWER = Symbol("no answer");

/** What proveOutputs returns: the proof, where it was made, and, when the service was given up, why. */
export interface ProvedOutputs {
  proof: SnarkjsProof;
  outputs: bigint[];
  backend: string;
  ms: number;
  /** Set when a prover service was asked first and its proof was replaced by a local one. */
  fallback?: { reason: RemoteFailure | "error"; error: string };
}

/**
 * Proves a model on a quantized input with the fastest prover backend on this machine (native, else snarkjs;
 * OZK_PROVER_BACKEND picks one), checked against the package's verifying key before it is returned.
 * Refuses when `expected` outputs differ from the engine's: a wrong claim has no proof.
 * With `remote`, the service proves first; with its local fallback (the default), a service that does not deliver
 * a valid proof in time (see proveRemote; `bounds.giveUpAt` is when a local proof must start) is replaced by a
 * local proof, logged as a warning with the reason. Without the fallback the error is a RetryableError.
 */
export async function proveOutputs(
  model: ServedModel,
  values: readonly bigint[],
  expected: readonly bigint[],
  logger?: Logger,
  options: {
    remote?: RemoteProver;
    jobId?: string;
    bounds?: ProveBounds;
    about?: () => Record<string, unknown>;
    /** Waits for a turn to prove on this machine; the function it resolves to ends the turn. */
    localSlot?: () => Promise<() => void>;
  } = {},
): Promise<ProvedOutputs> {
  const outputs = runQuantized(model.pkg.quant, values).outputs;
  if (outputs.length !== expected.length || outputs.some((v, i) => v !== expected[i])) {
    throw new FatalError(`${model.name}: the outputs to prove are not what the model computes`);
  }
  let fallback: ProvedOutputs["fallback"];
  if (options.remote) {
    const jobId = options.jobId ?? `ozk-${hashVector(values, model.pkg.manifest.inputBits).toString(16)}`;
    const remote = options.remote;
    // Without a local fallback there is nothing to give the service up for: only timeoutMs bounds the wait.
    const bounds = remote.fallbackLocal ? (options.bounds ?? {}) : { signal: options.bounds?.signal };
    try {
      return await proveRemote(model, values, outputs, remote, jobId, bounds);
    } catch (err) {
      if (options.bounds?.signal?.aborted) throw err;
      // Without a local fallback, keep trying the service until the deadline: the claim is provable.
      if (!remote.fallbackLocal) throw err instanceof RetryableError ? err : new RetryableError(errorSummary(err), { cause: err });
      fallback = { reason: err instanceof RemoteProverError ? err.reason : "error", error: errorSummary(err) };
      logger?.warn({ ...options.about?.(), jobId, reason: fallback.reason, err: fallback.error }, "prover service did not deliver a valid proof: proving locally");
    }
  }
  backend ??= selectBackend({ logger });
  const release = await options.localSlot?.();
  let result: Awaited<ReturnType<typeof proveWithPackage>>;
  try {
    result = await proveWithPackage(loadModelPackage(model.pkg.dir), { quantized: values.map(String) }, { backend: await backend });
  } finally {
    release?.();
  }
  return { proof: result.proof as SnarkjsProof, outputs, backend: result.backend, ms: result.timings.totalMs, ...(fallback ? { fallback } : {}) };
}

/** Manifest fields the setup tooling records (the verifier's runtime code hash and how the key was made). */
interface SetupRecord {
  verifierCodeHash?: string | null;
  setup?: SetupRecordLike | null;
}

/**
 * keccak256 of the deployed bytecode of a compiled contract (Hardhat artifact under artifacts/contracts): the
 * code hash the registry pins when that contract is the verifier (Groth16 verifiers have no immutables).
 */
export function artifactCodeHash(contractName: string): Hex {
  const file = findArtifact(contractName);
  if (!file) throw new ConfigError(`no compiled artifact for verifier ${contractName}: run \`npx hardhat build\``, [`verifierContract: ${contractName} not in artifacts/contracts`]);
  const { deployedBytecode } = JSON.parse(readFileSync(file, "utf8")) as { deployedBytecode?: string };
  if (!deployedBytecode || deployedBytecode === "0x") throw new ConfigError(`artifact of ${contractName} has no deployed bytecode`, [`verifierContract: ${file}`]);
  return keccak256(deployedBytecode as Hex);
}

/** What the registry entry of a package must say: the fields a daemon checks before it stakes on the model. */
export interface ExpectedEntry {
  /** sha256 of the package's manifest.json, which lists the sha256 of every file (weights, keys). */
  artifactHash: Hex;
  verifierCodeHash: Hex;
  weightsCommitment: bigint;
  outputLength: number;
  outputBits: number;
  setupKind: SetupKindName;
}

/**
 * The entry a package implies. verifierCodeHash: the manifest's `verifierCodeHash`, or (for packages built before
 * it was recorded) keccak256 of the compiled verifierContract's deployed bytecode. setupKind: the manifest's
 * `setup.kind`, "unsafe-dev" when absent (packages without a setup record were built with the dev setup).
 */
export function expectedEntry(pkg: LoadedPackage): ExpectedEntry {
  const m = pkg.manifest;
  const record = m as unknown as SetupRecord;
  let verifierCodeHash: Hex;
  if (record.verifierCodeHash !== undefined && record.verifierCodeHash !== null) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(record.verifierCodeHash)) {
      throw new ConfigError(`${m.name}: manifest verifierCodeHash is not a 32-byte hex string`, [`verifierCodeHash: ${record.verifierCodeHash}`]);
    }
    verifierCodeHash = record.verifierCodeHash.toLowerCase() as Hex;
  } else {
    if (!m.verifierContract) throw new ConfigError(`${m.name}: the package has no verifier (no verifierCodeHash, no verifierContract)`, ["verifierContract: null"]);
    verifierCodeHash = artifactCodeHash(m.verifierContract);
  }
  const kind = record.setup?.kind ?? "unsafe-dev";
  if (!(SETUP_KIND_NAMES as readonly string[]).includes(kind)) {
    throw new ConfigError(`${m.name}: manifest setup.kind "${kind}" is not one of ${SETUP_KIND_NAMES.join(", ")}`, [`setup.kind: ${kind}`]);
  }
  // The kind the record supports, not the one it declares: an entry claiming more than the key's record shows
  // (a development key registered as a ceremony) is a mismatch.
  return { artifactHash: artifactHash(pkg.dir), verifierCodeHash, weightsCommitment: BigInt(m.weightsCommitment), outputLength: m.outputLength, outputBits: m.outputBits, setupKind: supportedSetupKind(record.setup) };
}

/** One field where a registry entry and the local package disagree. */
export interface EntryMismatch {
  field: keyof ExpectedEntry;
  expected: string;
  onChain: string;
}

/** The fields where `entry` (from the registry) differs from what the package implies; empty when they agree. */
export function entryMismatches(expected: ExpectedEntry, entry: Pick<ModelEntry, "artifactHash" | "verifierCodeHash" | "weightsCommitment" | "outputLength" | "outputBits" | "setupKind">): EntryMismatch[] {
  let onChainKind: string;
  try {
    onChainKind = setupKindName(entry.setupKind);
  } catch {
    onChainKind = `unknown(${entry.setupKind})`;
  }
  const pairs: Array<[keyof ExpectedEntry, string, string]> = [
    ["artifactHash", expected.artifactHash.toLowerCase(), entry.artifactHash.toLowerCase()],
    ["verifierCodeHash", expected.verifierCodeHash.toLowerCase(), entry.verifierCodeHash.toLowerCase()],
    ["weightsCommitment", expected.weightsCommitment.toString(), entry.weightsCommitment.toString()],
    ["outputLength", String(expected.outputLength), String(entry.outputLength)],
    ["outputBits", String(expected.outputBits), String(entry.outputBits)],
    ["setupKind", expected.setupKind, onChainKind],
  ];
  return pairs.filter(([, e, o]) => e !== o).map(([field, e, o]) => ({ field, expected: e, onChain: o }));
}

/**
 * Throws a FatalError when the registry entry of a served model disagrees with its package: staking, claiming or
 * challenging on an entry whose verifier, weights or shape is not the package's would bet a bond on someone
 * else's circuit. The message names each field with the package's and the chain's value.
 */
export function assertEntryMatches(model: ServedModel, entry: ModelEntry, seen?: Set<string>): void {
  // The files first: the manifest's hash is compared with the entry's artifactHash below, and the manifest lists
  // the hash of every file, so together a package edited after registration (other weights, another key) is caught.
  try {
    verifyPackageFiles(model.pkg, seen);
  } catch (err) {
    throw new FatalError(`model ${model.name} (${model.modelId}): ${errorSummary(err)}`, {
      details: "refusing to stake, claim or challenge on a package whose files are not the ones its manifest records",
      meta: { modelId: model.modelId },
    });
  }
  const bad = entryMismatches(expectedEntry(model.pkg), entry);
  if (bad.length === 0) return;
  const list = bad.map((b) => `${b.field}: package ${b.expected}, on chain ${b.onChain}`);
  throw new FatalError(`model ${model.name} (${model.modelId}): the registry entry does not match the package: ${list.join("; ")}`, {
    details: "refusing to stake, claim or challenge on it: register the package's own verifier, or serve the package the entry was registered from",
    meta: { modelId: model.modelId, mismatches: bad },
  });
}

/** One valid proof of a package, as registerModel takes it (ExampleProof): the model on an all-zero input. */
export interface ExampleProof {
  inputHash: bigint;
  outputs: bigint[];
  proof: SolidityProof;
}

/**
 * Proves the package on an all-zero quantized input with the fastest local backend (the proof is checked
 * against the package's verifying key): the example proof the registry requires at registration.
 */
export async function exampleProof(pkgDir: string, logger?: Logger): Promise<ExampleProof & { backend: string; ms: number }> {
  const pkg = loadPackage(resolve(pkgDir));
  const values = new Array<bigint>(pkg.manifest.inputLength).fill(0n);
  const outputs = runQuantized(pkg.quant, values).outputs;
  backend ??= selectBackend({ logger });
  const result = await proveWithPackage(loadModelPackage(pkg.dir), { quantized: values.map(String) }, { backend: await backend });
  return {
    inputHash: hashVector(values, pkg.manifest.inputBits),
    outputs,
    proof: toSolidityProof(result.proof as SnarkjsProof),
    backend: result.backend,
    ms: result.timings.totalMs,
  };
}
