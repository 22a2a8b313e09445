// Merkle-batched claims (BatchManager): client jobs of a model are collected and posted as one batch, and the
// provider then answers the batch's random audit and any challenged position with a proof, and finalizes it.
// Crash safety, as for single claims: a batch (its leaves, inputs, outputs and job ids) is stored, and its jobs
// marked batched, in one transaction BEFORE submitBatch is sent; before any (re)send the chain is searched for a
// BatchSubmitted of this provider with the batch's root, and one found is adopted, never sent again. So a kill -9
// between storing and sending sends the stored batch (the same jobs, the same root) once, and one after sending
// adopts it. The audit must be drawn within 256 blocks of the batch's block (else the batch is slashed as a missed
// audit): the step draws it as soon as it can.
// The batch's leaves are not on chain (only its root): its data is also written to an append-only archive outside the
// store before submitBatch is sent, and an open batch of this key the store lacks is restored from that archive or
// from mirrors, every leaf checked against the root (provider/batch-restore.ts).
import { concat, encodeAbiParameters, keccak256, parseEventLogs, type Address, type Hex, type Log } from "viem";
import { batchManagerAbi } from "../sdk/abi.ts";
import { errorSummary, FatalError } from "../sdk/errors.ts";
import { batchLeaf, buildBatchTree, type BatchStruct, type BatchTree } from "../sdk/batch.ts";
import { toSolidityProof } from "../sdk/protocol.ts";
import { EventCursor } from "../sdk/node/cursor.ts";
import { HttpError } from "../sdk/node/server.ts";
import type { Store } from "../sdk/node/store.ts";
import { batchesAddress, ensureBatchStake, hasPendingTransactions, isolated, readBatches, readRegistry, sendBatches, withdrawBatchCredits } from "../runtime/chain.ts";
import { runQuantized } from "../circuits/compiler/engine.ts";
import type { ServedModel } from "../runtime/models.ts";
import type { ProviderConfig } from "./config.ts";
import { classifySendError, isDue, isQueued } from "./jobs.ts";
import { cancelProof, proofTasks, startLeafProof } from "./proving.ts";
import type { Job, ProviderContext } from "./step.ts";
import { batchKey, batchLeafKey, idKey } from "./keys.ts";
import { archiveDirOf, archiveOwnBatch, batchDataOf, lostKey, restoreBatch, type ChainBatch, type LostBatch } from "./batch-restore.ts";

/** BatchStatus, AuditStatus and LeafStatus of contracts/types/Batch.sol. */
export const BatchStatus = { None: 0, Submitted: 1, Finalized: 2, Slashed: 3 } as const;
export const AuditStatus = { Undrawn: 0, Clear: 1, Selected: 2, Answered: 3 } as const;
export const LeafStatus = { None: 0, Challenged: 1, Proven: 2, Released: 3 } as const;

/** Blocks after its batch's block in which an audit can be drawn (blockhash keeps 256). */
const SEED_BLOCKS = 256n;
/** From this many blocks after its batch the draw is logged as late (an error past SEED_BLOCKS). */
const LATE_DRAW_BLOCKS = 192n;

/** The batching rule of one model. */
export interface BatchPolicy {
  enabled: boolean;
  maxClaims: number;
  maxAgeMs: number;
  /** The batch bond asked for (the model's minimum applies); undefined: the provider's `bond`. */
  bond?: bigint;
}

/** The rule for `model`: `batching`, overridden by `batching.models[<name or modelId>]`. */
export function batchPolicy(config: Pick<ProviderConfig, "batching">, model: Pick<ServedModel, "name" | "modelId">): BatchPolicy {
  // (a config built in code rather than by the schema may carry no batching section: batching off)
  const b = config.batching ?? { enabled: false, maxClaims: 100, maxAgeMs: 30_000 };
  const rules = b.models ?? {};
  const over = rules[model.name] ?? Object.entries(rules).find(([k]) => k.toLowerCase() === model.modelId.toLowerCase())?.[1] ?? {};
  const bond = over.bond ?? b.bond;
  return { enabled: over.enabled ?? b.enabled, maxClaims: over.maxClaims ?? b.maxClaims, maxAgeMs: over.maxAgeMs ?? b.maxAgeMs, ...(bond === undefined ? {} : { bond }) };
}

/**
 * How many of the ready claims (their jobs' arrival times, in the order they would be batched) to post as one batch
 * now: `maxClaims` once that many are ready, all of them once the oldest is `maxAgeMs` old, else none (wait).
 */
export function batchTake(createdAt: readonly number[], policy: BatchPolicy, now: number): number {
  if (!policy.enabled || createdAt.length === 0) return 0;
  if (createdAt.length >= policy.maxClaims) return policy.maxClaims;
  const oldest = Math.min(...createdAt);
  return now - oldest >= policy.maxAgeMs ? createdAt.length : 0;
}

