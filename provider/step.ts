// The provider's idempotent step: read new requests and own claims from the chain, answer requests and
// client jobs with claims, draw the random audits of its claims and prove the challenged or audited ones, finalize
// the others, withdraw credits.
// Every action is recomputed from chain state first, so a kill -9 at any point and a restart converge:
// a claim is keyed by its id (a hash of its fields), known before it is sent and checked on chain.
// A request is answered by commit-reveal: the answer (outputs, bond, a random salt) and its commitment are
// stored before the commit is sent, the commitment is looked up on chain before it is (re)sent, and the
// answer is revealed in a later block. A restart therefore reveals the same answer and never commits to a
// second salt for one job.
// Free stake is topped up once per step for every queued job's bond (provider/stake.ts); a job whose bond is not
// covered waits for stake, a passing send error is retried with backoff, and only a permanent one fails the job
// (provider/jobs.ts). A send that reports an error is checked against the chain first: a claim that landed anyway
// is the job's claim, and a job is never sent again while a transaction of ours is still unmined.
import { keccak256, parseEventLogs, toHex, type Address, type Hex, type Log } from "viem";
import { claimManagerAbi } from "../sdk/abi.ts";
import { FatalError, OzkError, errorSummary } from "../sdk/errors.ts";
import { checkInputData, encodeInputData } from "../sdk/inputs.ts";
import { hashVector } from "../sdk/hash.ts";
import { outputHash } from "../sdk/signals.ts";
import { ClaimStatus, RequestStatus, claimIdOf, claimStatusName, hashAnswer, randomSalt, type ClaimFields } from "../sdk/protocol.ts";
import { ensureCommitted, hasPendingTransactions, isolated, readClaims, readRegistry, sendClaims, settlementGas, withdrawCredits, type DaemonBase } from "../runtime/chain.ts";
import { runQuantized } from "../circuits/compiler/engine.ts";
import type { RemoteProver } from "../runtime/models.ts";
import type { Store } from "../sdk/node/store.ts";
import type { EventCursor } from "../sdk/node/cursor.ts";
import { AuditStatus } from "../sdk/batch.ts";
import { SEED_BLOCKS, drawDue } from "./audit.ts";
import { batchStep, batchable } from "./batch.ts";
import { answerFromBatch } from "./batch-requests.ts";
import { answerChallenge, cancelProof, type ProofTasks } from "./proving.ts";
import { clientJobId, inputKey } from "./keys.ts";
import type { ProviderConfig } from "./config.ts";
import { QUEUED_STATUSES, classifySendError, isDue, isQueued, mayRetry, retryDelayMs } from "./jobs.ts";
import { stakeForQueue, type StakeBudget } from "./stake.ts";

export interface ProviderContext extends DaemonBase {
  config: ProviderConfig;
  /** Set when config.prover names a prover service: challenged claims are proved there (job id = claim id). */
  remoteProver?: RemoteProver;
  /** Proofs of challenged claims running next to the step loop (provider/proving.ts). */
  proofs?: ProofTasks;
  /** Set once the store was rebuilt from the chain in this process (provider/recover.ts). */
  recovered?: boolean;
  /**
   * The URL the HTTP API listens on, set once it does (a holder: the run loop works on a copy of the context): a
   * batch's dataURI when config.publicUrl is unset.
   */
  api?: { url?: string };
  /** BatchManager's event cursor (provider/batch.ts), made on first use. */
  batchCursor?: EventCursor;
}

/**
 * The answer to a request, fixed before its commitment is sent: commitment = hashAnswer(requestId,
 * outputHash(outputs), bond, salt). The salt stays secret until answerRequest reveals it.
 */
export interface Answer {
  outputs: string[];
  bond: string;
  salt: Hex;
  commitment: Hex;
}

/** A unit of work: an on-chain request or a client's input, answered by one claim. */
export interface Job {
  jobId: string;
  modelId: Hex;
  bits: number;
  values: string[];
  inputHash: string;
  requestId: string;
  /** A request's expiry (unix seconds, from its InferenceRequested event; absent in stores written before it was kept). */
  expiry?: string;
  /**
   * pending: to claim (a request: to commit, then reveal once the commitment is a block old), when `retryAt` has
   * passed; waiting-stake: to claim once free stake covers its bond; claimed: its claim is recorded and sent (or
   * found on chain), or its batch finalized (`batch`); batched: in a batch (`batch`) not yet finalized; refused /
   * failed: never claimed, for `reason`.
   */
  status: "pending" | "waiting-stake" | "claimed" | "batched" | "refused" | "failed";
  /** When the job was taken (ms since the epoch; absent in stores written before it was kept): a batch's age. */
  createdAt?: number;
  /** The batch of a batched job: its root, position, and once on chain its id; once finalized the Merkle path. */
  batch?: { root: Hex; index: number; batchId?: Hex; path?: Hex[] };
  reason?: string;
  /** Failed: whether resending the job queues it again. */
  retryable?: boolean;
  /** Sends that ended in a passing error; a job tried before is sent again only when no transaction of ours is pending. */
  attempts?: number;
  /** Pending after a passing error: not tried before this time (ms since the epoch). */
  retryAt?: number;
  claimId?: Hex;
  outputs?: string[];
  /** A request's answer, stored before its commitment is sent (kept across restarts and resubmissions). */
  answer?: Answer;
}

