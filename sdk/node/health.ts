// What a daemon's /healthz reports beyond its run loop: whether the RPC answers (probed on its own, so an
// outage is logged when it starts and when it ends, instead of only when a step finally gives up) and
// whether the account can cover one bond. Each condition is logged once when it changes, not at every step
// or probe, and turns /healthz into a 503 that says why.
import { createPublicClient, http, type PublicClient } from "viem";
import { RetryableError, errorSummary } from "../errors.ts";
import type { Logger } from "./logger.ts";
import { sleep } from "./retry.ts";

/** Health settings shared by the daemon configs (configFields.health). */
export interface HealthSettings {
  /** Degraded when no step succeeded for this long (ms; default 10 x intervalMs, at least 60 s). */
  staleAfterMs?: number;
  /** Timeout of every RPC call made at start and of each liveness probe (ms). */
  rpcTimeoutMs?: number;
  /** Pause between liveness probes of the RPC (ms). */
  probeIntervalMs?: number;
}

export const DEFAULT_RPC_TIMEOUT_MS = 5_000;
export const DEFAULT_PROBE_INTERVAL_MS = 2_000;

/**
 * An RPC URL fit for logs and error messages: no user:password, no query string, and long path segments
 * (the API key of hosted RPCs, e.g. /v2/<key>) masked. Host, port and the rest of the path stay, so the
 * operator can tell which endpoint is meant.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname.split("/").map((seg) => (seg.length >= 16 ? "***" : seg)).join("/");
    return `${u.protocol}//${u.host}${path === "/" ? "" : path}`;
  } catch {
    return "(malformed URL)";
  }
}

/** A viem client for short, single-shot calls: no transport retries, one timeout per request. */
export function probeClient(url: string, timeoutMs: number): PublicClient {
  return createPublicClient({ transport: http(url, { retryCount: 0, timeout: timeoutMs }) });
}

/**
 * Runs one RPC call with a deadline; any failure becomes a RetryableError naming the endpoint and the call.
 * The deadline is kept here too, not only by the transport, so a call can never hang a start.
 */
export async function rpcCall<T>(url: string, what: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Error("deadline"); // compared by identity: no other error can pass for it
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(expired), timeoutMs);
  });
  try {
    return await Promise.race([call(), deadline]);
  } catch (err) {
    const timedOut = err === expired || (err as { name?: unknown } | undefined)?.name === "TimeoutError";
    throw new RetryableError(
      timedOut
        ? `RPC ${displayUrl(url)} did not answer ${what} within ${timeoutMs} ms`
        : `RPC ${displayUrl(url)} failed ${what}: ${errorSummary(err)}`,
      { cause: err, meta: { timedOut } },
    );
  } finally {
    clearTimeout(timer);
  }
}

export interface RpcState {
  reachable: boolean;
  url: string;
  lastOkAt?: string;
  /** Set while unreachable: when the first failed probe of this outage started. */
  downSince?: string;
  error?: string;
}

/**
 * Probes the RPC with eth_blockNumber every `intervalMs`. After `failuresToDown` failed probes in a row
 * (default 2, so one dropped request on a flaky link is not an outage) it logs "RPC stopped answering" once;
 * the first good probe after that logs "RPC answering again" with the outage's length.
 */
export class RpcWatch {
  private readonly client: PublicClient;
  private readonly shown: string;
  private failures = 0;
  private reachable = true;
  private lastOkAt?: number;
  private firstFailureAt?: number;
  private error?: string;
  private readonly controller = new AbortController();
  private loop?: Promise<void>;

  constructor(private readonly o: { url: string; logger: Logger; timeoutMs?: number; intervalMs?: number; failuresToDown?: number }) {
    this.client = probeClient(o.url, o.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS);
    this.shown = displayUrl(o.url);
  }

  /** One probe; updates the state and logs a change. Never throws. */
  async probe(): Promise<void> {
    const t0 = Date.now();
    try {
      await rpcCall(this.o.url, "eth_blockNumber", this.o.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS, () => this.client.getBlockNumber({ cacheTime: 0 }));
      if (!this.reachable) {
        const downForMs = Date.now() - (this.firstFailureAt ?? t0);
        this.o.logger.info({ rpc: this.shown, downForMs }, "RPC answering again");
      }
      this.failures = 0;
      this.reachable = true;
      this.lastOkAt = Date.now();
      this.firstFailureAt = undefined;
      this.error = undefined;
    } catch (err) {
      this.failures++;
      this.firstFailureAt ??= t0;
      this.error = errorSummary(err);
      if (this.reachable && this.failures >= (this.o.failuresToDown ?? 2)) {
        this.reachable = false;
        this.o.logger.error({ rpc: this.shown, err: this.error, since: new Date(this.firstFailureAt).toISOString() }, "RPC stopped answering");
      }
    }
  }

