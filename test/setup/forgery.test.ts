// Why phase 2 needs a secret: a key closed by a public beacon only (what `ozk model build` used to make) accepts a
// proof forged from public information for ANY public signals, in snarkjs and in the exported Solidity verifier.
// The same forgery fails against keys from `ozk model build` (one secret contribution) and `ozk ceremony`.
//
// The forgery: snarkjs sets gamma to the G2 generator and starts delta at 1, so with d = discrete log of delta,
// A = alpha, B = beta, C = -vk_x / d gives e(A, B) = e(alpha, beta) e(vk_x, gamma) e(C, delta) for any signals.
// A beacon's secret is a public function of the beacon (sha256 iterated, then ChaCha), so d is public too.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import * as snarkjs from "snarkjs";
import { buildBn128, type Curve, type Elem } from "ffjavascript";
import { compileModel } from "../../circuits/compiler/build.ts";
import { loadModelPackage, loadPackage, readManifest } from "../../circuits/compiler/package.ts";
import { createSnarkjsBackend } from "../../prover/backends/snarkjs.ts";
import { proveWithPackage } from "../../prover/prove.ts";
import { buildPackage } from "../../prover/setup/build.ts";
import { beaconSecretRng, initialKey, readContributions, releaseCurve, setupRecordOf } from "../../prover/setup/phase2.ts";
import { compileVerifier, exportVerifier } from "../../prover/setup/verifier.ts";
import { ceremonyContribute, ceremonyFinalize, ceremonyInit, ceremonyVerify } from "../../prover/setup/ceremony.ts";
import { randomInputs, randomMlp } from "../compiler/random-models.ts";

const ROOT = join(import.meta.dirname, "../..");
/** The committed, INSECURE 2^11 powers of tau: enough for a tiny model, present on a fresh clone. */
const TEST_PTAU = join(ROOT, "test/fixtures/ptau/INSECURE_test_pot11.ptau");

type Vkey = { vk_alpha_1: string[]; vk_beta_2: string[][]; vk_delta_2: string[][]; IC: string[][] };
type Proof = snarkjs.Groth16Proof;

/** vkey.json coordinates (decimal strings) as the bigints ffjavascript's fromObject needs. */
const big = (coords: string[] | string[][]): bigint[] | bigint[][] =>
  coords.map((c) => (Array.isArray(c) ? c.map((v) => BigInt(v)) : BigInt(c))) as bigint[] | bigint[][];

/** What an attacker knows of delta's discrete log from the key alone: the product of its beacons' secrets. */
async function publicDelta(curve: Curve, zkey: string): Promise<Elem> {
  let d = curve.Fr.one;
  for (const c of await readContributions(zkey)) {
    if (c.beacon) d = curve.Fr.mul(d, curve.Fr.fromRng(beaconSecretRng(c.beacon.hash, c.beacon.iterationsExp)));
  }
  return d;
}

/** A = alpha, B = beta, C = -vk_x / d: valid for `signals` exactly when d is delta's discrete log. */
function forge(curve: Curve, vkey: Vkey, signals: bigint[], d: Elem): Proof {
  const { G1, Fr } = curve;
  let vkX = G1.fromObject(big(vkey.IC[0]!));
  signals.forEach((s, i) => (vkX = G1.add(vkX, G1.timesScalar(G1.fromObject(big(vkey.IC[i + 1]!)), s))));
  const c = G1.toObject(G1.toAffine(G1.timesFr(G1.neg(vkX), Fr.inv(d)))) as bigint[];
  return { pi_a: vkey.vk_alpha_1, pi_b: vkey.vk_beta_2, pi_c: c.map(String), protocol: "groth16", curve: "bn128" };
}

/** Whether d is delta's discrete log (an attacker can check a guess against the public key). */
function matchesDelta(curve: Curve, vkey: Vkey, d: Elem): boolean {
  return curve.G2.eq(curve.G2.timesFr(curve.G2.g, d), curve.G2.fromObject(big(vkey.vk_delta_2)));
}