/** Whether a queued job goes into a batch: a client job (not an on-chain request) of a model batched by policy. */
export function batchable(ctx: Pick<ProviderContext, "config" | "models">, job: Pick<Job, "requestId" | "modelId">): boolean {
  if (job.requestId !== "0") return false;
  const model = ctx.models.get(job.modelId);
  return model !== undefined && batchPolicy(ctx.config, model).enabled;
}

/** One claim of a batch: its position, input (quantized values), outputs and the jobs it answers. */
export interface BatchLeafRow {
  index: number;
  inputHash: string;
  outputs: string[];
  values: string[];
  jobIds: string[];
}

/** A batch of this provider, stored before it is sent and followed until it settles. */
export interface OwnBatch {
  root: Hex;
  modelId: Hex;
  bits: number;
  size: number;
  bond: string;
  leaves: BatchLeafRow[];
  /** Head block when it was stored: its BatchSubmitted, if any, is at or after it. */
  storedAtBlock: string;
  createdAt: number;
  /** stored: not yet seen on chain; submitted: on chain, followed; finalized / slashed: settled; failed: refused. */
  status: "stored" | "submitted" | "finalized" | "slashed" | "failed";
  reason?: string;
  batchId?: Hex;
  /** The Batch as BatchSubmitted carries it (amounts as decimal strings). */
  batch?: { modelId: Hex; provider: Address; root: Hex; size: number; bond: string; auditRateBps: number; auditFee: string };
  dataURI?: string;
  submittedBlock?: string;
  /** Positions challenged (LeafChallenged), in the order seen. */
  challenged?: number[];
  /** Positions whose proof cannot be made (their outputs are not the model's): not tried again. */
  unprovable?: number[];
  /** Head block when it was first seen Finalized: settled once that is `confirmations` blocks deep. */
  finalizedSeenAt?: string;
}

export function batchStruct(b: OwnBatch): BatchStruct {
  const x = b.batch!;
  return { ...x, bond: BigInt(x.bond), auditFee: BigInt(x.auditFee) };
}

/** The stored batch's tree, rebuilt from its leaves. */
export function batchTree(b: Pick<OwnBatch, "modelId" | "leaves">): BatchTree {
  return buildBatchTree(b.leaves.map((l) => batchLeaf(b.modelId, BigInt(l.inputHash), l.outputs.map(BigInt), l.index)));
}

/** Batches not yet settled, in key order. */
export function openBatches(store: Store): Array<[string, OwnBatch]> {
  return store.entriesByStatus<OwnBatch>("batch/", ["stored", "submitted"]);
}

/** The BatchSubmitted/LeafChallenged cursor over BatchManager (next to the claims cursor). */
function batchCursor(ctx: ProviderContext & { batchCursor?: EventCursor }): EventCursor {
  return (ctx.batchCursor ??= new EventCursor({
    client: ctx.publicClient as never,
    store: ctx.store,
    key: "provider/batches",
    fromBlock: BigInt(ctx.deployment.deployBlock),
    confirmations: ctx.config.confirmations,
    address: batchesAddress(ctx),
    logger: ctx.logger,
  }));
}

/** Test fault injection: the outputs claimed for a leaf (its first job's id and its position), given the model's. */
export type BatchFault = (jobId: string, outputs: bigint[], index: number) => bigint[];

/** The batch part of the provider's step: new batches, then every open batch, then credits. */
export async function batchStep(ctx: ProviderContext, opts: { deterministicFault: BatchFault }): Promise<void> {
  const enabled = [...ctx.models.values()].some((m) => batchPolicy(ctx.config, m).enabled);
  if (!enabled && openBatches(ctx.store).length === 0) return;
  await syncBatchEvents(ctx);
  await retryLostBatches(ctx);
  if (enabled) formBatches(ctx, opts.deterministicFault, await ctx.publicClient.getBlockNumber({ cacheTime: 0 }));
  for (const [, b] of openBatches(ctx.store)) {
    if (ctx.signal.aborted) return;
    await isolated(ctx, { root: b.root, batchId: b.batchId }, () => (b.status === "stored" ? submitStored(ctx, b) : followBatch(ctx, b)));
  }
  await withdrawBatchCredits(ctx);
}

