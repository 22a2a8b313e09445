// `ozk ceremony` and `ozk model verify-setup`: the errors a user sees for bad input, the command line's exit codes,
// and the setup record's kinds. Runs on a fresh clone (the committed INSECURE 2^11 test ptau, a tiny model).
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { compileModel } from "../../circuits/compiler/build.ts";
import { readManifest } from "../../circuits/compiler/package.ts";
import { buildPackage, SINGLE_CONTRIBUTION_NAME } from "../../prover/setup/build.ts";
import { ceremonyContribute, ceremonyFinalize, ceremonyInit, ceremonyVerify } from "../../prover/setup/ceremony.ts";
import { applyBeacon, contributeSecret, releaseCurve } from "../../prover/setup/phase2.ts";
import { verifyPackageSetup } from "../../prover/setup/verify-setup.ts";
import { randomInputs, randomMlp } from "../compiler/random-models.ts";

const ROOT = join(import.meta.dirname, "../..");
const TEST_PTAU = join(ROOT, "test/fixtures/ptau/INSECURE_test_pot11.ptau");

/** `ozk <args>`: exit code and output. */
async function ozk(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)("npx", ["tsx", "cli/ozk.ts", ...args], { cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: "1", OZK_PTAU: "" } });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

const errorOf = async (p: Promise<unknown>): Promise<string> => p.then(() => "", (e: Error) => e.message);

