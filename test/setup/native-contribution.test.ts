// Native phase-2 contributions (prover/setup/contribute.ts, ozk-prover scale-g1): snarkjs's verifier accepts
// them alone and mixed with snarkjs contributions, the scaled sections equal ffjavascript's own batchApplyKey byte
// for byte, a contribution with a fault is rejected, and the forgery of test/setup/forgery.test.ts fails against the
// key while an honest proof verifies. Builds prover/native when its binary is missing; skips without a compiler.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import * as snarkjs from "snarkjs";
import { FIELD_P as R } from "../../sdk/hash.ts";
import { buildBn128, type Curve } from "ffjavascript";
import { compileModel } from "../../circuits/compiler/build.ts";
import { loadModelPackage, loadPackage } from "../../circuits/compiler/package.ts";
import { createSnarkjsBackend } from "../../prover/backends/snarkjs.ts";
import { proveWithPackage } from "../../prover/prove.ts";
import { buildPackage } from "../../prover/setup/build.ts";
import { contributeNative, nativeSetupAvailable, scaleG1Sections } from "../../prover/setup/contribute.ts";
import { contributeSecret, initialKey, readContributions, releaseCurve, verifyKey } from "../../prover/setup/phase2.ts";
import { randomInputs, randomMlp } from "../compiler/random-models.ts";

const ROOT = join(import.meta.dirname, "../..");
const TEST_PTAU = join(ROOT, "test/fixtures/ptau/INSECURE_test_pot11.ptau");

/** Body offset and size of a .zkey section. */
function section(path: string, id: number): { start: number; size: number } {
  const buf = readFileSync(path);
  let pos = 12;
  for (let i = 0, n = buf.readUInt32LE(8); i < n; i++) {
    const size = Number(buf.readBigUInt64LE(pos + 4));
    if (buf.readUInt32LE(pos) === id) return { start: pos + 12, size };
    pos += 12 + size;
  }
  throw new Error(`no section ${id} in ${path}`);
}

