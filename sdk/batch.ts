// Batched claims: the leaf hash, the position-bound Merkle tree and the audit draw of contracts/BatchManager.sol,
// bit for bit. Browser-safe (viem only).
import { concat, encodeAbiParameters, keccak256, type Hex } from "viem";
import { outputHash as hashOutputs } from "./signals.ts";

/** Largest number of claims in one batch (BatchManager.MAX_BATCH_SIZE). */
export const MAX_BATCH_SIZE = 1 << 20;

const ZERO: Hex = `0x${"00".repeat(32)}`;

/** A Batch as the contract hashes it and every call passes it back (the fields of the BatchSubmitted event). */
export interface BatchStruct {
  modelId: Hex;
  provider: Hex;
  root: Hex;
  size: number;
  bond: bigint;
  auditRateBps: number;
  auditFee: bigint;
}

function checkIndex(index: number, size: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`leaf index must be an integer in [0, ${size}), got ${index}`);
  }
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_BATCH_SIZE) {
    throw new RangeError(`a batch holds 1 to ${MAX_BATCH_SIZE} claims, got ${size}`);
  }
}

/**
 * The leaf of claim `index` of a batch: keccak256(bytes.concat(keccak256(abi.encode(modelId, inputHash, outputHash,
 * index)))), OpenZeppelin's StandardMerkleTree leaf hashing. `outputs` may be the outputs or their outputHash.
 */
export function batchLeaf(modelId: Hex, inputHash: bigint, outputs: readonly bigint[] | Hex, index: number): Hex {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`leaf index must be a non-negative integer, got ${index}`);
  const oh = typeof outputs === "string" ? outputs : hashOutputs(outputs);
  return keccak256(
    keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "uint256" }, { type: "bytes32" }, { type: "uint256" }],
        [modelId, inputHash, oh, BigInt(index)],
      ),
    ),
  );
}

/** Siblings in a path of a batch of `size` claims: ceil(log2(size)) (0 for one claim). */
export function batchDepth(size: number): number {
  checkSize(size);
  let depth = 0;
  while (1 << depth < size) depth++;
  return depth;
}

/** A batch's tree: its root, depth and the path (siblings from the leaf up) of each claim. */
export interface BatchTree {
  root: Hex;
  depth: number;
  size: number;
  path(index: number): Hex[];
}

/**
 * The position-bound tree over `leaves` (in claim order): padded with bytes32(0) to 2^depth, node =
 * keccak256(left || right) with left and right fixed by position, never sorted, so one index has exactly one leaf.
 */
export function buildBatchTree(leaves: readonly Hex[]): BatchTree {
  const size = leaves.length;
  const depth = batchDepth(size);
  const levels: Hex[][] = [];
  let level: Hex[] = [...leaves];
  while (level.length < 1 << depth) level.push(ZERO);
  levels.push(level);
  for (let d = 0; d < depth; d++) {
    const next: Hex[] = new Array<Hex>(level.length / 2);
    for (let i = 0; i < next.length; i++) next[i] = keccak256(concat([level[2 * i]!, level[2 * i + 1]!]));
    level = next;
    levels.push(level);
  }
  return {
    root: level[0]!,
    depth,
    size,
    path(index: number): Hex[] {
      checkIndex(index, size);
      const siblings: Hex[] = [];
      for (let d = 0; d < depth; d++) siblings.push(levels[d]![(index >> d) ^ 1]!);
      return siblings;
    },
  };
}

/** The root that `leaf` at `index` and its `path` lead to, as the contract computes it. */
export function batchRootFromPath(leaf: Hex, index: number, path: readonly Hex[]): Hex {
  let node = leaf;
  for (let k = 0; k < path.length; k++) {
    node = (index >> k) & 1 ? keccak256(concat([path[k]!, node])) : keccak256(concat([node, path[k]!]));
  }
  return node;
}

/** Whether the contract accepts `leaf` at `index` of a batch of `size` claims under `root` with `path`. */
export function verifyBatchPath(root: Hex, size: number, index: number, leaf: Hex, path: readonly Hex[]): boolean {
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) return false;
  if (path.length !== batchDepth(size)) return false;
  return batchRootFromPath(leaf, index, path).toLowerCase() === root.toLowerCase();
}

/** batchId = keccak256(abi.encode(batch)). */
export function batchId(batch: BatchStruct): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        {
          type: "tuple",
          components: [
            { name: "modelId", type: "bytes32" },
            { name: "provider", type: "address" },
            { name: "root", type: "bytes32" },
            { name: "size", type: "uint32" },
            { name: "bond", type: "uint256" },
            { name: "auditRateBps", type: "uint16" },
            { name: "auditFee", type: "uint128" },
          ],
        },
      ],
      [batch],
    ),
  );
}

/**
 * The audit draw of a batch from its seed, the hash of the block after the one that included the batch:
 * r = keccak256(abi.encode(seed, batchId)); selected iff r % 10000 < auditRateBps; index = (r >> 128) % size.
 */
export function drawBatchAudit(seed: Hex, id: Hex, auditRateBps: number, size: number): { selected: boolean; index: number } {
  const r = BigInt(keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [seed, id])));
  if (r % 10_000n >= BigInt(auditRateBps)) return { selected: false, index: 0 };
  return { selected: true, index: Number((r >> 128n) % BigInt(size)) };
}

/** Solidity `BatchStatus` (contracts/types/Batch.sol). */
export const BatchStatus = { None: 0, Submitted: 1, Finalized: 2, Slashed: 3 } as const;
export const batchStatusName = (s: number): string => (["None", "Submitted", "Finalized", "Slashed"] as const)[s] ?? `Unknown(${s})`;

/** Solidity `AuditStatus`: Undrawn -> Clear (not selected) | Selected (a position must be proven) -> Answered. */
export const AuditStatus = { Undrawn: 0, Clear: 1, Selected: 2, Answered: 3 } as const;
export const auditStatusName = (s: number): string => (["Undrawn", "Clear", "Selected", "Answered"] as const)[s] ?? `Unknown(${s})`;

/** Solidity `LeafStatus`: the dispute state of one position (Released: the challenger's bond went back). */
export const LeafStatus = { None: 0, Challenged: 1, Proven: 2, Released: 3 } as const;
export const leafStatusName = (s: number): string => (["None", "Challenged", "Proven", "Released"] as const)[s] ?? `Unknown(${s})`;

/** Solidity `SlashReason` (the `reason` of `BatchSlashed`). */
export const SlashReason = { Unproven: 0, CounterProven: 1, AuditUnanswered: 2, AuditMissed: 3 } as const;
export const slashReasonName = (s: number): string =>
  (["Unproven", "CounterProven", "AuditUnanswered", "AuditMissed"] as const)[s] ?? `Unknown(${s})`;

/**
 * Blocks whose hash the chain keeps (`blockhash`): a batch's audit nobody drew while its seed block (the one after the
 * batch's) was among them is missed.
 */
export const AUDIT_SEED_BLOCKS = 256n;

/**
 * Whether a batch's undrawn audit is missed once block `head` exists: its seed is the hash of block
 * submittedBlock + 1, which the next block (head + 1) can read only while it is among the last 256.
 */
export function auditSeedGone(submittedBlock: bigint, head: bigint): boolean {
  return head + 1n > submittedBlock + 1n + AUDIT_SEED_BLOCKS;
}
