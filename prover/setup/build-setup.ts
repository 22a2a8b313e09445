// The two checks and keys `ozk model build` adds around the compiler: the powers of tau is big enough for the
// circuit (checked once the model is quantized, before its constraints are emitted), and `--setup unsafe-dev`: the
// key from the native UNSAFE development setup, installed with its vkey.json, Verifier.sol and manifest like any key.
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { sha256File, type CompiledCircuit } from "../../circuits/compiler/build.ts";
import { publicCount } from "../../circuits/compiler/emit.ts";
import type { QuantizedModel } from "../../circuits/compiler/quantize.ts";
import { ptauPowerNeeded, ptauTooSmall } from "../../circuits/compiler/size.ts";
import { installKey } from "./build.ts";
import { unsafeDevSetup } from "./devsetup.ts";
import { UNSAFE_DEV_SETUP } from "./phase2.ts";

/** The compiler's size check: stops the build (nothing emitted yet) when the circuit needs a larger powers of tau. */
export function sizeCheck(name: string, ptau: { file: string; power: number }, log: (line: string) => void): (q: QuantizedModel, nConstraints: number) => void {
  return (q, nConstraints) => {
    const needed = ptauPowerNeeded(nConstraints, publicCount(q));
    if (needed > ptau.power) throw new Error(ptauTooSmall(name, nConstraints, needed, ptau.file, ptau.power));
    log(`size: ${nConstraints} constraints, powers of tau of power ${needed} needed, ${basename(ptau.file)} has ${ptau.power}: ok`);
  };
}

/** What a dev-setup key is made from: the circuit (the seed is the native binary's fixed default). */
const devKeyInputs = (r1cs: string): string => createHash("sha256").update(JSON.stringify({ r1cs: sha256File(r1cs), setup: "native unsafe dev setup, default seed" })).digest("hex");

/** `--setup unsafe-dev`: circuit.zkey from the native dev setup, then vkey.json, Verifier.sol and the manifest (setup kind unsafe-dev). */
export async function unsafeDevKey(c: CompiledCircuit, log: (line: string) => void): Promise<void> {
  const r1cs = join(c.out, "circuit.r1cs");
  const zkey = join(c.out, "circuit.zkey");
  log("!!! UNSAFE DEV SETUP: the toxic waste is derived from a public seed; anyone can forge proofs for this key: for development on the local chain only !!!");
  const key = devKeyInputs(r1cs);
  if (c.cache.fresh("zkey", "circuit.zkey", key)) {
    log("zkey: cached (UNSAFE dev setup)");
  } else {
    await c.step(`UNSAFE dev setup (native, no powers of tau; ${c.manifest.constraints} constraints)`, () => unsafeDevSetup(r1cs, zkey, { quiet: true, record: false }));
    c.cache.record("zkey", "circuit.zkey", key);
  }
  // never into the repository's contracts/verifiers: a forgeable key is registered from the package's own Verifier.sol
  await installKey(c.out, c.manifest, UNSAFE_DEV_SETUP, { contractsDir: null, log });
  log(`setup: UNSAFE dev setup (setup kind unsafe-dev): registrable on the local development chain only; anyone can forge this key's proofs`);
}
