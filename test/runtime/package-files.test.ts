// A model package is a stranger's files (a download, a shared models folder), tried here the way an attacker
// would: weights edited after registration (with the manifest's hashes rewritten to match), a file the manifest
// does not list, a FIFO or a path out of the package where a file should be. The entry check refuses the first
// ones, naming the field or the file; the folder scan neither hangs nor reads outside the package.
import { expect } from "chai";
import { quotientBits } from "../../circuits/compiler/nonlinear.ts";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Hex } from "viem";
import { artifactHash, loadPackage, readManifest, writeManifest } from "../../circuits/compiler/package.ts";
import { assertEntryMatches, expectedEntry, ModelFolder, type ServedModel } from "../../runtime/models.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { setupKindOf, type ModelEntry } from "../../sdk/protocol.ts";

const PKG = resolve("models/mnist-mlp");
const MODEL_ID = `0x${"ab".repeat(32)}` as Hex;

/** A copy of mnist-mlp (light files only: the entry check needs no key) in a fresh folder. */
function copyPackage(parent: string, name = "mnist-mlp"): string {
  const dir = join(parent, name);
  cpSync(PKG, dir, { recursive: true, filter: (src) => !src.includes("/build") });
  return dir;
}

/** The registry entry an honest registration of `dir` makes. */
function entryOf(dir: string): ModelEntry {
  const e = expectedEntry(loadPackage(dir));
  return {
    verifier: `0x${"11".repeat(20)}`, challengeWindow: 600, outputLength: e.outputLength, outputBits: e.outputBits, deprecated: false,
    owner: `0x${"22".repeat(20)}`, proofWindow: 1800, inputLength: 784, setupKind: setupKindOf(e.setupKind), minProviderBond: 1n, minChallengerBond: 1n,
    weightsCommitment: e.weightsCommitment, verifierCodeHash: e.verifierCodeHash, artifactHash: e.artifactHash, metadataURI: "",
  };
}

/** Raises the last layer's bias of class 3 so that class 3 always wins: a forged model that still loads. */
/** A forger's edit of one bias, with the accumulator bound and quotient width it implies updated to match (the file
 *  stays self-consistent, so only the hashes can tell). */
function editBias(dir: string): void {
  const quant = JSON.parse(readFileSync(join(dir, "quant.json"), "utf8")) as { ops: Array<{ bias: string[]; accBound: string[]; qBits: number[]; multiplier: string[]; shift: number[] }> };
  const last = quant.ops.at(-1)!;
  const abs = (v: bigint): bigint => (v < 0n ? -v : v);
  const old = BigInt(last.bias[3]!);
  const bias = old + 5n; // small: it still fits commitBits
  last.bias[3] = String(bias);
  const acc = BigInt(last.accBound[3]!) - abs(old) + abs(bias);
  last.accBound[3] = String(acc);
  last.qBits[3] = quotientBits(acc, BigInt(last.multiplier[3]!), last.shift[3]!);
  writeFileSync(join(dir, "quant.json"), JSON.stringify(quant, null, 2));
}

const served = (dir: string): ServedModel => ({ modelId: MODEL_ID, name: "mnist-mlp", pkg: loadPackage(dir) });

describe("model packages from strangers", () => {
  let work: string;
  beforeEach(() => (work = mkdtempSync(join(tmpdir(), "ozk-pkg-files-"))));
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it("the registered package passes the entry check", () => {
    const dir = copyPackage(work);
    expect(() => assertEntryMatches(served(dir), entryOf(dir))).to.not.throw();
  });

  it("weights edited after registration, the manifest's hashes rewritten to match: refused, naming artifactHash", () => {
    const dir = copyPackage(work);
    const entry = entryOf(dir); // registered before the edit
    editBias(dir);
    writeManifest(dir, readManifest(dir)); // every sha256 in the manifest now matches the edited files
    expect(artifactHash(dir)).to.not.equal(entry.artifactHash);
    expect(() => assertEntryMatches(served(dir), entry)).to.throw(/artifactHash: package 0x[0-9a-f]{64}, on chain 0x[0-9a-f]{64}/);
  });

  it("weights edited without touching the manifest: refused, naming the file", () => {
    const dir = copyPackage(work);
    const entry = entryOf(dir);
    editBias(dir);
    expect(() => assertEntryMatches(served(dir), entry)).to.throw(/quant\.json of .* does not match the sha256 its manifest records/);
  });

  it("a manifest naming a file outside the package, or a FIFO for a file: refused at once, nothing read", () => {
    const escape = copyPackage(work, "escape");
    const m = JSON.parse(readFileSync(join(escape, "manifest.json"), "utf8")) as { artifacts: Record<string, string> };
    m.artifacts.quant = "../../../../../../../../../dev/zero";
    writeFileSync(join(escape, "manifest.json"), JSON.stringify(m));
    expect(() => loadPackage(escape)).to.throw(/names a file outside its package/);
    const fifo = join(work, "fifo");
    mkdirSync(fifo);
    execFileSync("mkfifo", [join(fifo, "manifest.json")]);
    expect(() => loadPackage(fifo)).to.throw(/is not a regular file/);
  });

  it("a models folder holding a FIFO manifest and an escaping path: the scan returns, logs each reason once, serves nothing", async () => {
    const folder = join(work, "served");
    mkdirSync(folder);
    mkdirSync(join(folder, "zz-fifo"));
    execFileSync("mkfifo", [join(folder, "zz-fifo", "manifest.json")]);
    const escape = copyPackage(folder, "escape");
    const m = JSON.parse(readFileSync(join(escape, "manifest.json"), "utf8")) as { artifacts: Record<string, string> };
    m.artifacts.quant = "../../../../../../../../../dev/zero";
    writeFileSync(join(escape, "manifest.json"), JSON.stringify(m));
    const deployment = join(work, "deployment.json");
    writeFileSync(deployment, JSON.stringify({ network: "t", chainId: 31337, addresses: { registry: `0x${"00".repeat(20)}`, claims: `0x${"00".repeat(20)}` }, deployBlock: 0, models: { "mnist-mlp": MODEL_ID } }));
    const spy = createSpyLogger();
    const models = new Map<Hex, ServedModel>();
    const folderOf = new ModelFolder(folder, { rescanMs: 1, deployment, logger: spy.logger, check: async () => {} });
    expect(await folderOf.scan(models)).to.deep.equal([]);
    expect(await folderOf.scan(models)).to.deep.equal([]);
    expect(models.size).to.equal(0);
    const reasons = spy.entries.filter((e) => /not served yet/.test(String(e.msg))).map((e) => String(e.msg));
    expect(reasons.some((r) => r.includes("is not a regular file"))).to.equal(true);
    expect(reasons.some((r) => r.includes("names a file outside its package"))).to.equal(true);
    expect(reasons.length, "each reason logged once").to.equal(2);
  });
});