/** A claim of this provider, followed until it settles. */
export interface OwnClaim {
  claimId: Hex;
  claim: { modelId: Hex; provider: Address; inputHash: string; outputHash: Hex; bond: string; requestId: string };
  outputs: string[];
  jobId?: string;
  status: "live" | "settled" | "unprovable";
  outcome?: string;
}

const fields = (c: OwnClaim["claim"]): ClaimFields => ({
  ...c,
  inputHash: BigInt(c.inputHash),
  bond: BigInt(c.bond),
  requestId: BigInt(c.requestId),
});

/** What one step's job submissions share: the free stake it may still lock, and the bonds it read. */
interface Round {
  budget: StakeBudget;
  bondOf: (modelId: Hex) => Promise<bigint>;
}

/**
 * Time one step spends starting job submissions (each waits for its receipt). Past it the step goes on to its
 * claims, so a large queue does not hold back the proof of a challenged claim nor make /healthz stale; the rest of
 * the queue is taken in the next steps.
 */
const SUBMIT_BUDGET_MS = 20_000;

export async function step(ctx: ProviderContext): Promise<void> {
  watchJobs(ctx);
  const bonds = new Map<Hex, Promise<bigint>>();
  const bondOf = (modelId: Hex): Promise<bigint> => bonds.get(modelId) ?? bonds.set(modelId, bondFor(ctx, modelId)).get(modelId)!;
  const plan = { oneBond: await bondNeeded(ctx), queued: await queuedBonds(ctx, bondOf), locked: lockedBonds(ctx), target: ctx.config.stakeTarget, cap: ctx.config.stakeCap };
  const round: Round = { bondOf, budget: await stakeForQueue(ctx, plan) };
  await syncEvents(ctx);
  const submitUntil = Date.now() + SUBMIT_BUDGET_MS;
  for (const [, job] of byPriority(queuedJobs(ctx.store))) {
    if (ctx.signal.aborted) return;
    if (Date.now() > submitUntil) {
      ctx.logger.debug("this step's time for submissions is up: the other queued jobs are taken in the next steps");
      break;
    }
    // A job already waiting for stake is passed over at once while the budget cannot cover its bond.
    if (job.status === "waiting-stake" && round.budget.free < (job.answer ? BigInt(job.answer.bond) : await round.bondOf(job.modelId))) continue;
    if (batchable(ctx, job)) continue; // posted in a batch (provider/batch.ts)
    if (isQueued(job) && isDue(job)) await isolated(ctx, { jobId: job.jobId }, () => submitJob(ctx, job, round));
  }
  for (const [, claim] of openClaims(ctx.store)) {
    if (ctx.signal.aborted) return;
    // An unprovable claim is still followed: it settles (slashed) or, after a reorg, vanishes and is resubmitted.
    await isolated(ctx, { claimId: claim.claimId }, () => followClaim(ctx, claim));
  }
  await batchStep(ctx, {
    deterministicFault: (jobId, outputs, index) => (ctx.config.faults.wrongLeafIndexes.includes(index) ? lieAbout(ctx, jobId, outputs) : injectFault(ctx, jobId, outputs)),
  });
  await withdrawCredits(ctx);
}

/**
 * The jobs still to be claimed, in key order. Read by status (Store.entriesByStatus): claimed jobs, which only grow
 * (thousands in a soak, each with its input), are neither read nor decoded, so a step's synchronous work, during which
 * GET /jobs/:id and POST /infer wait, follows the queue and not the provider's history.
 */
export function queuedJobs(store: Store): Array<[string, Job]> {
  return store.entriesByStatus<Job>("job/", QUEUED_STATUSES);
}

/**
 * The order in which queued jobs get free stake and are sent: on-chain requests first (they pay a fee and expire:
 * a request passed over for free client jobs expires unanswered and the consumer takes the fee back), soonest
 * expiry first (a request whose expiry the store does not know after those that it does), then client jobs, each
 * group in key order. Client jobs sort before requests in key order (`job/job-…` < `job/req-…`), so without this
 * a flood of /infer jobs would take the stake ahead of a paying request.
 */
export function byPriority(jobs: Array<[string, Job]>): Array<[string, Job]> {
  const rank = ([, j]: [string, Job]): [number, bigint] => (j.requestId === "0" ? [2, 0n] : j.expiry === undefined ? [1, 0n] : [0, BigInt(j.expiry)]);
  return jobs
    .map((e) => ({ e, r: rank(e) }))
    .sort((a, b) => a.r[0] - b.r[0] || (a.r[1] < b.r[1] ? -1 : a.r[1] > b.r[1] ? 1 : 0) || (a.e[0] < b.e[0] ? -1 : a.e[0] > b.e[0] ? 1 : 0))
    .map(({ e }) => e);
}

