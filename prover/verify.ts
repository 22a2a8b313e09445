// Verification keys and the check every proof passes before the service hands it out.
import { readFile, stat } from "node:fs/promises";
import { ensureCurve, snarkjs } from "./snarkjs.ts";
import type { VerificationKey } from "./snarkjs.ts";
import type { ProofResult } from "./types.ts";
import { ProofError } from "./errors.ts";
import type { ProvablePackage } from "../circuits/compiler/package.ts";

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

/** The verification key of a package: its vkey.json when it ships one, else the one inside its .zkey. */
export async function packageVerificationKey(pkg: ProvablePackage): Promise<VerificationKey> {
  return pkg.vkeyPath ? readVerificationKey(pkg.vkeyPath) : verificationKeyOf(pkg.zkeyPath);
}

/** Whether `result` verifies under the package's verification key. */
export async function verifyWithPackage(pkg: ProvablePackage, result: ProofResult): Promise<boolean> {
  const vkey = await packageVerificationKey(pkg);
  await ensureCurve();
  return snarkjs.groth16.verify(vkey, result.publicSignals, result.proof);
}
