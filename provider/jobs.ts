// A job's way from queued to claimed: which statuses are queued, when a queued job is due, and what a failed
// claim transaction means for it. Only a permanent error (the contract refusing the claim itself: a deprecated
// model, a bond below the minimum, a closed request, ...) fails a job; a passing one (stake short, a commitment
// not yet a block old, nonce, gas or transport trouble, an answer lost on the way back) leaves it queued, retried
// with backoff, or waiting for stake.
import { errorSummary, type OzkError } from "../sdk/errors.ts";

/** The job fields this module reads and writes (provider/step.ts has the whole Job). */
export interface JobState {
  status: string;
  reason?: string;
  /** Failed jobs: whether resending the job queues it again (absent in stores written before it was kept). */
  retryable?: boolean;
  /** Claim attempts that ended in a passing error. */
  attempts?: number;
  /** Queued jobs: not tried again before this time (ms since the epoch). */
  retryAt?: number;
}

/** Statuses of a job still to be claimed: `pending` (to try, when due) and `waiting-stake` (its bond is not covered). */
export const QUEUED_STATUSES: readonly string[] = ["pending", "waiting-stake"];
export const isQueued = (j: JobState): boolean => QUEUED_STATUSES.includes(j.status);

/** Whether a queued job may be tried now (its backoff has passed). */
export const isDue = (j: JobState, now = Date.now()): boolean => j.retryAt === undefined || j.retryAt <= now;

/** Reverts a later attempt can get past: stake comes, a commitment ages (or is made again after a reorg), a claim
 *  already on chain is found there. Every other custom error is the contract refusing the claim: permanent. */
const PASSING_REVERTS = new Set(["InsufficientStake", "ClaimAlreadyExists", "CommitmentNotFound", "CommitmentTooRecent"]);

/** The custom error a revert decoded to (`InsufficientStake` of `InsufficientStake(0x…, 0, 100)`), if any. */
function revertName(text: string | undefined): string | undefined {
  return text ? /(?:^|: )([A-Z][A-Za-z0-9_]*)\(/.exec(text)?.[1] : undefined;
}

export type SendVerdict = { kind: "stake" | "retry" | "permanent"; reason: string };

/**
 * What a failed claim send means: `stake` (the bond is not covered: wait for stake), `permanent` (a custom error
 * other than the passing ones: fail the job with the reason), else `retry` (with backoff). Call it only after the
 * claim was looked up on chain and not found.
 */
export function classifySendError(err: unknown): SendVerdict {
  const reason = errorSummary(err);
  const decoded = (err as OzkError | undefined)?.meta?.reason;
  const name = revertName(typeof decoded === "string" ? decoded : undefined);
  if (name === "InsufficientStake") return { kind: "stake", reason };
  if (name !== undefined && !PASSING_REVERTS.has(name)) return { kind: "permanent", reason };
  return { kind: "retry", reason };
}

/**
 * Whether a failed job may be queued again: its own flag, or, for a store written before the flag was kept, its
 * reason. A decoded custom error is judged as classifySendError does; a request that is closed, expired, for
 * another provider or outside the request policy is permanent ("request …"); anything else (a send that failed on
 * the way: nonce, gas, transport, a transaction reverted without a reason) may pass.
 */
export function mayRetry(j: JobState): boolean {
  if (j.status !== "failed") return false;
  if (j.retryable !== undefined) return j.retryable;
  const reason = j.reason ?? "";
  const name = revertName(reason);
  if (name !== undefined) return PASSING_REVERTS.has(name);
  return !/^request /.test(reason);
}

/** Backoff before attempt `attempts + 1`: doubling from `baseMs`, at most a minute. */
export function retryDelayMs(attempts: number, baseMs: number): number {
  return Math.min(60_000, baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 16)));
}