/** This provider's claims not yet seen settled, in key order (by status too, as queuedJobs). */
export function openClaims(store: Store): Array<[string, OwnClaim]> {
  return store.entriesByStatus<OwnClaim>("claim/", ["settled"], { not: true });
}

/** The largest bond one claim of a served model needs. */
async function bondNeeded(ctx: ProviderContext): Promise<bigint> {
  let need = 0n;
  for (const modelId of ctx.models.keys()) {
    const b = await bondFor(ctx, modelId);
    if (b > need) need = b;
  }
  return need;
}

async function bondFor(ctx: ProviderContext, modelId: Hex): Promise<bigint> {
  const [, , , , minBond] = await readRegistry(ctx, "claimParams", [modelId]);
  return ctx.config.bond > minBond ? ctx.config.bond : minBond;
}

/**
 * The bonds the queued jobs need: one per claim they make, a request's answer's bond once fixed, else its model's.
 * Client jobs that differ only by tag make one claim (the same model and input): they need one bond, so that
 * thousands of tags of one input do not move the whole token balance into stake. Each request is its own claim.
 */
export async function queuedBonds(ctx: Pick<ProviderContext, "store"> & Partial<Pick<ProviderContext, "config" | "models">>, bondOf: Round["bondOf"]): Promise<bigint> {
  const claims = new Set<string>();
  let sum = 0n;
  for (const [, job] of queuedJobs(ctx.store)) {
    if (ctx.config && ctx.models && batchable({ config: ctx.config, models: ctx.models }, job)) continue; // staked in BatchManager
    const claim = job.requestId !== "0" ? `req:${job.requestId}` : `${job.modelId.toLowerCase()}:${job.inputHash}`;
    if (claims.has(claim)) continue;
    claims.add(claim);
    sum += job.answer ? BigInt(job.answer.bond) : await bondOf(job.modelId);
  }
  return sum;
}

/** The bonds of this provider's claims not yet seen settled (as the store has them: at most a step behind the chain). */
function lockedBonds(ctx: ProviderContext): bigint {
  let sum = 0n;
  for (const [, c] of openClaims(ctx.store)) sum += BigInt(c.claim.bond);
  return sum;
}

const watched = new WeakSet<object>();
/** The `jobs{status}` gauge, counted from the store at each scrape. */
function watchJobs(ctx: ProviderContext): void {
  if (watched.has(ctx.store)) return;
  watched.add(ctx.store);
  ctx.metrics.gauge("jobs", "Jobs by status", ["status"] as const, (g) => {
    g.reset();
    for (const [status, n] of ctx.store.countByStatus("job/")) g.set({ status }, n);
  });
}

/** A client job refused because `maxQueuedJobs` client jobs are already queued (the HTTP API answers 429). */
export class QueueFullError extends OzkError {
  override name = "QueueFullError";
}

/** How many client jobs (POST /infer) are queued, counted in the store's status index without decoding a row. */
export function queuedClientJobs(store: Store): number {
  const counts = store.countByStatus("job/job-");
  return QUEUED_STATUSES.reduce((n, s) => n + (counts.get(s) ?? 0), 0);
}

/**
 * Adds a job for a client's quantized input (HTTP API). Idempotent per (model, input, tag): the same job is
 * returned, except that a job failed for a passing reason (jobs.ts mayRetry) is queued again. A job that would
 * be queued while `maxQueued` client jobs already are is refused with a QueueFullError (an existing job is still
 * returned), so one client cannot grow the store without bound.
 */
export function addJob(ctx: Pick<ProviderContext, "store" | "models">, modelId: Hex, values: bigint[], tag = "", opts: { maxQueued?: number } = {}): Job {
  const model = ctx.models.get(modelId);
  if (!model) throw new FatalError(`model ${modelId} is not served here`);
  const bits = model.pkg.manifest.inputBits;
  const inputHash = hashVector(values, bits);
  const jobId = clientJobId(modelId, inputHash, tag);
  const existing = ctx.store.get<Job>(`job/${jobId}`);
  if (opts.maxQueued !== undefined && (!existing || mayRetry(existing)) && queuedClientJobs(ctx.store) >= opts.maxQueued) {
    throw new QueueFullError(`this provider has ${opts.maxQueued} client jobs queued (maxQueuedJobs): try later or another provider`);
  }
  if (existing && mayRetry(existing)) {
    const { reason: _reason, retryable: _retryable, retryAt: _retryAt, ...rest } = existing;
    const again: Job = { ...rest, status: "pending", attempts: existing.attempts ?? 0 };
    ctx.store.set(`job/${jobId}`, again);
    return again;
  }
  if (existing) return existing;
  const job: Job = { jobId, modelId, bits, values: values.map(String), inputHash: inputHash.toString(), requestId: "0", status: "pending", createdAt: Date.now() };
  ctx.store.set(`job/${jobId}`, job);
  return job;
}

