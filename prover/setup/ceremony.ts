// A multi-party Groth16 phase 2 for a model package (the library behind `ozk ceremony`). The ceremony folder
// <package>/ceremony/ holds the chain of keys 0000.zkey (initial), 0001.zkey (after the first contribution), ...;
// ceremony.json names the powers of tau. The final key is sound if ONE contributor kept their secret to themselves and destroyed it.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readManifest } from "../../circuits/compiler/package.ts";
import { CONTRACTS_VERIFIERS_DIR, installKey } from "./build.ts";
import { applyBeacon, contributeSecret, defaultPtau, describePtau, initialKey, isUnsafePtau, readContributions, releaseCurve, setupRecordOf, verifyKey, type PtauInfo } from "./phase2.ts";

interface CeremonyState {
  format: "ozk-ceremony";
  ptau: PtauInfo;
  /** Marked insecure by --unsafe-dev at init (known development files are recognized by their sha256). */
  unsafeDev: boolean;
}

const ceremonyDir = (pkg: string): string => join(pkg, "ceremony");
const keyName = (i: number): string => `${String(i).padStart(4, "0")}.zkey`;

function requirePackage(pkg: string): void {
  if (!existsSync(join(pkg, "manifest.json")) || !existsSync(join(pkg, "circuit.r1cs"))) {
    throw new Error(`${pkg} is not a built model package (no manifest.json or circuit.r1cs): run ozk model build ${pkg} --skip-setup first`);
  }
}

function readState(pkg: string): CeremonyState {
  const path = join(ceremonyDir(pkg), "ceremony.json");
  if (!existsSync(path)) throw new Error(`no ceremony in ${pkg} (no ${path}): run ozk ceremony init ${pkg} --ptau <file> first`);
  return JSON.parse(readFileSync(path, "utf8")) as CeremonyState;
}

/** The keys of the chain in order; they must be numbered 0000, 0001, ... without gaps. */
function chain(pkg: string): string[] {
  const files = readdirSync(ceremonyDir(pkg)).filter((f) => /^\d{4}\.zkey$/.test(f)).sort();
  files.forEach((f, i) => {
    if (f !== keyName(i)) throw new Error(`${ceremonyDir(pkg)}: expected ${keyName(i)}, found ${f} (the chain must be numbered without gaps)`);
  });
  if (files.length === 0) throw new Error(`${ceremonyDir(pkg)} holds no 0000.zkey: run ozk ceremony init ${pkg} first`);
  return files.map((f) => join(ceremonyDir(pkg), f));
}

/** The ptau to use: --ptau, else OZK_PTAU; it must be the file the ceremony was started with. */
function ptauFor(state: CeremonyState, given: string | undefined): string {
  const path = given ?? defaultPtau();
  if (!path) throw new Error(`this step needs the powers of tau ${state.ptau.file} (sha256 ${state.ptau.sha256}): pass --ptau <file> or set OZK_PTAU`);
  const info = describePtau(path);
  if (info.sha256 !== state.ptau.sha256) {
    throw new Error(`${path} is not the ceremony's powers of tau: its sha256 is ${info.sha256}, the ceremony was started with ${state.ptau.file} (sha256 ${state.ptau.sha256})`);
  }
  return path;
}

/** Names and hashes of the contributions in `zkey`, one per line. */
async function describeChain(zkey: string): Promise<string[]> {
  return (await readContributions(zkey)).map((c, i) =>
    c.beacon ? `#${i + 1} beacon "${c.name}" (beacon ${c.beacon.hash}, 2^${c.beacon.iterationsExp} iterations): ${c.hash}` : `#${i + 1} "${c.name}": ${c.hash}`,
  );
}

/** `ozk ceremony init`: ceremony.json and the initial key 0000.zkey from circuit.r1cs and the ptau. Returns its path. */
export async function ceremonyInit(pkg: string, opts: { ptau?: string; unsafeDev?: boolean; force?: boolean }): Promise<string> {
  requirePackage(pkg);
  const dir = ceremonyDir(pkg);
  if (existsSync(join(dir, "ceremony.json")) && !opts.force) throw new Error(`${dir} already holds a ceremony (pass --force to start over and discard it)`);
  const ptau = opts.ptau ?? defaultPtau();
  if (!ptau) throw new Error("no powers of tau: pass --ptau <file> or set OZK_PTAU");
  const info = describePtau(ptau);
  const m = readManifest(pkg);
  const needed = Math.ceil(Math.log2(m.constraints + m.publicSignals.length + 1));
  if (needed > info.power) throw new Error(`${m.name} needs a powers-of-tau file of power ${needed} (${m.constraints} constraints), but ${ptau} has power ${info.power}`);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir).filter((f) => /^\d{4}\.zkey$/.test(f))) rmSync(join(dir, f));
  await initialKey(join(pkg, "circuit.r1cs"), ptau, join(dir, keyName(0)));
  await releaseCurve();
  const state: CeremonyState = { format: "ozk-ceremony", ptau: info, unsafeDev: !!opts.unsafeDev };
  writeFileSync(join(dir, "ceremony.json"), JSON.stringify(state, null, 2) + "\n");
  return join(dir, keyName(0));
}