/** Reads BatchSubmitted (own batches: adopted) and LeafChallenged (positions of own batches to prove). */
async function syncBatchEvents(ctx: ProviderContext): Promise<void> {
  const cursor = batchCursor(ctx);
  const me = ctx.account.address.toLowerCase();
  for (;;) {
    const page = await cursor.poll();
    if (!page) return;
    const logs = parseEventLogs({ abi: batchManagerAbi, logs: page.logs as Log[], strict: true });
    ctx.store.transaction(() => {
      for (const log of logs) {
        if (log.eventName === "BatchSubmitted" && log.args.provider.toLowerCase() === me) {
          const b = ctx.store.get<OwnBatch>(batchKey(log.args.batch.root));
          if (b && b.status === "stored") adopt(ctx, b, log.args, log.blockNumber!, "found on chain");
          // Not in the store: recorded with the cursor's step (a crash cannot skip it), looked up by retryLostBatches.
          if (!b && !ctx.store.get(idKey(log.args.batchId))) ctx.store.set(lostKey(log.args.batchId), lostRow({ batchId: log.args.batchId, batch: log.args.batch, dataURI: log.args.dataURI, block: log.blockNumber! }));
        } else if (log.eventName === "LeafChallenged") {
          const root = ctx.store.get<string>(idKey(log.args.batchId));
          const b = root ? ctx.store.get<OwnBatch>(batchKey(root)) : undefined;
          const index = Number(log.args.index);
          if (b && !(b.challenged ?? []).includes(index)) {
            ctx.store.set(batchKey(b.root), { ...b, challenged: [...(b.challenged ?? []), index] } satisfies OwnBatch);
            ctx.logger.warn({ batchId: b.batchId, index, challenger: log.args.challenger, proofDeadline: log.args.proofDeadline }, "batch position challenged");
          }
        }
      }
      cursor.commit(page);
    });
    if (page.logs.length === 0 && !page.rewind) return;
  }
}

function lostRow(u: ChainBatch): LostBatch {
  return {
    batchId: u.batchId,
    block: u.block.toString(),
    batch: { ...u.batch, bond: u.batch.bond.toString(), auditFee: u.batch.auditFee.toString() },
    dataURI: u.dataURI,
    problems: [],
    retryAt: 0,
  };
}

/** How often a lost batch is looked up again in the archive and the mirrors. */
const LOST_RETRY_MS = 60_000;

/**
 * Batches of this key on chain that the store does not have (a store deleted or restored from an old copy), as
 * syncBatchEvents recorded them. One still open is restored from the archive or a mirror (provider/batch-restore.ts);
 * one no longer open is dropped. When no source has its data it is LOST: none of its positions can be proven, so it is
 * slashed if its audit selects a position or a challenger challenges one; it is logged once as an error and looked up
 * again every minute while it is open.
 */
async function retryLostBatches(ctx: ProviderContext): Promise<void> {
  for (const [key, l] of ctx.store.entries<LostBatch>("batchlost/")) {
    if (ctx.signal.aborted || l.retryAt > Date.now()) continue;
    if (ctx.store.get(idKey(l.batchId))) {
      ctx.store.delete(key);
      continue;
    }
    const [status] = await readBatches(ctx, "batchState", [l.batchId]);
    if (status !== BatchStatus.Submitted) {
      ctx.store.delete(key);
      continue;
    }
    const u: ChainBatch = { batchId: l.batchId, block: BigInt(l.block), batch: { ...l.batch, bond: BigInt(l.batch.bond), auditFee: BigInt(l.batch.auditFee) }, dataURI: l.dataURI };
    const restored = await restoreBatch(ctx, u);
    if ("batch" in restored) {
      ctx.metrics.counter("batches_restored_total", "Open batches of this key missing from the store, restored from the archive or a mirror").inc();
      ctx.logger.warn(
        { batchId: u.batchId, root: restored.batch.root, size: restored.batch.size, source: restored.source, challenged: restored.batch.challenged },
        "batch missing from the store: restored (every leaf checked against its root on chain)",
      );
      continue;
    }
    ctx.store.set(key, { ...l, problems: restored.problems, retryAt: Date.now() + LOST_RETRY_MS, logged: true } satisfies LostBatch);
    if (l.logged) {
      ctx.logger.debug({ batchId: u.batchId, problems: restored.problems }, "lost batch still not found");
      continue;
    }
    ctx.metrics.counter("batches_lost_total", "Open batches of this key whose leaves no source has (store, archive, mirrors)").inc();
    ctx.logger.error(
      { batchId: u.batchId, root: u.batch.root, block: u.block, problems: restored.problems },
      "LOST BATCH: a batch of this key is open on chain but its leaves are in neither the store, the archive nor a mirror: none of its positions can be proven, so an audit selecting one or any challenge slashes its whole bond; restore the store or the archive file that holds it (looked up again every minute)",
    );
  }
}

/**
 * Groups the queued batchable client jobs by model and stores the batches the policy says are due, with their jobs
 * marked batched, in one transaction per batch. Jobs of one input (they differ by tag) share a leaf.
 */
