// The challenger's watch over Merkle-batched claims (BatchManager): each sampled batch's data is fetched from its
// dataURI (a provider's server: hostile input, read with a size limit and a timeout, http(s) only, schema-checked),
// checked to rebuild the batch's root over positions 0..size-1, and every leaf re-executed with the quantized engine;
// the FIRST wrong position is challenged (challengeLeaf) and, when its proof deadline passes unproven, the batch is
// slashed (slashBatch). Data that cannot be had or does not match the root is challenged at a position drawn from the
// batch id and the bot's secret seed (unavailablePosition) under the `unavailableData: "challenge"` policy (a challenge by position needs no data: only the provider's own leaf there
// answers it), or only reported under "ignore". Idempotent like the claim watch: the verdict is stored, and every
// action is decided from the chain's state of the batch and the position.
import { keccak256, parseEventLogs, toHex, type Address, type Hex, type Log } from "viem";
import { batchManagerAbi } from "../sdk/abi.ts";
import type { BatchStruct } from "../sdk/batch.ts";
import { errorSummary } from "../sdk/errors.ts";
import { checkInputData } from "../sdk/inputs.ts";
import { EventCursor } from "../sdk/node/cursor.ts";
import { batchesAddress, ensureBatchStake, isolated, readBatches, readRegistry, sendBatches } from "../runtime/chain.ts";
import { runQuantized } from "../circuits/compiler/engine.ts";
import { BatchDataError, archiveBatch, checkBatchData, fetchBatchData, type BatchData, type CheckedLeaf } from "../runtime/batch-data.ts";
import type { ServedModel } from "../runtime/models.ts";
import { samplingDraw, samplingSeed, type ChallengerContext } from "./step.ts";

const BatchStatus = { None: 0, Submitted: 1, Finalized: 2, Slashed: 3 } as const;
const AuditStatus = { Undrawn: 0, Clear: 1, Selected: 2, Answered: 3 } as const;
/** Blocks whose hash the chain keeps (blockhash): an audit not drawn while its seed block was among them is missed. */
const SEED_BLOCKS = 256n;
const LeafStatus = { None: 0, Challenged: 1, Proven: 2, Released: 3 } as const;
const BATCH_STATUS = ["None", "Submitted", "Finalized", "Slashed"] as const;

/** A batch of a watched model, as BatchSubmitted announced it, with what this bot concluded and did. */
export interface WatchedBatch {
  batchId: Hex;
  batch: { modelId: Hex; provider: Address; root: Hex; size: number; bond: string; auditRateBps: number; auditFee: string };
  dataURI: string;
  blockNumber: string;
  status: "watching" | "done";
  /** correct: every leaf re-executed right; wrong: `index` is the first wrong one; unavailable: data missing or not matching. */
  verdict?: "correct" | "wrong" | "unavailable" | "skipped";
  reason?: string;
  /** The position to challenge (verdict wrong or unavailable). */
  index?: number;
  /** Fetches of the data that failed on the way (timeout, connection, 5xx), retried up to batchData.attempts. */
  attempts?: number;
  /** After such a failure: not fetched again before this time (ms since the epoch). */
  retryAt?: number;
  outcome?: string;
  /** The audit keeper is done with it: settled on chain, or its audit clear or answered. */
  auditSettled?: boolean;
}

// The batch data checks live in runtime/batch-data.ts (the provider restores lost batches with them too).
export { BatchDataError, batchDataSchema, checkBatchData, fetchBatchData, type BatchData, type CheckedLeaf } from "../runtime/batch-data.ts";

const struct = (w: WatchedBatch): BatchStruct => ({ ...w.batch, bond: BigInt(w.batch.bond), auditFee: BigInt(w.batch.auditFee) });

/**
 * Re-executes the leaves in order and returns the first position whose outputs are not the engine's; failing that,
 * the first position whose input is unusable (it does not match its inputHash, or is not the model's shape), with
 * every such position in `unusable`; or undefined when all are right. A wrong leaf comes first wherever it is: an
 * unusable input is the provider's choice, and one put before a lie would otherwise shield it.
 */
