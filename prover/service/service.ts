// The prover service: a job API over HTTP, jobs persisted in SQLite, proved by in-process workers (local
// mode) or by any number of workers sharing a Redis queue (redis mode). Restart-safe: interrupted jobs are
// re-queued on start, and in redis mode the store is reconciled with the queue.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { FatalError, InputError, errorSummary } from "../../sdk/errors.ts";
import type { Logger } from "../../sdk/node/logger.ts";
import type { Metrics } from "../../sdk/node/metrics.ts";
import { backoffDelay, sleep } from "../../sdk/node/retry.ts";
import { HttpError, startServer, type OpsServer, type Route } from "../../sdk/node/server.ts";
import type { Store } from "../../sdk/node/store.ts";
import { JobStore, type Job, type SubmitRequest } from "./jobs.ts";
import { RedisJobQueue, startRedisWorker } from "./queue.ts";
import type { ProverBackend } from "../types.ts";
import { resolveModelDir, runProofJob, type WorkerContext } from "./worker.ts";
import type { Worker } from "bullmq";
import { ensureCurve } from "../snarkjs.ts";

export interface ProverServiceOptions {
  store: Store;
  logger: Logger;
  metrics?: Metrics;
  backend: ProverBackend;
  /** Root of model packages; jobs name a directory inside it. */
  modelsDir: string;
  /** Proofs run at once in this process (0: API only, e.g. when workers run elsewhere on Redis). Default 1. */
  workers?: number;
  /** When set, jobs go through this Redis queue (BullMQ) instead of the in-process loop. */
  redisUrl?: string;
  queueName?: string;
  /** Attempts per job (default 3). */
  maxAttempts?: number;
  /** Idle poll interval of local workers (ms, default 250). */
  pollMs?: number;
  /** Redis mode: how often the store is reconciled with the queue (ms, default 30 000). */
  reconcileMs?: number;
  workDir?: string;
}

export class ProverService {
  readonly jobs: JobStore;
  private readonly controller = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly wake = new Set<() => void>();
  private redis?: RedisJobQueue;
  private redisWorkers: Worker[] = [];
  private reconcileTimer?: NodeJS.Timeout;
  private server?: OpsServer;
  private readonly instance = `${hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`;

  constructor(private readonly o: ProverServiceOptions) {
    this.jobs = new JobStore(o.store);
    const m = o.metrics;
    if (m) {
      // Read at scrape time so the gauge is right whoever changed the store.
      m.gauge("jobs", "Jobs in the store, by status", ["status"] as const, (g) => {
        for (const [status, n] of Object.entries(this.jobs.counts())) g.set({ status }, n);
      });
      m.gauge("backend_info", "Proving backend in use", ["backend"] as const).set({ backend: o.backend.name }, 1);
    }
  }

  private get mode(): "local" | "redis" {
    return this.o.redisUrl ? "redis" : "local";
  }

  /** Re-queues interrupted jobs, connects the queue, starts workers. */
  async start(): Promise<void> {
    const log = this.o.logger;
    if (this.mode === "local") {
      const requeued = this.jobs.requeueInterrupted();
      if (requeued.length) log.warn({ jobs: requeued }, "re-queued jobs interrupted by a restart");
    }
    if (this.o.redisUrl) {
      this.redis = new RedisJobQueue({ url: this.o.redisUrl, queueName: this.o.queueName }, this.jobs, log);
      await this.redis.start();
      // Jobs whose enqueue failed (Redis briefly down) are stored as queued: pick them up without a restart.
      this.reconcileTimer = setInterval(() => {
        this.redis?.reconcile().catch((err) => log.warn({ err: errorSummary(err) }, "reconcile with redis failed"));
      }, this.o.reconcileMs ?? 30_000);
      this.reconcileTimer.unref();
    }
    const n = this.o.workers ?? 1;
    // Build snarkjs's curve now (used to verify every proof) so the first job does not pay for it.
    if (n > 0) await ensureCurve();
    for (let i = 0; i < n; i++) {
      const ctx = this.workerContext(`${this.instance}-w${i}`);
      if (this.o.redisUrl) this.redisWorkers.push(startRedisWorker(ctx, { url: this.o.redisUrl, queueName: this.o.queueName }));
      else this.loops.push(this.localLoop(ctx));
    }
    log.info({ mode: this.mode, workers: n, backend: this.o.backend.name, modelsDir: this.o.modelsDir }, "prover service started");
  }

  private workerContext(workerId: string): WorkerContext {
    return { backend: this.o.backend, modelsDir: this.o.modelsDir, logger: this.o.logger, metrics: this.o.metrics, workerId, workDir: this.o.workDir };
  }