function formBatches(ctx: ProviderContext, fault: BatchFault, head: bigint): void {
  const byModel = new Map<Hex, Job[]>();
  for (const [, job] of ctx.store.entriesByStatus<Job>("job/job-", ["pending", "waiting-stake"])) {
    if (!isQueued(job) || !isDue(job) || !batchable(ctx, job)) continue;
    byModel.set(job.modelId, [...(byModel.get(job.modelId) ?? []), job]);
  }
  const now = Date.now();
  for (const [modelId, jobs] of byModel) {
    const model = ctx.models.get(modelId)!;
    const policy = batchPolicy(ctx.config, model);
    // One leaf per input, in the order of the jobs' arrival (then key order).
    jobs.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
    const inputs = new Map<string, Job[]>();
    for (const j of jobs) inputs.set(j.inputHash, [...(inputs.get(j.inputHash) ?? []), j]);
    const ready = [...inputs.values()];
    const take = batchTake(
      ready.map((js) => Math.min(...js.map((j) => j.createdAt ?? 0))),
      policy,
      now,
    );
    if (take === 0) continue;
    storeBatch(ctx, model, ready.slice(0, take), fault, head);
  }
}

function storeBatch(ctx: ProviderContext, model: ServedModel, groups: Job[][], fault: BatchFault, head: bigint): OwnBatch {
  const leaves: BatchLeafRow[] = groups.map((js, index) => {
    const first = js[0]!;
    const outputs = fault(first.jobId, runQuantized(model.pkg.quant, first.values.map(BigInt)).outputs, index);
    return { index, inputHash: first.inputHash, outputs: outputs.map(String), values: first.values, jobIds: js.map((j) => j.jobId) };
  });
  const tree = batchTree({ modelId: model.modelId, leaves });
  // The same claims in the same order as a batch stored before (jobs of inputs batched again): its jobs join it.
  const existing = ctx.store.get<OwnBatch>(batchKey(tree.root));
  const b: OwnBatch = existing
    ? { ...existing, leaves: existing.leaves.map((l, i) => ({ ...l, jobIds: [...new Set([...l.jobIds, ...leaves[i]!.jobIds])] })) }
    : { root: tree.root, modelId: model.modelId, bits: model.pkg.manifest.inputBits, size: leaves.length, bond: "0", leaves, storedAtBlock: head.toString(), createdAt: Date.now(), status: "stored" };
  ctx.store.transaction(() => {
    ctx.store.set(batchKey(b.root), b);
    for (const leaf of b.leaves) {
      ctx.store.set(batchLeafKey(b.modelId, leaf.inputHash, b.root), leaf.index);
      for (const jobId of leaf.jobIds) {
        const job = ctx.store.get<Job>(`job/${jobId}`);
        if (job && job.status !== "claimed") ctx.store.set(`job/${jobId}`, batchedJob(job, b, leaf.index));
      }
    }
  });
  if (b.status === "finalized") settleFinalized(ctx, b);
  else if (b.status === "slashed" || b.status === "failed") failBatch(ctx, b, b.status, b.reason ?? `batch ${b.status}`);
  ctx.logger.info({ root: b.root, model: model.name, size: b.size, jobs: groups.reduce((n, g) => n + g.length, 0) }, existing ? "jobs joined a stored batch of the same claims" : "batch stored");
  ctx.metrics.counter("batches_stored_total", "Batches stored (before their submission)").inc();
  killForTest(ctx, "batch-stored");
  return b;
}

/** `job` in batch `b` at `index` (not yet settled: status batched). */
function batchedJob(job: Job, b: OwnBatch, index: number): Job {
  const { reason: _reason, retryAt: _retryAt, retryable: _retryable, ...rest } = job;
  return { ...rest, status: "batched", batch: { root: b.root, index, ...(b.batchId ? { batchId: b.batchId } : {}) } };
}

/** Test fault: the process kills itself (SIGKILL) once at `point`, so a test can check the restart. */
function killForTest(ctx: ProviderContext, point: "batch-stored" | "batch-sent"): void {
  if (ctx.config.faults.killAt !== point || ctx.store.get(`fault/killed/${point}`)) return;
  ctx.store.set(`fault/killed/${point}`, true);
  ctx.logger.warn({ point }, "FAULT INJECTION: killing the process (SIGKILL)");
  process.kill(process.pid, "SIGKILL");
}

/** The dataURI of a batch: publicUrl (else the API's URL) + /batches/<root>; undefined until the API listens. */
export function dataUri(ctx: Pick<ProviderContext, "config" | "api">, root: Hex): string | undefined {
  const base = ctx.config.publicUrl ?? ctx.api?.url;
  return base ? `${base.replace(/\/+$/, "")}/batches/${root.toLowerCase()}` : undefined;
}

/**
 * This provider's BatchSubmitted of `b` (same model and root) from the block it was stored at (or `fromBlock`), if
 * any. After a reorg onto a shorter chain the head can be below that block: the search then starts at the head.
 */
