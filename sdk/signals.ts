// Claim encoding shared by contracts, prover and daemons: outputHash and the Groth16 public signal layout.
import { encodeAbiParameters, keccak256, type Hex } from "viem";
import { packSigned } from "./hash.ts";

/** keccak256(abi.encode(int256[] outputs)): what a claim stores on chain. */
export function outputHash(outputs: readonly bigint[]): Hex {
  return keccak256(encodeAbiParameters([{ type: "int256[]" }], [outputs as bigint[]]));
}

/**
 * Public signals of a model proof, in order: [packedOutputs..., inputHash, weightsCommitment].
 * Outputs are packed with packSigned(outputs, outputBits), exactly as the contract derives them on chain.
 */
export function publicSignals(
  outputs: readonly bigint[],
  outputBits: number,
  inputHash: bigint,
  weightsCommitment: bigint,
): bigint[] {
  return [...packSigned(outputs, outputBits), inputHash, weightsCommitment];
}