/** `ozk ceremony contribute`: a secret contribution on the highest-numbered key; returns the new file and its hash. */
export async function ceremonyContribute(pkg: string, opts: { name: string; entropy?: Uint8Array }): Promise<{ file: string; hash: string }> {
  readState(pkg);
  // A contributor on another machine may hold only ceremony.json and the latest key: build on the highest number.
  const latest = readdirSync(ceremonyDir(pkg)).filter((f) => /^\d{4}\.zkey$/.test(f)).sort().at(-1);
  if (!latest) throw new Error(`${ceremonyDir(pkg)} holds no NNNN.zkey to contribute to`);
  const index = Number(latest.slice(0, 4));
  const chainLength = (await readContributions(join(ceremonyDir(pkg), latest))).length;
  if (chainLength !== index) throw new Error(`${join(ceremonyDir(pkg), latest)} holds ${chainLength} contributions, but its name says ${index}: is it the right file?`);
  const next = join(ceremonyDir(pkg), keyName(index + 1));
  const hash = await contributeSecret(join(ceremonyDir(pkg), latest), next, opts.name, opts.entropy);
  await releaseCurve();
  return { file: next, hash };
}

/** `ozk ceremony verify`: the whole chain (and the finalized key, if any) against circuit.r1cs and the ptau; logs
 *  every contribution's name and hash and every mismatch. True when everything checks out. */
export async function ceremonyVerify(pkg: string, opts: { ptau?: string; log?: (line: string) => void }): Promise<boolean> {
  const log = opts.log ?? ((l: string) => console.log(l));
  requirePackage(pkg);
  const state = readState(pkg);
  const ptau = ptauFor(state, opts.ptau);
  const keys = chain(pkg);
  const r1cs = join(pkg, "circuit.r1cs");
  const problems: string[] = [];
  const logger = { info: () => {}, debug: () => {}, warn: (m: string) => problems.push(m), error: (m: string) => problems.push(m) };
  // The latest key checked against r1cs + ptau covers the whole chain (each contribution's proof of knowledge and
  // its link to the one before); every earlier key must be a prefix of it, which the hash lists show.
  const last = keys.at(-1)!;
  const ok = await verifyKey(r1cs, ptau, last, logger);
  const lastChain = await readContributions(last);
  for (let i = 0; i < keys.length - 1; i++) {
    const earlier = await readContributions(keys[i]!);
    if (earlier.length !== i || earlier.some((c, j) => c.hash !== lastChain[j]?.hash)) problems.push(`${keys[i]} is not a step of the chain that ends in ${last}`);
  }
  if (lastChain.length !== keys.length - 1) problems.push(`${last} holds ${lastChain.length} contributions, expected ${keys.length - 1}`);
  // After finalize the package's key extends the chain by at most the beacon; check it and list its contributions.
  const finalKey = join(pkg, "circuit.zkey");
  const finalChain = existsSync(finalKey) ? await readContributions(finalKey) : [];
  const extendsChain = lastChain.every((c, j) => c.hash === finalChain[j]?.hash);
  const extra = finalChain.slice(lastChain.length);
  // (a circuit.zkey that is not the chain's, e.g. from an earlier `ozk model build`, means "not finalized yet")
  const finalized = extendsChain && (extra.length === 0 || (extra.length === 1 && extra[0]!.beacon !== null));
  if (finalized) {
    if (!(await verifyKey(r1cs, ptau, finalKey, logger))) problems.push(`${finalKey} does not verify against circuit.r1cs and ${state.ptau.file}`);
    for (const line of await describeChain(finalKey)) log(line);
    log(`finalized: ${finalKey}`);
  } else {
    for (const line of await describeChain(last)) log(line);
    log(`not finalized yet (next: ozk ceremony contribute, or ozk ceremony finalize ${pkg})`);
  }
  if (lastChain.filter((c) => !c.beacon).length === 0) problems.push("no secret contribution yet: the key would be forgeable");
  await releaseCurve();
  if (!ok) problems.push(`${last} does not verify against circuit.r1cs and ${state.ptau.file}`);
  for (const p of problems) log(`MISMATCH: ${p}`);
  return ok && problems.length === 0;
}

/** `ozk ceremony finalize`: verify, optional beacon, then the package's key, vkey, verifier and manifest record. */
export async function ceremonyFinalize(pkg: string, opts: { ptau?: string; beacon?: string; iterations?: number; contractsDir?: string | null; log?: (line: string) => void }): Promise<void> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const state = readState(pkg);
  if (!(await ceremonyVerify(pkg, { ptau: opts.ptau, log }))) throw new Error(`the ceremony chain in ${ceremonyDir(pkg)} does not verify: not finalizing`);
  const keys = chain(pkg);
  const secret = (await readContributions(keys.at(-1)!)).length;
  if (secret < 2) log(`warning: only ${secret} contribution: the setup is recorded as single-contributor, not ceremony`);
  const zkey = join(pkg, "circuit.zkey");
  if (opts.beacon) await applyBeacon(keys.at(-1)!, zkey, opts.beacon, opts.iterations ?? 10);
  else copyFileSync(keys.at(-1)!, zkey);
  await releaseCurve();
  const setup = await setupRecordOf(zkey, state.ptau, { unsafeDev: state.unsafeDev, ceremony: true });
  if (isUnsafePtau(state.ptau, state.unsafeDev)) log(`warning: ${state.ptau.file} is an insecure powers of tau: the setup is recorded as unsafe-dev`);
  const manifest = readManifest(pkg);
  await installKey(pkg, manifest, setup, { contractsDir: opts.contractsDir === undefined ? CONTRACTS_VERIFIERS_DIR : opts.contractsDir, log });
}