async function syncEvents(ctx: ProviderContext): Promise<void> {
  for (;;) {
    const batch = await ctx.cursor.poll();
    if (!batch) return;
    if (batch.rewind) ctx.logger.warn({ ...batch.rewind }, "reorg: re-reading events; claims are re-checked on chain");
    const logs = parseEventLogs({ abi: claimManagerAbi, logs: batch.logs as Log[], strict: true });
    ctx.store.transaction(() => {
      for (const log of logs) {
        if (log.eventName === "InferenceRequested") onRequest(ctx, log.args);
        if (log.eventName === "ClaimSubmitted") onClaimSubmitted(ctx, log.args);
        if (log.eventName === "RequestReopened") onRequestReopened(ctx, log.args);
      }
      ctx.cursor.commit(batch);
    });
    if (batch.logs.length === 0 && !batch.rewind) return;
  }
}

function onRequest(
  ctx: ProviderContext,
  a: { requestId: bigint; modelId: Hex; inputHash: bigint; expiry: bigint; inputData: Hex; inputURI: string },
): void {
  if (!ctx.config.answerRequests) return;
  const modelId = a.modelId.toLowerCase() as Hex;
  const model = ctx.models.get(modelId);
  if (!model) return;
  const jobId = `req-${a.requestId}`;
  if (ctx.store.get(`job/${jobId}`)) return;
  const m = model.pkg.manifest;
  let job: Job = { jobId, modelId, bits: m.inputBits, values: [], inputHash: a.inputHash.toString(), requestId: a.requestId.toString(), expiry: a.expiry.toString(), status: "pending" };
  try {
    if (a.inputData === "0x") throw new Error(a.inputURI ? `input only by URI (${a.inputURI}), which this provider does not fetch` : "the request carries no input data");
    const input = checkInputData(a.inputData, a.inputHash, { length: m.inputLength, bits: m.inputBits });
    job = { ...job, values: input.values.map(String) };
  } catch (err) {
    job = { ...job, status: "refused", reason: errorSummary(err) };
    ctx.logger.warn({ requestId: a.requestId, reason: job.reason }, "request refused");
    ctx.metrics.counter("requests_refused_total", "Requests refused for bad input").inc();
  }
  ctx.store.set(`job/${jobId}`, job);
}

/** Why a request job failed when another provider's claim answered the request first. */
const NOT_OPEN = "request is no longer open";

/**
 * Another provider's answer to a request was slashed and the request is open again: a job that failed because
 * that answer came first is queued again, with a fresh answer (the old commitment may have been spent).
 */
function onRequestReopened(ctx: ProviderContext, a: { requestId: bigint; claimId: Hex }): void {
  const job = ctx.store.get<Job>(`job/req-${a.requestId}`);
  if (!job || job.status !== "failed" || job.reason !== NOT_OPEN) return;
  const { reason: _reason, retryable: _retryable, retryAt: _retryAt, answer: _answer, ...rest } = job;
  ctx.store.set(`job/${job.jobId}`, { ...rest, status: "pending" } satisfies Job);
  ctx.logger.info({ jobId: job.jobId, requestId: a.requestId, slashedClaim: a.claimId }, "request reopened: answering it again");
}

function onClaimSubmitted(
  ctx: ProviderContext,
  a: { claimId: Hex; provider: Address; claim: ClaimFields; outputs: readonly bigint[] },
): void {
  if (a.provider.toLowerCase() !== ctx.account.address.toLowerCase()) return;
  if (ctx.store.get(`claim/${a.claimId}`)) return;
  // A claim the store does not know (store lost, killed between send and record, or a send that reported an error
  // although the transaction landed): adopt it, and make it the claim of the job it answers.
  const job = jobOfClaim(ctx, a.claim);
  const outputs = a.outputs.map(String);
  ctx.store.set(`claim/${a.claimId}`, {
    claimId: a.claimId,
    claim: { ...a.claim, inputHash: a.claim.inputHash.toString(), bond: a.claim.bond.toString(), requestId: a.claim.requestId.toString() },
    outputs,
    ...(job ? { jobId: job.jobId } : {}),
    status: "live",
  } satisfies OwnClaim);
  if (job) ctx.store.set(`job/${job.jobId}`, claimedJob(job, a.claimId, outputs));
  ctx.logger.info({ claimId: a.claimId, jobId: job?.jobId }, "adopted own claim from chain");
}