/** The Solidity verifier of a package folder, deployed on the Hardhat network. */
async function deployVerifier(pkgDir: string, name: string): Promise<(proof: Proof, signals: bigint[]) => Promise<boolean>> {
  const { ethers } = await network.getOrCreate();
  const { abi, bytecode } = compileVerifier(readFileSync(join(pkgDir, "Verifier.sol"), "utf8"), name);
  const [signer] = await ethers.getSigners();
  const contract = await new ethers.ContractFactory(abi as never[], bytecode, signer).deploy();
  await contract.waitForDeployment();
  return async (p, signals) =>
    (await contract.getFunction("verifyProof").staticCall(
      p.pi_a.slice(0, 2),
      [[p.pi_b[0]![1], p.pi_b[0]![0]], [p.pi_b[1]![1], p.pi_b[1]![0]]],
      p.pi_c.slice(0, 2),
      signals,
    )) as boolean;
}

describe("Groth16 setup: forged proofs", function () {
  this.timeout(600_000);
  let dir: string;
  let curve: Curve;
  let circuit: string;
  const model = randomMlp(71, [6, 4, 3]);
  model.name = "forgery-tiny";
  const calibration = randomInputs(72, 8, 6);
  // Public signals nobody proved: 1 output limb, inputHash, weightsCommitment.
  const anySignals = [123456789n, 987654321n, 42n];

  before(async function () {
    if (!existsSync(TEST_PTAU)) {
      console.log(`    ${TEST_PTAU} is missing (a partial checkout?): skipping the setup forgery tests`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "ozk-forgery-"));
    curve = await buildBn128(true);
    circuit = join(dir, "circuit");
    await compileModel(model, { out: circuit, calibration, log: () => {} });
  });
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await releaseCurve();
  });

  describe("a key closed by a public beacon only (the old build)", function () {
    let oldDir: string;
    let vkey: Vkey;
    let d: Elem;
    let onChain: (p: Proof, s: bigint[]) => Promise<boolean>;
    before(async () => {
      oldDir = join(dir, "old");
      mkdirSync(oldDir);
      await initialKey(join(circuit, "circuit.r1cs"), TEST_PTAU, join(oldDir, "circuit_0000.zkey"));
      await snarkjs.zKey.beacon(join(oldDir, "circuit_0000.zkey"), join(oldDir, "circuit.zkey"), "ozk dev beacon", "a1b2c3d4e5f60718", 10);
      await exportVerifier(join(oldDir, "circuit.zkey"), oldDir, "OldBeaconOnlyVerifier", null);
      await releaseCurve();
      vkey = JSON.parse(readFileSync(join(oldDir, "vkey.json"), "utf8")) as Vkey;
      d = await publicDelta(curve, join(oldDir, "circuit.zkey"));
      onChain = await deployVerifier(oldDir, "OldBeaconOnlyVerifier");
    });

    it("its delta follows from the public beacon", function () {
      expect(matchesDelta(curve, vkey, d)).to.equal(true);
    });

    it("a proof forged from public information verifies for arbitrary signals, in snarkjs and on chain", async function () {
      const proof = forge(curve, vkey, anySignals, d);
      expect(await snarkjs.groth16.verify(vkey, anySignals.map(String), proof)).to.equal(true);
      expect(await onChain(proof, anySignals)).to.equal(true);
    });

    it("twin: the forged proof fails for other signals, and a wrong delta guess fails, in snarkjs and on chain", async function () {
      const proof = forge(curve, vkey, anySignals, d);
      const other = [anySignals[0]! + 1n, ...anySignals.slice(1)];
      expect(await snarkjs.groth16.verify(vkey, other.map(String), proof)).to.equal(false);
      expect(await onChain(proof, other)).to.equal(false);
      const wrong = forge(curve, vkey, anySignals, curve.Fr.add(d, curve.Fr.one));
      expect(matchesDelta(curve, vkey, curve.Fr.add(d, curve.Fr.one))).to.equal(false);
      expect(await snarkjs.groth16.verify(vkey, anySignals.map(String), wrong)).to.equal(false);
      expect(await onChain(wrong, anySignals)).to.equal(false);
    });
  });

  /** Forgery attempt and honest proof against a finished package. */
  const attackAndProve = async (pkgDir: string, name: string): Promise<void> => {
    const vkey = JSON.parse(readFileSync(join(pkgDir, "vkey.json"), "utf8")) as Vkey;
    const d = await publicDelta(curve, join(pkgDir, "circuit.zkey"));
    expect(matchesDelta(curve, vkey, d), "delta from public information").to.equal(false);
    const onChain = await deployVerifier(pkgDir, name);
    const forged = forge(curve, vkey, anySignals, d);
    expect(await snarkjs.groth16.verify(vkey, anySignals.map(String), forged), "forged proof, snarkjs").to.equal(false);
    expect(await onChain(forged, anySignals), "forged proof, on chain").to.equal(false);
    // twin: the key itself works; an honest proof verifies in both places
    const x = randomInputs(73, 1, 6)[0]!;
    const { proof, publicSignals } = await proveWithPackage(loadModelPackage(pkgDir), { input: Array.from(x) }, { backend: createSnarkjsBackend() });
    expect(await snarkjs.groth16.verify(vkey, publicSignals, proof), "honest proof, snarkjs").to.equal(true);
    expect(await onChain(proof, publicSignals.map(BigInt)), "honest proof, on chain").to.equal(true);
  };

  it("ozk model build's key (one secret contribution): the forgery fails; an honest proof verifies", async function () {
    const out = join(dir, "built");
    const m = await buildPackage(model, { out, calibration, ptau: TEST_PTAU, contractsDir: null, log: () => {} });
    expect(m.setup?.contributions).to.have.length(1);
    expect(m.setup?.beacon).to.equal(null);
    expect(m.setup?.kind).to.equal("unsafe-dev"); // the test ptau is a known insecure file
    await attackAndProve(out, m.verifierContract!);
  });

  it("an ozk ceremony key (init, 2 contributions, beacon, finalize): the forgery fails; an honest proof verifies", async function () {
    const pkg = join(dir, "ceremony");
    await compileModel(model, { out: pkg, calibration, log: () => {} });
    await ceremonyInit(pkg, { ptau: TEST_PTAU });
    const first = await ceremonyContribute(pkg, { name: "alice" });
    const second = await ceremonyContribute(pkg, { name: "bob" });
    await ceremonyFinalize(pkg, { ptau: TEST_PTAU, beacon: "0badc0ffee", iterations: 10, contractsDir: null, log: () => {} });
    const m = readManifest(pkg);
    expect(m.setup?.contributions).to.deep.equal([
      { name: "alice", hash: first.hash },
      { name: "bob", hash: second.hash },
    ]);
    expect(m.setup?.beacon).to.deep.equal({ hash: "0badc0ffee", iterationsExp: 10 });
    // with a ptau that is not a known development file the same chain is recorded as a ceremony
    const realPtau = { ...m.setup!.ptau!, sha256: "00".repeat(32) };
    expect((await setupRecordOf(join(pkg, "circuit.zkey"), realPtau, { ceremony: true })).kind).to.equal("ceremony");
    expect((await setupRecordOf(join(pkg, "circuit.zkey"), realPtau)).kind).to.equal("single-contributor");
    expect(loadPackage(pkg).manifest.verifierContract).to.equal("ForgeryTinyVerifier");
    await attackAndProve(pkg, m.verifierContract!);
  });

  it("ozk ceremony verify accepts the chain; twin: a key from another chain swapped in is rejected", async function () {
    const pkg = join(dir, "swapped");
    await compileModel(model, { out: pkg, calibration, log: () => {} });
    await ceremonyInit(pkg, { ptau: TEST_PTAU });
    await ceremonyContribute(pkg, { name: "alice" });
    await ceremonyContribute(pkg, { name: "bob" });
    const lines: string[] = [];
    expect(await ceremonyVerify(pkg, { ptau: TEST_PTAU, log: (l) => lines.push(l) })).to.equal(true);
    expect(lines.filter((l) => /^#\d "(alice|bob)": [0-9a-f]{128}$/.test(l))).to.have.length(2);
    // A different first contribution on the same initial key: 0002.zkey no longer extends 0001.zkey.
    const other = join(dir, "other.zkey");
    await ceremonyContribute(pkg, { name: "mallory" }); // 0003.zkey, then move it into place as 0001
    copyFileSync(join(pkg, "ceremony", "0003.zkey"), other);
    rmSync(join(pkg, "ceremony", "0003.zkey"));
    copyFileSync(other, join(pkg, "ceremony", "0001.zkey"));
    const bad: string[] = [];
    expect(await ceremonyVerify(pkg, { ptau: TEST_PTAU, log: (l) => bad.push(l) })).to.equal(false);
    expect(bad.join("\n")).to.match(/MISMATCH: .*0001\.zkey is not a step of the chain/);
  });
});
