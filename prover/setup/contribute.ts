// A Groth16 phase-2 secret contribution with the point scaling done by the native prover binary.
//
// This follows snarkjs's phase2contribute (snarkjs src/zkey_contribute.js) step by step and writes the same file:
// the same sections in the same order (1 to 10), the same header, the same contribution record in section 10. Only
// the slow part moves out of JavaScript: multiplying every point of sections 8 (L, "C" in snarkjs) and 9 (H) by
// delta^-1, which `ozk-prover scale-g1` does in place on the new file with all cores. The bookkeeping here:
//
//   1. the secret delta and the proof of knowledge: a ChaCha generator seeded by blake2b-512 over 64 fresh random
//      bytes and the entropy (snarkjs misc.getRandomRng) draws delta, then a random G1 point s; the transcript is
//      blake2b-512 over the circuit hash, every earlier contribution's public key, s and s*delta; a G2 point sp is
//      derived from the transcript (snarkjs keypair.hashToG2) and the contribution publishes sp*delta;
//   2. the header's delta (G1 and G2) times delta;
//   3. the contribution appended to the MPC parameters (section 10);
//   4. sections 8 and 9 times delta^-1 (native).
//
// `snarkjs zkey verify` (ozk ceremony verify) checks all of it: the proof of knowledge, that each deltaAfter follows
// from the one before, and that sections 8 and 9 are the initial key's divided by the final delta.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { buildBn128, ChaCha, type Curve, type Elem } from "ffjavascript";
import { nativeBinaryPath } from "../backends/native.ts";

/** Whether contributions use the native scaler: OZK_NATIVE_SETUP=0 forces snarkjs, else native when built. */
export { nativeSetupAvailable } from "../backends/zkey-new.ts";

interface ZkeySection {
  start: number;
  size: number;
}

/** The section table of a .zkey (section id to body offset and size), read from the file's front. */
function readSections(fd: number, path: string): Map<number, ZkeySection> {
  const head = Buffer.alloc(12);
  readSync(fd, head, 0, 12, 0);
  if (head.toString("ascii", 0, 4) !== "zkey") throw new Error(`${path} is not a .zkey file`);
  const sections = new Map<number, ZkeySection>();
  let pos = 12;
  const entry = Buffer.alloc(12);
  for (let i = 0, n = head.readUInt32LE(8); i < n; i++) {
    if (readSync(fd, entry, 0, 12, pos) !== 12) throw new Error(`${path}: truncated section table`);
    const id = entry.readUInt32LE(0);
    const size = Number(entry.readBigUInt64LE(4));
    if (sections.has(id)) throw new Error(`${path}: section ${id} appears twice`);
    sections.set(id, { start: pos + 12, size });
    pos += 12 + size;
  }
  for (let id = 1; id <= 10; id++) if (!sections.has(id)) throw new Error(`${path}: missing section ${id} (not a Groth16 .zkey?)`);
  return sections;
}

function readBytes(fd: number, at: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  if (readSync(fd, b, 0, n, at) !== n) throw new Error("unexpected end of the .zkey");
  return b;
}

/** blake2b-512 (snarkjs hashes with @noble/hashes blake2b, 64-byte output, no key: the same function). */
const blake2b = () => createHash("blake2b512");

/** The big-endian u32 words of the first 32 bytes: how snarkjs seeds ChaCha from a hash. */
const chachaSeed = (h: Uint8Array): number[] => Array.from({ length: 8 }, (_, i) => Buffer.from(h).readUInt32BE(4 * i));

/**
 * Multiplies every G1 point of the given sections of a .zkey by `scalar`, in place: `ozk-prover scale-g1`, with the
 * scalar (decimal) on stdin rather than on the command line, which every local user can read.
 */
export function scaleG1Sections(zkeyPath: string, sections: number[], scalar: bigint): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(nativeBinaryPath(), ["scale-g1", zkeyPath, sections.join(",")], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`ozk-prover scale-g1 failed (exit ${code}): ${stderr.trim().split("\n").pop() ?? ""}`));
    });
    child.stdin.end(`${scalar.toString()}\n`);
  });
}