export function firstWrongLeaf(
  model: ServedModel,
  leaves: readonly CheckedLeaf[],
): { index: number; kind: "wrong" | "unavailable"; reason: string; expected?: string[]; unusable?: number[] } | undefined {
  const m = model.pkg.manifest;
  let unusable: { index: number; reason: string } | undefined;
  const unusableAt: number[] = [];
  for (const l of leaves) {
    let values: bigint[];
    try {
      values = checkInputData(l.inputData, l.inputHash, { length: m.inputLength, bits: m.inputBits }).values;
    } catch (err) {
      unusable ??= { index: l.index, reason: `position ${l.index}: ${errorSummary(err)}` };
      unusableAt.push(l.index);
      continue;
    }
    const expected = runQuantized(model.pkg.quant, values).outputs;
    if (expected.length !== l.outputs.length || expected.some((v, i) => v !== l.outputs[i])) {
      return { index: l.index, kind: "wrong", reason: `position ${l.index}: claimed ${l.outputs.join(",")}, the engine computes ${expected.join(",")}`, expected: expected.map(String) };
    }
  }
  return unusable ? { ...unusable, kind: "unavailable", unusable: unusableAt } : undefined;
}

/**
 * The position this bot challenges in a batch of `size` whose data it cannot check: drawn from the batch id and the
 * bot's secret sampling seed (the same after a restart), never a fixed one. A fixed position (0) is one a cheater
 * knows in advance: it would put a true claim there, prove it, keep the challenger bond and finalize its lies.
 */
export function unavailablePosition(batchId: Hex, size: number, seed: string): number {
  return Number(BigInt(keccak256(toHex(`${batchId}:unavailable:${seed}`))) % BigInt(size));
}

/** Per batch, as for claims: the same draw after a restart; policy `value` counts the batch's bond. */
export function batchSampled(ctx: Pick<ChallengerContext, "config" | "store">, batchId: Hex, bond: bigint): boolean {
  const s = ctx.config.sampling;
  if (s.policy === "all") return true;
  if (s.policy === "value" && bond >= s.valueThreshold) return true;
  return samplingDraw(batchId, samplingSeed(ctx)) < s.probability;
}

function batchCursor(ctx: ChallengerContext & { batchCursor?: EventCursor }): EventCursor {
  return (ctx.batchCursor ??= new EventCursor({
    client: ctx.publicClient as never,
    store: ctx.store,
    key: "challenger/batches",
    fromBlock: BigInt(ctx.deployment.deployBlock),
    confirmations: ctx.config.confirmations,
    address: batchesAddress(ctx),
    logger: ctx.logger,
  }));
}

/**
 * Most batches whose data one step fetches, all at once: a step spends about one batchData.timeoutMs on batch data
 * however many batches wait (oldest first; the rest in later steps). Fetched one after another, batches whose dataURI
 * never answers would hold the step, and the claim watch with it, for one timeout each. Fewer when batchData.maxBytes
 * is large: at most BATCH_DATA_BYTES_AT_ONCE of bodies at once (4 at the default 64 MiB), so hostile full-size bodies
 * cannot add up to an out-of-memory.
 */
export const BATCH_FETCHES_PER_STEP = 16;
export const BATCH_DATA_BYTES_AT_ONCE = 256 * 1024 * 1024;

export function batchFetchesPerStep(maxBytes: number): number {
  return Math.max(1, Math.min(BATCH_FETCHES_PER_STEP, Math.floor(BATCH_DATA_BYTES_AT_ONCE / maxBytes)));
}

/** The batch part of the challenger's step (only on a deployment with a BatchManager). */
export async function batchWatchStep(ctx: ChallengerContext): Promise<void> {
  if (!(ctx.deployment.addresses as Record<string, unknown>).batchManager) return;
  await syncBatchEvents(ctx);
  const watching = ctx.store.entriesByStatus<WatchedBatch>("batch/", ["watching"]).map(([, w]) => w);
  const now = Date.now();
  const waiting = watching
    .filter((w) => !w.verdict && !(w.retryAt !== undefined && w.retryAt > now))
    .sort((a, b) => (BigInt(a.blockNumber) < BigInt(b.blockNumber) ? -1 : BigInt(a.blockNumber) > BigInt(b.blockNumber) ? 1 : 0));
  // A batch repeating claims already checked (same model, root and size) takes that verdict without a fetch; of
  // several such batches waiting, one is fetched this step and the others follow its verdict in the next.
  const dueIds = new Set<Hex>();
  const fetches = new Map<Hex, Promise<BatchData>>();
  const fetching = new Set<string>();
  const fetchesPerStep = batchFetchesPerStep(ctx.config.batchData.maxBytes);
  for (const w of waiting) {
    const key = claimsKey(w);
    if (ctx.store.get(key)) {
      dueIds.add(w.batchId);
      continue;
    }
    if (fetching.has(key) || fetches.size >= fetchesPerStep) continue;
    dueIds.add(w.batchId);
    // Every due batch's data is fetched at once (a sampled one only); each is then checked and acted on in turn.
    if (!batchSampled(ctx, w.batchId, BigInt(w.batch.bond))) continue;
    fetching.add(key);
    const p = fetchBatchData(w.dataURI, ctx.config.batchData);
    p.catch(() => undefined); // read below; never an unhandled rejection meanwhile
    fetches.set(w.batchId, p);
  }
  for (const w of watching) {
    if (ctx.signal.aborted) return;
    if (!w.verdict && !dueIds.has(w.batchId)) continue;
    await isolated(ctx, { batchId: w.batchId }, async () => {
      const checked = w.verdict ? w : await checkBatch(ctx, w, fetches.get(w.batchId));
      if (checked.status === "watching" && checked.index !== undefined) await actOnBatch(ctx, checked);
    });
  }
  if (!ctx.config.slashMissedAudits) return;
  for (const [key, w] of ctx.store.entries<WatchedBatch>("batch/")) {
    if (ctx.signal.aborted) return;
    if (w.auditSettled) continue;
    await isolated(ctx, { batchId: w.batchId }, () => keepAudit(ctx, key, w));
  }
}

