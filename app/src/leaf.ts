// One claim of a batch, looked up by the page: the leaf at a position from the batch's data (fetched from its dataURI
// or pasted) or typed in, and its Merkle path. A dataURI and what it serves are chosen by the batch's provider, so
// both are hostile input: only http(s) URLs are fetched, with no redirects, no credentials and no referrer, within a
// time limit and a size cap; the JSON is shape-checked field by field and must rebuild the batch's root before any of
// it is used. Nothing read here is ever rendered as HTML (React renders it as text).
import { isHex, type Hex } from "viem";
import { batchLeaf, buildBatchTree, verifyBatchPath, type BatchStruct } from "../../sdk/batch.ts";

/** Limits on fetched or pasted batch data: about 40,000 leaves of a 10-output model at the default. */
export const DATA_LIMITS = { timeoutMs: 10_000, maxBytes: 8 * 1024 * 1024 };

/** Why a leaf could not be had: the message names the problem and is shown as is. */
export class LeafLookupError extends Error {
  override name = "LeafLookupError";
}

/** A leaf of a batch with the path that leads from it to the batch's root. */
export interface LeafProof {
  index: number;
  inputHash: bigint;
  outputs: bigint[];
  path: Hex[];
}

/** The URL a dataURI names, if it is one the page may link to or fetch (http or https); undefined otherwise. */
export function safeHttpUrl(uri: string): URL | undefined {
  if (uri.length > 2048) return undefined;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
}

/**
 * Text from a hostile source made safe to show inline: control and bidirectional-override characters (which could
 * make it read as something else) replaced by U+FFFD, cut to `max` characters with an ellipsis.
 */
export function inertText(s: string, max = 160): string {
  const clean = s.slice(0, max + 1).replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "\ufffd");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * GETs a batch's data from its dataURI as hostile input: http(s) only, no redirects, no cookies, no referrer, at most
 * `limits.maxBytes` (a larger declared Content-Length is refused before reading, a longer body is cut off), within
 * `limits.timeoutMs`. Returns the body as text; throws LeafLookupError naming the problem.
 */
export async function fetchBatchText(uri: string, limits = DATA_LIMITS, fetchFn: typeof fetch = fetch): Promise<string> {
  const url = safeHttpUrl(uri);
  if (!url) throw new LeafLookupError(`the batch's dataURI "${inertText(uri, 80)}" is not an http(s) URL: paste its data instead`);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  try {
    const res = await fetchFn(url.href, { redirect: "error", credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store", signal: controller.signal, headers: { accept: "application/json" } });
    if (!res.ok) throw new LeafLookupError(`the dataURI answered HTTP ${res.status}`);
    const declared = Number(res.headers.get("content-length") ?? NaN);
    if (declared > limits.maxBytes) throw new LeafLookupError(`the batch data is ${declared} bytes, over the page's limit of ${limits.maxBytes}`);
    if (!res.body) throw new LeafLookupError("the dataURI answered with no body");
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limits.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new LeafLookupError(`the batch data is over the page's limit of ${limits.maxBytes} bytes`);
      }
      chunks.push(value);
    }
    const all = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) { all.set(c, at); at += c.byteLength; }
    return new TextDecoder().decode(all);
  } catch (err) {
    if (err instanceof LeafLookupError) throw err;
    if (controller.signal.aborted) throw new LeafLookupError(`the dataURI did not answer within ${limits.timeoutMs / 1000} s`);
    // A browser reports a server that does not allow cross-origin reads as a plain network error.
    throw new LeafLookupError(`fetching the dataURI failed (${err instanceof Error ? inertText(err.message, 120) : "network error"}); a server that does not allow cross-origin reads fails this way: paste its data instead`);
  } finally {
    clearTimeout(timer);
  }
}

const DECIMAL = /^-?\d{1,80}$/;
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** A decimal integer string (as the data serves them) as a bigint, or a LeafLookupError naming `what`. */
function decimal(x: unknown, what: string): bigint {
  if (typeof x !== "string" || !DECIMAL.test(x)) throw new LeafLookupError(`batch data: ${what} is not a decimal integer string`);
  return BigInt(x);
}

/**
 * The leaf at `index` of a batch and its path, from the batch's data (the JSON its dataURI serves: `{ size, leaves:
 * [{ index, inputHash, outputs }] }`, other fields ignored). The data must hold exactly positions 0..size-1 of the
 * batch on chain and rebuild its root; the first problem is thrown as a LeafLookupError.
 */
