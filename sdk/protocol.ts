// The protocol as the daemons and dApps see it: claim fields and status, decoding of ClaimSubmitted logs,
// a snarkjs proof in the uint256[8] order the contract takes, registry entries and setup kinds, request
// parameters, and the commit-reveal hashes (answers to requests, counter-proofs) computed as the contract does.
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
export function toSolidityProof(proof: SnarkjsProof): SolidityProof {
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

/** Chain id of the local development chain (Hardhat's): the only chain where unsafe-dev models are served by default. */
export const DEV_CHAIN_ID = 31337;

/** Solidity `SetupKind`: how a model's Groth16 key was made, as its registrant declares it. */
export const SetupKind = { UnsafeDev: 0, SingleContributor: 1, Ceremony: 2 } as const;
export type SetupKind = (typeof SetupKind)[keyof typeof SetupKind];

/** The setup kinds by their name in a package manifest (`setup.kind`), in enum order. */
export const SETUP_KIND_NAMES = ["unsafe-dev", "single-contributor", "ceremony"] as const;
export type SetupKindName = (typeof SETUP_KIND_NAMES)[number];

/** "unsafe-dev" | "single-contributor" | "ceremony" for an on-chain SetupKind value. */
export function setupKindName(kind: number): SetupKindName {
  const name = SETUP_KIND_NAMES[kind];
  if (name === undefined) throw new RangeError(`unknown setup kind ${kind} (known: 0..${SETUP_KIND_NAMES.length - 1})`);
  return name;
}

/** The on-chain SetupKind of a manifest's `setup.kind` name; throws naming the known ones. */
export function setupKindOf(name: string): SetupKind {
  const i = (SETUP_KIND_NAMES as readonly string[]).indexOf(name);
  if (i < 0) throw new RangeError(`unknown setup kind "${name}" (known: ${SETUP_KIND_NAMES.join(", ")})`);
  return i as SetupKind;
}

/** What each setup kind means for the soundness of the model's proofs, in one line. */
export const SETUP_KIND_MEANING: Record<SetupKindName, string> = {
  "unsafe-dev": "development setup: its toxic waste is public, so anyone can forge proofs",
  "single-contributor": "one secret phase-2 contribution: sound if that contributor was honest",
  ceremony: "multi-party phase 2: sound if any one contributor was honest",
};

/** sha256 of powers-of-tau files known to be insecure (their toxic waste is public or a throwaway). */
export const UNSAFE_PTAU_SHA256: Readonly<Record<string, string>> = {
  eb1cbf3b1e914fd33f2e6d46cdf7114de424870a1ae2d8b0538b26e3eac557cb: "the development powers of tau dev_pot16.ptau",
  "011f4568aa75317ba4a844982f6c87c09f5e0f5cf711f4bca3114d17adbc0297": "the test fixture INSECURE_test_pot11.ptau",
};

/** The parts of a manifest's `setup` record that bound its kind. */
export interface SetupRecordLike {
  kind?: string;
  ptau?: { sha256: string } | null;
  contributions?: readonly unknown[];
}

/**
 * The most trusted setup kind a manifest's setup record supports: its declared `kind`, lowered to what the record
 * itself shows. No record, no ptau, a known insecure ptau, no secret contribution or an unknown kind: "unsafe-dev";
 * "ceremony" needs at least two contributions. Registration and the daemons' entry check use this, so editing one
 * field of a manifest cannot make a development key pass for a ceremony.
 */
export function supportedSetupKind(setup: SetupRecordLike | null | undefined): SetupKindName {
  if (!setup?.ptau || setup.ptau.sha256 in UNSAFE_PTAU_SHA256) return "unsafe-dev";
  const contributions = setup.contributions?.length ?? 0;
  if (contributions === 0 || setup.kind === undefined || !(SETUP_KIND_NAMES as readonly string[]).includes(setup.kind)) return "unsafe-dev";
  if (setup.kind === "ceremony" && contributions >= 2) return "ceremony";
  return setup.kind === "unsafe-dev" ? "unsafe-dev" : "single-contributor";
}

/** A registry entry (Solidity `Model`) as `getModel` returns it. */
export interface ModelEntry {
  verifier: Address;
  challengeWindow: number;
  outputLength: number;
  outputBits: number;
  deprecated: boolean;
  owner: Address;
  proofWindow: number;
  inputLength: number;
  setupKind: number;
  minProviderBond: bigint;
  minChallengerBond: bigint;
  weightsCommitment: bigint;
  verifierCodeHash: Hex;
  artifactHash: Hex;
  metadataURI: string;
}

/** What a consumer asks for (Solidity `RequestParams`, the first argument of requestInference). */
export interface RequestParamsFields {
  modelId: Hex;
  inputHash: bigint;
  fee: bigint;
  /** Unix seconds before which the request must be answered. */
  expiry: bigint;
  /** Gas for IOzkConsumer.onInferenceSettled; 0 for no callback. */
  callbackGasLimit: number;
  /** The only provider allowed to answer, or the zero address for anyone. */
  provider: Address;
  /** Least bond an answering claim must lock (the model's minimum applies too); 0 for the model's minimum. */
  minBond: bigint;
}

/** The proof argument of prove/counterProve/registerModel: uint256[8] as toSolidityProof returns it. */
export type SolidityProof = readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

/** A stored or serialized `uint256[8]` proof (decimal strings, numbers or bigints) back as a SolidityProof. */
export function solidityProofOf(values: readonly (string | number | bigint)[]): SolidityProof {
  if (values.length !== 8) throw new Error(`a Groth16 proof is 8 field elements, got ${values.length}`);
  const at = (i: number): bigint => BigInt(values[i]!);
  return [at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)];
}

/**
 * What a counter-prover commits to before counterProve: keccak256(abi.encode(claimId, outputs, proof)), exactly
 * as IClaimManager.hashCounterProof computes it.
 */
export function hashCounterProof(claimId: Hex, outputs: readonly bigint[], proof: SolidityProof): Hex {
  return keccak256(
    encodeAbiParameters([{ type: "bytes32" }, { type: "int256[]" }, { type: "uint256[8]" }], [claimId, outputs, proof]),
  );
}

/**
 * What a provider commits to before answerRequest: keccak256(abi.encode(requestId, outputHash, bond, salt)),
 * exactly as IClaimManager.hashAnswer computes it. `outputHash` is keccak256(abi.encode(outputs)) (sdk outputHash).
 */
export function hashAnswer(requestId: bigint, outputHash: Hex, bond: bigint, salt: Hex): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(salt)) throw new RangeError(`salt must be 32 bytes of hex, got ${salt}`);
  return keccak256(
    encodeAbiParameters([{ type: "uint256" }, { type: "bytes32" }, { type: "uint256" }, { type: "bytes32" }], [requestId, outputHash, bond, salt]),
  );
}

/** 32 random bytes from the platform's CSPRNG: the secret salt of an answer commitment. */
export function randomSalt(): Hex {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
