// Proving jobs in SQLite: submit (idempotent by id), claim atomically, finish, retry with backoff, and recover
// jobs that were running when the process died (they go back to the queue on open).
import { randomUUID } from "node:crypto";
import type { Store } from "../../sdk/node/store.ts";
import { fromJson, toJson } from "../../sdk/node/store.ts";
import { InputError } from "../../sdk/errors.ts";
import type { ProofTimings } from "../prove.ts";
import type { Groth16Proof, PublicSignals } from "../types.ts";

export type JobStatus = "queued" | "running" | "done" | "failed";

export interface JobResult {
  proof: Groth16Proof;
  publicSignals: PublicSignals;
  backend: string;
  worker?: string;
}

export interface Job {
  id: string;
  /** Model package directory, as submitted (relative to the service's models dir, or absolute). */
  modelDir: string;
  input: unknown;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  worker?: string;
  timings?: ProofTimings & { queuedMs?: number };
  result?: JobResult;
  error?: string;
}

export const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const MIGRATIONS = [
  `CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     model_dir TEXT NOT NULL,
     input TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
     attempts INTEGER NOT NULL DEFAULT 0,
     max_attempts INTEGER NOT NULL,
     not_before INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER,
     worker TEXT,
     timings TEXT,
     result TEXT,
     error TEXT
   );
   CREATE INDEX jobs_queue ON jobs (status, not_before, created_at);`,
];

interface Row {
  id: string;
  model_dir: string;
  input: string;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  not_before: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  worker: string | null;
  timings: string | null;
  result: string | null;
  error: string | null;
}

const iso = (ms: number | null): string | undefined => (ms === null ? undefined : new Date(ms).toISOString());

function toJob(r: Row): Job {
  return {
    id: r.id,
    modelDir: r.model_dir,
    input: fromJson(r.input),
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    worker: r.worker ?? undefined,
    timings: r.timings ? fromJson(r.timings) : undefined,
    result: r.result ? fromJson(r.result) : undefined,
    error: r.error ?? undefined,
  };
}

export interface SubmitRequest {
  id?: string;
  modelDir: string;
  input: unknown;
  maxAttempts?: number;
}

export class JobStore {
  constructor(readonly store: Store, private readonly now: () => number = Date.now) {
    store.migrate("prover-jobs", MIGRATIONS);
  }

  /**
   * Adds a job, or returns the existing one when `id` was already submitted with the same model and input
   * (so a client may resubmit after a timeout). The same id with different content is an InputError.
   */
  submit(req: SubmitRequest): { job: Job; created: boolean } {
    const id = req.id ?? randomUUID();
    if (!JOB_ID.test(id) || /^\d+$/.test(id)) throw new InputError(`invalid job id "${id}": use letters, digits, _ . - (not only digits)`);
    const input = toJson(req.input);
    return this.store.transaction(() => {
      const existing = this.row(id);
      if (existing) {
        if (existing.model_dir !== req.modelDir || existing.input !== input) {
          throw new InputError(`job ${id} already exists with a different model or input`);
        }
        return { job: toJob(existing), created: false };
      }
      this.store.db
        .prepare("INSERT INTO jobs (id, model_dir, input, status, max_attempts, created_at) VALUES (?, ?, ?, 'queued', ?, ?)")
        .run(id, req.modelDir, input, req.maxAttempts ?? 3, this.now());
      return { job: toJob(this.row(id)!), created: true };
    });
  }

  get(id: string): Job | undefined {
    const r = this.row(id);
    return r ? toJob(r) : undefined;
  }

  list(options: { status?: JobStatus; limit?: number } = {}): Job[] {
    const limit = options.limit ?? 100;
    const rows = (options.status
      ? this.store.db.prepare("SELECT * FROM jobs WHERE status = ? ORDER BY created_at DESC LIMIT ?").all(options.status, limit)
      : this.store.db.prepare("SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?").all(limit)) as unknown as Row[];
    return rows.map(toJob);
  }

  counts(): Record<JobStatus, number> {
    const out: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const r of this.store.db.prepare("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").all() as Array<{ status: JobStatus; n: number }>) {
      out[r.status] = r.n;
    }
    return out;
  }

  /** Atomically takes the oldest runnable queued job for `worker`; undefined when none. */
  claim(worker: string): Job | undefined {
    const now = this.now();
    const row = this.store.db
      .prepare(
        `UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?, worker = ?, error = NULL
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND not_before <= ? ORDER BY created_at, rowid LIMIT 1)
         RETURNING *`,
      )
      .get(now, worker, now) as Row | undefined;
    return row ? toJob(row) : undefined;
  }

  /** Records a proof. Only a running job can complete (a stale worker's late result is ignored). */
  complete(id: string, result: JobResult, timings: Job["timings"]): boolean {
    const r = this.store.db
      .prepare("UPDATE jobs SET status = 'done', result = ?, timings = ?, finished_at = ?, error = NULL WHERE id = ? AND status = 'running'")
      .run(toJson(result), toJson(timings ?? null), this.now(), id);
    return Number(r.changes) === 1;
  }

  /**
   * Records a failed attempt: a retryable failure goes back to the queue after `retryDelayMs` while attempts
   * remain; otherwise the job fails for good.
   */
  fail(id: string, error: string, options: { retryable: boolean; retryDelayMs?: number }): JobStatus | undefined {
    return this.store.transaction(() => {
      const r = this.row(id);
      if (!r || r.status !== "running") return undefined;
      const again = options.retryable && r.attempts < r.max_attempts;
      if (again) {
        this.store.db
          .prepare("UPDATE jobs SET status = 'queued', error = ?, worker = NULL, not_before = ? WHERE id = ?")
          .run(error, this.now() + (options.retryDelayMs ?? 0), id);
        return "queued";
      }
      this.store.db.prepare("UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?").run(error, this.now(), id);
      return "failed";
    });
  }

  /**
   * Puts every running job back in the queue. Called on start: with one service per database file, a job
   * still marked running belongs to a process that died. The interrupted attempt does not count.
   */
  requeueInterrupted(): string[] {
    const rows = this.store.db
      .prepare("UPDATE jobs SET status = 'queued', worker = NULL, attempts = MAX(attempts - 1, 0), not_before = 0 WHERE status = 'running' RETURNING id")
      .all() as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  /** Mirror of a job state kept elsewhere (the Redis queue): overwrite status and outcome fields. */
  mirror(id: string, patch: { status: JobStatus; attempts?: number; worker?: string; result?: JobResult; timings?: Job["timings"]; error?: string; startedAt?: number; finishedAt?: number }): void {
    this.store.db
      .prepare(
        `UPDATE jobs SET status = ?, attempts = COALESCE(?, attempts), worker = COALESCE(?, worker), result = COALESCE(?, result),
           timings = COALESCE(?, timings), error = ?, started_at = COALESCE(?, started_at), finished_at = COALESCE(?, finished_at)
         WHERE id = ?`,
      )
      .run(
        patch.status,
        patch.attempts ?? null,
        patch.worker ?? null,
        patch.result ? toJson(patch.result) : null,
        patch.timings ? toJson(patch.timings) : null,
        patch.error ?? null,
        patch.startedAt ?? null,
        patch.finishedAt ?? null,
        id,
      );
  }

  private row(id: string): Row | undefined {
    return this.store.db.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as Row | undefined;
  }
}
