// UNSAFE development trusted setup: a snarkjs-compatible Groth16 .zkey from an .r1cs, with toxic waste derived
// from a public seed (no powers of tau). Anyone can forge proofs for such a key. Benchmarks and tests only.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { MANIFEST_FILE, openPackage } from "../../circuits/compiler/package.ts";
import { nativeBinaryPath, NativeProverError } from "../backends/native.ts";
import { installKey } from "./build.ts";
import { UNSAFE_DEV_SETUP } from "./phase2.ts";

export const UNSAFE_BANNER =
  "!!! UNSAFE DEV SETUP: toxic waste is derived from a public seed; anyone can forge proofs for this key. " +
  "Never register, deploy or trust it. !!!";

export interface UnsafeDevSetupResult {
  constraints: number;
  vars: number;
  public: number;
  domainSize: number;
}

/**
 * Writes `zkeyPath` for `r1csPath` with tau, alpha, beta, gamma, delta drawn from `seed` (default fixed). Needs the
 * native build (prover/native/build.sh). The key works with snarkjs prove/verify and every ozk backend. When the
 * key is a model package's proving key (the folder's manifest.json names it), the package is updated to match:
 * vkey.json, Verifier.sol and a manifest whose setup record says unsafe-dev.
 */
export function unsafeDevSetup(
  r1csPath: string,
  zkeyPath: string,
  options: { seed?: bigint; threads?: number; quiet?: boolean; /** update the package holding the key (default true) */ record?: boolean } = {},
): Promise<UnsafeDevSetupResult> {
  if (!options.quiet) console.error(UNSAFE_BANNER);
  const args = ["devsetup-UNSAFE", r1csPath, zkeyPath];
  if (options.seed !== undefined) args.push("--seed", String(options.seed & 0xffffffffffffffffn));
  if (options.threads) args.push("--threads", String(options.threads));
  return new Promise<UnsafeDevSetupResult>((resolve, reject) => {
    execFile(nativeBinaryPath(), args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new NativeProverError("unsafe dev setup failed", { details: stderr.trim() || err.message, docsPath: "prover.md#unsafe-dev-setup", cause: err }));
        return;
      }
      resolve(JSON.parse(stdout) as UnsafeDevSetupResult);
    });
  }).then(async (result) => {
    if (options.record !== false) await recordInPackage(zkeyPath);
    return result;
  });
}

/** If `zkeyPath` is the proving key of a model package, record the unsafe dev setup in that package. */
async function recordInPackage(zkeyPath: string): Promise<void> {
  const dir = dirname(zkeyPath);
  if (!existsSync(join(dir, MANIFEST_FILE))) return;
  const { manifest } = openPackage(dir);
  if (!manifest || (manifest.artifacts.zkey ?? "circuit.zkey") !== basename(zkeyPath)) return;
  // contractsDir null: an unsafe key never replaces the repository's verifier contracts.
  await installKey(dir, manifest, UNSAFE_DEV_SETUP, { contractsDir: null });
}

// CLI: tsx prover/setup/devsetup.ts <circuit.r1cs> <out.zkey> [seed]
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [r1cs, zkey, seed] = process.argv.slice(2);
  if (!r1cs || !zkey) {
    console.error("usage: tsx prover/setup/devsetup.ts <circuit.r1cs> <out.zkey> [seed]");
    process.exit(2);
  }
  unsafeDevSetup(r1cs, zkey, { seed: seed === undefined ? undefined : BigInt(seed) })
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    });
}
