// `ozk model verify-setup`: checks a package's proving key and everything derived from it, as CI does for keys
// that are rebuilt (and so differ byte for byte at every build): the key against circuit.r1cs and the powers of
// tau, the manifest's setup record against the key's contribution chain, vkey.json and Verifier.sol against the
// key, and the recorded verifier code hash against a fresh compile.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { readManifest, sha256File } from "../../circuits/compiler/package.ts";
import { describePtau, readContributions, releaseCurve, verifyKey } from "./phase2.ts";
import { verifierCodeHash } from "./verifier.ts";
import { UNSAFE_PTAU_SHA256, supportedSetupKind } from "../../sdk/protocol.ts";


/** The problems found (empty: the package's setup checks out). `ptau` is needed unless the setup is the native dev one. */
export async function verifyPackageSetup(pkgDir: string, ptau: string | undefined, log: (line: string) => void = () => {}): Promise<string[]> {
  const m = readManifest(pkgDir);
  const problems: string[] = [];
  const zkey = join(pkgDir, m.artifacts.zkey ?? "circuit.zkey");
  if (!m.setup) return [`${pkgDir}: the manifest records no setup (built with --skip-setup, or by a version before setup records)`];
  if (!existsSync(zkey)) return [`${pkgDir}: no proving key ${zkey}`];
  log(`setup kind: ${m.setup.kind}`);
  for (const [file, hash] of Object.entries(m.sha256)) {
    if (existsSync(join(pkgDir, file)) && sha256File(join(pkgDir, file)) !== hash) problems.push(`${file}: sha256 differs from the manifest's`);
  }
  // The record must be the key's chain: secret contributions in order, then the beacon if any.
  const chain = await readContributions(zkey);
  const secret = chain.filter((c) => !c.beacon).map(({ name, hash }) => ({ name, hash }));
  const beacon = chain.find((c) => c.beacon)?.beacon ?? null;
  for (const c of chain) log(c.beacon ? `beacon ${c.beacon.hash} (2^${c.beacon.iterationsExp}): ${c.hash}` : `contribution "${c.name}": ${c.hash}`);
  if (JSON.stringify(secret) !== JSON.stringify(m.setup.contributions)) problems.push("the manifest's contributions are not the key's");
  if (JSON.stringify(beacon) !== JSON.stringify(m.setup.beacon)) problems.push("the manifest's beacon is not the key's");
  if (m.setup.kind !== "unsafe-dev" && secret.length === 0) problems.push("the key has no secret contribution (forgeable) but is not recorded as unsafe-dev");
  if (m.setup.kind === "ceremony" && secret.length < 2) problems.push(`a ceremony needs at least 2 contributions, the key has ${secret.length}`);
  const supported = supportedSetupKind(m.setup);
  if (m.setup.kind !== supported) problems.push(`setup.kind is "${m.setup.kind}" but the record supports at most "${supported}" (${m.setup.ptau && m.setup.ptau.sha256 in UNSAFE_PTAU_SHA256 ? UNSAFE_PTAU_SHA256[m.setup.ptau.sha256] + " is insecure" : "see docs/setup.md for what each kind needs"})`);
  if (m.setup.ptau) {
    if (!ptau) {
      problems.push(`checking the key needs the powers of tau ${m.setup.ptau.file} (sha256 ${m.setup.ptau.sha256}): pass --ptau <file> or set OZK_PTAU`);
    } else if (describePtau(ptau).sha256 !== m.setup.ptau.sha256) {
      problems.push(`${ptau} is not the powers of tau the manifest records (${m.setup.ptau.file}, sha256 ${m.setup.ptau.sha256})`);
    } else {
      const errors: string[] = [];
      const logger = { info: () => {}, debug: () => {}, warn: (s: string) => errors.push(s), error: (s: string) => errors.push(s) };
      if (!(await verifyKey(join(pkgDir, m.artifacts.r1cs ?? "circuit.r1cs"), ptau, zkey, logger))) problems.push(`the key does not verify against circuit.r1cs and ${m.setup.ptau.file}: ${errors.join("; ")}`);
      else log("key verified against circuit.r1cs and the powers of tau");
    }
  }
  // Derived files: the verification key and the verifier must come from this key.
  const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
  await releaseCurve();
  const vkeyPath = join(pkgDir, m.artifacts.vkey ?? "vkey.json");
  if (!existsSync(vkeyPath) || readFileSync(vkeyPath, "utf8") !== JSON.stringify(vkey, null, 1) + "\n") problems.push("vkey.json is not the key's verification key");
  const solPath = join(pkgDir, m.artifacts.verifier ?? "Verifier.sol");
  if (m.verifierContract && existsSync(solPath)) {
    const sol = readFileSync(solPath, "utf8");
    const delta = vkey.vk_delta_2 as string[][];
    if (!sol.includes(delta[0]![1]!) || !sol.includes(delta[1]![0]!)) problems.push("Verifier.sol does not hold the key's delta");
    if (verifierCodeHash(sol, m.verifierContract) !== m.verifierCodeHash) problems.push("verifierCodeHash is not the hash of Verifier.sol's runtime code");
  } else if (m.verifierContract) {
    problems.push(`no ${solPath}`);
  }
  return problems;
}