let contributionCurve: Promise<Curve> | undefined;
/** A single-threaded BN254 instance: the few point operations here need no workers (and none to terminate). */
const curve = (): Promise<Curve> => (contributionCurve ??= buildBn128(true));

export interface ContributeNativeOptions {
  /** Replaces step 4: gets the new file and delta^-1 (default: scaleG1Sections on 8 and 9). For tests: a
   *  contribution with a fault (a corrupted point, a wrong scalar) that the verifier must reject. */
  scaleSections?: (zkeyPath: string, invDelta: bigint) => Promise<void>;
}

/**
 * Adds a secret contribution to `inZkey`, written to `outZkey`, as snarkjs.zKey.contribute does (same file format,
 * same entropy handling), with sections 8 and 9 scaled natively. Returns the contribution hash (blake2b-512, hex).
 */
export async function contributeNative(inZkey: string, outZkey: string, name: string, entropy: string, opts: ContributeNativeOptions = {}): Promise<string> {
  if (resolve(inZkey) === resolve(outZkey)) throw new Error(`a contribution must write a new file, not ${inZkey} itself`);
  const c = await curve();
  const { G1, G2, Fr } = c;
  const fdIn = openSync(inZkey, "r");
  let fdOut: number | undefined;
  try {
    const sections = readSections(fdIn, inZkey);
    const s1 = sections.get(1)!;
    if (readBytes(fdIn, s1.start, 4).readUInt32LE(0) !== 1) throw new Error(`${inZkey} is not a Groth16 .zkey`);
    const s2 = sections.get(2)!;
    const header = readBytes(fdIn, s2.start, s2.size);
    const n8q = header.readUInt32LE(0);
    const n8r = header.readUInt32LE(4 + n8q);
    if (n8q !== 32 || n8r !== 32) throw new Error(`${inZkey}: not a BN254 key`);
    // n8q, q, n8r, r, nVars, nPublic, domainSize, then alpha1 (G1), beta1 (G1), beta2 (G2), gamma2 (G2), delta1, delta2
    const delta1At = 4 + n8q + 4 + n8r + 12 + 2 * (2 * n8q) + 2 * (4 * n8q);
    const delta2At = delta1At + 2 * n8q;
    const s10 = sections.get(10)!;
    const mpc = readBytes(fdIn, s10.start, s10.size);

    // 1. the secret and its proof of knowledge (snarkjs misc.getRandomRng, then phase2contribute)
    const seed = blake2b().update(randomBytes(64)).update(Buffer.from(entropy, "utf8")).digest();
    const rng = new ChaCha(chachaSeed(seed));
    seed.fill(0);
    const transcriptHasher = blake2b().update(mpc.subarray(0, 64)); // the circuit hash
    const count = mpc.readUInt32LE(64);
    let p = 68;
    const g1Unc = (pt: Elem): Buffer => {
      const out = new Uint8Array(2 * n8q);
      G1.toRprUncompressed(out, 0, pt);
      return Buffer.from(out);
    };
    const g2Unc = (pt: Elem): Buffer => {
      const out = new Uint8Array(4 * n8q);
      G2.toRprUncompressed(out, 0, pt);
      return Buffer.from(out);
    };
    for (let i = 0; i < count; i++) {
      // deltaAfter, g1_s, g1_sx (G1), g2_spx (G2), transcript, type, parameters (snarkjs zkey_utils hashPubKey)
      for (let k = 0; k < 3; k++) transcriptHasher.update(g1Unc(G1.fromRprLEM(mpc, p + k * 2 * n8q)));
      transcriptHasher.update(g2Unc(G2.fromRprLEM(mpc, p + 6 * n8q)));
      p += 10 * n8q;
      transcriptHasher.update(mpc.subarray(p, p + 64));
      p += 64 + 4;
      p += 4 + mpc.readUInt32LE(p);
    }
    if (p !== mpc.length) throw new Error(`${inZkey}: the MPC parameters (section 10) do not parse`);

    const prvKey = Fr.fromRng(rng);
    const g1S = G1.toAffine(G1.fromRng(rng));
    const g1Sx = G1.toAffine(G1.timesFr(g1S, prvKey));
    transcriptHasher.update(g1Unc(g1S)).update(g1Unc(g1Sx));
    const transcript = transcriptHasher.digest();
    const g2Sp = G2.fromRng(new ChaCha(chachaSeed(transcript)));
    const g2Spx = G2.toAffine(G2.timesFr(g2Sp, prvKey));

    // 2. the header's delta times the secret
    const deltaAfter = G1.toAffine(G1.timesFr(G1.fromRprLEM(header, delta1At), prvKey));
    const delta2After = G2.toAffine(G2.timesFr(G2.fromRprLEM(header, delta2At), prvKey));
    const newHeader = Buffer.from(header);
    G1.toRprLEM(newHeader, delta1At, deltaAfter);
    G2.toRprLEM(newHeader, delta2At, delta2After);

    // 3. the contribution record (snarkjs zkey_utils writeContribution): type 0, parameter 1 = the name
    const nameBytes = Buffer.from(name, "utf8");
    if (nameBytes.length > 64) throw new Error(`contribution name "${name}" is longer than 64 bytes`);
    const params = nameBytes.length > 0 ? Buffer.concat([Buffer.from([1, nameBytes.length]), nameBytes]) : Buffer.alloc(0);
    const record = Buffer.alloc(10 * n8q + 64 + 8 + params.length);
    G1.toRprLEM(record, 0, deltaAfter);
    G1.toRprLEM(record, 2 * n8q, g1S);
    G1.toRprLEM(record, 4 * n8q, g1Sx);
    G2.toRprLEM(record, 6 * n8q, g2Spx);
    Buffer.from(transcript).copy(record, 10 * n8q);
    record.writeUInt32LE(0, 10 * n8q + 64);
    record.writeUInt32LE(params.length, 10 * n8q + 68);
    params.copy(record, 10 * n8q + 72);
    const newMpc = Buffer.concat([mpc.subarray(0, 64), Buffer.alloc(4), mpc.subarray(68), record]);
    newMpc.writeUInt32LE(count + 1, 64);

    const invDelta = Fr.toObject(Fr.inv(prvKey));
    prvKey.fill(0);

    // The new file: sections 1 to 10 in order (as snarkjs writes them), 2 and 10 replaced, 8 and 9 still unscaled.
    fdOut = openSync(outZkey, "w");
    const fileHead = Buffer.alloc(12);
    fileHead.write("zkey", 0, "ascii");
    fileHead.writeUInt32LE(1, 4);
    fileHead.writeUInt32LE(10, 8);
    writeSync(fdOut, fileHead);
    const chunk = Buffer.alloc(1 << 24);
    for (let id = 1; id <= 10; id++) {
      const sec = sections.get(id)!;
      const body = id === 2 ? newHeader : id === 10 ? newMpc : null;
      const entry = Buffer.alloc(12);
      entry.writeUInt32LE(id, 0);
      entry.writeBigUInt64LE(BigInt(body ? body.length : sec.size), 4);
      writeSync(fdOut, entry);
      if (body) {
        writeSync(fdOut, body);
        continue;
      }
      for (let done = 0; done < sec.size; ) {
        const n = readSync(fdIn, chunk, 0, Math.min(chunk.length, sec.size - done), sec.start + done);
        if (n <= 0) throw new Error(`${inZkey}: unexpected end of section ${id}`);
        writeSync(fdOut, chunk, 0, n);
        done += n;
      }
    }
    closeSync(fdOut);
    fdOut = undefined;

    // 4. sections 8 and 9 times delta^-1, in place (a key left half scaled by a failure is removed)
    try {
      await (opts.scaleSections ?? ((path, inv) => scaleG1Sections(path, [8, 9], inv)))(outZkey, invDelta);
    } catch (e) {
      rmSync(outZkey, { force: true });
      throw e;
    }

    const hash = blake2b()
      .update(g1Unc(deltaAfter))
      .update(g1Unc(g1S))
      .update(g1Unc(g1Sx))
      .update(g2Unc(g2Spx))
      .update(transcript)
      .digest("hex");
    return hash;
  } finally {
    closeSync(fdIn);
    if (fdOut !== undefined) closeSync(fdOut);
  }
}
