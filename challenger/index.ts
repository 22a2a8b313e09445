// Challenger bot wiring: config -> context (clients, store, cursor, models, metrics) -> run loop + ops server.
// The process entry is challenger/main.ts (`ozk challenger run`).
import { createDaemonBase, startDaemonService, type RunningDaemon } from "../runtime/chain.ts";
import type { Logger } from "../sdk/node/logger.ts";
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
    ],
  });
}