/**
 * Whether a batch's audit is missed, as slashMissedAudit decides it in the next block (time `now` + 1 or later, block
 * `head` + 1): a selected audit unproven at its deadline (challengeDeadline + proofWindow), or an undrawn one whose
 * seed block (the one after the batch's) is no longer among the 256 the chain keeps. Undefined while not missed.
 */
export function missedAudit(
  state: { audit: number; challengeDeadline: bigint; submittedBlock: bigint },
  proofWindow: bigint,
  chain: { now: bigint; head: bigint },
): "AuditUnanswered" | "AuditMissed" | undefined {
  if (state.audit === AuditStatus.Selected) return chain.now + 1n >= state.challengeDeadline + proofWindow ? "AuditUnanswered" : undefined;
  if (state.audit === AuditStatus.Undrawn) return chain.head + 1n > state.submittedBlock + 1n + SEED_BLOCKS ? "AuditMissed" : undefined;
  return undefined;
}

/** Slashes `w` with slashMissedAudit once its audit is missed; marks it done for the keeper once it cannot be. */
async function keepAudit(ctx: ChallengerContext, key: string, w: WatchedBatch): Promise<void> {
  const [status, challengeDeadline, submittedBlock, , audit] = await readBatches(ctx, "batchState", [w.batchId]);
  if (status === BatchStatus.None) return; // not on chain yet, or reorged away (the cursor forgets it)
  if (status !== BatchStatus.Submitted || audit === AuditStatus.Clear || audit === AuditStatus.Answered) {
    ctx.store.set(key, { ...w, auditSettled: true } satisfies WatchedBatch);
    return;
  }
  const [proofWindow] = await readRegistry(ctx, "disputeParams", [w.batch.modelId]);
  const head = await ctx.publicClient.getBlockNumber({ cacheTime: 0 });
  const now = (await ctx.publicClient.getBlock()).timestamp;
  const reason = missedAudit({ audit, challengeDeadline: BigInt(challengeDeadline), submittedBlock: BigInt(submittedBlock) }, BigInt(proofWindow), { now, head });
  if (!reason) return;
  await sendBatches(ctx, "slashMissedAudit", [struct(w)]);
  ctx.store.set(key, { ...w, auditSettled: true } satisfies WatchedBatch);
  ctx.metrics.counter("batch_missed_audits_slashed_total", "Batches slashed for a missed audit, by reason", ["reason"] as const).inc({ reason });
  ctx.logger.warn({ batchId: w.batchId, provider: w.batch.provider, reason, bond: w.batch.bond }, "batch audit missed: slashed to the treasury");
}

async function syncBatchEvents(ctx: ChallengerContext): Promise<void> {
  const cursor = batchCursor(ctx);
  for (;;) {
    const page = await cursor.poll();
    if (!page) return;
    if (page.rewind) {
      for (const [key, w] of ctx.store.entries<WatchedBatch>("batch/")) {
        if (BigInt(w.blockNumber) >= page.rewind.fromBlock) ctx.store.delete(key);
      }
      ctx.logger.warn({ ...page.rewind }, "reorg: forgot batches from orphaned blocks");
    }
    const logs = parseEventLogs({ abi: batchManagerAbi, logs: page.logs as Log[], strict: true });
    ctx.store.transaction(() => {
      for (const log of logs) {
        if (log.eventName !== "BatchSubmitted") continue;
        const a = log.args;
        const modelId = a.modelId.toLowerCase() as Hex;
        if (!ctx.models.has(modelId) || ctx.store.get(`batch/${a.batchId}`)) continue;
        ctx.store.set(`batch/${a.batchId}`, {
          batchId: a.batchId,
          batch: { ...a.batch, modelId, bond: a.batch.bond.toString(), auditFee: a.batch.auditFee.toString() },
          dataURI: a.dataURI,
          blockNumber: String(log.blockNumber),
          status: "watching",
        } satisfies WatchedBatch);
        ctx.metrics.counter("batches_seen_total", "Batches of watched models seen").inc();
      }
      cursor.commit(page);
    });
    if (page.logs.length === 0 && !page.rewind) return;
  }
}

