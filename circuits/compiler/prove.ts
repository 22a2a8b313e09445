// Proving a model package from a float (or quantized) input: witness by the direct-route emitter, Groth16 by snarkjs.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import type { Groth16Proof } from "snarkjs";
import { quantizeInput, runQuantized } from "./engine.ts";
import { synthesize } from "./emit.ts";
import { circomInput } from "./circom.ts";
import { parseQuant, type QuantizedModel } from "./quantize.ts";
import { encodeWtns } from "./r1cs.ts";
import { readManifest, type ModelManifest } from "./build.ts";

export interface ModelProof {
  proof: Groth16Proof;
  /** Decimal strings, [packedOutputs..., inputHash, weightsCommitment] (sdk publicSignals). */
  publicSignals: string[];
  /** The model's integer outputs (what a claim's outputHash commits to). */
  outputs: bigint[];
}

export interface LoadedPackage {
  dir: string;
  manifest: ModelManifest;
  quant: QuantizedModel;
}

export function loadPackage(pkgDir: string): LoadedPackage {
  const manifest = readManifest(pkgDir);
  return { dir: pkgDir, manifest, quant: parseQuant(readFileSync(join(pkgDir, manifest.artifacts.quant ?? "quant.json"), "utf8")) };
}

/** The .wtns bytes and outputs for an input (float values, or already-quantized integers). */
export function witnessFor(pkg: LoadedPackage, input: Float32Array | readonly bigint[]): { wtns: Uint8Array; outputs: bigint[]; publicSignals: bigint[] } {
  const xq = typeof input[0] === "bigint" ? [...(input as readonly bigint[])] : quantizeInput(pkg.quant, input as Float32Array);
  const s = synthesize(pkg.quant, { input: xq, visibility: pkg.manifest.visibility });
  // The engine is what providers and challengers run: refuse to prove if the circuit disagrees with it.
  const engine = runQuantized(pkg.quant, xq).outputs;
  if (engine.join() !== s.outputs!.join()) throw new Error(`${pkg.manifest.name}: circuit witness and reference engine disagree`);
  return { wtns: encodeWtns(s.witness!), outputs: s.outputs!, publicSignals: s.publicSignals! };
}

/** Prove `input` on the package in pkgDir (needs circuit.zkey). The caller ends snarkjs's workers when done:
 *  `await globalThis.curve_bn128?.terminate()`. */
export async function proveModel(pkgDir: string, input: Float32Array | readonly bigint[]): Promise<ModelProof> {
  const pkg = loadPackage(pkgDir);
  const zkey = join(pkgDir, pkg.manifest.artifacts.zkey ?? "circuit.zkey");
  if (!existsSync(zkey)) throw new Error(`${pkgDir}: no ${zkey}; run ozk model build with a powers-of-tau file`);
  const { wtns: direct, outputs, publicSignals } = witnessFor(pkg, input);
  let wtns = direct;
  if (pkg.manifest.route === "circom") {
    // circom packages prove with their own wasm witness generator; its public signals must match the direct route's
    const xq = typeof input[0] === "bigint" ? [...(input as readonly bigint[])] : quantizeInput(pkg.quant, input as Float32Array);
    const mem: { type: "mem"; data?: Uint8Array } = { type: "mem" };
    await snarkjs.wtns.calculate(circomInput(pkg.quant, xq, pkg.manifest.visibility), join(pkgDir, pkg.manifest.artifacts.wasm ?? "circuit.wasm"), mem);
    wtns = mem.data!;
  }
  const { proof, publicSignals: pub } = await snarkjs.groth16.prove(zkey, { type: "mem", data: wtns });
  if (pub.join() !== publicSignals.map(String).join()) throw new Error(`${pkg.manifest.name}: snarkjs public signals differ from the circuit's`);
  return { proof, publicSignals: pub, outputs };
}

/** Verify with the package's vkey.json. */
export async function verifyModelProof(pkgDir: string, proof: Groth16Proof, publicSignals: string[]): Promise<boolean> {
  const vkey = JSON.parse(readFileSync(join(pkgDir, "vkey.json"), "utf8")) as Record<string, unknown>;
  return snarkjs.groth16.verify(vkey, publicSignals, proof);
}
