// What every proving backend returns and implements: snarkjs file formats, so backends are interchangeable.
import type { Groth16Proof, PublicSignals } from "./snarkjs.ts";

export type { Groth16Proof, PublicSignals, VerificationKey } from "./snarkjs.ts";

export interface ProofResult {
  proof: Groth16Proof;
  publicSignals: PublicSignals;
}

/** A Groth16 prover over snarkjs-format files (.zkey, .wtns). */
export interface ProverBackend {
  /** Short name for logs and metrics: "snarkjs", "native", "cuda". */
  readonly name: string;
  /** Whether this backend can run here (binary built, GPU present). Cheap; may be called often. */
  available(): Promise<boolean>;
  prove(zkeyPath: string, wtnsPath: string): Promise<ProofResult>;
  /** Releases threads/handles (snarkjs keeps worker threads alive). */
  close?(): Promise<void>;
}
