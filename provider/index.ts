// Provider daemon wiring: config -> context (clients, store, cursor, models, metrics) -> run loop + HTTP API.
// The process entry is provider/main.ts (`ozk provider run`).
import { createDaemonBase, startDaemonService, type RunningDaemon } from "../sdk/node/chain.ts";
import type { Logger } from "../sdk/node/logger.ts";
import { HttpError } from "../sdk/node/server.ts";
import { quantizeInput } from "../circuits/compiler/engine.ts";
import { ProverClient } from "../prover/client.ts";
import type { ProviderConfig } from "./config.ts";
import { addJob, step, type Job, type OwnClaim, type ProviderContext } from "./step.ts";

export type RunningProvider = RunningDaemon<ProviderContext>;

/** Builds the context. Separate from start so tests can call `step` directly. */
export async function createProviderContext(config: ProviderConfig, logger?: Logger): Promise<ProviderContext> {
  const base = await createDaemonBase("provider", config, logger);
  const p = config.prover;
  const remoteProver = p ? { client: new ProverClient({ url: p.url }), timeoutMs: p.timeoutMs, fallbackLocal: p.fallbackLocal } : undefined;
  if (p) base.logger.info({ url: p.url, fallbackLocal: p.fallbackLocal }, "challenged claims are proved on the prover service");
  return { ...base, config, ...(remoteProver ? { remoteProver } : {}) };
}

export async function startProvider(config: ProviderConfig, options: { logger?: Logger; handleSignals?: boolean } = {}): Promise<RunningProvider> {
  const ctx = await createProviderContext(config, options.logger);
  return startDaemonService("provider", ctx, step, {
    intervalMs: config.intervalMs,
    port: config.port,
    handleSignals: options.handleSignals,
    routes: [
      {
        // Body: { model: name or modelId, input: number[] (floats, quantized here) or quantized: string[] }
        method: "POST",
        path: "/infer",
        handler: ({ body }) => {
          const b = (body ?? {}) as { model?: string; input?: number[]; quantized?: string[]; tag?: string };
          const served = [...ctx.models.values()].find((m) => m.name === b.model || m.modelId === b.model?.toLowerCase());
          if (!served) throw new HttpError(400, `unknown model ${JSON.stringify(b.model)}; served: ${[...ctx.models.values()].map((m) => m.name).join(", ")}`);
          const n = served.pkg.manifest.inputLength;
          let values: bigint[];
          try {
            if (Array.isArray(b.quantized)) values = b.quantized.map((v) => BigInt(v));
            else if (Array.isArray(b.input) && b.input.every((v) => typeof v === "number" && Number.isFinite(v))) values = quantizeInput(served.pkg.quant, b.input);
            else throw new Error("body needs `input` (numbers) or `quantized` (integer strings)");
            if (values.length !== n) throw new Error(`input has ${values.length} values, ${served.name} takes ${n}`);
            const job = addJob(ctx, served.modelId, values, b.tag);
            return { status: 202, body: job };
          } catch (err) {
            if (err instanceof HttpError) throw err;
            throw new HttpError(400, (err as Error).message);
          }
        },
      },
      {
        method: "GET",
        path: "/jobs/:id",
        handler: ({ params }) => {
          const job = ctx.store.get<Job>(`job/${params.id}`);
          if (!job) throw new HttpError(404, `no job ${params.id}`);
          const claim = job.claimId ? ctx.store.get<OwnClaim>(`claim/${job.claimId}`) : undefined;
          // The salt of a request's answer stays secret until answerRequest reveals it: anyone who saw it could race the answer.
          const answer = job.answer ? { commitment: job.answer.commitment, bond: job.answer.bond } : undefined;
          return { status: 200, body: { ...job, answer, claim } };
        },
      },
    ],
  });
}
