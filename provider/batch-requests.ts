// On-chain requests answered from this provider's own batches. A request for a (model, input) that is already a leaf
// of one of its Finalized batches is fulfilled with ClaimManager.fulfillFromBatch (the leaf, its outputs and Merkle
// path): no new claim, no bond locked for another challenge window, and the fee is paid at once. A leaf of a batch
// still open is kept for the batch's finalization when that comes before the request's expiry; otherwise, and
// whenever the batch's bond is below the request's minimum, the request is answered with a claim as usual.
import type { Hex } from "viem";
import { claimManagerAbi } from "../sdk/abi.ts";
import { errorSummary } from "../sdk/errors.ts";
import { RequestStatus } from "../sdk/protocol.ts";
import { claimsAddress, readBatches, sendClaims } from "../runtime/chain.ts";
import { BatchStatus, batchStruct, batchTree, type OwnBatch } from "./batch.ts";
import { classifySendError } from "./jobs.ts";
import { batchKey, batchLeafKey } from "./keys.ts";
import type { Job, ProviderContext } from "./step.ts";

/** Seconds a batch must finalize before a request's expiry for the request to wait for it (a few steps to finalize and send). */
export const FINALIZE_MARGIN_S = 60n;

/** The request as getRequest returns it (the fields used here). */
export interface OpenRequest {
  status: number;
  expiry: bigint;
  minBond: bigint;
  /** The provider the request names (zero: any provider, by a claim only). */
  provider: string;
}

/** This provider's batches holding (model, input) as a leaf, with the leaf's position, finalized ones first. */
export function ownLeaves(ctx: Pick<ProviderContext, "store">, modelId: Hex, inputHash: string): Array<{ b: OwnBatch; index: number }> {
  const out: Array<{ b: OwnBatch; index: number }> = [];
  for (const [key, index] of ctx.store.entries<number>(batchLeafKey(modelId, inputHash))) {
    const b = ctx.store.get<OwnBatch>(batchKey(key.slice(key.lastIndexOf("/") + 1)));
    if (b && (b.status === "finalized" || b.status === "submitted") && b.leaves[index]?.inputHash === inputHash) out.push({ b, index });
  }
  return out.sort((x, y) => Number(y.b.status === "finalized") - Number(x.b.status === "finalized"));
}

/**
 * Answers the request of `job` (open, unexpired, not yet committed to) from an own batch when it can: fulfilled from a
 * Finalized batch's leaf, or kept waiting for an open batch that finalizes in time. Returns true when it did either
 * (the claim path is not taken this step), false when the request is to be answered with a claim.
 */
export async function answerFromBatch(ctx: ProviderContext, job: Job, req: OpenRequest): Promise<boolean> {
  if (ctx.config.batching?.fulfilRequests === false || job.answer || req.status !== RequestStatus.Open) return false;
  // ClaimManager takes a batch's leaf only for a request naming this provider (a batch's data is published by its
  // provider alone); a request open to anyone is answered with a claim, which anyone can check.
  if (BigInt(req.provider) === 0n) return false;
  const requestId = BigInt(job.requestId);
  for (const { b, index } of ownLeaves(ctx, job.modelId, job.inputHash)) {
    if (BigInt(b.bond) < req.minBond) continue;
    if (b.status === "submitted") {
      const [status, challengeDeadline] = await readBatches(ctx, "batchState", [b.batchId!]);
      // Finalized on chain but not yet settled by this provider (it waits for `confirmations`): usable now.
      if (status === BatchStatus.Finalized) {
        if (await fulfil(ctx, job, b, index)) return true;
        continue;
      }
      if (status !== BatchStatus.Submitted || BigInt(challengeDeadline) + FINALIZE_MARGIN_S >= req.expiry) continue;
      if (job.reason !== WAITING) {
        ctx.store.set(`job/${job.jobId}`, { ...job, reason: WAITING } satisfies Job);
        ctx.logger.info({ jobId: job.jobId, requestId, batchId: b.batchId, index, challengeDeadline, expiry: req.expiry }, "request waits for its input's batch to finalize");
      }
      return true;
    }
    if (await fulfil(ctx, job, b, index)) return true;
  }
  return false;
}

/**
 * Sends fulfillFromBatch for `job` with leaf `index` of `b`. True when the request is fulfilled by it or the send may
 * work later (tried again next step); false when refused for good (the request is then answered with a claim).
 */
async function fulfil(ctx: ProviderContext, job: Job, b: OwnBatch, index: number): Promise<boolean> {
  const requestId = BigInt(job.requestId);
  const leaf = b.leaves[index]!;
  const outputs = leaf.outputs.map(BigInt);
  try {
    await sendClaims(ctx, "fulfillFromBatch", [requestId, batchStruct(b), BigInt(index), outputs, batchTree(b).path(index)]);
  } catch (err) {
    // The chain decides: a request fulfilled anyway (an answer lost on the way back) is this job's answer.
    const ours = await ctx.publicClient.getContractEvents({ address: claimsAddress(ctx), abi: claimManagerAbi, eventName: "RequestFulfilledFromBatch", args: { requestId, batchId: b.batchId! }, fromBlock: BigInt(b.submittedBlock ?? b.storedAtBlock), toBlock: "latest" });
    if (ours.length === 0) {
      const verdict = classifySendError(err);
      ctx.logger.warn({ jobId: job.jobId, requestId, batchId: b.batchId, err: errorSummary(err) }, verdict.kind === "permanent" ? "fulfilling the request from a batch was refused: answering it with a claim" : "fulfilling the request from a batch failed: trying again");
      return verdict.kind !== "permanent";
    }
  }
  fulfilled(ctx, job, b, index);
  return true;
}

/** Why a request job waits: its input is a leaf of an own batch that finalizes before the request expires. */
const WAITING = "waiting for its input's batch to finalize";

function fulfilled(ctx: ProviderContext, job: Job, b: OwnBatch, index: number): void {
  const leaf = b.leaves[index]!;
  const { reason: _r, retryAt: _t, retryable: _x, ...rest } = job;
  ctx.store.set(`job/${job.jobId}`, { ...rest, status: "claimed", outputs: leaf.outputs, batch: { root: b.root, batchId: b.batchId!, index, path: batchTree(b).path(index) } } satisfies Job);
  ctx.metrics.counter("requests_fulfilled_from_batch_total", "Requests fulfilled from a leaf of an own finalized batch").inc();
  ctx.logger.info({ jobId: job.jobId, requestId: job.requestId, batchId: b.batchId, index, outputs: leaf.outputs }, "request fulfilled from own batch");
}