  /** Starts probing in the background (the first probe at once). */
  start(): void {
    this.loop ??= (async () => {
      while (!this.controller.signal.aborted) {
        await this.probe();
        await sleep(this.o.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS, this.controller.signal).catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }

  state(): RpcState {
    return {
      reachable: this.reachable,
      url: this.shown,
      lastOkAt: this.lastOkAt ? new Date(this.lastOkAt).toISOString() : undefined,
      downSince: this.reachable ? undefined : new Date(this.firstFailureAt!).toISOString(),
      error: this.reachable ? undefined : this.error,
    };
  }
}

export interface FundsState {
  /** Whether free stake plus token balance covers one bond. */
  ok: boolean;
  /** One bond, in token base units. */
  need: string;
  free: string;
  /** Read only when the free stake alone does not cover the bond. */
  balance?: string;
  /** Tokens to add (to the balance or the stake) before a bond is covered. */
  shortfall?: string;
  checkedAt: string;
}

/**
 * The account's ability to lock one bond, as last seen by ensureFreeStake. A shortfall is logged once as a
 * warning with the amount needed (not at every step), and once more when it is made good.
 */
export class FundsWatch {
  private current?: FundsState;

  report(logger: Logger, seen: { need: bigint; free: bigint; balance?: bigint; account?: string }): void {
    const have = seen.free + (seen.balance ?? 0n);
    const ok = have >= seen.need;
    const before = this.current;
    // A smaller bond covered (the challenger checks per model too) does not make good a larger one missing.
    if (ok && before && !before.ok && seen.need < BigInt(before.need)) return;
    this.current = {
      ok,
      need: seen.need.toString(),
      free: seen.free.toString(),
      ...(seen.balance !== undefined ? { balance: seen.balance.toString() } : {}),
      ...(ok ? {} : { shortfall: (seen.need - have).toString() }),
      checkedAt: new Date().toISOString(),
    };
    if (!ok && (before === undefined || before.ok)) {
      logger.warn(
        { account: seen.account, need: seen.need, free: seen.free, balance: seen.balance, shortfall: seen.need - have },
        "the account cannot cover one bond: its token balance plus free stake is short; claims and challenges will fail until it is funded",
      );
    } else if (ok && before && !before.ok) {
      logger.info({ account: seen.account, need: seen.need, free: seen.free, balance: seen.balance }, "the account covers a bond again");
    }
  }

  state(): FundsState | undefined {
    return this.current;
  }
}

export interface DaemonHealth {
  ok: boolean;
  status: "ok" | "degraded";
  /** Why it is degraded, in words (every reason, joined). */
  reason?: string;
  reasons: string[];
  [detail: string]: unknown;
}

/** /healthz of a daemon: its run loop, its RPC and its funds; degraded (503) when any of them is not right. */
export function daemonHealth(parts: {
  loop: { ok: boolean; reason?: string; [k: string]: unknown };
  rpc?: RpcState;
  funds?: FundsState;
}): DaemonHealth {
  const reasons: string[] = [];
  if (!parts.loop.ok) reasons.push(parts.loop.reason ?? "the run loop is not healthy");
  if (parts.rpc && !parts.rpc.reachable) reasons.push(`RPC ${parts.rpc.url} not answering since ${parts.rpc.downSince}: ${parts.rpc.error}`);
  const f = parts.funds;
  if (f && !f.ok) reasons.push(`the account cannot cover one bond: needs ${f.need}, has ${f.free} staked and ${f.balance ?? "?"} in tokens (short ${f.shortfall})`);
  const ok = reasons.length === 0;
  return {
    ...parts.loop,
    ok,
    status: ok ? "ok" : "degraded",
    ...(ok ? {} : { reason: reasons.join("; ") }),
    reasons,
    ...(parts.rpc ? { rpc: parts.rpc } : {}),
    ...(parts.funds ? { funds: parts.funds } : {}),
  };
}
