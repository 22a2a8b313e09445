// The daemon run loop: call an idempotent step(ctx) on an interval, log and count every outcome, back off
// on failures without ever exiting on a transient one, stop gracefully on SIGTERM/SIGINT (the step in
// flight finishes first), and report health for /healthz.
import { FatalError, errorSummary, isRetryable } from "../errors.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";
import { backoffDelay, sleep } from "./retry.ts";

export interface StepContext {
  /** Aborted when the daemon is asked to stop: long steps should check it between actions. */
  signal: AbortSignal;
  logger: Logger;
}

export interface DaemonOptions<C extends StepContext> {
  name: string;
  /** Builds the context once at start (clients, store, cursor). */
  context: C;
  step: (ctx: C) => Promise<void>;
  /** Pause between successful steps (ms). */
  intervalMs: number;
  /** Cap on the backoff after consecutive failures (ms, default 60 000). */
  maxBackoffMs?: number;
  metrics?: Metrics;
  /** Install SIGTERM/SIGINT handlers (default true). Tests pass false and call stop(). */
  handleSignals?: boolean;
  /** Unhealthy when no step succeeded within this many ms (default 10 x interval, at least 60 s). */
  staleAfterMs?: number;
}

export interface DaemonHandle {
  /** Resolves when the loop has exited (after stop(), or rejects after a fatal error). */
  done: Promise<void>;
  stop(reason?: string): Promise<void>;
  health(): { ok: boolean; reason?: string; lastSuccessAt?: string; consecutiveFailures: number; lastError?: string; stopping: boolean };
}

/**
 * Starts the loop. Error policy: a FatalError (bad config, an invariant broken) stops the daemon and
 * rejects `done`; any other error is logged (warn if retryable, error otherwise), counted, and the loop
 * goes on after an exponential backoff — a step recomputes from chain state, so trying again is safe.
 */
export function runDaemon<C extends StepContext>(options: DaemonOptions<C>): DaemonHandle {
  const { name, context, step, intervalMs, metrics } = options;
  const logger = context.logger;
  const maxBackoffMs = options.maxBackoffMs ?? 60_000;
  const staleAfterMs = options.staleAfterMs ?? Math.max(60_000, intervalMs * 10);
  const controller = new AbortController();
  // The ctx's signal is the daemon's: rebuild the context object so a caller-made signal is not used.
  const ctx = { ...context, signal: controller.signal } as C;

  const steps = metrics?.counter("daemon_steps_total", "Steps run, by result", ["result"] as const);
  const duration = metrics?.histogram("daemon_step_duration_seconds", "Duration of one step");
  const lastSuccess = metrics?.gauge("daemon_last_success_timestamp_seconds", "Unix time of the last successful step");

  let consecutiveFailures = 0;
  let lastSuccessAt: number | undefined;
  let lastError: string | undefined;
  const startedAt = Date.now();

  const onSignal = (sig: NodeJS.Signals): void => {
    logger.info({ signal: sig }, `${name}: stopping`);
    void handle.stop(sig);
  };
  if (options.handleSignals ?? true) {
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }

  const loop = async (): Promise<void> => {
    logger.info({ intervalMs }, `${name}: started`);
    while (!controller.signal.aborted) {
      const t0 = performance.now();
      let wait = intervalMs;
      try {
        await step(ctx);
        consecutiveFailures = 0;
        lastSuccessAt = Date.now();
        steps?.inc({ result: "ok" });
        lastSuccess?.set(lastSuccessAt / 1000);
      } catch (err) {
        if (controller.signal.aborted && err === controller.signal.reason) break;
        if (err instanceof FatalError) {
          steps?.inc({ result: "fatal" });
          logger.fatal({ err }, `${name}: fatal error, stopping`);
          throw err;
        }
        consecutiveFailures++;
        lastError = errorSummary(err);
        const retryable = isRetryable(err);
        steps?.inc({ result: retryable ? "retry" : "error" });
        wait = Math.max(intervalMs, backoffDelay(consecutiveFailures, { baseDelayMs: intervalMs, maxDelayMs: maxBackoffMs, random: () => 0.5 + Math.random() / 2 }));
        logger[retryable ? "warn" : "error"]({ err, consecutiveFailures, retryInMs: wait }, `${name}: step failed`);
      } finally {
        duration?.observe((performance.now() - t0) / 1000);
      }
      try {
        await sleep(wait, controller.signal);
      } catch {
        break; // stop() during the pause
      }
    }
    logger.info(`${name}: stopped`);
  };

  const done = loop().finally(() => {
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("SIGINT", onSignal);
  });

  const handle: DaemonHandle = {
    done,
    async stop(reason = "stop") {
      if (!controller.signal.aborted) controller.abort(new Error(`${name} stopping: ${reason}`));
      await done.catch(() => undefined);
    },
    health() {
      const ref = lastSuccessAt ?? startedAt;
      const stale = Date.now() - ref >= staleAfterMs;
      const stopping = controller.signal.aborted;
      return {
        ok: !stopping && !stale,
        ...(stopping
          ? { reason: "stopping" }
          : stale
            ? { reason: `no successful step for ${Math.round((Date.now() - ref) / 1000)} s (bound: staleAfterMs ${staleAfterMs})` }
            : {}),
        lastSuccessAt: lastSuccessAt ? new Date(lastSuccessAt).toISOString() : undefined,
        consecutiveFailures,
        lastError,
        stopping: controller.signal.aborted,
      };
    },
  };
  return handle;
}
