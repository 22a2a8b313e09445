// The initial Groth16 phase-2 key of a circuit (delta = 1, no contribution yet): `ozk-prover zkey-new`, which
// writes the same file byte for byte as snarkjs's zKey.newZKey (prover/native/include/ozk/zkey_new.hpp), or
// snarkjs itself when the native binary is not built or OZK_NATIVE_SETUP=0. The native one takes seconds where
// snarkjs takes minutes on large circuits.
import { execFile } from "node:child_process";
import { snarkjs } from "../snarkjs.ts";
import { nativeAvailable, nativeBinaryPath, NativeProverError } from "./native.ts";
import { proverErrorMessage } from "./resident.ts";

export interface NewZKeyOptions {
  /** Native worker threads (default: all cores). */
  threads?: number;
  /** Use snarkjs even when the native binary is built (default: env OZK_NATIVE_SETUP=0). */
  snarkjs?: boolean;
  /** snarkjs's logger, on the snarkjs path. */
  logger?: { info(m: string): void; debug(m: string): void; warn(m: string): void; error(m: string): void };
}

export interface NewZKeyResult {
  backend: "native" | "snarkjs";
  /** The circuit hash (blake2b-512, hex) the key records, what snarkjs prints as "Circuit hash". */
  csHash: string;
}

/** Whether the setup steps (newZKey, contributions) run natively: the binary is built and OZK_NATIVE_SETUP is not 0. */
export async function nativeSetupAvailable(): Promise<boolean> {
  if (process.env.OZK_NATIVE_SETUP === "0") return false;
  return nativeAvailable();
}

/**
 * Writes the initial phase-2 key of `r1csPath` from the prepared powers of tau `ptauPath` to `zkeyPath`: the file
 * snarkjs's zKey.newZKey writes, by the native binary when it is built, else by snarkjs. A circuit too large for
 * the powers of tau, or a powers of tau not prepared for phase 2, is an error naming both.
 */
export async function nativeNewZKey(r1csPath: string, ptauPath: string, zkeyPath: string, opts: NewZKeyOptions = {}): Promise<NewZKeyResult> {
  if (!opts.snarkjs && (await nativeSetupAvailable())) {
    const args = ["zkey-new", r1csPath, ptauPath, zkeyPath];
    if (opts.threads) args.push("--threads", String(opts.threads));
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(nativeBinaryPath(), args, { maxBuffer: 1 << 20 }, (err, out, stderr) => {
        if (err) reject(new NativeProverError(`zkey-new: ${proverErrorMessage(stderr) ?? err.message}`, { details: stderr.trim() || err.message, cause: err }));
        else resolve(out);
      });
    });
    const { csHash } = JSON.parse(stdout) as { csHash: string };
    return { backend: "native", csHash };
  }
  const quiet = { info: () => {}, debug: () => {}, warn: () => {}, error: () => {} };
  let said = "";
  const base = opts.logger ?? quiet;
  const logger = {
    info: (m: string) => base.info(m),
    debug: (m: string) => base.debug(m),
    warn: (m: string) => base.warn(m),
    error: (m: string) => {
      said = m;
      base.error(m);
    },
  };
  const r = await snarkjs.zKey.newZKey(r1csPath, ptauPath, zkeyPath, logger);
  if (!(r instanceof Uint8Array)) {
    throw new Error(`snarkjs newZKey failed for ${r1csPath} with ${ptauPath}${said ? `: ${said}` : " (is the ptau large enough and prepared for phase 2?)"}`);
  }
  return { backend: "snarkjs", csHash: Buffer.from(r).toString("hex") };
}
