// Native Groth16 prover: arithmetic against ffjavascript, proofs against snarkjs verify, bad inputs rejected,
// and the UNSAFE dev setup. Builds prover/native when its binaries are missing; skips only without a compiler.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBn128 } from "ffjavascript";
import { cudaAvailable, cudaBinaryPath, nativeAvailable, proveCuda, proveNative, NativeProverError } from "../../prover/backends/native.ts";
import { ResidentPool, ResidentProver } from "../../prover/backends/resident.ts";
import { snarkjs, type VerificationKey } from "../../prover/snarkjs.ts";
import { unsafeDevSetup } from "../../prover/setup/devsetup.ts";
import { compileModel } from "../../circuits/compiler/build.ts";
import { readManifest } from "../../circuits/compiler/package.ts";
import { verifyPackageSetup } from "../../prover/setup/verify-setup.ts";
import { randomInputs, randomMlp } from "../compiler/random-models.ts";
import { squaringChainConstraintsForDomain, writeSquaringChainR1cs, writeSquaringChainWtns } from "../../scripts/fixtures/squaring-chain.ts";
import { FIELD_P as R } from "../../sdk/hash.ts";
import { ensureNativeBuilt } from "../native-build.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const fixtures = join(root, "test/prover-native/fixtures");
const buildDir = join(root, "prover/native/build");
const testBin = join(buildDir, "ozk-native-test");
const proverBin = join(buildDir, "ozk-prover");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Curve = any;

const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

function randBelow(m: bigint): bigint {
  return BigInt("0x" + randomBytes(40).toString("hex")) % m;
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}

function le32(v: bigint): Buffer {
  const b = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) {
    b.writeBigUInt64LE(v & 0xffffffffffffffffn, 8 * i);
    v >>= 64n;
  }
  return b;
}

const ensureBuilt = ensureNativeBuilt;

