// The typed view of snarkjs 0.7 the prover uses. Cast from the module so the prover does not depend on how
// another part of the repo declares the package's (missing) types.
import * as snarkjsModule from "snarkjs";

export interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
}
export type PublicSignals = string[];
export type VerificationKey = Record<string, unknown> & { protocol?: string; curve?: string; nPublic?: number };

interface SnarkjsApi {
  groth16: {
    prove(zkey: string, wtns: string): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }>;
    verify(vkey: VerificationKey, publicSignals: PublicSignals, proof: Groth16Proof): Promise<boolean>;
  };
  wtns: {
    calculate(input: Record<string, unknown>, wasm: string, wtns: string): Promise<void>;
  };
  zKey: {
    exportVerificationKey(zkey: string): Promise<VerificationKey>;
  };
}

export const snarkjs = snarkjsModule as unknown as SnarkjsApi;
