// A small HTTP client for the prover service's job API, for daemons that prove on a remote service.
import { FatalError, RetryableError } from "../../sdk/errors.ts";
import { sleep } from "../../sdk/node/retry.ts";
import type { Job } from "./jobs.ts";

export interface ProverClientOptions {
  /** Base URL of `ozk prover serve`, e.g. http://127.0.0.1:8547 */
  url: string;
  /** Per-request timeout (ms, default 10 000). */
  timeoutMs?: number;
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
    const signal = opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    let res: Response;
    let body: unknown;
    try {
      res = await fetch(this.o.url.replace(/\/$/, "") + path, { ...init, signal });
      // The body is read under the same timeout: a service that sends headers and then nothing is as silent as one
      // that sends nothing.
      body = (await res.json().catch((err: unknown) => {
        if (signal.aborted) throw err;
        return undefined;
      })) as unknown;
    } catch (err) {
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