/** The job a claim of ours answers that is not yet claimed: a request's job by request id, a client's by model and input. */
function jobOfClaim(ctx: ProviderContext, claim: { modelId: Hex; inputHash: bigint; requestId: bigint }): Job | undefined {
  const open = (j: Job | undefined) => (j && j.status !== "claimed" && j.status !== "refused" ? j : undefined);
  if (claim.requestId !== 0n) return open(ctx.store.get<Job>(`job/req-${claim.requestId}`));
  const modelId = claim.modelId.toLowerCase();
  const inputHash = claim.inputHash.toString();
  for (const [, j] of ctx.store.entriesByStatus<Job>("job/job-", ["claimed", "refused"], { not: true })) {
    if (j.modelId === modelId && j.inputHash === inputHash && open(j)) return j;
  }
  return undefined;
}

/** `job` claimed by `claimId`: the retry state of earlier attempts is dropped. */
function claimedJob(job: Job, claimId: Hex, outputs: string[]): Job {
  const { reason: _reason, retryAt: _retryAt, retryable: _retryable, ...rest } = job;
  return { ...rest, status: "claimed", claimId, outputs };
}

/** Deterministic per job, so a restart makes the same (possibly faulty) claim and never a second one. */
function injectFault(ctx: ProviderContext, jobId: string, outputs: bigint[]): bigint[] {
  const rate = ctx.config.faults.wrongOutputRate;
  if (rate === 0) return outputs;
  const draw = Number(BigInt(keccak256(toHex(jobId))) % 1_000_000n) / 1_000_000;
  if (draw >= rate) return outputs;
  return lieAbout(ctx, jobId, outputs);
}

/** Test fault: `outputs` made wrong. */
function lieAbout(ctx: ProviderContext, jobId: string, outputs: bigint[]): bigint[] {
  ctx.logger.warn({ jobId }, "FAULT INJECTION: claiming a wrong output");
  // Swap the top output with the next one: for a classifier, a confidently wrong class.
  const top = outputs.reduce((best, v, i) => (v > outputs[best]! ? i : best), 0);
  const other = (top + 1) % outputs.length;
  const lie = [...outputs];
  [lie[top], lie[other]] = [outputs[other]!, outputs[top]!];
  if (outputs.length === 1) lie[0] = outputs[0]! + 1n;
  return lie;
}

async function submitJob(ctx: ProviderContext, job: Job, round: Round): Promise<void> {
  if (job.requestId !== "0") return answerJob(ctx, job, round);
  const model = ctx.models.get(job.modelId)!;
  const values = job.values.map(BigInt);
  const outputs = injectFault(ctx, job.jobId, runQuantized(model.pkg.quant, values).outputs);
  const claim: ClaimFields = {
    modelId: job.modelId,
    provider: ctx.account.address,
    inputHash: BigInt(job.inputHash),
    outputHash: outputHash(outputs),
    bond: await round.bondOf(job.modelId),
    requestId: 0n,
  };
  // Own jobs carry their input in calldata so challengers can re-execute (a request published its own).
  const claimId = await claimOnce(ctx, job, claim, outputs, round, () => sendClaims(ctx, "submitClaim", [job.modelId, claim.inputHash, outputs, claim.bond, encodeInputData(values, job.bits), ""]));
  if (!claimId) return;
  ctx.metrics.counter("claims_submitted_total", "Claims submitted").inc();
  ctx.logger.info({ claimId, jobId: job.jobId, outputs }, "claim submitted");
}

/**
 * Claims `job` with `claim` once. A job tried before waits while a transaction of ours is unmined (it may be this
 * claim). A claim already on chain is recorded as the job's and not sent again; a bond the step's budget does not
 * cover makes the job wait for stake; otherwise the claim is recorded (before the send: a restart finds it) and
 * sent. Returns the claim id when this call sent it, else undefined.
 */
async function claimOnce(ctx: ProviderContext, job: Job, claim: ClaimFields, outputs: readonly bigint[], round: Round, send: () => Promise<unknown>): Promise<Hex | undefined> {
  if ((job.attempts ?? 0) > 0 && (await hasPendingTransactions(ctx))) {
    ctx.logger.debug({ jobId: job.jobId }, "a transaction of ours is not mined yet: the job is tried again after it");
    return undefined;
  }
  const claimId = claimIdOf(claim);
  const [status] = await readClaims(ctx, "claimState", [claimId]);
  if (status !== ClaimStatus.None) {
    recordClaim(ctx, job, claim, outputs);
    ctx.logger.warn({ claimId, jobId: job.jobId }, "claim already on chain (restart): not resending");
    return undefined;
  }
  if (round.budget.free < claim.bond) {
    waitForStake(ctx, job, claim.bond, round.budget.free);
    return undefined;
  }
  recordClaim(ctx, job, claim, outputs);
  try {
    await send();
  } catch (err) {
    await afterSendError(ctx, job, claim, err, round);
    return undefined;
  }
  round.budget.free -= claim.bond;
  return claimId;
}

