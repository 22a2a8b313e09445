// The snarkjs backend (pure JS + wasm, always available): Groth16 prove from a .zkey and a .wtns, then verify
// the proof against the zkey's verification key before returning it.
import { ensureCurve, snarkjs } from "../snarkjs.ts";
import type { ProofResult, ProverBackend } from "../types.ts";
import { verificationKeyOf } from "../verify.ts";
import { ProofError } from "../errors.ts";

export function createSnarkjsBackend(): ProverBackend {
  return {
    name: "snarkjs",
    available: async () => true,
    async prove(zkeyPath: string, wtnsPath: string): Promise<ProofResult> {
      await ensureCurve();
      const { proof, publicSignals } = await snarkjs.groth16.prove(zkeyPath, wtnsPath);
      const vkey = await verificationKeyOf(zkeyPath);
      if (!(await snarkjs.groth16.verify(vkey, publicSignals, proof))) {
        throw new ProofError("snarkjs produced a proof that does not verify", { meta: { zkeyPath, wtnsPath } });
      }
      return { proof, publicSignals };
    },
    async close() {
      await terminateSnarkjs();
    },
  };
}

/** Stops snarkjs's worker threads (they keep node alive otherwise). Safe to call more than once. */
export async function terminateSnarkjs(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  const curve = g.curve_bn128;
  if (curve) {
    g.curve_bn128 = undefined;
    await curve.terminate();
  }
}
