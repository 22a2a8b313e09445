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
