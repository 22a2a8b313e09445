// Running one job: resolve its package inside the models root, prove, and measure. Shared by the in-process
// worker loop and the Redis (BullMQ) workers, so both behave the same.
import { isAbsolute, relative, resolve } from "node:path";
import type { Logger } from "../../sdk/node/logger.ts";
import type { Metrics } from "../../sdk/node/metrics.ts";
import { InputError } from "../../sdk/errors.ts";
import { loadModelPackage, type ProvablePackage } from "../../circuits/compiler/package.ts";
import { proveWithPackage, type ProvedResult } from "../prove.ts";
import type { ProverBackend } from "../types.ts";

export interface WorkerContext {
  backend: ProverBackend;
  /** Root every job's modelDir is resolved in; a job cannot reach outside it. */
  modelsDir: string;
  logger: Logger;
  metrics?: Metrics;
  workerId: string;
  workDir?: string;
}

/** `modelDir` resolved inside `modelsDir`; an escape (../, another absolute path) is an InputError. */
export function resolveModelDir(modelsDir: string, modelDir: string): string {
  const root = resolve(modelsDir);
  const full = resolve(root, modelDir);
  const rel = relative(root, full);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new InputError(`model directory "${modelDir}" is outside the models root ${root}`);
  }
  return full;
}

const packages = new Map<string, ProvablePackage>();

/** Proves one job; logs progress with the job id and records phase timings in metrics. */
export async function runProofJob(ctx: WorkerContext, job: { id: string; modelDir: string; input: unknown; attempt: number }): Promise<ProvedResult> {
  const log = ctx.logger.child({ job: job.id, attempt: job.attempt });
  const dir = resolveModelDir(ctx.modelsDir, job.modelDir);
  let pkg = packages.get(dir);
  if (!pkg) {
    pkg = loadModelPackage(dir);
    packages.set(dir, pkg);
  }
  log.info({ model: pkg.name, backend: ctx.backend.name }, "proving");
  const proved = await proveWithPackage(pkg, job.input, {
    backend: ctx.backend,
    workDir: ctx.workDir,
    onPhase: (phase) => log.debug({ phase }, "phase started"),
  });
  const phases = ctx.metrics?.histogram("job_phase_seconds", "Time per proving phase", ["phase", "backend"] as const);
  phases?.observe({ phase: "witness", backend: proved.backend }, proved.timings.witnessMs / 1000);
  phases?.observe({ phase: "prove", backend: proved.backend }, proved.timings.proveMs / 1000);
  phases?.observe({ phase: "verify", backend: proved.backend }, proved.timings.verifyMs / 1000);
  log.info({ model: pkg.name, backend: proved.backend, ...proved.timings }, "proof done");
  return proved;
}