async function findOnChain(ctx: ProviderContext, b: OwnBatch, fromBlock = BigInt(b.storedAtBlock)) {
  const head = await ctx.publicClient.getBlockNumber({ cacheTime: 0 });
  const logs = await ctx.publicClient.getContractEvents({
    address: batchesAddress(ctx),
    abi: batchManagerAbi,
    eventName: "BatchSubmitted",
    args: { provider: ctx.account.address, modelId: b.modelId },
    fromBlock: fromBlock < head ? fromBlock : head,
    toBlock: "latest",
    strict: true,
  });
  return logs.find((l) => l.args.batch.root.toLowerCase() === b.root.toLowerCase());
}

type SubmittedArgs = { batchId: Hex; batch: BatchStruct & { provider: Address }; dataURI: string };

/** Records `b` as submitted under the event's batch (sync: used inside the event transaction too). */
function adopt(ctx: ProviderContext, b: OwnBatch, a: SubmittedArgs, blockNumber: bigint, how: string): OwnBatch {
  const next: OwnBatch = {
    ...b,
    status: "submitted",
    batchId: a.batchId,
    bond: a.batch.bond.toString(),
    batch: { ...a.batch, bond: a.batch.bond.toString(), auditFee: a.batch.auditFee.toString() },
    dataURI: a.dataURI,
    submittedBlock: blockNumber.toString(),
  };
  ctx.store.transaction(() => {
    ctx.store.set(batchKey(b.root), next);
    ctx.store.set(idKey(a.batchId), b.root.toLowerCase());
    forgetBatchView(ctx.store, b.root); // served with its (new) batchId from now on
    for (const leaf of b.leaves) {
      for (const jobId of leaf.jobIds) {
        const job = ctx.store.get<Job>(`job/${jobId}`);
        if (job && job.status === "batched") ctx.store.set(`job/${jobId}`, batchedJob(job, next, leaf.index));
      }
    }
  });
  ctx.logger.info({ root: b.root, batchId: a.batchId, size: b.size, block: blockNumber, auditRateBps: a.batch.auditRateBps }, `batch submitted (${how})`);
  return next;
}

async function bondFor(ctx: ProviderContext, modelId: Hex): Promise<bigint> {
  const [, , , , minBond] = await readRegistry(ctx, "claimParams", [modelId]);
  const model = ctx.models.get(modelId);
  const want = (model ? batchPolicy(ctx.config, model).bond : undefined) ?? ctx.config.bond;
  return want > minBond ? want : minBond;
}

/**
 * Sends a stored batch once: adopted if its BatchSubmitted is on chain; while a transaction of ours is unmined
 * (it may be this one) it waits; otherwise BatchManager stake is topped up to its bond and submitBatch is sent.
 */
async function submitStored(ctx: ProviderContext, b: OwnBatch): Promise<void> {
  const found = await findOnChain(ctx, b);
  if (found) {
    adopt(ctx, b, found.args, found.blockNumber, "already on chain: not resending");
    return;
  }
  if (await hasPendingTransactions(ctx)) return;
  const uri = dataUri(ctx, b.root);
  if (!uri) {
    ctx.logger.debug({ root: b.root }, "the batch waits for the API to listen (its dataURI)");
    return;
  }
  const bond = await bondFor(ctx, b.modelId);
  await ensureBatchStake(ctx, bond);
  // Its data in the archive, on disk, before the batch exists on chain: a lost store does not lose it.
  try {
    archiveOwnBatch(ctx, b);
  } catch (err) {
    ctx.logger.error({ root: b.root, archiveDir: archiveDirOf(ctx.config), err: errorSummary(err) }, "cannot write the batch archive (batching.archiveDir): the batch is not sent until it can be");
    return;
  }
  try {
    await sendBatches(ctx, "submitBatch", [b.modelId, b.root, b.size, bond, uri]);
  } catch (err) {
    const verdict = classifySendError(err);
    // BatchAlreadyExists: it is on chain, sent earlier (a sending the event cursor has not read yet): searched for
    // from the deployment's block, adopted, never refused.
    const exists = /BatchAlreadyExists/.test(verdict.reason);
    const landed = await findOnChain(ctx, b, exists ? BigInt(ctx.deployment.deployBlock) : undefined);
    if (landed) {
      adopt(ctx, b, landed.args, landed.blockNumber, "the send reported an error but the batch is on chain");
      return;
    }
    if (exists) {
      ctx.logger.warn({ root: b.root, err: verdict.reason }, "the batch is on chain but its event is not found yet: looking again next step");
      return;
    }
    if (verdict.kind !== "permanent") {
      ctx.logger.warn({ root: b.root, err: verdict.reason }, "batch send failed: trying again next step");
      return;
    }
    failBatch(ctx, b, "failed", verdict.reason);
    return;
  }
  killForTest(ctx, "batch-sent");
  const sent = await findOnChain(ctx, b);
  if (sent) adopt(ctx, b, sent.args, sent.blockNumber, "sent");
  ctx.metrics.counter("batches_submitted_total", "Batches submitted").inc();
}

