// Restoring a batch the store lost. The chain holds only a batch's root, size and dataURI; its leaves (the inputs and
// outputs a proof of any position needs) were in the store. So before submitBatch is sent the batch's data is also
// written to an append-only archive outside the store (batching.archiveDir, one fsync'd file per root). A provider
// that finds an open batch of its own on chain that the store does not have (store deleted, or restored from an old
// copy) looks it up in the archive, then asks each of batching.mirrors (GET /batches/:root: a challenger that kept the
// data it checked, or a static server over an archive folder). A mirror is a stranger: its answer is read with the
// limits of batching.mirrorFetch and used only when every position is there once, the leaves rebuild the root on
// chain and every input matches its hash and the model's shape. Only when no source has it is the batch LOST.
import type { Address, Hex } from "viem";
import { batchManagerAbi } from "../sdk/abi.ts";
import type { BatchStruct } from "../sdk/batch.ts";
import { errorSummary } from "../sdk/errors.ts";
import { checkInputData, encodeInputData } from "../sdk/inputs.ts";
import { BatchDataError, archiveBatch, checkBatchData, fetchBatchData, readArchivedBatch, type BatchData } from "../runtime/batch-data.ts";
import { batchesAddress } from "../runtime/chain.ts";
import type { BatchLeafRow, OwnBatch } from "./batch.ts";
import type { ProviderConfig } from "./config.ts";
import { batchKey, batchLeafKey, clientJobId, idKey } from "./keys.ts";
import type { Job, ProviderContext } from "./step.ts";

/** The archive folder: batching.archiveDir, else `<store>.batches` next to the store file (none for an in-memory store). */
export function archiveDirOf(config: Pick<ProviderConfig, "store"> & { batching?: Partial<ProviderConfig["batching"]> }): string | undefined {
  const dir = config.batching?.archiveDir;
  if (dir) return dir;
  if (!config.store || config.store === ":memory:") return undefined;
  return `${config.store}.batches`;
}

/** A batch's data as GET /batches/:root serves it and the archive keeps it: per position its inputHash, outputs and input. */
export function batchDataOf(b: Pick<OwnBatch, "modelId" | "root" | "size" | "bits" | "leaves" | "batchId">) {
  return {
    modelId: b.modelId,
    root: b.root,
    size: b.size,
    ...(b.batchId ? { batchId: b.batchId } : {}),
    leaves: b.leaves.map((l) => ({ index: l.index, inputHash: l.inputHash, outputs: l.outputs, inputData: encodeInputData(l.values.map(BigInt), b.bits) })),
  };
}

/** Writes a batch's data to the archive (fsync'd) unless there is none configured; returns the file written, if any. */
export function archiveOwnBatch(ctx: Pick<ProviderContext, "config">, b: OwnBatch): string | undefined {
  const dir = archiveDirOf(ctx.config);
  if (!dir) return undefined;
  return archiveBatch(dir, b.root, batchDataOf({ ...b, batchId: undefined }));
}

/** Where a lost batch's data may be: the archive folder, mirrors, and the limits of one mirror fetch. */
export interface RestoreSources {
  archiveDir?: string;
  mirrors: readonly string[];
  limits: { timeoutMs: number; maxBytes: number };
}

export function restoreSources(config: ProviderContext["config"]): RestoreSources {
  const b = config.batching;
  return { archiveDir: archiveDirOf(config), mirrors: b?.mirrors ?? [], limits: b?.mirrorFetch ?? { timeoutMs: 10_000, maxBytes: 64 * 1024 * 1024 } };
}

/**
 * The leaves of `data` once checked against the batch on chain: every position 0..size-1 once, the leaves rebuilding
 * its root, and each input matching its inputHash and the model's length and width. Throws BatchDataError naming the
 * first problem.
 */
export function checkedLeaves(data: BatchData, batch: Pick<BatchStruct, "modelId" | "root" | "size">, shape: { inputLength: number; inputBits: number }): BatchLeafRow[] {
  return checkBatchData(data, batch).map((l) => {
    let values: bigint[];
    try {
      values = checkInputData(l.inputData, l.inputHash, { length: shape.inputLength, bits: shape.inputBits }).values;
    } catch (err) {
      throw new BatchDataError(`position ${l.index}: ${errorSummary(err)}`);
    }
    return { index: l.index, inputHash: l.inputHash.toString(), outputs: l.outputs.map(String), values: values.map(String), jobIds: [] };
  });
}

/**
 * Looks a batch's data up in the archive, then in each mirror in turn, and returns the first that checks out (see
 * checkedLeaves) with where it came from, or every source's problem when none does.
 */