describe("native prover", function () {
  this.timeout(600_000);
  let curve: Curve;
  let dir: string;

  before(async function () {
    if (!ensureBuilt()) {
      console.log("    native prover not built (no C++ toolchain?): skipping native prover tests");
      this.skip();
    }
    curve = await buildBn128(true);
    dir = mkdtempSync(join(tmpdir(), "ozk-native-test-"));
  });

  after(async () => {
    await curve?.terminate();
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const oracle = (args: string[], input?: string): string => execFileSync(testBin, args, { input, encoding: "utf8" }).trim();

  // Affine point -> "x y" decimal (or "inf"), the oracle binary's output format.
  const g1Str = (p: unknown): string => {
    if (curve.G1.isZero(p)) return "inf";
    const [x, y] = curve.G1.toObject(curve.G1.toAffine(p)) as bigint[];
    return `${x} ${y}`;
  };
  const g2Str = (p: unknown): string => {
    if (curve.G2.isZero(p)) return "inf";
    const [x, y] = curve.G2.toObject(curve.G2.toAffine(p)) as bigint[][];
    return `${x![0]} ${x![1]} ${y![0]} ${y![1]}`;
  };
  const lem = (G: Curve, pts: unknown[]): Buffer => {
    const sz = G.F.n8 * 2;
    const b = Buffer.alloc(sz * pts.length);
    pts.forEach((p, i) => G.toRprLEM(b, i * sz, p));
    return b;
  };
  const randG1 = (): unknown => curve.G1.timesScalar(curve.G1.g, le32(randBelow(R)));
  const randG2 = (): unknown => curve.G2.timesScalar(curve.G2.g, le32(randBelow(R)));

  it("passes the C++ self-test (field laws, group order, Booth digits, MSM and NTT vs naive)", () => {
    expect(oracle(["selftest"])).to.equal("selftest: ok");
  });

  it("field mul/add/sub/inv/sqrt match ffjavascript", () => {
    const lines: string[] = [];
    const expected: string[] = [];
    for (const [name, F, m] of [["q", curve.F1, Q], ["r", curve.Fr, R]] as const) {
      const cases: bigint[][] = [[0n, 0n], [1n, m - 1n], [m - 1n, m - 1n], [2n, (m + 1n) / 2n]];
      for (let i = 0; i < 40; i++) cases.push([randBelow(m), randBelow(m)]);
      for (const [a, b] of cases) {
        const fa = F.e(a!), fb = F.e(b!);
        for (const [op, v] of [["mul", F.mul(fa, fb)], ["add", F.add(fa, fb)], ["sub", F.sub(fa, fb)]] as const) {
          lines.push(`${name} ${op} ${a} ${b}`);
          expected.push(F.toString(v));
        }
        lines.push(`${name} inv ${a}`);
        expected.push(F.toString(F.inv(fa)));
      }
    }
    for (let i = 0; i < 30; i++) {
      const x = i === 0 ? 0n : randBelow(Q);
      lines.push(`q sqrt ${x}`);
      // Euler's criterion decides squareness (ffjavascript's F1.sqrt does not return on some non-squares);
      // either root is fine, so the root is checked by squaring below.
      expected.push(x !== 0n && modPow(x, (Q - 1n) / 2n, Q) !== 1n ? "none" : `sq:${x}`);
    }
    const got = oracle(["field"], lines.join("\n") + "\n").split("\n");
    expect(got.length).to.equal(expected.length);
    got.forEach((g, i) => {
      const e = expected[i]!;
      if (e.startsWith("sq:")) {
        expect(g).to.not.equal("none");
        expect((BigInt(g) * BigInt(g)) % Q).to.equal(BigInt(e.slice(3)), lines[i]);
      } else expect(g).to.equal(e, lines[i]);
    });
  });

  it("G1 and G2 add/double match ffjavascript, including infinity, P+P and P+(-P)", () => {
    for (const [G, rand, str, cmd] of [
      [curve.G1, randG1, g1Str, "g1-ops"],
      [curve.G2, randG2, g2Str, "g2-ops"],
    ] as const) {
      const pairs: unknown[][] = [];
      for (let i = 0; i < 6; i++) pairs.push([rand(), rand()]);
      const p = rand();
      pairs.push([p, p], [p, G.neg(p)], [G.zero, p], [p, G.zero], [G.zero, G.zero]);
      const file = join(dir, `${cmd}.bin`);
      writeFileSync(file, lem(G, pairs.flat()));
      const got = oracle([cmd, file]).split("\n");
      expect(got.length).to.equal(pairs.length);
      pairs.forEach(([a, b], i) => {
        const sum = str(G.add(a, b));
        expect(got[i]).to.equal(`${sum}|${sum}|${str(G.double(a))}`, `pair ${i}`);
      });
    }
  });

  it("MSM matches multiExpAffine with zero scalars, scalars >= r, repeated and infinity points", async () => {
    for (const [G, rand, str, cmd, n] of [
      [curve.G1, randG1, g1Str, "msm-g1", 700],
      [curve.G2, randG2, g2Str, "msm-g2", 150],
    ] as const) {
      const pts: unknown[] = [];
      const sc: bigint[] = [];
      for (let i = 0; i < n; i++) {
        let p = rand();
        let s = randBelow(R);
        switch (i % 9) {
          case 1: s = 0n; break;
          case 2: s = R + randBelow(2n ** 256n - R); break; // >= r, still 256 bits
          case 3: p = G.zero; break;
          case 4: p = pts[i - 1]!; break;
          case 5: p = G.neg(pts[i - 1]!); break;
          case 6: s = 1n; break;
          case 7: s = R - 1n; break;
        }
        pts.push(p);
        sc.push(s);
      }
      const bases = lem(G, pts);
      const scalars = Buffer.concat(sc.map(le32));
      const pf = join(dir, `${cmd}.p`), sf = join(dir, `${cmd}.s`);
      writeFileSync(pf, bases);
      writeFileSync(sf, scalars);
      const expected = str(await G.multiExpAffine(new Uint8Array(bases), new Uint8Array(scalars)));
      expect(oracle([cmd, pf, sf])).to.equal(expected);
      // a single point and an all-zero scalar vector
      writeFileSync(pf, bases.subarray(0, bases.length / n));
      writeFileSync(sf, le32(0n));
      expect(oracle([cmd, pf, sf])).to.equal("inf");
    }
  });

  it("NTT and inverse NTT match Fr.fft / Fr.ifft", async () => {
    const Fr = curve.Fr;
    for (const logn of [1, 4, 11, 12, 13]) {
      const n = 1 << logn;
      const buf = new Uint8Array(32 * n);
      for (let i = 0; i < n; i++) buf.set(Fr.e(i % 7 === 3 ? 0n : randBelow(R)), 32 * i);
      const inF = join(dir, "ntt.in"), outF = join(dir, "ntt.out");
      writeFileSync(inF, buf);
      execFileSync(testBin, ["ntt", inF, outF]);
      expect(Buffer.from(readFileSync(outF)).equals(Buffer.from(await Fr.fft(buf)))).to.equal(true, `fft 2^${logn}`);
      execFileSync(testBin, ["intt", inF, outF]);
      expect(Buffer.from(readFileSync(outF)).equals(Buffer.from(await Fr.ifft(buf)))).to.equal(true, `ifft 2^${logn}`);
    }
  });

  describe("proofs", () => {
    for (const name of ["chain", "mixed"]) {
      it(`${name}: native proofs verify with snarkjs and carry the same public signals`, async () => {
        const zkey = join(fixtures, `${name}.zkey`), wtns = join(fixtures, `${name}.wtns`);
        const vkey = JSON.parse(readFileSync(join(fixtures, `${name}.vkey.json`), "utf8"));
        expect(await nativeAvailable()).to.equal(true);
        const a = await proveNative(zkey, wtns);
        const b = await proveNative(zkey, wtns, { threads: 1 });
        expect(await snarkjs.groth16.verify(vkey, a.publicSignals, a.proof)).to.equal(true);
        expect(await snarkjs.groth16.verify(vkey, b.publicSignals, b.proof)).to.equal(true);
        expect(a.proof.pi_a).to.not.deep.equal(b.proof.pi_a); // fresh r, s each time
        expect(a.proof.protocol).to.equal("groth16");
        expect(a.proof.curve).to.equal("bn128");
        const ref = await snarkjs.groth16.prove(zkey, wtns);
        expect(a.publicSignals).to.deep.equal(ref.publicSignals);
        // a proof for other public signals must not verify
        const forged = [...a.publicSignals];
        forged[0] = (BigInt(forged[0]!) + 1n).toString();
        expect(await snarkjs.groth16.verify(vkey, forged, a.proof)).to.equal(false);
      });
    }

    // .wtns layout: 12-byte file header, section 1 header (12) + n8 (4) + prime (32) + count (4), section 2 header (12)
    const WTNS_VALUES = 12 + 12 + 40 + 12;

    it("a witness that breaks a constraint gives a proof that does not verify", async () => {
      const raw = Buffer.from(readFileSync(join(fixtures, "mixed.wtns")));
      const idx = 40; // an internal signal
      raw.set(le32(12345n), WTNS_VALUES + 32 * idx);
      const bad = join(dir, "tampered.wtns");
      writeFileSync(bad, raw);
      const vkey = JSON.parse(readFileSync(join(fixtures, "mixed.vkey.json"), "utf8"));
      const p = await proveNative(join(fixtures, "mixed.zkey"), bad);
      expect(await snarkjs.groth16.verify(vkey, p.publicSignals, p.proof)).to.equal(false);
    });

    // Both ways of running the prover: a resident `serve` process and one process per proof.
    const rejects = async (zkey: string, wtns: string, pattern: RegExp): Promise<void> => {
      for (const resident of [true, false]) {
        let err: unknown;
        try {
          await proveNative(zkey, wtns, { resident });
        } catch (e) {
          err = e;
        }
        expect(err, `expected an error (resident: ${resident})`).to.be.instanceOf(NativeProverError);
        expect((err as Error).message, `resident: ${resident}`).to.match(pattern);
      }
    };

    it("corrupted witnesses are rejected with a clear error", async () => {
      const zkey = join(fixtures, "mixed.zkey");
      const good = readFileSync(join(fixtures, "mixed.wtns"));
      const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
        ["bad magic", (b) => { b.write("wtnz", 0); return b; }, /bad magic/],
        ["wrong field", (b) => { b.set(le32(Q), 12 + 12 + 4); return b; }, /not BN254 Fr/],
        ["value >= r", (b) => { b.set(le32(R + 5n), WTNS_VALUES + 32 * 7); return b; }, /not reduced/],
        ["truncated", (b) => b.subarray(0, b.length - 32), /runs past the end|bytes for/],
        ["witness[0] != 1", (b) => { b.set(le32(2n), WTNS_VALUES); return b; }, /witness\[0\]/],
        ["empty file", () => Buffer.alloc(0), /too short/],
      ];
      for (const [label, mutate, pattern] of cases) {
        const f = join(dir, `bad-${label.replace(/\W/g, "_")}.wtns`);
        writeFileSync(f, mutate(Buffer.from(good)));
        await rejects(zkey, f, pattern);
      }
      // a valid witness for another circuit
      await rejects(zkey, join(fixtures, "chain.wtns"), /invalid witness length/);
      await rejects(zkey, join(dir, "missing.wtns"), /cannot open/);
    });

    it("corrupted keys are rejected with a clear error", async () => {
      const wtns = join(fixtures, "chain.wtns");
      const good = readFileSync(join(fixtures, "chain.zkey"));
      // locate sections by walking the table
      const sections = new Map<number, { pos: number; size: number }>();
      let pos = 12;
      while (pos < good.length) {
        const id = good.readUInt32LE(pos);
        const size = Number(good.readBigUInt64LE(pos + 4));
        sections.set(id, { pos: pos + 12, size });
        pos += 12 + size;
      }
      const flip = (section: number, offset: number) => (b: Buffer) => {
        b[sections.get(section)!.pos + offset]! ^= 0x01;
        return b;
      };
      const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
        ["bad magic", (b) => { b.write("zkez", 0); return b; }, /bad magic/],
        ["flipped A point", flip(5, 64 * 3 + 5), /A points/],
        ["flipped B2 point", flip(7, 128 * 2 + 9), /B2 points/],
        ["flipped H point", flip(9, 64 * 4 + 1), /H points/],
        ["flipped header point", flip(2, 4 + 32 + 4 + 32 + 12 + 3), /header point/],
        ["delta2 outside the G2 subgroup", (b) => {
          // section 2: n8q q n8r r nVars nPublic domainSize alpha1 beta1 beta2 gamma2 delta1 | delta2
          const off = sections.get(2)!.pos + 4 + 32 + 4 + 32 + 12 + 64 + 64 + 128 + 128 + 64;
          b.set(Buffer.from(oracle(["g2-outside-subgroup"]), "hex"), off);
          return b;
        }, /delta2 is not in the G2 subgroup/],
        ["coefficient index", (b) => { b.writeUInt32LE(1 << 30, sections.get(4)!.pos + 4 + 8); return b; }, /coefficient/],
        ["truncated", (b) => b.subarray(0, b.length - 100), /runs past the end|missing section/],
      ];
      for (const [label, mutate, pattern] of cases) {
        const f = join(dir, `bad-${label.replace(/\W/g, "_")}.zkey`);
        writeFileSync(f, mutate(Buffer.from(good)));
        await rejects(f, wtns, pattern);
      }
    });

    // A held-out MNIST digit through the model package's own witness route.
    const modelWitness = async (model: string): Promise<{ zkey: string; wtns: string; vkey: VerificationKey } | undefined> => {
      const pkgDir = join(root, "models", model);
      const zkey = join(pkgDir, "circuit.zkey");
      const vkeyPath = join(pkgDir, "vkey.json");
      if (!existsSync(zkey) || !existsSync(vkeyPath)) return undefined;
      const { loadModelPackage } = await import("../../circuits/compiler/package.ts");
      const { witnessCalculatorFor } = await import("../../prover/witness.ts");
      const { heldOutSample } = await import("../../circuits/data/mnist.ts");
      const pkg = loadModelPackage(pkgDir);
      const calc = await witnessCalculatorFor(pkg);
      const wtns = join(dir, `${model}.wtns`);
      await calc(pkg, Array.from(heldOutSample(1).images[0]!), wtns);
      return { zkey, wtns, vkey: JSON.parse(readFileSync(vkeyPath, "utf8")) };
    };

    for (const model of ["mnist-mlp", "mnist-cnn"]) {
      it(`the shipped ${model} key proves a digit (resident and one-shot) when its key is built`, async function () {
        const m = await modelWitness(model);
        if (!m) {
          console.log(`    models/${model}/circuit.zkey not built (ozk model build models/${model} --ptau ...): skipping`);
          return this.skip();
        }
        for (const resident of [true, false]) {
          const p = await proveNative(m.zkey, m.wtns, { resident });
          expect(await snarkjs.groth16.verify(m.vkey, p.publicSignals, p.proof)).to.equal(true, `resident: ${resident}`);
        }
      });
    }
  });

  describe("resident prover (serve)", () => {
    const outFiles = (k: string): [string, string] => [join(dir, `res-${k}.json`), join(dir, `res-${k}.public.json`)];
    const verifyFiles = async (vkey: VerificationKey, [proof, pub]: [string, string]): Promise<boolean> =>
      snarkjs.groth16.verify(vkey, JSON.parse(readFileSync(pub, "utf8")), JSON.parse(readFileSync(proof, "utf8")));

    it("loads the key once, proves queued witnesses in turn, and keeps serving after a bad request", async () => {
      const zkey = join(fixtures, "mixed.zkey"), wtns = join(fixtures, "mixed.wtns");
      const vkey = JSON.parse(readFileSync(join(fixtures, "mixed.vkey.json"), "utf8"));
      const p = new ResidentProver(proverBin, zkey);
      try {
        const info = await p.ready;
        expect(info.backend).to.equal("cpu");
        expect(info.nPublic).to.equal(vkey.nPublic);
        const ms = await Promise.all(["a", "b", "c"].map((k) => p.prove(wtns, ...outFiles(k))));
        for (const t of ms) expect(t).to.be.a("number").and.at.least(0);
        for (const k of ["a", "b", "c"]) expect(await verifyFiles(vkey, outFiles(k))).to.equal(true, k);
        const bad = p.prove(join(fixtures, "chain.wtns"), ...outFiles("bad"));
        await bad.then(() => expect.fail("accepted a witness of another circuit"), (e: Error) => {
          expect(e).to.be.instanceOf(NativeProverError);
          expect(e.message).to.match(/invalid witness length/);
        });
        expect(existsSync(outFiles("bad")[0])).to.equal(false);
        await p.prove(wtns, ...outFiles("d"));
        expect(await verifyFiles(vkey, outFiles("d"))).to.equal(true);
        expect(p.alive).to.equal(true);
      } finally {
        p.close();
      }
    });

    it("a key that fails its checks ends the process with the key's error", async () => {
      const good = Buffer.from(readFileSync(join(fixtures, "chain.zkey")));
      good.write("zkez", 0);
      const f = join(dir, "res-bad.zkey");
      writeFileSync(f, good);
      const p = new ResidentProver(proverBin, f);
      await p.ready.then(() => expect.fail("started on a bad key"), (e: Error) => expect(e.message).to.match(/bad magic/));
      await p.prove(join(fixtures, "chain.wtns"), ...outFiles("x")).then(() => expect.fail("proved"), (e: Error) => expect(e).to.be.instanceOf(NativeProverError));
    });

    it("the pool replaces a killed process, fails its in-flight request, and restarts when the key file changes", async () => {
      const pool = new ResidentPool(2);
      const zkey = join(dir, "res-key.zkey");
      writeFileSync(zkey, readFileSync(join(fixtures, "mixed.zkey")));
      const mixedVkey = JSON.parse(readFileSync(join(fixtures, "mixed.vkey.json"), "utf8"));
      try {
        const p1 = pool.get(proverBin, zkey);
        await p1.ready;
        expect(pool.get(proverBin, zkey)).to.equal(p1);
        const inFlight = p1.prove(join(fixtures, "mixed.wtns"), ...outFiles("k1"));
        process.kill(p1.pid!, "SIGKILL");
        await inFlight.then(() => undefined, (e: Error) => expect(e).to.be.instanceOf(NativeProverError));
        while (p1.alive) await new Promise((r) => setTimeout(r, 10));
        const p2 = pool.get(proverBin, zkey);
        expect(p2).to.not.equal(p1);
        await p2.prove(join(fixtures, "mixed.wtns"), ...outFiles("k2"));
        expect(await verifyFiles(mixedVkey, outFiles("k2"))).to.equal(true);
        // the file now holds another circuit's key: a new process serves it, the old one is stopped
        writeFileSync(zkey, readFileSync(join(fixtures, "chain.zkey")));
        const p3 = pool.get(proverBin, zkey);
        expect(p3).to.not.equal(p2);
        await p3.prove(join(fixtures, "chain.wtns"), ...outFiles("k3"));
        expect(await verifyFiles(JSON.parse(readFileSync(join(fixtures, "chain.vkey.json"), "utf8")), outFiles("k3"))).to.equal(true);
        while (p2.alive) await new Promise((r) => setTimeout(r, 10));
        expect(pool.size).to.equal(1);
        // a third key with room for two: the least recently used is evicted
        const other = pool.get(proverBin, join(fixtures, "mixed.zkey"));
        await other.ready;
        const third = pool.get(proverBin, join(fixtures, "chain.zkey"));
        await third.ready;
        while (p3.alive) await new Promise((r) => setTimeout(r, 10));
        expect(pool.size).to.equal(2);
      } finally {
        pool.closeAll();
      }
    });
  });

  describe("GPU algorithm on the CPU", () => {
    it("proofs made with the GPU's MSM and NTT steps (run on the CPU) verify with snarkjs", async () => {
      const cases: [string, string, VerificationKey][] = ["chain", "mixed"].map((n) => [
        join(fixtures, `${n}.zkey`), join(fixtures, `${n}.wtns`), JSON.parse(readFileSync(join(fixtures, `${n}.vkey.json`), "utf8")),
      ]);
      const mlp = join(root, "models/mnist-mlp/circuit.zkey");
      if (existsSync(mlp)) {
        const { loadModelPackage } = await import("../../circuits/compiler/package.ts");
        const { witnessCalculatorFor } = await import("../../prover/witness.ts");
        const pkg = loadModelPackage(join(root, "models/mnist-mlp"));
        const wtns = join(dir, "plan-mlp.wtns");
        const { heldOutSample } = await import("../../circuits/data/mnist.ts");
        await (await witnessCalculatorFor(pkg))(pkg, Array.from(heldOutSample(2).images[1]!), wtns);
        cases.push([mlp, wtns, JSON.parse(readFileSync(join(root, "models/mnist-mlp/vkey.json"), "utf8"))]);
      }
      for (const [zkey, wtns, vkey] of cases) {
        const proof = join(dir, "plan.json"), pub = join(dir, "plan.public.json");
        execFileSync(testBin, ["plan-prove", zkey, wtns, proof, pub]);
        const ok = await snarkjs.groth16.verify(vkey, JSON.parse(readFileSync(pub, "utf8")), JSON.parse(readFileSync(proof, "utf8")));
        expect(ok).to.equal(true, zkey);
      }
    });

    it("on a GPU: the CUDA kernels match the CPU and CUDA proofs verify (skipped without one)", async function () {
      if (!(await cudaAvailable())) {
        console.log(`    no CUDA device (or ${cudaBinaryPath()} not built): skipping`);
        return this.skip();
      }
      execFileSync(cudaBinaryPath(), ["check"], { stdio: "inherit" });
      for (const n of ["chain", "mixed"]) {
        const vkey = JSON.parse(readFileSync(join(fixtures, `${n}.vkey.json`), "utf8"));
        for (const resident of [true, false]) {
          const p = await proveCuda(join(fixtures, `${n}.zkey`), join(fixtures, `${n}.wtns`), { resident });
          expect(await snarkjs.groth16.verify(vkey, p.publicSignals, p.proof)).to.equal(true, `${n} resident: ${resident}`);
        }
      }
    });
  });

  describe("UNSAFE dev setup", () => {
    const check = async (r1cs: string, wtns: string): Promise<void> => {
      const zkey = join(dir, "dev.zkey");
      await unsafeDevSetup(r1cs, zkey, { quiet: true });
      const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
      const s = await snarkjs.groth16.prove(zkey, wtns);
      expect(await snarkjs.groth16.verify(vkey, s.publicSignals, s.proof)).to.equal(true);
      const n = await proveNative(zkey, wtns);
      expect(await snarkjs.groth16.verify(vkey, n.publicSignals, n.proof)).to.equal(true);
      expect(n.publicSignals).to.deep.equal(s.publicSignals);
    };

    it("keys for circom circuits verify with snarkjs prove and native prove", async () => {
      await check(join(fixtures, "chain.r1cs"), join(fixtures, "chain.wtns"));
      await check(join(fixtures, "mixed.r1cs"), join(fixtures, "mixed.wtns"));
    });

    it("keys for the generated chain benchmark circuit verify (2^10 domain)", async () => {
      const n = squaringChainConstraintsForDomain(10);
      const r1cs = join(dir, "chain10.r1cs"), wtns = join(dir, "chain10.wtns");
      writeSquaringChainR1cs(r1cs, n);
      writeSquaringChainWtns(wtns, n, 5n);
      await check(r1cs, wtns);
    });

    it("different seeds give different keys; a proof for one key does not verify under the other", async () => {
      const r1cs = join(fixtures, "chain.r1cs"), wtns = join(fixtures, "chain.wtns");
      const k1 = join(dir, "s1.zkey"), k2 = join(dir, "s2.zkey");
      await unsafeDevSetup(r1cs, k1, { quiet: true, seed: 1n });
      await unsafeDevSetup(r1cs, k2, { quiet: true, seed: 2n });
      const p = await proveNative(k1, wtns);
      const v2 = await snarkjs.zKey.exportVerificationKey(k2);
      expect(await snarkjs.groth16.verify(v2, p.publicSignals, p.proof)).to.equal(false);
    });

    it("a model package's key is recorded as unsafe-dev in its manifest; twin: a key outside a package writes no manifest", async () => {
      const pkg = join(dir, "dev-package");
      const model = randomMlp(91, [6, 4, 3]);
      model.name = "dev-package";
      await compileModel(model, { out: pkg, calibration: randomInputs(92, 8, 6), log: () => {} });
      expect(readManifest(pkg).setup).to.equal(null);
      await unsafeDevSetup(join(pkg, "circuit.r1cs"), join(pkg, "circuit.zkey"), { quiet: true });
      const m = readManifest(pkg);
      expect(m.setup).to.deep.equal({ kind: "unsafe-dev", ptau: null, contributions: [], beacon: null });
      expect(m.verifierCodeHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(await verifyPackageSetup(pkg, undefined)).to.deep.equal([]);
      const loose = join(dir, "loose");
      mkdirSync(loose, { recursive: true });
      await unsafeDevSetup(join(pkg, "circuit.r1cs"), join(loose, "circuit.zkey"), { quiet: true });
      expect(existsSync(join(loose, "manifest.json"))).to.equal(false);
    });
  });
});