/** Settles a batch that will never finalize (refused or slashed): its jobs fail with the reason. */
function failBatch(ctx: ProviderContext, b: OwnBatch, status: "failed" | "slashed", reason: string): void {
  ctx.store.transaction(() => {
    ctx.store.set(batchKey(b.root), { ...b, status, reason } satisfies OwnBatch);
    for (const leaf of b.leaves) {
      for (const jobId of leaf.jobIds) {
        const job = ctx.store.get<Job>(`job/${jobId}`);
        if (job && job.status === "batched") ctx.store.set(`job/${jobId}`, { ...job, status: "failed", reason, retryable: false } satisfies Job);
      }
    }
  });
  ctx.logger.error({ root: b.root, batchId: b.batchId, reason }, status === "slashed" ? "batch slashed" : "batch refused");
}

/** The finalized batch's jobs are claimed: each with its batch id, position and path (for isSettledLeaf). */
function settleFinalized(ctx: ProviderContext, b: OwnBatch): void {
  const tree = batchTree(b);
  ctx.store.transaction(() => {
    ctx.store.set(batchKey(b.root), { ...b, status: "finalized" } satisfies OwnBatch);
    for (const leaf of b.leaves) {
      for (const jobId of leaf.jobIds) {
        const job = ctx.store.get<Job>(`job/${jobId}`);
        if (!job) continue;
        const { reason: _r, retryAt: _t, retryable: _x, ...rest } = job;
        ctx.store.set(`job/${jobId}`, { ...rest, status: "claimed", outputs: leaf.outputs, batch: { root: b.root, batchId: b.batchId!, index: leaf.index, path: tree.path(leaf.index) } } satisfies Job);
      }
    }
  });
  ctx.metrics.counter("batches_settled_total", "Own batches settled, by outcome", ["outcome"] as const).inc({ outcome: "Finalized" });
  ctx.logger.info({ root: b.root, batchId: b.batchId, size: b.size }, "batch finalized");
}

/**
 * A batch Finalized on chain is settled (its jobs claimed) once that is `confirmations` blocks deep: until then it is
 * followed, so a finalization orphaned by a reorg is sent again instead of leaving the batch open with its jobs
 * claimed and its bond locked.
 */
async function settleWhenFinal(ctx: ProviderContext, b: OwnBatch): Promise<void> {
  const depth = BigInt(ctx.config.confirmations ?? 0);
  if (depth === 0n) return settleFinalized(ctx, b);
  const head = await ctx.publicClient.getBlockNumber({ cacheTime: 0 });
  if (b.finalizedSeenAt === undefined) {
    ctx.store.set(batchKey(b.root), { ...b, finalizedSeenAt: head.toString() } satisfies OwnBatch);
    ctx.logger.info({ root: b.root, batchId: b.batchId, head, confirmations: depth }, "batch finalized on chain: settled once that is confirmations blocks deep");
    return;
  }
  if (head >= BigInt(b.finalizedSeenAt) + depth) settleFinalized(ctx, b);
}

/** Task key of the proof of position `index` of `batchId`. */
export function leafTaskKey(batchId: Hex, index: number): Hex {
  return keccak256(concat([batchId, encodeAbiParameters([{ type: "uint256" }], [BigInt(index)])]));
}

