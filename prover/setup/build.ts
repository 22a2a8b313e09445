// `ozk model build`: the compiled circuit (circuits/compiler/build.ts) plus its Groth16 key, giving a provable
// package (circuit.zkey, vkey.json, Verifier.sol and a manifest with the setup record). The key gets one secret
// phase-2 contribution (phase2.ts); `ozk ceremony` replaces it with a multi-party one.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { BuildCache, compileCircuit, HEARTBEAT_MS, logBuilt, REPO_ROOT, sha256File, verifierName, type CompileOptions } from "../../circuits/compiler/build.ts";
import { publicCount } from "../../circuits/compiler/emit.ts";
import { ptauPowerNeeded, ptauTooSmall } from "../../circuits/compiler/size.ts";
import type { FloatModel } from "../../circuits/ir/ir.ts";
import { readManifest, writeManifest, type ModelManifest, type SetupRecord } from "../../circuits/compiler/package.ts";
import { applyBeacon, contributeSecret, defaultPtau, describePtau, initialKey, isUnsafePtau, ptauPower, releaseCurve, setupRecordOf, UNSAFE_PTAU_SHA256 } from "./phase2.ts";
import { exportVerifier, verifierCodeHash } from "./verifier.ts";

/** Where a package's named Solidity verifier is also written by default. */
export const CONTRACTS_VERIFIERS_DIR = join(REPO_ROOT, "contracts", "verifiers");

export interface BuildOptions extends CompileOptions {
  /** Powers of tau (default: the file OZK_PTAU names). */
  ptau?: string;
  /** Mark the powers of tau as insecure (a development file): the manifest records the key as unsafe-dev. */
  unsafeDev?: boolean;
  /** A public beacon applied after the secret contribution (optional; it adds no secrecy). */
  beacon?: { hash: string; iterationsExp: number };
  /** Where the named Solidity verifier is also written (default contracts/verifiers; null: nowhere else). */
  contractsDir?: string | null;
}

const sha256Of = (value: unknown): string => createHash("sha256").update(JSON.stringify(value)).digest("hex");

/** The name `ozk model build` gives its secret phase-2 contribution. */
export const SINGLE_CONTRIBUTION_NAME = "ozk model build (single contributor)";

/** Build (or refresh) the provable package of `source`: an .onnx file, a folder with model.onnx, or a FloatModel. */
export async function buildPackage(source: string | FloatModel, opts: BuildOptions = {}): Promise<ModelManifest> {
  const compiled = await compileCircuit(source, opts);
  const { out, manifest, cache, log, step } = compiled;
  const r1csPath = join(out, "circuit.r1cs");

  // Groth16 setup: phase 2 from the powers of tau, with a secret contribution (see phase2.ts for why)
  const ptau = opts.ptau ?? defaultPtau();
  if (!ptau || !existsSync(ptau)) {
    throw new Error(`no powers-of-tau file${ptau ? ` at ${ptau}` : ""}: pass --ptau <file> or set OZK_PTAU (docs/setup.md says where to get one)`);
  }
  const power = ptauPower(ptau);
  const needed = ptauPowerNeeded(manifest.constraints, publicCount(compiled.quant));
  if (needed > power) throw new Error(ptauTooSmall(manifest.name, manifest.constraints, needed, ptau, power));
  const ptauCacheKey = `ptau:${resolve(ptau)}:${statSync(ptau).mtimeMs}`;
  const ptauInfo = describePtau(ptau, cache.get(ptauCacheKey));
  cache.set(ptauCacheKey, ptauInfo.sha256);
  if (isUnsafePtau(ptauInfo, opts.unsafeDev)) {
    log(`warning: ${ptauInfo.file} is ${ptauInfo.sha256 in UNSAFE_PTAU_SHA256 ? `known insecure (${UNSAFE_PTAU_SHA256[ptauInfo.sha256]})` : "marked insecure (--unsafe-dev)"}: the key is recorded as unsafe-dev`);
  }
  // "phase2": keys of earlier versions (closed by a public beacon only, hence forgeable) are never reused.
  const zkeyKey = sha256Of({ r1cs: sha256File(r1csPath), ptauSha: ptauInfo.sha256, phase2: "secret contribution", beacon: opts.beacon ?? null });
  const zkeyPath = join(out, "circuit.zkey");
  // A key finalized by `ozk ceremony` for this very circuit and ptau is kept: rebuilding must not replace it.
  const prior = existsSync(join(out, "manifest.json")) ? readManifest(out) : null;
  const ceremonyKey =
    existsSync(join(out, "ceremony", "ceremony.json")) &&
    !!prior?.setup?.contributions.length &&
    prior.setup.ptau?.sha256 === ptauInfo.sha256 &&
    prior.sha256["circuit.r1cs"] === sha256File(r1csPath) &&
    existsSync(zkeyPath) &&
    prior.sha256["circuit.zkey"] === sha256File(zkeyPath);
  if (ceremonyKey) {
    log("zkey: kept (finalized by ozk ceremony)");
  } else if (cache.fresh("zkey", "circuit.zkey", zkeyKey)) {
    log("zkey: cached");
  } else {
    await step(`Groth16 setup (${manifest.constraints} constraints, ptau power ${power}, one secret contribution)`, async () => {
      const init = join(out, "build", "circuit_0000.zkey");
      const contributed = join(out, "build", "circuit_0001.zkey");
      const logger = { info: (m: string) => /section|Writing|Reading/i.test(m) || log(`  ${m}`), debug: () => {}, warn: (m: string) => log(`  warning: ${m}`), error: (m: string) => log(`  error: ${m}`) };
      await initialKey(r1csPath, ptau, init, logger);
      const hash = await contributeSecret(init, opts.beacon ? contributed : zkeyPath, SINGLE_CONTRIBUTION_NAME);
      log(`  secret contribution hash ${hash}`);
      if (opts.beacon) await applyBeacon(contributed, zkeyPath, opts.beacon.hash, opts.beacon.iterationsExp);
      rmSync(init, { force: true });
      rmSync(contributed, { force: true });
    });
    cache.record("zkey", "circuit.zkey", zkeyKey);
  }
  const setup = await setupRecordOf(zkeyPath, ptauInfo, { unsafeDev: opts.unsafeDev, ceremony: !!ceremonyKey });

  // verification key, verifier, manifest
  cache.save();
  await installKey(out, manifest, setup, { contractsDir: opts.contractsDir === undefined ? CONTRACTS_VERIFIERS_DIR : opts.contractsDir, log });
  logBuilt(compiled);
  return manifest;
}

