// withRetry: exponential backoff with full jitter for transient failures; fatal errors pass through at once.
import { isRetryable } from "../errors.ts";

export interface RetryOptions {
  /** Attempts after the first (default 5). */
  retries?: number;
  /** First delay in ms (default 200). */
  baseDelayMs?: number;
  /** Cap on one delay in ms (default 30 000). */
  maxDelayMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Decides whether to retry; default isRetryable from sdk/errors. */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Called before each wait, e.g. to log. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Aborting stops waiting and rethrows the last error. */
  signal?: AbortSignal;
  /** Random source in [0, 1) (tests pass a fixed one). */
  random?: () => number;
}

/** Delay before retry `attempt` (1-based): uniform in [0, min(max, base * factor^(attempt-1))] ("full jitter"). */
export function backoffDelay(attempt: number, options: RetryOptions = {}): number {
  const { baseDelayMs = 200, maxDelayMs = 30_000, factor = 2, random = Math.random } = options;
  const ceiling = Math.min(maxDelayMs, baseDelayMs * factor ** (attempt - 1));
  return Math.round(random() * ceiling);
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs `fn` until it succeeds, a non-retryable error is thrown, or retries run out (then the last error). */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { retries = 5, shouldRetry = (err: unknown) => isRetryable(err) } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || !shouldRetry(err, attempt + 1) || options.signal?.aborted) throw err;
      const delay = backoffDelay(attempt + 1, options);
      options.onRetry?.(err, attempt + 1, delay);
      try {
        await sleep(delay, options.signal);
      } catch {
        throw err;
      }
    }
  }
}
