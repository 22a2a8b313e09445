// Challenger bot wiring: config -> context (clients, store, cursor, models, metrics) -> run loop + ops server.
// The process entry is challenger/main.ts (`ozk challenger run`).
import { createDaemonBase } from "../sdk/node/chain.ts";
import { runDaemon, type DaemonHandle } from "../sdk/node/daemon.ts";
import type { Logger } from "../sdk/node/logger.ts";
import { HttpError, startServer, type OpsServer } from "../sdk/node/server.ts";
import type { ChallengerConfig } from "./config.ts";
import { step, type ChallengerContext, type WatchedClaim } from "./step.ts";

export interface RunningChallenger {
  ctx: ChallengerContext;
  daemon: DaemonHandle;
  server: OpsServer;
  stop(): Promise<void>;
}

export async function createChallengerContext(config: ChallengerConfig, logger?: Logger): Promise<ChallengerContext> {
  return { ...(await createDaemonBase("challenger", config, logger)), config };
}

export async function startChallenger(config: ChallengerConfig, options: { logger?: Logger; handleSignals?: boolean } = {}): Promise<RunningChallenger> {
  const ctx = await createChallengerContext(config, options.logger);
  const daemon = runDaemon({ name: "challenger", context: ctx, step, intervalMs: config.intervalMs, metrics: ctx.metrics, handleSignals: options.handleSignals });
  const server = await startServer({
    port: config.port,
    metrics: ctx.metrics,
    logger: ctx.logger,
    health: () => daemon.health(),
    routes: [
      {
        method: "GET",
        path: "/claims/:id",
        handler: ({ params }) => {
          const c = ctx.store.get<WatchedClaim>(`claim/${params.id}`);
          if (!c) throw new HttpError(404, `claim ${params.id} not watched`);
          return { status: 200, body: c };
        },
      },
    ],
  });
  ctx.logger.info({ url: server.url, models: [...ctx.models.values()].map((m) => m.name), account: ctx.account.address }, "challenger listening");
  return {
    ctx,
    daemon,
    server,
    async stop() {
      await daemon.stop("stop");
      await server.close();
      ctx.store.close();
    },
  };
}