  /** Stores a job and queues it. Idempotent by id. Throws InputError for a bad request. */
  async submit(req: SubmitRequest): Promise<{ job: Job; created: boolean }> {
    if (typeof req.modelDir !== "string" || req.modelDir === "") throw new InputError("modelDir is required");
    if (req.input === undefined || req.input === null) throw new InputError("input is required");
    // Every witness route takes an object or an array: a bare number or string is refused now, not at proof time.
    if (typeof req.input !== "object") throw new InputError(`input must be a JSON object or array, got ${typeof req.input}`);
    resolveModelDir(this.o.modelsDir, req.modelDir); // reject escapes before storing
    const out = this.jobs.submit({ ...req, maxAttempts: req.maxAttempts ?? this.o.maxAttempts ?? 3 });
    if (out.created) {
      this.o.metrics?.counter("jobs_submitted_total", "Jobs accepted").inc();
      this.o.logger.info({ job: out.job.id, modelDir: out.job.modelDir }, "job queued");
      // Stored first, then enqueued: a crash or a Redis outage in between is repaired by reconcile().
      if (this.redis) {
        try {
          await this.redis.enqueue(out.job);
        } catch (err) {
          this.o.logger.warn({ job: out.job.id, err: errorSummary(err) }, "enqueue failed; the job stays queued for the next reconcile");
        }
      }
      for (const w of this.wake) w();
    }
    return out;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Resolves with the job once it is done or failed (polls the store). */
  async waitFor(id: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<Job> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    for (;;) {
      const job = this.jobs.get(id);
      if (!job) throw new InputError(`no job ${id}`);
      if (job.status === "done" || job.status === "failed") return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${options.timeoutMs} ms`);
      await sleep(options.pollMs ?? 50);
    }
  }

  private async localLoop(ctx: WorkerContext): Promise<void> {
    const signal = this.controller.signal;
    const finished = this.o.metrics?.counter("jobs_finished_total", "Jobs finished, by status", ["status"] as const);
    while (!signal.aborted) {
      let job: Job | undefined;
      try {
        job = this.jobs.claim(ctx.workerId);
      } catch (err) {
        ctx.logger.warn({ err }, "claiming a job failed");
      }
      if (!job) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(t);
            this.wake.delete(done);
            signal.removeEventListener("abort", done);
            resolve();
          };
          const t = setTimeout(done, this.o.pollMs ?? 250);
          this.wake.add(done);
          signal.addEventListener("abort", done, { once: true });
        });
        continue;
      }
      try {
        const proved = await runProofJob(ctx, { id: job.id, modelDir: job.modelDir, input: job.input, attempt: job.attempts });
        const queuedMs = Date.parse(job.startedAt!) - Date.parse(job.createdAt);
        this.jobs.complete(job.id, { proof: proved.proof, publicSignals: proved.publicSignals, backend: proved.backend, worker: ctx.workerId }, { ...proved.timings, queuedMs });
        finished?.inc({ status: "done" });
      } catch (err) {
        // Fatal (bad input, broken package, bad proof) fails the job now; anything else is retried later.
        const retryable = !(err instanceof FatalError);
        const status = this.jobs.fail(job.id, errorSummary(err), { retryable, retryDelayMs: backoffDelay(job.attempts, { baseDelayMs: 1000, random: () => 1 }) });
        if (status === "failed") finished?.inc({ status: "failed" });
        ctx.logger[status === "failed" ? "error" : "warn"]({ job: job.id, err: errorSummary(err), status }, "job attempt failed");
      }
    }
  }

  /** The job API routes (POST /jobs, GET /jobs/:id, GET /jobs). */
  routes(): Route[] {
    return [
      {
        method: "POST",
        path: "/jobs",
        handler: async ({ body }) => {
          if (typeof body !== "object" || body === null) throw new HttpError(400, "body must be a JSON object {modelDir, input, id?}");
          const { modelDir, input, id } = body as Record<string, unknown>;
          if (id !== undefined && typeof id !== "string") throw new HttpError(400, "id must be a string");
          try {
            const { job, created } = await this.submit({ modelDir: modelDir as string, input, id });
            return { status: created ? 202 : 200, body: job };
          } catch (err) {
            if (err instanceof InputError) throw new HttpError(err.shortMessage.includes("already exists") ? 409 : 400, err.shortMessage);
            throw err;
          }
        },
      },
      {
        method: "GET",
        path: "/jobs/:id",
        handler: ({ params }) => {
          const job = this.get(params.id!);
          if (!job) throw new HttpError(404, `no job ${params.id}`);
          return { status: 200, body: job };
        },
      },
      {
        method: "GET",
        path: "/jobs",
        handler: ({ query }) => {
          const status = query.get("status") ?? undefined;
          if (status !== undefined && !["queued", "running", "done", "failed"].includes(status)) {
            throw new HttpError(400, `status must be one of queued, running, done, failed; got ${JSON.stringify(status.slice(0, 80))}`);
          }
          // A negative LIMIT means "no limit" to SQLite: anything but a plain integer in range is refused.
          const rawLimit = query.get("limit");
          const limit = rawLimit === null ? 100 : /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : NaN;
          if (!(limit >= 1 && limit <= 1000)) {
            throw new HttpError(400, `limit must be an integer from 1 to 1000, got ${JSON.stringify((rawLimit ?? "").slice(0, 80))}`);
          }
          return { status: 200, body: { counts: this.jobs.counts(), jobs: this.jobs.list({ status: status as Job["status"] | undefined, limit }) } };
        },
      },
    ];
  }

  health(): { ok: boolean; mode: string; backend: string; jobs: Record<string, number>; stopping: boolean } {
    return { ok: !this.controller.signal.aborted, mode: this.mode, backend: this.o.backend.name, jobs: this.jobs.counts(), stopping: this.controller.signal.aborted };
  }

  /** Starts the HTTP API with /healthz and /metrics. */
  async listen(port: number, host = "127.0.0.1", limits: { requestTimeoutMs?: number; maxBodyBytes?: number } = {}): Promise<OpsServer> {
    this.server = await startServer({ port, host, routes: this.routes(), metrics: this.o.metrics, health: () => this.health(), logger: this.o.logger, ...limits });
    this.o.logger.info({ url: this.server.url }, "prover API listening");
    return this.server;
  }

  /** Graceful stop: no new claims, proofs in flight finish, then queue and server close. */
  async stop(): Promise<void> {
    this.controller.abort();
    clearInterval(this.reconcileTimer);
    await this.server?.close();
    await Promise.all(this.loops);
    await Promise.all(this.redisWorkers.map((w) => w.close()));
    await this.redis?.close();
    this.o.logger.info("prover service stopped");
  }
}
