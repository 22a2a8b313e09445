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
    calculate(input: Record<string, unknown>, wasm: string, wtns: string | { type: "mem"; data?: Uint8Array }): Promise<void>;
  };
  zKey: {
    exportVerificationKey(zkey: string): Promise<VerificationKey>;
  };
}

export const snarkjs = snarkjsModule as unknown as SnarkjsApi;

/**
 * Builds snarkjs's shared BN254 curve (and its worker threads) once. snarkjs builds it lazily on each call
 * until one finishes, so two proofs started together build two thread pools and one is never terminated,
 * which keeps the process alive. Call before any snarkjs call that uses the curve.
 */
let building: Promise<void> | undefined;
export async function ensureCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: unknown };
  if (g.curve_bn128) return;
  building ??= (async () => {
    // A variable specifier: ffjavascript ships no types, and the same ESM instance as snarkjs's is wanted.
    const spec = "ffjavascript";
    const ff = (await import(spec)) as { buildBn128(): Promise<unknown> };
    await ff.buildBn128();
  })().finally(() => {
    building = undefined;
  });
  await building;
}
