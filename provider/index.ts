// Provider daemon wiring: config -> context (clients, store, cursor, models, metrics) -> run loop + HTTP API.
// The process entry is provider/main.ts (`ozk provider run`).
import { createDaemonBase, startDaemonService, type RunningDaemon } from "../runtime/chain.ts";
import type { Logger } from "../sdk/node/logger.ts";
import { ProverClient } from "../prover/service/client.ts";
import { providerRoutes } from "./api.ts";
import { DEFAULT_CHALLENGER_DATA_BYTES, batchDataBytes, batchPolicy } from "./batch.ts";
import { ConfigError } from "../sdk/errors.ts";
import type { ProviderConfig } from "./config.ts";
import { ProofTasks, checkProofCapacity, checkProverTimeout, sendReadyProofs } from "./proving.ts";
import { recoverOnce } from "./recover.ts";
import { step, type ProviderContext } from "./step.ts";

export type RunningProvider = RunningDaemon<ProviderContext>;

/** Builds the context. Separate from start so tests can call `step` directly. */
export async function createProviderContext(config: ProviderConfig, logger?: Logger): Promise<ProviderContext> {
  const base = await createDaemonBase("provider", config, logger);
  const p = config.prover;
  const remoteProver = p
    ? { client: new ProverClient({ url: p.url, timeoutMs: p.stallMs }), timeoutMs: p.timeoutMs, fallbackLocal: p.fallbackLocal, stallMs: p.stallMs }
    : undefined;
  const batched = [...base.models.values()].filter((m) => batchPolicy(config, m).enabled).map((m) => m.name);
  if (batched.length > 0 && !(base.deployment.addresses as Record<string, unknown>).batchManager) {
    throw new ConfigError(
      `batching is enabled for ${batched.join(", ")}, but the deployment has no BatchManager (addresses.batchManager): redeploy, or turn batching off`,
      [`batching.enabled: true, and addresses.batchManager is missing from the deployment`],
      { docsPath: "daemons.md#batches" },
    );
  }
  for (const m of base.models.values()) {
    const policy = batchPolicy(config, m);
    const bytes = batchDataBytes(m.pkg.manifest.inputLength, m.pkg.manifest.outputLength, policy.maxClaims);
    if (policy.enabled && bytes > DEFAULT_CHALLENGER_DATA_BYTES) {
      base.logger.warn(
        { model: m.name, maxClaims: policy.maxClaims, dataBytes: bytes, challengerLimit: DEFAULT_CHALLENGER_DATA_BYTES },
        "a full batch's data is larger than a challenger reads by default (batchData.maxBytes): such challengers treat it as unavailable and challenge it; lower batching.maxClaims",
      );
    }
  }
  await checkProverTimeout(base, config);
  await checkProofCapacity(base, config);
  if (config.answerRequests && config.requestPolicy.minFee === 0n) {
    base.logger.warn(
      "requestPolicy.minFee is 0: any request with a fee of 1 token unit costs this provider a commit, a reveal and a finalization; set requestPolicy.minFee to what those transactions cost you",
    );
  }
  if (p) base.logger.info({ url: p.url, fallbackLocal: p.fallbackLocal, timeoutMs: p.timeoutMs, stallMs: p.stallMs }, "challenged claims are proved on the prover service");
  return { ...base, config, api: {}, proofs: new ProofTasks(config.localProofConcurrency), ...(remoteProver ? { remoteProver } : {}) };
}

/**
 * The daemon's step: the store is rebuilt from the chain once before anything else (provider/recover.ts), proofs
 * finished since the last step are sent first, then the step proper (provider/step.ts).
 */
export async function providerStep(ctx: ProviderContext): Promise<void> {
  await recoverOnce(ctx);
  await sendReadyProofs(ctx);
  await step(ctx);
}

export async function startProvider(config: ProviderConfig, options: { logger?: Logger; handleSignals?: boolean } = {}): Promise<RunningProvider> {
  const ctx = await createProviderContext(config, options.logger);
  const running = await startDaemonService("provider", ctx, providerStep, {
    intervalMs: config.intervalMs,
    port: config.port,
    handleSignals: options.handleSignals,
    health: config.health,
    http: config.http,
    routes: providerRoutes(ctx),
  });
  ctx.api!.url = running.server.url; // a batch's dataURI when publicUrl is unset
  return running;
}
