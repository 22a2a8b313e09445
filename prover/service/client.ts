// A small HTTP client for the prover service's job API, for daemons that prove on a remote service.
import { FatalError, RetryableError } from "../../sdk/errors.ts";
import { sleep } from "../../sdk/node/retry.ts";
import type { Job } from "./jobs.ts";

export interface ProverClientOptions {
  /** Base URL of `ozk prover serve`, e.g. http://127.0.0.1:8547 */
  url: string;
  /** Per-request timeout (ms, default 10 000). */
  timeoutMs?: number;
  /**
   * Largest response body read (bytes, default 4 MiB; a job with its proof is a few KB). A larger one is not read
   * further: the request is aborted and the call throws a ProverResponseTooLargeError.
   */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The service answered with a body over the client's maxBodyBytes: a broken or hostile service, not one to wait for. */
export class ProverResponseTooLargeError extends FatalError {
  override name = "ProverResponseTooLargeError";
}

/**
 * Reads a JSON body of at most `maxBytes`: a declared length over it is refused before any byte is read, and the
 * stream is cancelled as soon as the bytes read pass it, so a huge answer costs neither memory nor a long parse.
 * A body that is not JSON reads as undefined.
 */
async function readJsonBody(res: Response, maxBytes: number, url: string, abort: () => void): Promise<unknown> {
  const tooLarge = (): ProverResponseTooLargeError => {
    abort();
    return new ProverResponseTooLargeError(`prover service at ${url} answered with a body over ${maxBytes} bytes (the client's maxBodyBytes): not read further`);
  };
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!res.body) return undefined;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** Per call: a shorter timeout than the client's (a caller bounded by a deadline), and a signal to abort it. */
export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class ProverClient {
  constructor(private readonly o: ProverClientOptions) {}

  get url(): string {
    return this.o.url;
  }

  private async call(path: string, init?: RequestInit, opts: CallOptions = {}): Promise<{ status: number; body: unknown }> {
    const timeoutMs = opts.timeoutMs ?? this.o.timeoutMs ?? 10_000;
    const ours = new AbortController();
    const signal = AbortSignal.any([ours.signal, AbortSignal.timeout(timeoutMs), ...(opts.signal ? [opts.signal] : [])]);
    let res: Response;
    let body: unknown;
    try {
      res = await fetch(this.o.url.replace(/\/$/, "") + path, { ...init, signal });
      // The body is read under the same timeout: a service that sends headers and then nothing is as silent as one
      // that sends nothing. It is read up to maxBodyBytes only.
      body = await readJsonBody(res, this.o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, this.o.url, () => ours.abort());
    } catch (err) {
      if (err instanceof ProverResponseTooLargeError) throw err;
      const timedOut = signal.aborted && !opts.signal?.aborted;
      throw new RetryableError(timedOut ? `prover service at ${this.o.url} did not answer within ${timeoutMs} ms` : `prover service unreachable at ${this.o.url}`, { cause: err, meta: { timedOut } });
    }
    if (res.status >= 500) throw new RetryableError(`prover service error ${res.status}`, { details: JSON.stringify(body) });
    return { status: res.status, body };
  }

  /** Submits a job (idempotent by id). A 4xx answer is a FatalError with the service's reason. */
  async submit(req: { id?: string; modelDir: string; input: unknown }, opts: CallOptions = {}): Promise<Job> {
    const { status, body } = await this.call("/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(req) }, opts);
    if (status >= 400) throw new FatalError(`prover refused the job: ${(body as { error?: string } | undefined)?.error ?? status}`);
    return body as Job;
  }

  async get(id: string, opts: CallOptions = {}): Promise<Job | undefined> {
    const { status, body } = await this.call(`/jobs/${encodeURIComponent(id)}`, undefined, opts);
    if (status === 404) return undefined;
    return body as Job;
  }

  /** Polls until the job is done or failed; transport errors are retried until the deadline. */
  async waitFor(id: string, options: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal } = {}): Promise<Job> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    for (;;) {
      try {
        const job = await this.get(id);
        if (!job) throw new FatalError(`the prover service has no job ${id}`);
        if (job.status === "done" || job.status === "failed") return job;
      } catch (err) {
        if (!(err instanceof RetryableError) || Date.now() > deadline) throw err;
      }
      if (Date.now() > deadline) throw new RetryableError(`job ${id} not finished after ${options.timeoutMs ?? 600_000} ms`);
      await sleep(options.pollMs ?? 500, options.signal);
    }
  }
}
