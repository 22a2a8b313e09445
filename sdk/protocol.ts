// The protocol as the daemons and dApps see it: claim fields and status, decoding of ClaimSubmitted logs,
// and a snarkjs proof in the uint256[8] order the contract takes.
import { encodeAbiParameters, keccak256, type Address, type Hex } from "viem";

/** The fields a claim commits to (Solidity `Claim`); keccak256(abi.encode(claim)) is its id. */
export interface ClaimFields {
  modelId: Hex;
  provider: Address;
  inputHash: bigint;
  outputHash: Hex;
  bond: bigint;
  requestId: bigint;
}

/** Solidity `ClaimStatus`. */
export const ClaimStatus = {
  None: 0,
  Submitted: 1,
  Challenged: 2,
  Proven: 3,
  Finalized: 4,
  Slashed: 5,
} as const;
export type ClaimStatus = (typeof ClaimStatus)[keyof typeof ClaimStatus];
export const claimStatusName = (s: number): string =>
  (["None", "Submitted", "Challenged", "Proven", "Finalized", "Slashed"] as const)[s] ?? `Unknown(${s})`;

/** Solidity `RequestStatus`. */
export const RequestStatus = { None: 0, Open: 1, Claimed: 2, Fulfilled: 3, Refunded: 4 } as const;

const claimTuple = {
  type: "tuple",
  components: [
    { name: "modelId", type: "bytes32" },
    { name: "provider", type: "address" },
    { name: "inputHash", type: "uint256" },
    { name: "outputHash", type: "bytes32" },
    { name: "bond", type: "uint256" },
    { name: "requestId", type: "uint256" },
  ],
} as const;

/** claimId = keccak256(abi.encode(claim)), as IClaimManager.hashClaim computes it. */
export function claimIdOf(claim: ClaimFields): Hex {
  return keccak256(encodeAbiParameters([claimTuple], [claim]));
}

/** A claim as read from its ClaimSubmitted event. */
export interface SubmittedClaim {
  claimId: Hex;
  claim: ClaimFields;
  outputs: bigint[];
  challengeDeadline: bigint;
  blockNumber: bigint;
}

/** snarkjs Groth16 proof JSON (decimal strings, projective coordinates). */
export interface SnarkjsProof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
}

/**
 * The proof as `uint256[8]` for prove/counterProve: [a0, a1, b01, b00, b11, b10, c0, c1] — what snarkjs
 * `exportSolidityCallData` prints (G2 coordinate pairs swapped for the pairing precompile).
 */
export function toSolidityProof(proof: SnarkjsProof): readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint] {
  const n = (s: string | undefined): bigint => {
    if (s === undefined) throw new Error("malformed Groth16 proof: missing coordinate");
    return BigInt(s);
  };
  const b = proof.pi_b;
  return [
    n(proof.pi_a[0]), n(proof.pi_a[1]),
    n(b[0]?.[1]), n(b[0]?.[0]), n(b[1]?.[1]), n(b[1]?.[0]),
    n(proof.pi_c[0]), n(proof.pi_c[1]),
  ];
}
