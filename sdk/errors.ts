// Error classes shared by the SDK, the daemons and the prover: a short message, details, a docs hint,
// and one decision every caller needs — retry (transient) or stop (fatal). Shaped after viem's BaseError.

export interface OzkErrorOptions {
  /** Longer explanation or the raw upstream message. */
  details?: string;
  /** Path under docs/ that explains the error, e.g. "sdk.md#deployments". */
  docsPath?: string;
  /** Structured context (ids, block numbers) for logs. */
  meta?: Record<string, unknown>;
  cause?: unknown;
}

/** Base of every error the project throws on purpose. `shortMessage` is one line for users and logs. */
export class OzkError extends Error {
  override name = "OzkError";
  readonly shortMessage: string;
  readonly details?: string;
  readonly docsPath?: string;
  readonly meta?: Record<string, unknown>;
  /** Whether doing the same thing again later may succeed. */
  readonly retryable: boolean = false;

  constructor(shortMessage: string, options: OzkErrorOptions = {}) {
    const lines = [shortMessage];
    if (options.details) lines.push("", `Details: ${options.details}`);
    if (options.docsPath) lines.push(`Docs: docs/${options.docsPath}`);
    super(lines.join("\n"), options.cause === undefined ? undefined : { cause: options.cause });
    this.shortMessage = shortMessage;
    this.details = options.details;
    this.docsPath = options.docsPath;
    this.meta = options.meta;
  }

  /** The first error in the cause chain (this one included) that satisfies `predicate`. */
  walk(predicate: (err: unknown) => boolean): unknown {
    return walkCauses(this, predicate);
  }
}

/** Transient: an RPC timeout, a dropped connection, a busy database. Retry with backoff. */
export class RetryableError extends OzkError {
  override name = "RetryableError";
  override readonly retryable = true;
}

/** Permanent: bad config, bad input, a reverted simulation. Retrying cannot help. */
export class FatalError extends OzkError {
  override name = "FatalError";
  override readonly retryable = false;
}

/** Configuration that does not validate; `issues` name each field. */
export class ConfigError extends FatalError {
  override name = "ConfigError";
  readonly issues: string[];
  constructor(shortMessage: string, issues: string[], options: OzkErrorOptions = {}) {
    super(shortMessage, { ...options, details: options.details ?? issues.join("\n") });
    this.issues = issues;
  }
}

/** Input data that does not match its commitment, shape or encoding. */
export class InputError extends FatalError {
  override name = "InputError";
}

/** The first error in `err`'s cause chain (itself included) that satisfies `predicate`. */
export function walkCauses(err: unknown, predicate: (err: unknown) => boolean): unknown {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    if (predicate(current)) return current;
    seen.add(current);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

// Node socket errors and HTTP statuses that mean "try again later".
const RETRYABLE_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "EHOSTUNREACH",
  "ENETUNREACH", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "SQLITE_BUSY",
]);
const RETRYABLE_HTTP = new Set([408, 425, 429, 500, 502, 503, 504]);
// JSON-RPC codes: -32005 limit exceeded, -32603 internal error (often a flaky node), -32000 header not found.
const RETRYABLE_RPC = new Set([-32005, -32603]);
const RETRYABLE_NAMES = new Set(["HttpRequestError", "TimeoutError", "SocketClosedError", "WebSocketRequestError"]);

/**
 * Whether an error is worth retrying. OzkError subclasses decide for themselves; for anything else
 * (viem, node, fetch) the cause chain is searched for a known transient signal. Unknown errors are fatal:
 * retrying a bug hides it.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof OzkError) return err.retryable;
  return (
    walkCauses(err, (e) => {
      if (typeof e !== "object" || e === null) return false;
      if (e instanceof OzkError) return e.retryable;
      const { code, status, name } = e as { code?: unknown; status?: unknown; name?: unknown };
      if (typeof code === "string" && RETRYABLE_CODES.has(code)) return true;
      if (typeof code === "number" && RETRYABLE_RPC.has(code)) return true;
      if (typeof status === "number") return RETRYABLE_HTTP.has(status);
      if (typeof name === "string" && RETRYABLE_NAMES.has(name)) return true;
      return false;
    }) !== undefined
  );
}

/** One line for logs and CLIs: the shortMessage of OzkError/viem errors, else the message. */
export function errorSummary(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const { shortMessage, message } = err as { shortMessage?: unknown; message?: unknown };
    if (typeof shortMessage === "string") return shortMessage;
    if (typeof message === "string") return message.split("\n")[0]!;
  }
  return String(err);
}
