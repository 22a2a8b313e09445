// Provider daemon wiring: config -> context (clients, store, cursor, models, metrics) -> run loop + HTTP API.
// The process entry is provider/main.ts (`ozk provider run`).
import { createDaemonBase, startDaemonService, type RunningDaemon } from "../runtime/chain.ts";
import type { Logger } from "../sdk/node/logger.ts";
import { ProverClient } from "../prover/service/client.ts";
import { providerRoutes } from "./api.ts";
import type { ProviderConfig } from "./config.ts";
import { step, type ProviderContext } from "./step.ts";

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
    health: config.health,
    http: config.http,
    routes: providerRoutes(ctx),
  });
}