/**
 * Completes a package around its finished proving key (`<out>/circuit.zkey`): vkey.json, Verifier.sol and the copy
 * in `contractsDir`, then manifest.json with the setup record, the verifier's code hash, modelId and every
 * artifact's sha256. Shared by `ozk model build`, `ozk ceremony finalize` and the unsafe dev setup; fills in `manifest`.
 */
export async function installKey(out: string, manifest: ModelManifest, setup: SetupRecord, opts: { contractsDir: string | null; log?: (line: string) => void }): Promise<void> {
  const log = opts.log ?? (() => {});
  const cache = new BuildCache(out);
  const zkeyPath = join(out, "circuit.zkey");
  const name = verifierName(manifest.name);
  // (cache["circuit.zkey#sha256"] stays as the build recorded it: a key from elsewhere is not a cached build key)
  const derivedKey = sha256File(zkeyPath) + name;
  const have = (file: string): boolean => existsSync(join(out, file)) && cache.get(`${file}#sha256`) === sha256File(join(out, file));
  const contractCopy = opts.contractsDir ? join(opts.contractsDir, `${name}.sol`) : null;
  if (cache.get("vkey") !== derivedKey || cache.get("verifier") !== derivedKey || !have("vkey.json") || !have("Verifier.sol") || (contractCopy && !existsSync(contractCopy))) {
    log("export verification key and Solidity verifier ...");
    // (reading a large key takes a while: say it is still running)
    const started = Date.now();
    const beat = setInterval(() => log(`export verification key and Solidity verifier: still running, ${Math.round((Date.now() - started) / 1000)} s`), HEARTBEAT_MS);
    beat.unref();
    try {
      await exportVerifier(zkeyPath, out, name, opts.contractsDir);
    } finally {
      clearInterval(beat);
    }
    cache.set("vkey", derivedKey);
    cache.set("verifier", derivedKey);
    for (const f of ["vkey.json", "Verifier.sol"]) cache.set(`${f}#sha256`, sha256File(join(out, f)));
  }
  await releaseCurve();
  const solSha = cache.get("Verifier.sol#sha256")!;
  const codeHash = cache.get(`verifierCodeHash:${solSha}`) ?? verifierCodeHash(readFileSync(join(out, "Verifier.sol"), "utf8"), name);
  cache.set(`verifierCodeHash:${solSha}`, codeHash);
  cache.save();
  Object.assign(manifest.artifacts, { zkey: "circuit.zkey", vkey: "vkey.json", verifier: "Verifier.sol" });
  manifest.verifierContract = name;
  manifest.verifierCodeHash = codeHash;
  manifest.setup = setup;
  writeManifest(out, manifest);
}
