// The direct route's witness: the emitter's synthesize() on one input, checked against the reference engine.
import { quantizeInput, runQuantized } from "./engine.ts";
import { synthesize } from "./emit.ts";
import { encodeWtns } from "./r1cs.ts";
import type { LoadedPackage } from "./package.ts";

/** The .wtns bytes, outputs and public signals for an input (float values, or already-quantized integers). */
export function witnessFor(pkg: LoadedPackage, input: Float32Array | readonly bigint[]): { wtns: Uint8Array; outputs: bigint[]; publicSignals: bigint[] } {
  const xq = typeof input[0] === "bigint" ? [...(input as readonly bigint[])] : quantizeInput(pkg.quant, input as Float32Array);
  const s = synthesize(pkg.quant, { input: xq, visibility: pkg.manifest.visibility });
  // The engine is what providers and challengers run: refuse to prove if the circuit disagrees with it.
  const engine = runQuantized(pkg.quant, xq).outputs;
  if (engine.join() !== s.outputs!.join()) throw new Error(`${pkg.manifest.name}: circuit witness and reference engine disagree`);
  return { wtns: encodeWtns(s.witness!), outputs: s.outputs!, publicSignals: s.publicSignals! };
}
