// Native initial phase-2 key (`ozk-prover zkey-new`, prover/backends/zkey-new.ts): the same bytes as snarkjs's
// newZKey, the wasm quirks it reproduces, keys from corrupted inputs rejected by snarkjs's verifier, clear errors;
// and the INSECURE dev powers of tau (`ozk-prover ptau-dev`) against snarkjs's own phase-2 preparation.
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBn128 } from "ffjavascript";
import { nativeNewZKey } from "../../prover/backends/zkey-new.ts";
import { snarkjs } from "../../prover/snarkjs.ts";
import { squaringChainConstraintsForDomain, writeSquaringChainR1cs } from "../../scripts/fixtures/squaring-chain.ts";
import { ensureNativeBuilt } from "../native-build.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = join(root, "test/prover-native/fixtures");
const ptau11 = join(root, "test/fixtures/ptau/INSECURE_test_pot11.ptau");
const buildDir = join(root, "prover/native/build");
const testBin = join(buildDir, "ozk-native-test");
const proverBin = join(buildDir, "ozk-prover");
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const quiet = { info: () => {}, debug: () => {}, warn: () => {}, error: () => {} };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Curve = any;

const ensureBuilt = ensureNativeBuilt;

/** Section id -> body offset and size of an iden3 binary file (.ptau, .r1cs, .zkey). */
function sections(buf: Buffer): Map<number, { start: number; size: number }> {
  const out = new Map<number, { start: number; size: number }>();
  let pos = 12;
  for (let i = 0, n = buf.readUInt32LE(8); i < n; i++) {
    const size = Number(buf.readBigUInt64LE(pos + 4));
    out.set(buf.readUInt32LE(pos), { start: pos + 12, size });
    pos += 12 + size;
  }
  return out;
}

/** The file with only the sections `keep` (header count adjusted). */
function keepSections(buf: Buffer, keep: (id: number) => boolean): Buffer {
  const parts: Buffer[] = [];
  let pos = 12;
  for (let i = 0, n = buf.readUInt32LE(8); i < n; i++) {
    const size = Number(buf.readBigUInt64LE(pos + 4));
    if (keep(buf.readUInt32LE(pos))) parts.push(buf.subarray(pos, pos + 12 + size));
    pos += 12 + size;
  }
  const head = Buffer.from(buf.subarray(0, 12));
  head.writeUInt32LE(parts.length, 8);
  return Buffer.concat([head, ...parts]);
}

