// Model packages a daemon serves or checks, by on-chain modelId: the quantized model for the reference
// engine, the manifest (shapes, bit widths) and the package folder for proving with the fastest backend.
import { basename, resolve } from "node:path";
import type { Hex } from "viem";
import { loadPackage, type LoadedPackage } from "../../circuits/compiler/prove.ts";
import type { Deployment } from "../deployments.ts";
import { ConfigError, FatalError, RetryableError, errorSummary } from "../errors.ts";
import { hashVector } from "../hash.ts";
import { publicSignals } from "../signals.ts";
import type { SnarkjsProof } from "../protocol.ts";
import type { Logger } from "./logger.ts";
import { runQuantized } from "../../circuits/compiler/engine.ts";
import { selectBackend } from "../../prover/backends/index.ts";
import { loadModelPackage } from "../../prover/package.ts";
import type { ProverClient } from "../../prover/client.ts";
import { ProofError } from "../../prover/errors.ts";
import { proveWithPackage } from "../../prover/prove.ts";
import { assertProofValid, readVerificationKey, verificationKeyOf } from "../../prover/verify.ts";
import type { ProverBackend } from "../../prover/types.ts";

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
    const pkg = loadPackage(resolve(e.package));
    const name = pkg.manifest.name;
    const modelId = (e.modelId ?? deployment.models[name])?.toLowerCase() as Hex | undefined;
    if (!modelId) {
      throw new ConfigError(`models[${i}]: the deployment has no model named "${name}"; give its modelId`, [`models.${i}.modelId: missing`]);
    }
    out.set(modelId, { modelId, name, pkg });
  });
  return out;
}

let backend: Promise<ProverBackend> | undefined;

/** A prover service to prove on (configFields.prover), with its client. */
export interface RemoteProver {
  client: ProverClient;
  timeoutMs: number;
  fallbackLocal: boolean;
}

/** The public signals a proof of `outputs` on `values` must carry: what the contract builds for the claim. */
export function claimSignals(model: ServedModel, values: readonly bigint[], outputs: readonly bigint[]): string[] {
  const m = model.pkg.manifest;
  return publicSignals(outputs, m.outputBits, hashVector(values, m.inputBits), BigInt(m.weightsCommitment)).map(String);
}

/**
 * Proves on the service as job `jobId` (idempotent: a restarted daemon finds the same job) and checks the
 * result here: the signals must be this claim's and the proof must verify under the package's key.
 */
async function proveRemote(model: ServedModel, values: readonly bigint[], outputs: bigint[], remote: RemoteProver, jobId: string) {
  const t0 = performance.now();
  let job = await remote.client.submit({ id: jobId, modelDir: basename(model.pkg.dir), input: { quantized: values.map(String) } });
  if (job.status !== "done" && job.status !== "failed") job = await remote.client.waitFor(jobId, { timeoutMs: remote.timeoutMs });
  if (job.status === "failed" || !job.result) throw new ProofError(`prover service failed job ${jobId}: ${job.error ?? "no result"}`);
  const want = claimSignals(model, values, outputs);
  const got = job.result.publicSignals;
  if (got.length !== want.length || got.some((v, i) => v !== want[i])) {
    throw new ProofError(`prover service proved other public signals for job ${jobId}`, { meta: { want, got } });
  }
  const pkg = loadModelPackage(model.pkg.dir);
  const vkey = pkg.vkeyPath ? await readVerificationKey(pkg.vkeyPath) : await verificationKeyOf(pkg.zkeyPath);
  await assertProofValid(job.result, vkey, `proof from the prover service (job ${jobId})`);
  return { proof: job.result.proof as SnarkjsProof, outputs, backend: `service:${job.result.backend}`, ms: Math.round(performance.now() - t0) };
}

/**
 * Proves a model on a quantized input with the fastest prover backend on this machine (native, else snarkjs;
 * OZK_PROVER_BACKEND picks one), checked against the package's verifying key before it is returned.
 * Refuses when `expected` outputs differ from the engine's: a wrong claim has no proof.
 */
export async function proveOutputs(
  model: ServedModel,
  values: readonly bigint[],
  expected: readonly bigint[],
  logger?: Logger,
  options: { remote?: RemoteProver; jobId?: string } = {},
): Promise<{ proof: SnarkjsProof; outputs: bigint[]; backend: string; ms: number }> {
  const outputs = runQuantized(model.pkg.quant, values).outputs;
  if (outputs.length !== expected.length || outputs.some((v, i) => v !== expected[i])) {
    throw new FatalError(`${model.name}: the outputs to prove are not what the model computes`);
  }
  if (options.remote) {
    const jobId = options.jobId ?? `ozk-${hashVector(values, model.pkg.manifest.inputBits).toString(16)}`;
    try {
      return await proveRemote(model, values, outputs, options.remote, jobId);
    } catch (err) {
      // Without a local fallback, keep trying the service until the deadline: the claim is provable.
      if (!options.remote.fallbackLocal) throw err instanceof RetryableError ? err : new RetryableError(errorSummary(err), { cause: err });
      logger?.warn({ jobId, err: errorSummary(err) }, "prover service did not deliver a valid proof: proving locally");
    }
  }
  backend ??= selectBackend({ logger });
  const result = await proveWithPackage(loadModelPackage(model.pkg.dir), { quantized: values.map(String) }, { backend: await backend });
  return { proof: result.proof as SnarkjsProof, outputs, backend: result.backend, ms: result.timings.totalMs };
}