/** Store key of the verdict on a batch's claims: its model, root and size fix every leaf (a batch id also hashes the bond). */
function claimsKey(w: Pick<WatchedBatch, "batch">): string {
  return `batchclaims/${w.batch.modelId.toLowerCase()}/${w.batch.root.toLowerCase()}/${w.batch.size}`;
}

/** A verdict on a batch's claims that holds for any batch with the same claims: all correct, or the first wrong position. */
interface ClaimsVerdict {
  verdict: "correct" | "wrong";
  index?: number;
  reason?: string;
}

/**
 * Samples, checks and re-executes a batch once with its data (`fetched`: under way, undefined when not sampled), and
 * stores the verdict (a passing fetch error: retried).
 */
async function checkBatch(ctx: ChallengerContext, w: WatchedBatch, fetched: Promise<BatchData> | undefined): Promise<WatchedBatch> {
  const save = (next: WatchedBatch): WatchedBatch => {
    ctx.store.set(`batch/${w.batchId}`, next);
    if (next.verdict) ctx.metrics.counter("batches_checked_total", "Batches checked, by verdict", ["verdict"] as const).inc({ verdict: next.verdict });
    return next;
  };
  if (!batchSampled(ctx, w.batchId, BigInt(w.batch.bond))) return save({ ...w, verdict: "skipped", status: "done", outcome: "not sampled" });
  const known = ctx.store.get<ClaimsVerdict>(claimsKey(w));
  if (known) {
    ctx.logger.info({ batchId: w.batchId, verdict: known.verdict, index: known.index }, "batch repeats claims already checked: same verdict");
    return known.verdict === "correct"
      ? save({ ...w, verdict: "correct", status: "done", outcome: "correct (claims already checked)" })
      : save({ ...w, verdict: "wrong", index: known.index!, reason: known.reason ?? "claims already found wrong" });
  }
  if (!fetched) return w; // another batch with these claims is being checked: its verdict next step
  const model = ctx.models.get(w.batch.modelId)!;
  const limits = ctx.config.batchData;
  let leaves: CheckedLeaf[];
  try {
    const data = await fetched;
    leaves = checkBatchData(data, struct(w));
    // Data that rebuilds the root is kept when asked: this bot is then a mirror of it for a provider that lost it.
    if (limits.archiveDir) keepBatchData(ctx, limits.archiveDir, w, data);
  } catch (err) {
    const e = err instanceof BatchDataError ? err : new BatchDataError(errorSummary(err));
    const attempts = (w.attempts ?? 0) + 1;
    if (e.passing && attempts < limits.attempts) {
      // A provider briefly down is not a withheld batch: tries are spaced 5 s, 10 s, 20 s, … (at most a minute) apart.
      const delayMs = Math.min(60_000, 5_000 * 2 ** (attempts - 1));
      ctx.logger.info({ batchId: w.batchId, dataURI: w.dataURI, reason: e.message, attempts, retryInMs: delayMs }, "batch data not fetched: trying again");
      return save({ ...w, attempts, reason: e.message, retryAt: Date.now() + delayMs });
    }
    return unavailable(ctx, w, save, unavailablePosition(w.batchId, w.batch.size, samplingSeed(ctx)), e.message);
  }
  const wrong = firstWrongLeaf(model, leaves);
  if (!wrong || wrong.kind === "wrong") {
    ctx.store.set(claimsKey(w), (wrong ? { verdict: "wrong", index: wrong.index, reason: wrong.reason } : { verdict: "correct" }) satisfies ClaimsVerdict);
  }
  if (!wrong) {
    ctx.logger.info({ batchId: w.batchId, size: w.batch.size }, "batch re-executed: every position correct");
    return save({ ...w, verdict: "correct", status: "done", outcome: "correct" });
  }
  if (wrong.kind === "unavailable") {
    // The provider chose which inputs it publishes unusable: one of them, drawn as above, not the first.
    const at = wrong.unusable ?? [wrong.index];
    return unavailable(ctx, w, save, at[unavailablePosition(w.batchId, at.length, samplingSeed(ctx))]!, wrong.reason);
  }
  ctx.logger.warn({ batchId: w.batchId, index: wrong.index, reason: wrong.reason }, "WRONG batch position found");
  return save({ ...w, verdict: "wrong", index: wrong.index, reason: wrong.reason });
}