/** Marks a queued job as waiting for free stake to cover `bond` (once: a waiting job is not rewritten each step). */
function waitForStake(ctx: ProviderContext, job: Job, bond: bigint, free: bigint): void {
  if (job.status === "waiting-stake") return;
  ctx.store.set(`job/${job.jobId}`, { ...job, status: "waiting-stake", reason: `waiting for free stake: its bond is ${bond}, ${free} is free` } satisfies Job);
  ctx.logger.info({ jobId: job.jobId, bond, free }, "job waits for stake");
}

/**
 * A send of `claim` reported an error. The chain decides first: a claim that is there (an answer lost on the way
 * back, a retry that found its own transaction mined) is the job's claim. Otherwise the recorded claim is
 * forgotten (should its transaction still land, the ClaimSubmitted event makes it the job's) and the error is
 * classified: stake short, the job waits for stake; a permanent error fails it with the reason; anything else
 * queues it again after a backoff. A transport error reading the chain propagates: the job stays claimed and
 * followClaim checks the claim again next step.
 */
async function afterSendError(ctx: ProviderContext, job: Job, claim: ClaimFields, err: unknown, round: Round): Promise<void> {
  const claimId = claimIdOf(claim);
  const errors = ctx.metrics.counter("claim_send_errors_total", "Claim sends that reported an error, by what became of the job", ["outcome"] as const);
  const [status] = await readClaims(ctx, "claimState", [claimId]);
  if (status !== ClaimStatus.None) {
    round.budget.free -= claim.bond;
    errors.inc({ outcome: "on-chain" });
    ctx.logger.warn({ claimId, jobId: job.jobId, err: errorSummary(err) }, "the send reported an error but the claim is on chain: it is the job's claim");
    return;
  }
  const verdict = classifySendError(err);
  const attempts = (job.attempts ?? 0) + (verdict.kind === "retry" ? 1 : 0);
  const next: Job =
    verdict.kind === "permanent"
      ? { ...job, status: "failed", reason: verdict.reason, retryable: false }
      : verdict.kind === "stake"
        ? { ...job, status: "waiting-stake", reason: `waiting for free stake: ${verdict.reason}` }
        : { ...job, status: "pending", reason: `retrying: ${verdict.reason}`, attempts, retryAt: Date.now() + retryDelayMs(attempts, ctx.config.intervalMs) };
  if (verdict.kind === "stake") round.budget.free = 0n; // the budget was wrong: nothing more this step, the next one re-reads it
  ctx.store.transaction(() => {
    ctx.store.delete(`claim/${claimId}`);
    ctx.store.set(`job/${job.jobId}`, next);
  });
  errors.inc({ outcome: verdict.kind });
  const log = { jobId: job.jobId, claimId, err: verdict.reason, attempts, retryInMs: next.retryAt ? next.retryAt - Date.now() : undefined };
  if (verdict.kind === "permanent") ctx.logger.error(log, "claim rejected");
  else ctx.logger.warn(log, verdict.kind === "stake" ? "claim send short of stake: the job waits for stake" : "claim send failed: the job is tried again");
}

/** Records the claim before it is sent: if we die after the send, the next step sees it on chain and does not resend. */
function recordClaim(ctx: ProviderContext, job: Job, claim: ClaimFields, outputs: readonly bigint[]): Hex {
  const claimId = claimIdOf(claim);
  const own: OwnClaim = {
    claimId,
    claim: { ...claim, inputHash: claim.inputHash.toString(), bond: claim.bond.toString(), requestId: claim.requestId.toString() },
    outputs: outputs.map(String),
    jobId: job.jobId,
    status: "live",
  };
  ctx.store.transaction(() => {
    ctx.store.set(inputKey(job.modelId, job.inputHash), { bits: job.bits, values: job.values });
    ctx.store.set(`claim/${claimId}`, own);
    ctx.store.set(`job/${job.jobId}`, claimedJob(job, claimId, own.outputs));
  });
  return claimId;
}

/** Marks a job failed for a reason known before anything was sent (permanent: resending does not queue it again). */
function failJob(ctx: ProviderContext, job: Job, reason: string): void {
  ctx.store.set(`job/${job.jobId}`, { ...job, status: "failed", reason, retryable: false } satisfies Job);
  ctx.logger.info({ jobId: job.jobId, requestId: job.requestId, reason }, "request not answerable");
}

/**
 * Why the provider's request policy refuses a request, or undefined when it is worth answering: a fee below
 * `minFee`, a required bond above `maxBond` (0: above the provider's own bond for the model), or a callback above
 * `maxCallbackGas` (the provider supplies that gas when it settles).
 */
