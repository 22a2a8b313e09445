// The shared proving queue on Redis (BullMQ): the API side enqueues jobs it has already stored in SQLite and
// mirrors their state back from Redis; workers on any machine take jobs, prove, and return the proof.
// SQLite stays the API's record: a job whose enqueue was lost (crash, Redis flush) is re-added on reconcile.
import { Job as BullJob, Queue, QueueEvents, UnrecoverableError, Worker } from "bullmq";
import { FatalError, errorSummary } from "../../sdk/errors.ts";
import type { Logger } from "../../sdk/node/logger.ts";
import type { Job, JobResult, JobStore } from "./jobs.ts";
import type { ProofTimings } from "../prove.ts";
import { runProofJob, type WorkerContext } from "./worker.ts";

export const DEFAULT_QUEUE = "ozk-prove";

interface JobData {
  modelDir: string;
  input: unknown;
}

interface JobReturn extends JobResult {
  timings: ProofTimings;
}

export interface RedisOptions {
  url: string;
  queueName?: string;
}

function connection(url: string): { url: string; maxRetriesPerRequest: null } {
  // Workers need maxRetriesPerRequest: null (blocking commands must not time out into errors).
  return { url, maxRetriesPerRequest: null };
}

/** API side: enqueue, mirror state into the JobStore, reconcile after restarts. */
export class RedisJobQueue {
  readonly queue: Queue<JobData, JobReturn>;
  private events?: QueueEvents;

  constructor(
    private readonly options: RedisOptions,
    private readonly jobs: JobStore,
    private readonly logger: Logger,
  ) {
    this.queue = new Queue<JobData, JobReturn>(options.queueName ?? DEFAULT_QUEUE, { connection: connection(options.url) });
  }

  async start(): Promise<void> {
    await this.queue.waitUntilReady();
    this.events = new QueueEvents(this.options.queueName ?? DEFAULT_QUEUE, { connection: connection(this.options.url) });
    for (const event of ["active", "completed", "failed", "waiting", "delayed", "stalled"] as const) {
      this.events.on(event, ({ jobId }: { jobId: string }) => {
        this.sync(jobId).catch((err) => this.logger.warn({ err, job: jobId }, "mirroring job state failed"));
      });
    }
    await this.events.waitUntilReady();
    await this.reconcile();
  }

  async enqueue(job: Job): Promise<void> {
    await this.queue.add("prove", { modelDir: job.modelDir, input: job.input }, {
      jobId: job.id,
      attempts: job.maxAttempts,
      backoff: { type: "exponential", delay: 1000 },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
    });
  }

  /** Copies the Redis state of one job into the JobStore. Returns false when Redis does not know the job. */
  async sync(id: string): Promise<boolean> {
    const bj = await BullJob.fromId<JobData, JobReturn>(this.queue, id);
    if (!bj) return false;
    const state = await bj.getState();
    const attempts = bj.attemptsMade;
    if (state === "completed" && bj.returnvalue) {
      const { timings, ...result } = bj.returnvalue;
      this.jobs.mirror(id, { status: "done", attempts, worker: result.worker, result, timings, startedAt: bj.processedOn, finishedAt: bj.finishedOn });
    } else if (state === "failed") {
      this.jobs.mirror(id, { status: "failed", attempts, error: bj.failedReason, startedAt: bj.processedOn, finishedAt: bj.finishedOn });
    } else if (state === "active") {
      this.jobs.mirror(id, { status: "running", attempts: attempts + 1, startedAt: bj.processedOn ?? Date.now() });
    } else {
      this.jobs.mirror(id, { status: "queued", attempts, error: bj.failedReason || undefined });
    }
    return true;
  }

  /** Brings every unfinished job in the store in line with Redis; re-adds jobs Redis lost. */
  async reconcile(): Promise<{ synced: number; readded: number }> {
    let synced = 0;
    let readded = 0;
    for (const status of ["queued", "running"] as const) {
      for (const job of this.jobs.list({ status, limit: 10_000 })) {
        if (await this.sync(job.id)) synced++;
        else {
          await this.enqueue(job);
          this.jobs.mirror(job.id, { status: "queued" });
          readded++;
        }
      }
    }
    if (readded) this.logger.warn({ readded }, "re-enqueued jobs missing from redis");
    return { synced, readded };
  }

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
  }
}

export interface RedisWorkerOptions extends RedisOptions {
  /** Jobs proved at once by this worker (default 1: a proof uses the whole machine). */
  concurrency?: number;
  /** How long a job's lock lives without renewal (ms, default 120 000): above the longest event-loop stall. */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died (ms, BullMQ default 30 000). */
  stalledIntervalMs?: number;
}

/** A BullMQ worker proving jobs from the shared queue. Input errors fail the job at once (no retry). */
export function startRedisWorker(ctx: WorkerContext, options: RedisWorkerOptions): Worker<JobData, JobReturn> {
  const log = ctx.logger.child({ worker: ctx.workerId });
  const worker = new Worker<JobData, JobReturn>(
    options.queueName ?? DEFAULT_QUEUE,
    async (job) => {
      try {
        const proved = await runProofJob(ctx, { id: job.id!, modelDir: job.data.modelDir, input: job.data.input, attempt: job.attemptsMade + 1 });
        const { timings, backend, proof, publicSignals } = proved;
        return { proof, publicSignals, backend, worker: ctx.workerId, timings };
      } catch (err) {
        // Retrying cannot fix a bad input or a broken package: fail now.
        if (err instanceof FatalError) throw new UnrecoverableError(errorSummary(err));
        throw err;
      }
    },
    {
      connection: connection(options.url),
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDurationMs ?? 120_000,
      ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
      autorun: true,
    },
  );
  const done = ctx.metrics?.counter("jobs_finished_total", "Jobs finished, by status", ["status"] as const);
  worker.on("completed", (job) => {
    done?.inc({ status: "done" });
    log.debug({ job: job.id }, "job completed");
  });
  worker.on("failed", (job, err) => {
    const final = !job || job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError || err.name === "UnrecoverableError";
    if (final) done?.inc({ status: "failed" });
    log.warn({ job: job?.id, err: errorSummary(err), final }, "job attempt failed");
  });
  worker.on("error", (err) => log.error({ err }, "worker error"));
  return worker;
}
