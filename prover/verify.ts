// Verification keys and the check every proof passes before the service hands it out.
import { readFile, stat } from "node:fs/promises";
import { ensureCurve, snarkjs } from "./snarkjs.ts";
import type { VerificationKey } from "./snarkjs.ts";
import type { ProofResult } from "./types.ts";
import { ProofError } from "./errors.ts";

const cache = new Map<string, { key: string; vkey: Promise<VerificationKey> }>();

/** The verification key inside a .zkey, cached per file (path, size, mtime). */
export async function verificationKeyOf(zkeyPath: string): Promise<VerificationKey> {
  const s = await stat(zkeyPath);
  const key = `${s.size}:${s.mtimeMs}`;
  const hit = cache.get(zkeyPath);
  if (hit && hit.key === key) return hit.vkey;
  const vkey = ensureCurve().then(() => snarkjs.zKey.exportVerificationKey(zkeyPath));
  cache.set(zkeyPath, { key, vkey });
  vkey.catch(() => cache.delete(zkeyPath));
  return vkey;
}

export async function readVerificationKey(path: string): Promise<VerificationKey> {
  return JSON.parse(await readFile(path, "utf8")) as VerificationKey;
}

/** Throws ProofError unless `result` verifies under `vkey`. */
export async function assertProofValid(result: ProofResult, vkey: VerificationKey, what = "proof"): Promise<void> {
  await ensureCurve();
  const ok = await snarkjs.groth16.verify(vkey, result.publicSignals, result.proof);
  if (!ok) throw new ProofError(`${what} does not verify against the verification key`);
}
