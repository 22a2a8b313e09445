// A batch's data (GET /batches/:root: per position its inputHash, outputs and input as inputData) read from a server
// that may be hostile: a provider's dataURI for the challenger, an archive or a mirror for a provider restoring a
// batch its store lost. Read with a size limit and a timeout, http(s) only, schema-checked, and trusted only once its
// leaves rebuild the batch's root on chain.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { Hex } from "viem";
import { batchLeaf, buildBatchTree, type BatchStruct } from "../sdk/batch.ts";
import { errorSummary } from "../sdk/errors.ts";

/** Why batch data is unusable. `passing`: a fetch that may work later (timeout, connection refused, HTTP 5xx). */
export class BatchDataError extends Error {
  constructor(
    message: string,
    readonly passing = false,
  ) {
    super(message);
    this.name = "BatchDataError";
  }
}

const decimal = z.string().regex(/^-?\d{1,80}$/, "not a decimal integer string");
/** The JSON a provider serves at GET /batches/<root> (provider/batch.ts batchView); extra fields are ignored. */
export const batchDataSchema = z.object({
  size: z.number().int().min(1),
  leaves: z
    .array(
      z.object({
        index: z.number().int().nonnegative(),
        inputHash: decimal,
        outputs: z.array(decimal).max(1 << 16),
        inputData: z.string().regex(/^0x([0-9a-fA-F]{2})*$/, "not 0x-prefixed hex bytes"),
      }),
    )
    .min(1),
});
export type BatchData = z.output<typeof batchDataSchema>;

/**
 * Fetches a batch's data: only http(s), at most `maxBytes` (a declared larger Content-Length is refused before a byte
 * is read, a longer body is cut off; `setting` names the limit in the message), within `timeoutMs`, no redirects,
 * JSON of batchDataSchema. Throws BatchDataError naming the problem; never anything else.
 */
export async function fetchBatchData(uri: string, limits: { timeoutMs: number; maxBytes: number; setting?: string }): Promise<BatchData> {
  const setting = limits.setting ?? "batchData.maxBytes";
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new BatchDataError(`dataURI ${JSON.stringify(uri.slice(0, 200))} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new BatchDataError(`dataURI scheme ${url.protocol} is not http or https`);
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let text: string;
  try {
    const res = await fetch(url, { signal, redirect: "error", headers: { accept: "application/json" } });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new BatchDataError(`dataURI answered HTTP ${res.status}`, res.status >= 500 || res.status === 429);
    }
    const declared = Number(res.headers.get("content-length") ?? NaN);
    if (declared > limits.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new BatchDataError(`batch data of ${declared} bytes is over the limit of ${limits.maxBytes} (${setting})`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limits.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new BatchDataError(`batch data is over the limit of ${limits.maxBytes} bytes (${setting})`);
      }
      chunks.push(value);
    }
    text = Buffer.concat(chunks).toString("utf8");
  } catch (err) {
    if (err instanceof BatchDataError) throw err;
    if (signal.aborted) throw new BatchDataError(`dataURI did not answer within ${limits.timeoutMs} ms`, true);
    throw new BatchDataError(`fetching dataURI failed: ${errorSummary(err)}`, true);
  }
  return parseBatchData(text);
}

/** A leaf of checked batch data, in position order. */
export interface CheckedLeaf {
  index: number;
  inputHash: bigint;
  outputs: bigint[];
  inputData: Hex;
}

/**
 * Checks fetched data against the batch on chain: exactly `size` leaves covering positions 0..size-1 once each, and
 * their leaves rebuilding the batch's root. Returns the leaves in position order; throws BatchDataError naming the
 * first problem.
 */
export function checkBatchData(data: BatchData, batch: Pick<BatchStruct, "modelId" | "root" | "size">): CheckedLeaf[] {
  if (data.size !== batch.size) throw new BatchDataError(`batch data says size ${data.size}, the batch on chain has ${batch.size}`);
  const byIndex = new Map<number, BatchData["leaves"][number]>();
  for (const l of data.leaves) {
    if (l.index >= batch.size) throw new BatchDataError(`batch data has a leaf at position ${l.index}, past the batch's size ${batch.size}`);
    if (byIndex.has(l.index)) throw new BatchDataError(`batch data has position ${l.index} twice`);
    byIndex.set(l.index, l);
  }
  for (let i = 0; i < batch.size; i++) {
    if (!byIndex.has(i)) throw new BatchDataError(`batch data is missing leaves: position ${i} (of ${batch.size}) is not there`);
  }
  const leaves = Array.from({ length: batch.size }, (_, i) => {
    const l = byIndex.get(i)!;
    return { index: i, inputHash: BigInt(l.inputHash), outputs: l.outputs.map(BigInt), inputData: l.inputData as Hex };
  });
  let root: Hex;
  try {
    root = buildBatchTree(leaves.map((l) => batchLeaf(batch.modelId, l.inputHash, l.outputs, l.index))).root;
  } catch (err) {
    throw new BatchDataError(`batch data cannot be hashed into leaves: ${errorSummary(err)}`);
  }
  if (root.toLowerCase() !== batch.root.toLowerCase()) throw new BatchDataError(`the batch data's leaves rebuild root ${root}, not the batch's ${batch.root}`);
  return leaves;
}

/** Parses batch data (JSON text) with batchDataSchema; throws BatchDataError naming the problem. */
export function parseBatchData(text: string): BatchData {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BatchDataError("batch data is not JSON");
  }
  const parsed = batchDataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BatchDataError(`batch data does not have the expected shape: ${issue.path.join(".") || "(top)"}: ${issue.message}`);
  }
  return parsed.data;
}

// The archive: one file per batch root, named by the root (lowercase hex), holding the batch data as GET
// /batches/:root serves it, so a static file server over the folder (at /batches/) is a mirror. Append-only: a file is
// written once, to a temporary name, fsync'd, renamed into place and the folder fsync'd, and never rewritten; its
// content is a function of the root, so a second write of the same batch has nothing to add.

const ROOT_NAME = /^0x[0-9a-f]{64}$/;

/** The archive file of `root` in `dir`; throws for a root that is not 32 bytes of hex (never a path outside `dir`). */
export function archivePath(dir: string, root: string): string {
  const name = root.toLowerCase();
  if (!ROOT_NAME.test(name)) throw new BatchDataError(`a batch root is 0x and 64 hex digits, got ${JSON.stringify(root.slice(0, 80))}`);
  return join(dir, name);
}

/** Writes `data` as the archive file of `root` in `dir` (made if missing) and fsyncs it before returning; kept if there. */
export function archiveBatch(dir: string, root: Hex | string, data: unknown): string {
  const path = archivePath(dir, root);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, JSON.stringify(data));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return path;
}

/**
 * The archived data of `root` in `dir`, parsed (not yet checked against a root: see checkBatchData); undefined when
 * the archive has no file for it. A file over `maxBytes` or not of the schema throws BatchDataError.
 */
export function readArchivedBatch(dir: string, root: Hex | string, maxBytes: number): BatchData | undefined {
  const path = archivePath(dir, root);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return undefined;
  }
  if (size > maxBytes) throw new BatchDataError(`archived batch data of ${size} bytes is over the limit of ${maxBytes}`);
  return parseBatchData(readFileSync(path, "utf8"));
}