async function followBatch(ctx: ProviderContext, b: OwnBatch): Promise<void> {
  const id = b.batchId!;
  // A batch sent by a version without the archive (or one whose archive file was removed) is archived now.
  try {
    archiveOwnBatch(ctx, b);
  } catch (err) {
    ctx.logger.warn({ root: b.root, batchId: id, err: errorSummary(err) }, "the batch could not be archived");
  }
  let [status, challengeDeadline, submittedBlock, open, audit, auditIndex] = await readBatches(ctx, "batchState", [id]);
  if (status === BatchStatus.None) {
    // Orphaned by a reorg: back to stored, and sent again once the chain is searched for it.
    if (await hasPendingTransactions(ctx)) return;
    // Its next sending lands after the head of this chain, which may be below the block it was stored at (a reorg
    // onto a shorter chain): the search for it starts here, else a sending the event cursor has not read yet (it
    // reads `confirmations` behind) is missed and the batch sent again, which BatchManager refuses.
    const head = await ctx.publicClient.getBlockNumber({ cacheTime: 0 });
    const from = head < BigInt(b.storedAtBlock) ? head : BigInt(b.storedAtBlock);
    ctx.store.set(batchKey(b.root), { ...b, status: "stored", storedAtBlock: from.toString() } satisfies OwnBatch);
    ctx.logger.warn({ root: b.root, batchId: id, head }, "batch not on chain: submitting it again");
    return;
  }
  if (status === BatchStatus.Finalized) return settleWhenFinal(ctx, b);
  if (b.finalizedSeenAt !== undefined) {
    // Seen Finalized, now not: the finalization was orphaned by a reorg. Followed (and finalized) again.
    const { finalizedSeenAt: _seen, ...rest } = b;
    b = rest;
    ctx.store.set(batchKey(b.root), b);
    ctx.logger.warn({ root: b.root, batchId: id, status }, "batch finalization orphaned by a reorg: following the batch again");
  }
  if (status === BatchStatus.Slashed) {
    for (const index of b.challenged ?? []) cancelProof(ctx, leafTaskKey(id, index), "the batch is settled");
    ctx.metrics.counter("batches_settled_total", "Own batches settled, by outcome", ["outcome"] as const).inc({ outcome: "Slashed" });
    return failBatch(ctx, b, "slashed", "batch slashed");
  }
  const head = await ctx.publicClient.getBlockNumber({ cacheTime: 0 });
  const batch = batchStruct(b);
  if (audit === AuditStatus.Undrawn && head > submittedBlock + 1n) {
    const age = head - submittedBlock;
    if (age > SEED_BLOCKS) {
      ctx.logger.error({ batchId: id, submittedBlock, head }, "the audit seed is gone (more than 256 blocks): this batch will be slashed as a missed audit");
    } else {
      if (age >= LATE_DRAW_BLOCKS) ctx.logger.error({ batchId: id, submittedBlock, head, blocksLeft: SEED_BLOCKS - age }, "drawing the audit LATE: past 256 blocks after its batch the batch is slashed");
      await sendBatches(ctx, "drawAudit", [batch]);
      [status, challengeDeadline, submittedBlock, open, audit, auditIndex] = await readBatches(ctx, "batchState", [id]);
      ctx.logger.info({ batchId: id, selected: audit === AuditStatus.Selected, index: audit === AuditStatus.Selected ? auditIndex : undefined }, "audit drawn");
    }
  }
  const now = (await ctx.publicClient.getBlock()).timestamp;
  // Positions to prove, each with its deadline: the audit's (challengeDeadline + proofWindow) and open challenges.
  const due = new Map<number, bigint>();
  if (audit === AuditStatus.Selected) {
    const [proofWindow] = await readRegistry(ctx, "disputeParams", [b.modelId]);
    const deadline = challengeDeadline + BigInt(proofWindow);
    if (now < deadline) due.set(auditIndex, deadline);
  }
  for (const index of b.challenged ?? []) {
    const [leafStatus, proofDeadline] = await readBatches(ctx, "leafChallenge", [id, BigInt(index)]);
    if (leafStatus !== LeafStatus.Challenged) {
      cancelProof(ctx, leafTaskKey(id, index), "the position is no longer challenged");
      continue;
    }
    if (now < proofDeadline) due.set(index, due.has(index) && due.get(index)! < proofDeadline ? due.get(index)! : proofDeadline);
  }
  for (const [index, deadline] of due) {
    if (ctx.signal.aborted) return;
    await proveLeaf(ctx, b, index, deadline, now, audit === AuditStatus.Selected && index === auditIndex);
  }
  const auditDone = audit === AuditStatus.Clear || audit === AuditStatus.Answered;
  if (now + 1n >= challengeDeadline && open === 0 && auditDone) {
    await sendBatches(ctx, "finalizeBatch", [batch]);
    const [after] = await readBatches(ctx, "batchState", [id]);
    if (after === BatchStatus.Finalized) await settleWhenFinal(ctx, b);
  }
}

/**
 * Proves position `index` of `b` (an audit or a challenge): starts its proof task on the provider's proving path
 * (the prover service or a local proof, in turn), and sends proveLeaf with the stored leaf and its path once done.
 */