export function leafFromData(text: string, batch: Pick<BatchStruct, "modelId" | "root" | "size">, index: number, maxBytes = DATA_LIMITS.maxBytes): LeafProof {
  checkIndex(index, batch.size);
  if (text.length > maxBytes) throw new LeafLookupError(`the batch data is over the page's limit of ${maxBytes} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LeafLookupError("the batch data is not JSON");
  }
  if (!isObject(json) || !Array.isArray(json.leaves)) throw new LeafLookupError("the batch data has no leaves array");
  if (json.size !== batch.size) throw new LeafLookupError(`the batch data says size ${inertText(String(json.size), 20)}, the batch on chain has ${batch.size}`);
  if (json.leaves.length !== batch.size) throw new LeafLookupError(`the batch data has ${json.leaves.length} leaves, the batch on chain has ${batch.size}`);
  const byIndex = new Array<{ inputHash: bigint; outputs: bigint[] } | undefined>(batch.size);
  json.leaves.forEach((l: unknown, k: number) => {
    if (!isObject(l)) throw new LeafLookupError(`batch data: leaves[${k}] is not an object`);
    const i = l.index;
    if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i >= batch.size) throw new LeafLookupError(`batch data: leaves[${k}].index is not a position of the batch (0 to ${batch.size - 1})`);
    if (byIndex[i]) throw new LeafLookupError(`batch data has position ${i} twice`);
    if (!Array.isArray(l.outputs) || l.outputs.length > 1 << 16) throw new LeafLookupError(`batch data: leaves[${k}].outputs is not an array of at most 65536 values`);
    byIndex[i] = { inputHash: decimal(l.inputHash, `leaves[${k}].inputHash`), outputs: l.outputs.map((o, j) => decimal(o, `leaves[${k}].outputs[${j}]`)) };
  });
  const leaves = byIndex as Array<{ inputHash: bigint; outputs: bigint[] }>; // every position is there: length size, none twice
  let tree;
  try {
    tree = buildBatchTree(leaves.map((l, i) => batchLeaf(batch.modelId, l.inputHash, l.outputs, i)));
  } catch (err) {
    throw new LeafLookupError(`the batch data cannot be hashed into leaves: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (tree.root.toLowerCase() !== batch.root.toLowerCase()) throw new LeafLookupError("the batch data does not rebuild the batch's root: it is not what the provider committed to");
  return { index, inputHash: leaves[index]!.inputHash, outputs: leaves[index]!.outputs, path: tree.path(index) };
}

function checkIndex(index: number, size: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new LeafLookupError(`position must be an integer from 0 to ${size - 1} (the batch holds ${size} claims), got ${index}`);
}

/** An integer typed by a reader: decimal (optionally negative) or 0x-hex. */
function typedInteger(s: string, what: string): bigint {
  const t = s.trim();
  if (!/^-?\d{1,80}$/.test(t) && !/^0x[0-9a-fA-F]{1,64}$/.test(t)) throw new LeafLookupError(`${what} "${inertText(t, 40)}" is not an integer (decimal or 0x-hex)`);
  return BigInt(t);
}

/**
 * A leaf typed in: the input hash, the outputs (integers separated by commas or spaces) and the path (the batch's
 * ceil(log2(size)) siblings as 32-byte 0x-hex, from the leaf up; empty for a batch of one).
 */
export function leafFromFields(fields: { inputHash: string; outputs: string; path: string }, index: number, size: number): LeafProof {
  checkIndex(index, size);
  const inputHash = typedInteger(fields.inputHash, "input hash");
  if (inputHash < 0n || inputHash >= 1n << 256n) throw new LeafLookupError("input hash must lie in [0, 2^256)");
  const outs = fields.outputs.split(/[\s,[\]]+/).filter(Boolean);
  if (outs.length === 0) throw new LeafLookupError("outputs: give the leaf's outputs, separated by commas");
  if (outs.length > 1 << 16) throw new LeafLookupError("outputs: more than 65536 values");
  const outputs = outs.map((o, j) => {
    const v = typedInteger(o, `output ${j}`);
    if (v < -(1n << 255n) || v >= 1n << 255n) throw new LeafLookupError(`output ${j} does not fit an int256`);
    return v;
  });
  const path = fields.path.split(/[\s,[\]"]+/).filter(Boolean).map((p, j) => {
    if (!isHex(p) || p.length !== 66) throw new LeafLookupError(`path sibling ${j} "${inertText(p, 70)}" is not 32 bytes of 0x-hex`);
    return p;
  });
  return { index, inputHash, outputs, path };
}

/** Whether the leaf and its path lead to the batch's root at its position (what isSettledLeaf checks besides status). */
export function leafInBatch(batch: Pick<BatchStruct, "modelId" | "root" | "size">, leaf: LeafProof): boolean {
  return verifyBatchPath(batch.root, batch.size, leaf.index, batchLeaf(batch.modelId, leaf.inputHash, leaf.outputs, leaf.index), leaf.path);
}