export function requestRefusal(
  policy: ProviderContext["config"]["requestPolicy"] | undefined,
  req: { fee: bigint; minBond: bigint; callbackGasLimit: number | bigint },
  ownBond: bigint,
): string | undefined {
  const p = policy ?? { minFee: 0n, maxBond: 0n, maxCallbackGas: 500_000 };
  const maxBond = p.maxBond === 0n ? ownBond : p.maxBond;
  if (req.fee < p.minFee) return `request fee ${req.fee} is below requestPolicy.minFee ${p.minFee}`;
  if (req.minBond > maxBond) return `request requires a bond of ${req.minBond}, above requestPolicy.maxBond ${maxBond}`;
  if (BigInt(req.callbackGasLimit) > BigInt(p.maxCallbackGas)) return `request callback gas ${req.callbackGasLimit} is above requestPolicy.maxCallbackGas ${p.maxCallbackGas}`;
  return undefined;
}

/**
 * Answers a request in two steps, one per call when the chain has not moved on: commit to hashAnswer(requestId,
 * outputHash, bond, salt), then, in a later block, answerRequest reveals it. The answer is stored before the
 * commit is sent; a restart finds it and the commitment on chain, and goes on where it stopped.
 */
async function answerJob(ctx: ProviderContext, job: Job, round: Round): Promise<void> {
  const requestId = BigInt(job.requestId);
  const req = await readClaims(ctx, "getRequest", [requestId]);
  const now = (await ctx.publicClient.getBlock()).timestamp;
  if (req.status !== RequestStatus.Open) {
    // Answered by our own reveal (a send that reported an error although it landed): that claim is the job's.
    const ours = job.answer && answerClaim(ctx, job, job.answer);
    if (ours && req.claimId === claimIdOf(ours)) {
      recordClaim(ctx, job, ours, job.answer!.outputs.map(BigInt));
      ctx.logger.warn({ claimId: req.claimId, jobId: job.jobId, requestId }, "the request was answered by our claim: it is the job's claim");
      return;
    }
    return failJob(ctx, job, NOT_OPEN);
  }
  if (now + 1n >= req.expiry) return failJob(ctx, job, "request is expired");
  const me = ctx.account.address.toLowerCase();
  if (BigInt(req.provider) !== 0n && req.provider.toLowerCase() !== me) return failJob(ctx, job, `request names another provider (${req.provider})`);
  let answer = job.answer;
  if (!answer) {
    const modelBond = await round.bondOf(job.modelId);
    const refused = requestRefusal(ctx.config.requestPolicy, req, modelBond);
    if (refused) return failJob(ctx, job, refused);
    if (await answerFromBatch(ctx, job, req)) return; // a leaf of an own batch answers it (provider/batch-requests.ts)
    const model = ctx.models.get(job.modelId)!;
    const outputs = injectFault(ctx, job.jobId, runQuantized(model.pkg.quant, job.values.map(BigInt)).outputs);
    const bond = req.minBond > modelBond ? req.minBond : modelBond;
    const salt = randomSalt();
    answer = { outputs: outputs.map(String), bond: bond.toString(), salt, commitment: hashAnswer(requestId, outputHash(outputs), bond, salt) };
    // Stored before the commit is sent: a restart commits (or finds committed) this answer, never a second salt.
    ctx.store.set(`job/${job.jobId}`, { ...job, answer } satisfies Job);
    job = { ...job, answer };
  }
  const { committedAt, revealable, sent } = await ensureCommitted(ctx, answer.commitment);
  if (!revealable) {
    if (sent) ctx.logger.info({ jobId: job.jobId, requestId, committedAt }, `answer committed in block ${committedAt}: the reveal waits for a later block (a chain that mines only on transactions needs one: docs/daemons.md)`);
    else ctx.logger.debug({ jobId: job.jobId, requestId, committedAt }, "answer committed: revealing in a later block");
    return;
  }
  const outputs = answer.outputs.map(BigInt);
  const claim = answerClaim(ctx, job, answer);
  const claimId = await claimOnce(ctx, job, claim, outputs, round, () => sendClaims(ctx, "answerRequest", [requestId, outputs, claim.bond, answer.salt]));
  if (!claimId) return;
  ctx.metrics.counter("claims_submitted_total", "Claims submitted").inc();
  ctx.logger.info({ claimId, jobId: job.jobId, requestId, outputs, committedAt }, "request answered");
}

/** The claim that reveals `answer` to the job's request. */
function answerClaim(ctx: ProviderContext, job: Job, answer: Answer): ClaimFields {
  return {
    modelId: job.modelId,
    provider: ctx.account.address,
    inputHash: BigInt(job.inputHash),
    outputHash: outputHash(answer.outputs.map(BigInt)),
    bond: BigInt(answer.bond),
    requestId: BigInt(job.requestId),
  };
}