async function proveLeaf(ctx: ProviderContext, b: OwnBatch, index: number, deadline: bigint, now: bigint, isAudit: boolean): Promise<void> {
  const key = leafTaskKey(b.batchId!, index);
  const tasks = proofTasks(ctx);
  const deadlineAt = Date.now() + Number(deadline - now) * 1000;
  const task = tasks.tasks.get(key);
  const leaf = b.leaves[index];
  const model = ctx.models.get(b.modelId);
  if (!leaf || !model) {
    ctx.logger.error({ batchId: b.batchId, index }, "cannot prove the batch position: its leaf or model package is unknown");
    return;
  }
  if (task && !task.finished) {
    task.deadlineAt = deadlineAt;
    return;
  }
  if (task?.result) {
    const path = batchTree(b).path(index);
    await sendBatches(ctx, "proveLeaf", [batchStruct(b), BigInt(index), BigInt(leaf.inputHash), task.result.outputs, path, toSolidityProof(task.result.proof)]);
    tasks.tasks.delete(key);
    ctx.metrics.counter("batch_proofs_total", "Batch positions proven, by reason", ["reason"] as const).inc({ reason: isAudit ? "audit" : "challenge" });
    ctx.logger.info({ batchId: b.batchId, index, backend: task.result.backend, audit: isAudit }, "batch position proven");
    return;
  }
  if (task) {
    tasks.tasks.delete(key);
    if (task.error instanceof FatalError) {
      ctx.store.set(batchKey(b.root), { ...b, unprovable: [...(b.unprovable ?? []), index] } satisfies OwnBatch);
      ctx.logger.error({ batchId: b.batchId, index, err: errorSummary(task.error) }, "cannot prove the batch position");
      return;
    }
    ctx.logger.warn({ batchId: b.batchId, index, err: errorSummary(task.error) }, "batch position proof failed: trying again");
  }
  if ((b.unprovable ?? []).includes(index)) return;
  ctx.logger.warn({ batchId: b.batchId, index, audit: isAudit, secondsLeft: Number(deadline - now) }, isAudit ? "batch audited: proving the position" : "batch position challenged: proving");
  startLeafProof(ctx, key, model, leaf.values.map(BigInt), leaf.outputs, deadlineAt);
}

/** A challenger's default limit on the size of a batch's data (challenger config batchData.maxBytes). */
export const DEFAULT_CHALLENGER_DATA_BYTES = 64 * 1024 * 1024;

/** About how many bytes GET /batches/:root answers for `leaves` leaves of a model (hex input, decimal outputs). */
export function batchDataBytes(inputLength: number, outputs: number, leaves: number): number {
  return leaves * (2 * inputLength + 24 * outputs + 200);
}

/** Most bytes of served batch data kept in memory per store (GET /batches/:root of submitted batches). */
export const BATCH_VIEW_CACHE_BYTES = 64 * 1024 * 1024;
const viewCaches = new WeakMap<Store, Map<string, string>>();

/**
 * GET /batches/:root's body as JSON text. A submitted batch's data never changes, so its text is built once and kept
 * (least recently served dropped first past BATCH_VIEW_CACHE_BYTES): reading and encoding a batch for every request
 * (about 50 ms for 100 mnist claims) would let anyone flooding the endpoint stall the provider's steps, and with them
 * the proofs of its challenged positions. Past that cap it is kept in the store as one string (`batchjson/<root>`). A
 * batch not yet submitted (no batchId) is read each time.
 */
export function batchViewJson(store: Store, root: string): string {
  const key = root.toLowerCase();
  let cache = viewCaches.get(store);
  if (!cache) viewCaches.set(store, (cache = new Map()));
  const hit = ROOT.test(root) ? cache.get(key) : undefined;
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  // Past the memory cache (an attacker cycling through many old roots) the text is one stored string: one read, no
  // re-encoding.
  const stored = ROOT.test(root) ? store.get<string>(`batchjson/${key}`) : undefined;
  let text: string;
  if (typeof stored === "string") {
    text = stored;
  } else {
    const view = batchView(store, root);
    text = JSON.stringify(view);
    if (!view.batchId) return text;
    store.set(`batchjson/${key}`, text);
  }
  if (text.length <= BATCH_VIEW_CACHE_BYTES) {
    cache.set(key, text);
    let total = 0;
    for (const t of cache.values()) total += t.length;
    for (const [k, t] of cache) {
      if (total <= BATCH_VIEW_CACHE_BYTES) break;
      cache.delete(k);
      total -= t.length;
    }
  }
  return text;
}

/** Drops the served text of a batch (adopted again after a reorg, perhaps under another batchId). */
export function forgetBatchView(store: Store, root: string): void {
  const key = root.toLowerCase();
  viewCaches.get(store)?.delete(key);
  store.delete(`batchjson/${key}`);
}

/** A batch root as GET /batches/:root takes it. */
const ROOT = /^0x[0-9a-fA-F]{64}$/;

/**
 * GET /batches/:root: the leaves of a stored batch, for whoever checks it (challengers, consumers): per position its
 * inputHash, outputs and the input as `inputData` (the ClaimInput encoding). 400 for a root that is not 32 bytes of
 * hex, 404 for an unknown one. Read-only.
 */
export function batchView(store: Store, root: string): { modelId: Hex; root: Hex; size: number; batchId?: Hex; leaves: Array<{ index: number; inputHash: string; outputs: string[]; inputData: Hex }> } {
  if (!ROOT.test(root)) throw new HttpError(400, `a batch root is 0x and 64 hex digits, got ${JSON.stringify(root.slice(0, 80))}`);
  const b = store.get<OwnBatch>(batchKey(root));
  if (!b) throw new HttpError(404, `no batch with root ${root.toLowerCase()}`);
  return batchDataOf(b);
}