function keepBatchData(ctx: ChallengerContext, dir: string, w: WatchedBatch, data: BatchData): void {
  try {
    archiveBatch(dir, w.batch.root, { modelId: w.batch.modelId, root: w.batch.root.toLowerCase(), size: data.size, batchId: w.batchId, leaves: [...data.leaves].sort((a, b) => a.index - b.index) });
  } catch (err) {
    ctx.logger.warn({ batchId: w.batchId, dir, err: errorSummary(err) }, "batch data not archived");
  }
}

function unavailable(ctx: ChallengerContext, w: WatchedBatch, save: (n: WatchedBatch) => WatchedBatch, index: number, reason: string): WatchedBatch {
  const policy = ctx.config.unavailableData;
  ctx.logger.warn({ batchId: w.batchId, dataURI: w.dataURI, reason, policy, index: policy === "challenge" ? index : undefined }, policy === "challenge" ? "batch data unavailable or not matching: challenging a position" : "batch data unavailable or not matching: ignored (unavailableData: ignore)");
  const next: WatchedBatch = { ...w, verdict: "unavailable", reason };
  return save(policy === "challenge" ? { ...next, index } : { ...next, status: "done", outcome: "unavailable, ignored" });
}

/** Challenges the batch's position, slashes once its proof deadline passed, and records how the batch settled. */
async function actOnBatch(ctx: ChallengerContext, w: WatchedBatch): Promise<void> {
  const index = BigInt(w.index!);
  const batch = struct(w);
  const [status, challengeDeadline] = await readBatches(ctx, "batchState", [w.batchId]);
  const [leafStatus, proofDeadline, challenger] = await readBatches(ctx, "leafChallenge", [w.batchId, index]);
  const mine = challenger.toLowerCase() === ctx.account.address.toLowerCase();
  const now = (await ctx.publicClient.getBlock()).timestamp;
  const done = (outcome: string): void => {
    ctx.store.set(`batch/${w.batchId}`, { ...w, status: "done", outcome } satisfies WatchedBatch);
    ctx.metrics.counter("batch_disputes_settled_total", "Disputed batches settled, by outcome", ["outcome"] as const).inc({ outcome });
    ctx.logger.info({ batchId: w.batchId, index: w.index, outcome }, "batch dispute settled");
  };
  if (status === BatchStatus.None) {
    ctx.logger.warn({ batchId: w.batchId }, "batch not on chain (reorged away?): dropping");
    ctx.store.delete(`batch/${w.batchId}`);
    return;
  }
  if (status !== BatchStatus.Submitted) {
    // Slashed through another position (or an audit) while ours is still challenged: our bond comes back.
    if (status === BatchStatus.Slashed && mine && leafStatus === LeafStatus.Challenged) await sendBatches(ctx, "reclaimChallengerBond", [batch, index]);
    return done(BATCH_STATUS[status] ?? String(status));
  }
  switch (leafStatus) {
    case LeafStatus.None: {
      if (now + 1n >= challengeDeadline) return done("challenge window closed before the challenge");
      const [, bond] = await readRegistry(ctx, "disputeParams", [w.batch.modelId]);
      await ensureBatchStake(ctx, bond, ctx.config.stakeTarget);
      await sendBatches(ctx, "challengeLeaf", [batch, index]);
      ctx.metrics.counter("batch_challenges_total", "Batch positions challenged").inc();
      ctx.logger.warn({ batchId: w.batchId, index: w.index, bond, verdict: w.verdict }, "batch position challenged");
      return;
    }
    case LeafStatus.Challenged:
      if (now + 1n >= proofDeadline) {
        await sendBatches(ctx, "slashBatch", [batch, index]);
        ctx.logger.warn({ batchId: w.batchId, index: w.index, challenger, mine }, "batch position not proven by its deadline: batch slashed");
      }
      return;
    default:
      // Proven: the provider showed a valid proof of its leaf (possible only when the data was what failed).
      if (w.verdict === "wrong") ctx.logger.error({ batchId: w.batchId, index: w.index }, "a position this bot found wrong was proven: the engine and the circuit disagree");
      return done(leafStatus === LeafStatus.Proven ? "position proven" : "position released");
  }
}
