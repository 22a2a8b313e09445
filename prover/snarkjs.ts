// snarkjs for the prover (typed by types/snarkjs.d.ts), and the one-time build of its shared curve.
import * as snarkjsModule from "snarkjs";

export type { Groth16Proof, PublicSignals, VerificationKey } from "snarkjs";

export const snarkjs = snarkjsModule;

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