export async function findBatchData(
  src: RestoreSources,
  batch: Pick<BatchStruct, "modelId" | "root" | "size">,
  shape: { inputLength: number; inputBits: number },
): Promise<{ leaves: BatchLeafRow[]; source: string } | { problems: string[] }> {
  const problems: string[] = [];
  if (src.archiveDir) {
    try {
      const data = readArchivedBatch(src.archiveDir, batch.root, src.limits.maxBytes);
      if (data) return { leaves: checkedLeaves(data, batch, shape), source: `archive ${src.archiveDir}` };
      problems.push(`archive ${src.archiveDir}: no file for this root`);
    } catch (err) {
      problems.push(`archive ${src.archiveDir}: ${errorSummary(err)}`);
    }
  }
  for (const mirror of src.mirrors) {
    const url = `${mirror.replace(/\/+$/, "")}/batches/${batch.root.toLowerCase()}`;
    try {
      const data = await fetchBatchData(url, { ...src.limits, setting: "batching.mirrorFetch.maxBytes" });
      return { leaves: checkedLeaves(data, batch, shape), source: `mirror ${url}` };
    } catch (err) {
      problems.push(`mirror ${url}: ${errorSummary(err)}`);
    }
  }
  if (!src.archiveDir && src.mirrors.length === 0) problems.push("no archive (batching.archiveDir) and no mirrors (batching.mirrors) configured");
  return { problems };
}

/** An open batch of this key on chain, as its BatchSubmitted announced it. */
export interface ChainBatch {
  batchId: Hex;
  block: bigint;
  batch: BatchStruct & { provider: Address };
  dataURI: string;
}

/**
 * Restores the rows of an open batch the store lacks from the first source that has its data: the batch (submitted,
 * with the positions already challenged on chain), its id, a batched job per leaf (under the job id of its input
 * without a tag, as rebuilt single claims are) and the leaf index. Data from a mirror is archived too. Returns the
 * restored batch, or the problems of every source.
 */
export async function restoreBatch(ctx: ProviderContext, u: ChainBatch): Promise<{ batch: OwnBatch; source: string } | { problems: string[] }> {
  const modelId = u.batch.modelId.toLowerCase() as Hex;
  const model = ctx.models.get(modelId);
  if (!model) return { problems: [`model ${modelId} is not served here: its positions cannot be proven`] };
  const m = model.pkg.manifest;
  const found = await findBatchData(restoreSources(ctx.config), { ...u.batch, modelId }, { inputLength: m.inputLength, inputBits: m.inputBits });
  if ("problems" in found) return found;
  const challengedLogs = await ctx.publicClient.getContractEvents({
    address: batchesAddress(ctx),
    abi: batchManagerAbi,
    eventName: "LeafChallenged",
    args: { batchId: u.batchId },
    fromBlock: u.block,
    toBlock: "latest",
    strict: true,
  });
  const challenged = [...new Set(challengedLogs.map((l) => Number(l.args.index)))];
  const leaves = found.leaves.map((l) => ({ ...l, jobIds: [clientJobId(modelId, l.inputHash)] }));
  const b: OwnBatch = {
    root: u.batch.root.toLowerCase() as Hex,
    modelId,
    bits: m.inputBits,
    size: u.batch.size,
    bond: u.batch.bond.toString(),
    leaves,
    storedAtBlock: u.block.toString(),
    createdAt: Date.now(),
    status: "submitted",
    batchId: u.batchId,
    batch: { ...u.batch, modelId, bond: u.batch.bond.toString(), auditFee: u.batch.auditFee.toString() },
    dataURI: u.dataURI,
    submittedBlock: u.block.toString(),
    ...(challenged.length > 0 ? { challenged } : {}),
  };
  if (found.source.startsWith("mirror")) {
    try {
      archiveOwnBatch(ctx, b);
    } catch (err) {
      ctx.logger.warn({ root: b.root, err: errorSummary(err) }, "the restored batch could not be archived");
    }
  }
  ctx.store.transaction(() => {
    ctx.store.set(batchKey(b.root), b);
    ctx.store.set(idKey(u.batchId), b.root);
    for (const leaf of leaves) {
      ctx.store.set(batchLeafKey(modelId, leaf.inputHash, b.root), leaf.index);
      const jobId = leaf.jobIds[0]!;
      if (ctx.store.get(`job/${jobId}`)) continue;
      ctx.store.set(`job/${jobId}`, {
        jobId,
        modelId,
        bits: m.inputBits,
        values: leaf.values,
        inputHash: leaf.inputHash,
        requestId: "0",
        status: "batched",
        createdAt: b.createdAt,
        outputs: leaf.outputs,
        batch: { root: b.root, index: leaf.index, batchId: u.batchId },
      } satisfies Job);
    }
    ctx.store.delete(lostKey(u.batchId));
  });
  return { batch: b, source: found.source };
}

/** Store key of an open batch of this key that no source had yet: looked up again later. */
export const lostKey = (batchId: Hex | string): string => `batchlost/${batchId.toLowerCase()}`;

/** A lost batch's row: what BatchSubmitted said, and when to look again. */
export interface LostBatch {
  batchId: Hex;
  block: string;
  batch: { modelId: Hex; provider: Address; root: Hex; size: number; bond: string; auditRateBps: number; auditFee: string };
  dataURI: string;
  problems: string[];
  retryAt: number;
  /** LOST BATCH was logged (once). */
  logged?: boolean;
}
