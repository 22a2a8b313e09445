// `ozk model build --setup <file.ptau | unsafe-dev>`: where the proving key comes from. The older `--ptau <file>`
// (same as --setup <file>) and `--unsafe-dev` (the --setup/--ptau file is an insecure development file) still work.
import { existsSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { REPO_ROOT } from "../circuits/compiler/build.ts";
import { nativeBinaryPath } from "../prover/backends/native.ts";
import { CONTRACTS_VERIFIERS_DIR } from "../prover/setup/build.ts";
import { userPath } from "./paths.ts";

export const SETUP_OPTION_HELP =
  "the key's setup: a powers-of-tau file (phase 1 of a ceremony; default: the file $OZK_PTAU names) of power at least the one the circuit needs (checked before the constraints are emitted), " +
  "or unsafe-dev: the native development setup (no powers of tau, any size; UNSAFE: anyone can forge its proofs, registrable on the local chain only)";

export interface SetupChoice {
  /** The powers of tau (absolute), when one was named. */
  ptau?: string;
  /** --setup unsafe-dev: the native dev setup. */
  devSetup: boolean;
}

/** The setup the build's options ask for; an error naming the conflict for --setup with --ptau. */
export function setupChoice(o: { setup?: string; ptau?: string }): SetupChoice {
  if (o.setup !== undefined && o.ptau !== undefined) throw new Error(`give the powers of tau once: --setup ${o.setup} or --ptau ${o.ptau}, not both`);
  if (o.setup === "unsafe-dev") {
    // (checked before any work: the dev setup is the build's last step)
    const bin = nativeBinaryPath();
    if (!existsSync(bin)) {
      throw new Error(`--setup unsafe-dev runs the native prover, which is not built (no ${bin}): build it once with \`npm run build:native\` in the ozk folder (needs a C++ toolchain: g++ and cmake), or set OZK_NATIVE_PROVER to an ozk-prover binary`);
    }
    return { devSetup: true };
  }
  const file = o.setup ?? o.ptau;
  return { ptau: file ? userPath(file) : undefined, devSetup: false };
}

/** Where a package's Solidity verifier is also copied: contracts/verifiers for the shipped packages under models/
 *  (Hardhat compiles those too), nowhere for a package of your own (registered from its own Verifier.sol). */
export function verifierCopyDir(pkgDir: string): string | null {
  const rel = relative(join(REPO_ROOT, "models"), pkgDir);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? null : CONTRACTS_VERIFIERS_DIR;
}