describe("native zkey-new", function () {
  this.timeout(600_000);
  let dir: string;

  before(function () {
    if (!ensureBuilt()) {
      console.log("    native prover not built (no C++ toolchain?): skipping zkey-new tests");
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), "ozk-zkey-new-test-"));
  });

  after(async () => {
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
    delete (globalThis as { curve_bn128?: unknown }).curve_bn128;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const native = (args: string[]): string => execFileSync(proverBin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const nativeError = (args: string[]): string => {
    const r = spawnSync(proverBin, args, { encoding: "utf8" });
    expect(r.status, `ozk-prover ${args.join(" ")} should fail`).to.not.equal(0);
    return r.stderr;
  };
  const snarkjsKey = async (r1cs: string, ptau: string, out: string): Promise<string> => {
    const h = await snarkjs.zKey.newZKey(r1cs, ptau, out, quiet);
    expect(h).to.be.instanceOf(Uint8Array);
    return Buffer.from(h as Uint8Array).toString("hex");
  };
  const verify = (r1cs: string, ptau: string, zkey: string): Promise<boolean> => snarkjs.zKey.verifyFromR1cs(r1cs, ptau, zkey, quiet);
  const chainR1cs = (log: number): string => {
    const p = join(dir, `chain${log}.r1cs`);
    if (!existsSync(p)) writeSquaringChainR1cs(p, squaringChainConstraintsForDomain(log));
    return p;
  };

  it("writes the same bytes as snarkjs newZKey (fixture circuits, a circuit at the ptau's full power)", async () => {
    const cases: [string, string][] = [
      ["chain", join(fixtures, "chain.r1cs")],
      ["mixed", join(fixtures, "mixed.r1cs")],
      ["chain2^4", chainR1cs(4)],
      ["chain2^11", chainR1cs(11)], // domain = 2^power: H from the padded top domain of section 12
    ];
    for (const [name, r1cs] of cases) {
      const ref = join(dir, `${name}.ref.zkey`);
      const out = join(dir, `${name}.native.zkey`);
      const csHash = await snarkjsKey(r1cs, ptau11, ref);
      const r = await nativeNewZKey(r1cs, ptau11, out);
      expect(r.backend, name).to.equal("native");
      expect(r.csHash, name).to.equal(csHash);
      expect(readFileSync(out).equals(readFileSync(ref)), `${name}: native key differs from snarkjs's`).to.equal(true);
    }
  });

  it("falls back to snarkjs when the native binary is missing", async () => {
    const r1cs = join(fixtures, "chain.r1cs");
    const nat = join(dir, "fallback.native.zkey");
    const viaSnarkjs = join(dir, "fallback.snarkjs.zkey");
    await nativeNewZKey(r1cs, ptau11, nat);
    const saved = process.env.OZK_NATIVE_PROVER;
    process.env.OZK_NATIVE_PROVER = join(dir, "no-such-ozk-prover");
    try {
      const r = await nativeNewZKey(r1cs, ptau11, viaSnarkjs);
      expect(r.backend).to.equal("snarkjs");
    } finally {
      if (saved === undefined) delete process.env.OZK_NATIVE_PROVER;
      else process.env.OZK_NATIVE_PROVER = saved;
    }
    expect(readFileSync(viaSnarkjs).equals(readFileSync(nat))).to.equal(true);
  });

  it("hashes H as snarkjs does when the domain is 2^15 or more and the ptau's full power (reads past section 2)", async () => {
    const ptau = join(dir, "INSECURE_dev_pot15.ptau");
    native(["ptau-dev", "15", ptau]);
    const r1cs = chainR1cs(15);
    const ref = join(dir, "chain15.ref.zkey");
    const out = join(dir, "chain15.native.zkey");
    const csHash = await snarkjsKey(r1cs, ptau, ref);
    expect((await nativeNewZKey(r1cs, ptau, out)).csHash).to.equal(csHash);
    expect(readFileSync(out).equals(readFileSync(ref))).to.equal(true);
  });

  it("reproduces snarkjs's wasm arithmetic on 64 bytes that are not a point", async () => {
    const curve: Curve = await buildBn128(true);
    try {
      const tm = curve.tm;
      const ex = tm.instance.exports;
      const buf = readFileSync(ptau11);
      const tau = sections(buf).get(2)!;
      const Q = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47n;
      const le = (v: bigint): Buffer => {
        const b = Buffer.alloc(32);
        for (let i = 0; i < 4; i++) b.writeBigUInt64LE((v >> BigInt(64 * i)) & 0xffffffffffffffffn, 8 * i);
        return b;
      };
      const raws: Buffer[] = [
        Buffer.alloc(64), // zero: addAffine returns the other point
        Buffer.concat([le(0n), le(5n)]),
        Buffer.concat([le(Q), le(Q + 1n)]), // just above q
        Buffer.concat([le(2n ** 256n - 1n), le(2n ** 256n - 1n)]),
        Buffer.concat([le(1n), le(2n ** 255n)]),
        buf.subarray(tau.start + tau.size, tau.start + tau.size + 64), // what snarkjs reads past section 2
      ];
      for (let i = 0; i < 40; i++) raws.push(randomBytes(64));
      const lines: string[] = [];
      const expected: string[] = [];
      const nBatch = 3;
      const pIn = tm.alloc(64 * 2 * nBatch);
      const pMid = tm.alloc(96 * nBatch);
      raws.forEach((raw, k) => {
        // a slice as hashHPointsThread makes one: valid points first, the raw bytes last
        const qs = Array.from({ length: nBatch }, (_, j) => buf.subarray(tau.start + 64 * (3 * k + j), tau.start + 64 * (3 * k + j + 1)));
        for (let j = 0; j < nBatch; j++) {
          const p1 = j === nBatch - 1 ? raw : buf.subarray(tau.start + 64 * (3 * k + j + 500), tau.start + 64 * (3 * k + j + 501));
          tm.setBuff(pIn + 128 * j, p1);
          tm.setBuff(pIn + 128 * j + 64, qs[j]);
          ex.g1m_subAffine(pIn + 128 * j, pIn + 128 * j + 64, pMid + 96 * j);
        }
        ex.g1m_batchToAffine(pMid, nBatch, pMid);
        ex.g1m_batchLEMtoU(pMid, nBatch, pMid);
        expected.push(Buffer.from(tm.getBuff(pMid + 64 * (nBatch - 1), 64)).toString("hex"));
        lines.push(Buffer.concat([raw, qs[nBatch - 1]!]).toString("hex"));
      });
      const got = execFileSync(testBin, ["sub-affine-u"], { input: lines.join("\n") + "\n", encoding: "utf8" }).trim().split("\n");
      expect(got).to.deep.equal(expected);
    } finally {
      await curve.terminate();
    }
  });

  it("blake2b-512 matches node's", () => {
    for (const n of [0, 1, 63, 64, 127, 128, 129, 255, 256, 1000, 100_000]) {
      const f = join(dir, `b2-${n}.bin`);
      const data = randomBytes(n);
      writeFileSync(f, data);
      const got = execFileSync(testBin, ["blake2b", f], { encoding: "utf8" }).trim();
      expect(got, `${n} bytes`).to.equal(createHash("blake2b512").update(data).digest("hex"));
    }
  });

  it("a key from a ptau with a different (valid) Lagrange point differs and snarkjs's verifier rejects it", async () => {
    const r1cs = join(fixtures, "chain.r1cs");
    const buf = Buffer.from(readFileSync(ptau11));
    const s12 = sections(buf).get(12)!;
    const d = 32; // the chain fixture's domain
    const at = s12.start + 64 * (d - 1 + 3);
    buf.copy(buf, at, at + 64, at + 128); // L_3 := L_4 (still a curve point)
    const bad = join(dir, "INSECURE_swapped.ptau");
    writeFileSync(bad, buf);
    const ref = join(dir, "chain.ref2.zkey");
    const out = join(dir, "chain.swapped.zkey");
    await snarkjsKey(r1cs, ptau11, ref);
    await nativeNewZKey(r1cs, bad, out);
    expect(readFileSync(out).equals(readFileSync(ref))).to.equal(false);
    expect(await verify(r1cs, ptau11, out)).to.equal(false);
    expect(await verify(r1cs, ptau11, ref)).to.equal(true);
  });

  it("a ptau point that is not on the curve is an error", async () => {
    const buf = Buffer.from(readFileSync(ptau11));
    const s14 = sections(buf).get(14)!;
    const at = s14.start + 64 * (1024 - 1 + 40) + 7; // a Lagrange point of the mixed fixture's domain (2^10)
    buf[at] = buf[at]! ^ 0x10;
    const bad = join(dir, "INSECURE_flipped.ptau");
    writeFileSync(bad, buf);
    const err = nativeError(["zkey-new", join(fixtures, "mixed.r1cs"), bad, join(dir, "flipped.zkey")]);
    expect(err).to.match(/section 14 point \d+ is not a valid curve point/);
  });

  it("a key from an r1cs with a changed coefficient differs and snarkjs's verifier rejects it", async () => {
    const r1cs = join(fixtures, "mixed.r1cs");
    const buf = Buffer.from(readFileSync(r1cs));
    const s2 = sections(buf).get(2)!;
    // the first constraint's first A term (nA, wire, coefficient): coefficient + 1 mod r
    expect(buf.readUInt32LE(s2.start)).to.be.greaterThan(0);
    const coef = s2.start + 8;
    let v = 0n;
    for (let i = 3; i >= 0; i--) v = (v << 64n) | buf.readBigUInt64LE(coef + 8 * i);
    v = (v + 1n) % R;
    for (let i = 0; i < 4; i++) buf.writeBigUInt64LE((v >> BigInt(64 * i)) & 0xffffffffffffffffn, coef + 8 * i);
    const bad = join(dir, "mixed-changed.r1cs");
    writeFileSync(bad, buf);
    const ref = join(dir, "mixed.ref2.zkey");
    const out = join(dir, "mixed.changed.zkey");
    await snarkjsKey(r1cs, ptau11, ref);
    await nativeNewZKey(bad, ptau11, out);
    expect(readFileSync(out).equals(readFileSync(ref))).to.equal(false);
    expect(await verify(r1cs, ptau11, out)).to.equal(false);
  });

  it("a circuit too big for the ptau is an error naming both sizes", async () => {
    const r1cs = chainR1cs(12);
    const err = nativeError(["zkey-new", r1cs, ptau11, join(dir, "big.zkey")]);
    expect(err).to.match(/circuit too big/).and.match(/2\^12/).and.match(/power 11/).and.match(/powers of tau of power 12 or more/);
    let thrown: unknown;
    try {
      await nativeNewZKey(r1cs, ptau11, join(dir, "big2.zkey"));
    } catch (e) {
      thrown = e;
    }
    expect(String(thrown)).to.match(/needs a domain of 2\^12/);
    // the snarkjs path says it too (snarkjs only logs it and returns -1)
    thrown = undefined;
    try {
      await nativeNewZKey(r1cs, ptau11, join(dir, "big3.zkey"), { snarkjs: true });
    } catch (e) {
      thrown = e;
    }
    expect(String(thrown)).to.match(/circuit too big for this power of tau/);
  });

  it("a ptau not prepared for phase 2 is an error that says so", () => {
    const raw = join(dir, "INSECURE_unprepared.ptau");
    writeFileSync(raw, keepSections(readFileSync(ptau11), (id) => id <= 7));
    const err = nativeError(["zkey-new", join(fixtures, "chain.r1cs"), raw, join(dir, "unprepared.zkey")]);
    expect(err).to.match(/not prepared for phase 2/).and.match(/prepare phase2/);
  });

  it("ptau-dev writes what snarkjs's prepare phase 2 makes of its powers, and newZKey keys from it verify", async () => {
    const ptau = join(dir, "INSECURE_dev_pot6.ptau");
    native(["ptau-dev", "6", ptau, "--seed", "12345"]);
    const unprepared = join(dir, "INSECURE_dev_pot6_raw.ptau");
    writeFileSync(unprepared, keepSections(readFileSync(ptau), (id) => id <= 7));
    const prepared = join(dir, "INSECURE_dev_pot6_snarkjs.ptau");
    await snarkjs.powersOfTau.preparePhase2(unprepared, prepared, quiet);
    expect(readFileSync(prepared).equals(readFileSync(ptau)), "prepared sections differ").to.equal(true);
    const r1cs = chainR1cs(6);
    const key = join(dir, "chain6.zkey");
    await nativeNewZKey(r1cs, ptau, key);
    expect(await verify(r1cs, ptau, key)).to.equal(true);
    // another seed, another file; and the name must say INSECURE
    const other = join(dir, "INSECURE_dev_pot6_b.ptau");
    native(["ptau-dev", "6", other, "--seed", "54321"]);
    expect(readFileSync(other).equals(readFileSync(ptau))).to.equal(false);
    expect(nativeError(["ptau-dev", "6", join(dir, "dev_pot6.ptau")])).to.match(/must contain INSECURE/);
  });
});
