// The Solidity compiler settings of the repository, in one place: hardhat.config.ts compiles the contracts with
// them, and the package build (prover/setup/verifier.ts) compiles a package's Verifier.sol with them to
// record the verifier's code hash in manifest.json. One module, so the two cannot drift apart.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** solc version; the npm package `solc` of exactly this version provides soljson.js. */
export const SOLC_VERSION = "0.8.30";

/**
 * The soljson.js compiler build (offline: no download). Resolved when asked: solc is a development dependency, so
 * an installed ozk package (whose commands mostly need no compiler) may lack it.
 */
export function soljsonPath(): string {
  try {
    return require.resolve("solc/soljson.js");
  } catch {
    throw new Error(`compiling Solidity needs the npm package solc ${SOLC_VERSION}: npm install solc@${SOLC_VERSION}`);
  }
}

/** Standard-JSON `settings` (without outputSelection, which each caller chooses). */
export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 10_000 },
  viaIR: false,
  evmVersion: "cancun",
  metadata: { bytecodeHash: "none" },
} as const;