function readSection(path: string, id: number): Buffer {
  const { start, size } = section(path, id);
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(size);
    readSync(fd, b, 0, size, start);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Overwrites `bytes` at a section's body offset `at`. */
function patchSection(path: string, id: number, at: number, bytes: Buffer): void {
  const buf = readFileSync(path);
  bytes.copy(buf, section(path, id).start + at);
  writeFileSync(path, buf);
}

type Vkey = { vk_alpha_1: string[]; vk_beta_2: string[][]; IC: string[][] };
const big = (coords: string[] | string[][]): bigint[] | bigint[][] =>
  coords.map((c) => (Array.isArray(c) ? c.map((v) => BigInt(v)) : BigInt(c))) as bigint[] | bigint[][];

describe("Groth16 setup: native phase-2 contributions", function () {
  this.timeout(600_000);
  let dir: string;
  let r1cs: string;
  let k0: string;
  let curve: Curve;
  const model = randomMlp(91, [6, 4, 3]);
  model.name = "native-contribution-tiny";
  const calibration = randomInputs(92, 8, 6);

  before(async function () {
    if (!existsSync(TEST_PTAU)) {
      console.log(`    ${TEST_PTAU} is missing: skipping the native contribution tests`);
      this.skip();
    }
    if (!existsSync(join(ROOT, "prover/native/build/ozk-prover"))) {
      spawnSync("bash", [join(ROOT, "prover/native/build.sh")], { env: { ...process.env, OZK_NO_CUDA: "1" }, stdio: "inherit" });
    }
    if (!(await nativeSetupAvailable())) {
      console.log("    native prover not built (no C++ toolchain?) or OZK_NATIVE_SETUP=0: skipping the native contribution tests");
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "ozk-native-contribution-"));
    curve = await buildBn128(true);
    const circuit = join(dir, "circuit");
    await compileModel(model, { out: circuit, calibration, log: () => {} });
    r1cs = join(circuit, "circuit.r1cs");
    k0 = join(dir, "k0.zkey");
    await initialKey(r1cs, TEST_PTAU, k0);
  });
  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await curve?.terminate();
    await releaseCurve();
  });

  it("a native contribution verifies with snarkjs, and records its name and hash", async function () {
    const out = join(dir, "native1.zkey");
    const hash = await contributeNative(k0, out, "alice", "some entropy");
    expect(await verifyKey(r1cs, TEST_PTAU, out)).to.equal(true);
    expect(await readContributions(out)).to.deep.equal([{ name: "alice", hash, beacon: null }]);
    // the untouched sections are copied as they were; the delta-dependent ones changed
    for (const id of [1, 3, 4, 5, 6, 7]) expect(readSection(out, id).equals(readSection(k0, id)), `section ${id}`).to.equal(true);
    for (const id of [2, 8, 9]) expect(readSection(out, id).equals(readSection(k0, id)), `section ${id}`).to.equal(false);
  });

  it("the scaled sections equal ffjavascript's batchApplyKey (what snarkjs runs) byte for byte", async function () {
    const out = join(dir, "native-compare.zkey");
    let scalar = 0n;
    await contributeNative(k0, out, "compare", "entropy", {
      scaleSections: async (path, inv) => {
        scalar = inv;
        await scaleG1Sections(path, [8, 9], inv);
      },
    });
    expect(scalar > 0n && scalar < R).to.equal(true);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const G1 = curve.G1 as any;
    for (const id of [8, 9]) {
      const want = (await G1.batchApplyKey(readSection(k0, id), curve.Fr.e(scalar), curve.Fr.e(1))) as Uint8Array;
      expect(Buffer.from(want).equals(readSection(out, id)), `section ${id}`).to.equal(true);
    }
  });

  it("a chain mixing snarkjs and native contributions verifies, with every contribution listed", async function () {
    const a = join(dir, "mix1.zkey");
    const b = join(dir, "mix2.zkey");
    const c = join(dir, "mix3.zkey");
    const hashes: string[] = [];
    hashes.push(Buffer.from((await snarkjs.zKey.contribute(k0, a, "snarkjs-1", "e1")) as Uint8Array).toString("hex"));
    hashes.push(await contributeNative(a, b, "native-2", "e2"));
    const prev = process.env.OZK_NATIVE_SETUP;
    process.env.OZK_NATIVE_SETUP = "0"; // contributeSecret through snarkjs
    try {
      hashes.push(await contributeSecret(b, c, "snarkjs-3"));
    } finally {
      if (prev === undefined) delete process.env.OZK_NATIVE_SETUP;
      else process.env.OZK_NATIVE_SETUP = prev;
    }
    expect(await verifyKey(r1cs, TEST_PTAU, b)).to.equal(true);
    expect(await verifyKey(r1cs, TEST_PTAU, c)).to.equal(true);
    expect((await readContributions(c)).map((x) => [x.name, x.hash])).to.deep.equal([
      ["snarkjs-1", hashes[0]],
      ["native-2", hashes[1]],
      ["snarkjs-3", hashes[2]],
    ]);
  });

  it("twins: one corrupted point, or the wrong scalar for one section, is rejected by the verifier", async function () {
    // one H point replaced by another valid point of the section
    const corrupt = join(dir, "corrupt.zkey");
    await contributeNative(k0, corrupt, "mallory", "e", {
      scaleSections: async (path, inv) => {
        await scaleG1Sections(path, [8, 9], inv);
        const h = readSection(path, 9);
        patchSection(path, 9, 64, h.subarray(128, 192));
      },
    });
    expect(await verifyKey(r1cs, TEST_PTAU, corrupt)).to.equal(false);
    // L scaled by delta^-1, H by 2 delta^-1
    const wrong = join(dir, "wrong-scalar.zkey");
    await contributeNative(k0, wrong, "mallory", "e", {
      scaleSections: async (path, inv) => {
        await scaleG1Sections(path, [8], inv);
        await scaleG1Sections(path, [9], (2n * inv) % R);
      },
    });
    expect(await verifyKey(r1cs, TEST_PTAU, wrong)).to.equal(false);
    // the same hook with the right scalars (the twin that passes)
    const right = join(dir, "right-scalar.zkey");
    await contributeNative(k0, right, "carol", "e", {
      scaleSections: async (path, inv) => {
        await scaleG1Sections(path, [8], inv);
        await scaleG1Sections(path, [9], inv);
      },
    });
    expect(await verifyKey(r1cs, TEST_PTAU, right)).to.equal(true);
  });

  it("ozk model build with the native contribution: the public-delta forgery fails, an honest proof verifies", async function () {
    const pkg = join(dir, "built");
    const m = await buildPackage(model, { out: pkg, calibration, ptau: TEST_PTAU, contractsDir: null, log: () => {} });
    expect(m.setup?.contributions).to.have.length(1);
    expect(await verifyKey(r1cs, TEST_PTAU, join(pkg, "circuit.zkey"))).to.equal(true);
    const vkey = JSON.parse(readFileSync(join(pkg, "vkey.json"), "utf8")) as Vkey;
    // With no beacon the public guess for delta's discrete log is 1 (the initial key's): A = alpha, B = beta,
    // C = -vk_x works for any signals exactly when delta = 1.
    const signals = [123456789n, 987654321n, 42n];
    const forge = (v: Vkey): snarkjs.Groth16Proof => {
      const { G1 } = curve;
      let vkX = G1.fromObject(big(v.IC[0]!));
      signals.forEach((s, i) => (vkX = G1.add(vkX, G1.timesScalar(G1.fromObject(big(v.IC[i + 1]!)), s))));
      const c = G1.toObject(G1.toAffine(G1.neg(vkX))) as bigint[];
      return { pi_a: v.vk_alpha_1, pi_b: v.vk_beta_2, pi_c: c.map(String), protocol: "groth16", curve: "bn128" };
    };
    expect(await snarkjs.groth16.verify(vkey, signals.map(String), forge(vkey)), "forgery against the contributed key").to.equal(false);
    // twin: the same forgery passes against the initial key (delta = 1), so the check above is not vacuous
    const initialVkey = (await snarkjs.zKey.exportVerificationKey(k0)) as unknown as Vkey;
    expect(await snarkjs.groth16.verify(initialVkey, signals.map(String), forge(initialVkey)), "forgery against delta = 1").to.equal(true);
    const x = randomInputs(93, 1, 6)[0]!;
    const { proof, publicSignals } = await proveWithPackage(loadModelPackage(pkg), { input: Array.from(x) }, { backend: createSnarkjsBackend() });
    expect(await snarkjs.groth16.verify(vkey, publicSignals, proof), "honest proof").to.equal(true);
    expect(loadPackage(pkg).manifest.setup?.contributions[0]?.hash).to.equal((await readContributions(join(pkg, "circuit.zkey")))[0]!.hash);
  });

  it("scale-g1 refuses a scalar that is not below r and a missing section; a failed contribution leaves no file", async function () {
    const copy = join(dir, "refuse.zkey");
    copyFileSync(k0, copy);
    let err = "";
    await scaleG1Sections(copy, [8], R).catch((e: Error) => (err = e.message));
    expect(err).to.match(/below r/);
    await scaleG1Sections(copy, [42], 1n).catch((e: Error) => (err = e.message));
    expect(err).to.match(/missing section 42/);
    expect(readFileSync(copy).equals(readFileSync(k0))).to.equal(true);
    // a contribution whose scaling fails leaves no key behind; one onto its own input is refused
    const failed = join(dir, "failed.zkey");
    err = "";
    await contributeNative(k0, failed, "x", "e", { scaleSections: () => Promise.reject(new Error("scaler died")) }).catch((e: Error) => (err = e.message));
    expect(err).to.equal("scaler died");
    expect(existsSync(failed)).to.equal(false);
    err = "";
    await contributeNative(copy, copy, "x", "e").catch((e: Error) => (err = e.message));
    expect(err).to.match(/must write a new file/);
    expect(readFileSync(copy).equals(readFileSync(k0))).to.equal(true);
  });
});
