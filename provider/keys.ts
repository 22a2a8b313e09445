// Store keys the provider's modules share (step, recover, proving), in one place so they cannot drift apart.
import { keccak256, toHex, type Hex } from "viem";

/** Store key of a claim's input: per model and inputHash (inputHash alone does not fix the input's length). */
export function inputKey(modelId: Hex, inputHash: string | bigint): string {
  return `input/${modelId.toLowerCase()}/${BigInt(inputHash)}`;
}

/** Job id of a client's input (POST /infer): idempotent per (model, inputHash, tag). */
export function clientJobId(modelId: Hex, inputHash: string | bigint, tag = ""): string {
  return `job-${keccak256(toHex(`${modelId}:${BigInt(inputHash)}:${tag}`)).slice(2, 18)}`;
}

/** Store key of one of this provider's batches: by its root. */
export const batchKey = (root: Hex | string): string => `batch/${root.toLowerCase()}`;

/** Store key mapping an on-chain batch id to its root. */
export const idKey = (batchId: Hex | string): string => `batchid/${batchId.toLowerCase()}`;

/** Store key marking (model, input) as leaf `index` of the batch `root` (requests answered from own batches). */
export const batchLeafKey = (modelId: Hex, inputHash: string | bigint, root?: Hex | string): string =>
  `batchleaf/${modelId.toLowerCase()}/${BigInt(inputHash)}/${root ? root.toLowerCase() : ""}`;