describe("ozk ceremony: errors, exit codes, records", function () {
  this.timeout(600_000);
  let dir: string;
  let pkg: string;
  const model = randomMlp(81, [6, 4, 3]);
  model.name = "ceremony-tiny";

  before(async function () {
    if (!existsSync(TEST_PTAU)) {
      console.log(`    ${TEST_PTAU} is missing: skipping the ceremony tests`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "ozk-ceremony-"));
    pkg = join(dir, "pkg");
    await compileModel(model, { out: pkg, calibration: randomInputs(82, 8, 6), log: () => {} });
  });
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await releaseCurve();
  });

  it("names the problem: no package, no ceremony, a wrong ptau, bad names and beacons", async function () {
    expect(await errorOf(ceremonyInit(join(dir, "nope"), { ptau: TEST_PTAU }))).to.match(/is not a built model package .*run ozk model build/);
    expect(await errorOf(ceremonyContribute(pkg, { name: "x" }))).to.match(/no ceremony in .*: run ozk ceremony init/);
    expect(await errorOf(ceremonyInit(pkg, { ptau: join(dir, "missing.ptau") }))).to.match(/no powers-of-tau file at .*missing\.ptau/);
    await ceremonyInit(pkg, { ptau: TEST_PTAU });
    expect(await errorOf(ceremonyInit(pkg, { ptau: TEST_PTAU }))).to.match(/already holds a ceremony \(pass --force/);
    expect(await errorOf(ceremonyContribute(pkg, { name: "x".repeat(65) }))).to.match(/longer than 64 bytes/);
    expect(await errorOf(ceremonyContribute(pkg, { name: " " }))).to.match(/needs a name/);
    // a ptau that is not the ceremony's (a copy with one byte changed near the end)
    const other = join(dir, "other.ptau");
    const bytes = readFileSync(TEST_PTAU);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    writeFileSync(other, bytes);
    expect(await errorOf(ceremonyVerify(pkg, { ptau: other, log: () => {} }))).to.match(/is not the ceremony's powers of tau: its sha256 is [0-9a-f]{64}/);
    const k0 = join(pkg, "ceremony", "0000.zkey");
    expect(await errorOf(applyBeacon(k0, join(dir, "b.zkey"), "not-hex", 10))).to.match(/beacon must be 1 to 255 bytes of hex/);
    expect(await errorOf(applyBeacon(k0, join(dir, "b.zkey"), "abcd", 5))).to.match(/iterations exponent must be an integer in 10\.\.63/);
  });

  it("a key renamed out of order is rejected; twin: the well-numbered chain verifies", async function () {
    await ceremonyInit(pkg, { ptau: TEST_PTAU, force: true });
    await ceremonyContribute(pkg, { name: "alice" });
    const ok = await ceremonyVerify(pkg, { ptau: TEST_PTAU, log: () => {} });
    expect(ok).to.equal(true);
    // 0001.zkey renamed 0002.zkey: a gap in the chain, and a key whose contribution count does not match its number
    renameSync(join(pkg, "ceremony", "0001.zkey"), join(pkg, "ceremony", "0002.zkey"));
    expect(await errorOf(ceremonyVerify(pkg, { ptau: TEST_PTAU, log: () => {} }))).to.match(/expected 0001\.zkey, found 0002\.zkey/);
    expect(await errorOf(ceremonyContribute(pkg, { name: "bob" }))).to.match(/holds 1 contributions, but its name says 2/);
    renameSync(join(pkg, "ceremony", "0002.zkey"), join(pkg, "ceremony", "0001.zkey"));
    expect(await ceremonyVerify(pkg, { ptau: TEST_PTAU, log: () => {} })).to.equal(true);
  });

  it("ozk ceremony verify exits 0 on a good chain; twin: exits 1 on a corrupted key and says MISMATCH", async function () {
    const good = await ozk(["ceremony", "verify", pkg, "--ptau", TEST_PTAU]);
    expect(good.code, good.out).to.equal(0);
    expect(good.out).to.match(/#1 "alice": [0-9a-f]{128}/);
    // Another contribution on the same initial key, swapped in for alice's: a valid key, but not this chain's.
    const k1 = join(pkg, "ceremony", "0001.zkey");
    const saved = join(dir, "alice.zkey");
    copyFileSync(k1, saved);
    await contributeSecret(join(pkg, "ceremony", "0000.zkey"), k1, "alice");
    await ceremonyContribute(pkg, { name: "bob" }); // 0002 on the swapped 0001: consistent so far
    copyFileSync(saved, k1); // now 0002 does not extend 0001
    const bad = await ozk(["ceremony", "verify", pkg, "--ptau", TEST_PTAU]);
    expect(bad.code).to.equal(1);
    expect(bad.out).to.match(/MISMATCH: .*0001\.zkey is not a step of the chain/);
    expect(bad.out).to.match(/verification FAILED/);
    rmSync(join(pkg, "ceremony", "0002.zkey"));
  });

  it("finalize records the chain and verify-setup accepts the package; twin: a manifest with another hash is rejected", async function () {
    await ceremonyContribute(pkg, { name: "bob" });
    await ceremonyFinalize(pkg, { ptau: TEST_PTAU, contractsDir: null, log: () => {} });
    expect(await verifyPackageSetup(pkg, TEST_PTAU)).to.deep.equal([]);
    const cli = await ozk(["model", "verify-setup", pkg, "--ptau", TEST_PTAU]);
    expect(cli.code, cli.out).to.equal(0);
    const manifestPath = join(pkg, "manifest.json");
    const original = readFileSync(manifestPath, "utf8");
    const m = JSON.parse(original) as { setup: { contributions: { hash: string }[] }; verifierCodeHash: string };
    m.setup.contributions[0]!.hash = "00".repeat(64);
    m.verifierCodeHash = "0x" + "11".repeat(32);
    writeFileSync(manifestPath, JSON.stringify(m, null, 2) + "\n");
    const problems = await verifyPackageSetup(pkg, TEST_PTAU);
    expect(problems).to.include("the manifest's contributions are not the key's");
    expect(problems).to.include("verifierCodeHash is not the hash of Verifier.sol's runtime code");
    const failed = await ozk(["model", "verify-setup", pkg, "--ptau", TEST_PTAU]);
    expect(failed.code).to.equal(1);
    expect(failed.out).to.match(/setup verification FAILED/);
    // A one-field edit of the kind: the key comes from a known insecure powers of tau, whatever the manifest says.
    const promoted = JSON.parse(original) as { setup: { kind: string } };
    promoted.setup.kind = "ceremony";
    writeFileSync(manifestPath, JSON.stringify(promoted, null, 2) + "\n");
    expect(await verifyPackageSetup(pkg, TEST_PTAU)).to.deep.equal([
      'setup.kind is "ceremony" but the record supports at most "unsafe-dev" (the test fixture INSECURE_test_pot11.ptau is insecure)',
    ]);
    writeFileSync(manifestPath, original);
  });

  it("ozk model build keeps a key finalized by the ceremony; twin: without the ceremony folder it makes a new one", async function () {
    const opts = { out: pkg, calibration: randomInputs(82, 8, 6), ptau: TEST_PTAU, contractsDir: null, log: () => {} };
    const before = readManifest(pkg).setup!;
    expect(before.contributions.map((c) => c.name)).to.deep.equal(["alice", "bob"]);
    expect((await buildPackage(model, opts)).setup).to.deep.equal(before);
    renameSync(join(pkg, "ceremony"), join(dir, "ceremony-moved"));
    const rebuilt = (await buildPackage(model, opts)).setup!;
    expect(rebuilt.contributions.map((c) => c.name)).to.deep.equal([SINGLE_CONTRIBUTION_NAME]);
    expect(await verifyPackageSetup(pkg, TEST_PTAU)).to.deep.equal([]);
  });

  it("ozk ceremony --help lists the four steps", async function () {
    const help = await ozk(["ceremony", "--help"]);
    expect(help.code).to.equal(0);
    for (const step of ["init", "contribute", "verify", "finalize"]) expect(help.out).to.contain(`ozk ceremony ${step} <pkg>`);
  });
});