async function followClaim(ctx: ProviderContext, own: OwnClaim): Promise<void> {
  const [status, deadline] = await readClaims(ctx, "claimState", [own.claimId]);
  const now = (await ctx.publicClient.getBlock()).timestamp;
  const claim = fields(own.claim);
  switch (status) {
    case ClaimStatus.None:
      // Sent but not mined (or orphaned by a reorg): the job resends it.
      if (own.jobId) {
        const job = ctx.store.get<Job>(`job/${own.jobId}`);
        if (job && job.status === "claimed") {
          // A transaction of ours not mined yet may be this claim: it is sent again only once none is pending.
          if (await hasPendingTransactions(ctx)) return;
          ctx.store.transaction(() => {
            ctx.store.delete(`claim/${own.claimId}`);
            ctx.store.set(`job/${job.jobId}`, { ...job, status: "pending", attempts: (job.attempts ?? 0) + 1 } satisfies Job);
          });
          ctx.logger.warn({ claimId: own.claimId }, "claim not on chain: resubmitting");
        }
      }
      return;
    case ClaimStatus.Submitted: {
      const audit = await followAudit(ctx, own, claim);
      if (audit.status === AuditStatus.Selected) {
        // Selected: proven before the audit deadline, as if challenged; never finalizable before.
        if (now >= audit.deadline || own.status === "unprovable") {
          cancelProof(ctx, own.claimId, "the audit deadline passed");
          return; // anyone slashes it as a missed audit
        }
        return answerChallenge(ctx, own, audit.deadline, now, "audit");
      }
      if (audit.seedGone) return; // finalize would revert (AuditSeedGone): the claim is slashed as a missed audit
      if (now + 1n >= deadline) {
        // An undrawn audit whose seed is readable is drawn inside finalize; if it selects the claim, finalize
        // reverts and the next step proves it.
        await sendClaims(ctx, "finalize", [claim, own.outputs.map(BigInt)], { gas: await settlementGas(ctx, "finalize", claim) });
        ctx.logger.info({ claimId: own.claimId }, "claim finalized");
      }
      return;
    }
    case ClaimStatus.Challenged:
      if (now >= deadline || own.status === "unprovable") {
        cancelProof(ctx, own.claimId, "the proof deadline passed");
        return; // the challenger slashes
      }
      // Drawn while challenged too: a proof before the proof deadline then also answers the audit (and earns its
      // fee), and the draw is never missed.
      await followAudit(ctx, own, claim);
      // The proof runs next to the step loop; a later step sends it (provider/proving.ts).
      return answerChallenge(ctx, own, deadline, now);
    default: {
      const outcome = claimStatusName(status);
      cancelProof(ctx, own.claimId, `the claim is settled (${outcome})`);
      ctx.store.set(`claim/${own.claimId}`, { ...own, status: "settled", outcome } satisfies OwnClaim);
      ctx.metrics.counter("claims_settled_total", "Own claims settled, by outcome", ["outcome"] as const).inc({ outcome });
      (outcome === "Slashed" ? ctx.logger.error.bind(ctx.logger) : ctx.logger.info.bind(ctx.logger))({ claimId: own.claimId, outcome }, "claim settled");
    }
  }
}

/**
 * The random audit of an own live claim (ClaimManager.auditOf), drawn here as soon as its seed block exists: the draw
 * must land within 256 blocks of the claim's block, or the claim is slashed as a missed audit. Whoever draws, the
 * result is the same (a pure function of the seed), so a draw raced by someone else only costs this step a failed
 * send; the next step reads the drawn audit. `seedGone`: never drawn and no longer drawable.
 */
export async function followAudit(ctx: ProviderContext, own: OwnClaim, claim: ClaimFields): Promise<{ status: number; deadline: bigint; seedGone: boolean }> {
  const [status, submittedBlock, rateBps, , deadline] = await readClaims(ctx, "auditOf", [own.claimId]);
  const head = status === AuditStatus.Undrawn ? await ctx.publicClient.getBlockNumber({ cacheTime: 0 }) : 0n;
  const due = drawDue({ status, submittedBlock }, head);
  if (due === "none" || due === "wait") return { status, deadline, seedGone: false };
  if (due === "gone") {
    ctx.logger.error({ claimId: own.claimId, submittedBlock, head }, "the audit seed is gone (more than 256 blocks): this claim will be slashed as a missed audit");
    return { status, deadline, seedGone: true };
  }
  if (due === "late") ctx.logger.error({ claimId: own.claimId, submittedBlock, head, blocksLeft: SEED_BLOCKS - (head - submittedBlock) }, "drawing the audit LATE: past 256 blocks after its claim the claim is slashed");
  await sendClaims(ctx, "drawAudit", [claim]);
  const [drawn, , , , drawnDeadline] = await readClaims(ctx, "auditOf", [own.claimId]);
  const selected = drawn === AuditStatus.Selected;
  ctx.metrics.counter("claim_audits_drawn_total", "Audits of own claims drawn, by result", ["selected"] as const).inc({ selected: String(selected) });
  ctx.logger.info({ claimId: own.claimId, selected, rateBps, ...(selected ? { deadline: drawnDeadline } : {}) }, "audit drawn");
  return { status: drawn, deadline: drawnDeadline, seedGone: false };
}
