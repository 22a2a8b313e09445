// Challenger bot wiring: config -> context (clients, store, cursor, models, metrics) -> run loop + ops server.
// The process entry is challenger/main.ts (`ozk challenger run`).
import { createDaemonBase, startDaemonService, type RunningDaemon } from "../runtime/chain.ts";
import type { Logger } from "../sdk/node/logger.ts";
import { readArchivedBatch } from "../runtime/batch-data.ts";
import { HttpError } from "../sdk/node/server.ts";
import type { ChallengerConfig } from "./config.ts";
import { step, type ChallengerContext, type WatchedClaim } from "./step.ts";

export type RunningChallenger = RunningDaemon<ChallengerContext>;

export async function createChallengerContext(config: ChallengerConfig, logger?: Logger): Promise<ChallengerContext> {
  return { ...(await createDaemonBase("challenger", config, logger)), config };
}

export async function startChallenger(config: ChallengerConfig, options: { logger?: Logger; handleSignals?: boolean } = {}): Promise<RunningChallenger> {
  const ctx = await createChallengerContext(config, options.logger);
  return startDaemonService("challenger", ctx, step, {
    intervalMs: config.intervalMs,
    port: config.port,
    handleSignals: options.handleSignals,
    health: config.health,
    http: config.http,
    routes: [
      {
        method: "GET",
        path: "/claims/:id",
        handler: ({ params }) => {
          const c = ctx.store.get<WatchedClaim>(`claim/${params.id}`);
          if (!c) throw new HttpError(404, `claim ${JSON.stringify(params.id!.slice(0, 200))} not watched`);
          // A counter-proof stays secret until counterProve reveals it: anyone who saw it could race the reveal.
          const counterProof = c.counterProof ? { commitment: c.counterProof.commitment, outputs: c.counterProof.outputs } : undefined;
          return { status: 200, body: { ...c, counterProof } };
        },
      },
      {
        method: "GET",
        path: "/batches/:root",
        // The data of a batch this bot checked (batchData.archiveDir), read-only: a mirror for a provider that lost it.
        handler: ({ params }) => archivedBatchView(config.batchData.archiveDir, params.root!),
      },
    ],
  });
}

/** GET /batches/:root from the archive folder: 400 for a root that is not 32 bytes of hex, 404 when not kept. */
export function archivedBatchView(dir: string | undefined, root: string): { status: number; body: unknown } {
  if (!/^0x[0-9a-fA-F]{64}$/.test(root)) throw new HttpError(400, `a batch root is 0x and 64 hex digits, got ${JSON.stringify(root.slice(0, 80))}`);
  const data = dir ? readArchivedBatch(dir, root, Number.MAX_SAFE_INTEGER) : undefined;
  if (!data) throw new HttpError(404, dir ? `no batch with root ${root.toLowerCase()} kept here` : "this challenger keeps no batch data (batchData.archiveDir)");
  return { status: 200, body: data };
}
