// Groth16 phase 2 (the circuit-specific part of the trusted setup): secret contributions, the optional public
// beacon, reading the contribution chain out of a .zkey, verifying it, and the setup record a manifest carries.
//
// Why a secret contribution is mandatory: snarkjs's newZKey starts phase 2 with delta = 1 (the G1/G2 generators)
// and gamma = the G2 generator. If every later contribution is public (a beacon), anyone recomputes delta's
// discrete log d, and the proof A = alpha, B = beta, C = -vk_x / d satisfies the pairing check for ANY public
// signals. One contribution whose secret is destroyed makes d unknown; that is the whole point of phase 2.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import * as snarkjs from "snarkjs";
import { buildBn128, ChaCha, type Curve } from "ffjavascript";
import { sha256File, type PtauInfo, type SetupRecord } from "../../circuits/compiler/package.ts";
import { UNSAFE_PTAU_SHA256, type SetupKindName } from "../../sdk/protocol.ts";
import { contributeNative, nativeSetupAvailable } from "./contribute.ts";
import { nativeNewZKey } from "../backends/zkey-new.ts";

export type { PtauInfo, SetupRecord } from "../../circuits/compiler/package.ts";
export { UNSAFE_PTAU_SHA256 };

/** The powers-of-tau file OZK_PTAU names, or undefined when it is unset or missing (--ptau options default to it). */
export function defaultPtau(): string | undefined {
  const p = process.env.OZK_PTAU;
  return p && existsSync(p) ? p : undefined;
}


/** The power (log2 of the largest circuit) a .ptau file supports. */
export function ptauPower(path: string): number {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(64);
    readSync(fd, buf, 0, 64, 0);
    if (buf.toString("ascii", 0, 4) !== "ptau") throw new Error(`${path} is not a powers-of-tau file`);
    // magic, version, nSections, then section 1 (type u32, size u64): n8, q (n8 bytes), power
    const n8 = buf.readUInt32LE(24);
    const b2 = Buffer.alloc(4);
    readSync(fd, b2, 0, 4, 28 + n8);
    return b2.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

/** Name, sha256 and power of a .ptau file; `sha256` may be passed when already known (it takes a while at 2^20+). */
export function describePtau(path: string, sha256?: string): PtauInfo {
  if (!existsSync(path) || !statSync(path).isFile()) throw new Error(`no powers-of-tau file at ${path}`);
  return { file: basename(path), sha256: sha256 ?? sha256File(path), power: ptauPower(path) };
}

/** Whether a ptau is insecure: the user said so (--unsafe-dev), or it is one of the known development files. */
export function isUnsafePtau(info: PtauInfo, markedUnsafe = false): boolean {
  return markedUnsafe || info.sha256 in UNSAFE_PTAU_SHA256;
}

/** One phase-2 step as stored in a .zkey (section 10). */
export interface ZkeyContribution {
  name: string;
  /** blake2b-512 over the contribution's public key, hex. */
  hash: string;
  /** A public beacon (its secret is derived from beaconHash), or a secret contribution. */
  beacon: { hash: string; iterationsExp: number } | null;
}

let readerCurve: Promise<Curve> | undefined;
/** A single-threaded BN254 instance for point conversions (no worker threads to terminate). */
const curve = (): Promise<Curve> => (readerCurve ??= buildBn128(true));

/** The phase-2 contributions recorded in a .zkey, in order. */
export async function readContributions(zkeyPath: string): Promise<ZkeyContribution[]> {
  const buf = readFileSync(zkeyPath);
  if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "zkey") throw new Error(`${zkeyPath} is not a .zkey file`);
  // Sections: type u32, size u64, body. Section 2 is the Groth16 header (n8q first), 10 the MPC parameters.
  const sections = new Map<number, { start: number; size: number }>();
  let pos = 12;
  for (let i = 0, n = buf.readUInt32LE(8); i < n; i++) {
    const type = buf.readUInt32LE(pos);
    const size = Number(buf.readBigUInt64LE(pos + 4));
    sections.set(type, { start: pos + 12, size });
    pos += 12 + size;
  }
  const header = sections.get(2);
  const mpc = sections.get(10);
  if (!header || !mpc) throw new Error(`${zkeyPath} is not a Groth16 .zkey with phase-2 parameters`);
  const n8q = buf.readUInt32LE(header.start);
  const c = await curve();
  // The contribution hash is blake2b-512 over deltaAfter, g1_s, g1_sx (G1), g2_spx (G2) in uncompressed big-endian
  // form, then the transcript: snarkjs zkey_utils hashPubKey.
  const g1 = (at: number): Buffer => {
    const out = new Uint8Array(n8q * 2);
    c.G1.toRprUncompressed(out, 0, c.G1.fromRprLEM(buf, at));
    return Buffer.from(out);
  };
  const g2 = (at: number): Buffer => {
    const out = new Uint8Array(n8q * 4);
    c.G2.toRprUncompressed(out, 0, c.G2.fromRprLEM(buf, at));
    return Buffer.from(out);
  };
  let p = mpc.start + 64; // csHash
  const count = buf.readUInt32LE(p);
  p += 4;
  const result: ZkeyContribution[] = [];
  for (let i = 0; i < count; i++) {
    const hasher = createHash("blake2b512");
    for (let k = 0; k < 3; k++) hasher.update(g1(p + k * 2 * n8q));
    hasher.update(g2(p + 6 * n8q));
    p += 10 * n8q;
    hasher.update(buf.subarray(p, p + 64)); // transcript
    p += 64;
    const type = buf.readUInt32LE(p);
    const paramLength = buf.readUInt32LE(p + 4);
    p += 8;
    const end = p + paramLength;
    let name = "";
    let iterationsExp = 0;
    let beaconHash = "";
    while (p < end) {
      const key = buf[p++]!;
      if (key === 1) {
        const len = buf[p++]!;
        name = buf.toString("utf8", p, p + len);
        p += len;
      } else if (key === 2) {
        iterationsExp = buf[p++]!;
      } else if (key === 3) {
        const len = buf[p++]!;
        beaconHash = buf.toString("hex", p, p + len);
        p += len;
      } else {
        throw new Error(`${zkeyPath}: unknown phase-2 parameter ${key} in contribution ${i + 1}`);
      }
    }
    result.push({ name, hash: hasher.digest("hex"), beacon: type === 1 ? { hash: beaconHash, iterationsExp } : null });
  }
  return result;
}

/** Stops the worker threads of the BN254 instance snarkjs shares (globalThis.curve_bn128), so the process can exit. */
export async function releaseCurve(): Promise<void> {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
  delete (globalThis as { curve_bn128?: unknown }).curve_bn128;
}

const quietLogger: snarkjs.Logger = { info: () => {}, debug: () => {}, warn: () => {}, error: () => {} };

/** The initial phase-2 key of `r1cs` from `ptau` (delta = 1: NOT usable until a secret contribution). */
export async function initialKey(r1csPath: string, ptauPath: string, zkeyPath: string, logger: snarkjs.Logger = quietLogger): Promise<void> {
  // the native binary writes snarkjs's newZKey file byte for byte (prover/backends/zkey-new.ts), in seconds
  await nativeNewZKey(r1csPath, ptauPath, zkeyPath, { logger });
}

/**
 * Adds a secret contribution: `entropy` (default 64 bytes from the operating system's CSPRNG, which snarkjs mixes
 * with 64 more of its own) picks the contribution's secret, which lives only in this process (and, as delta^-1, in
 * the native scaler's while it runs) and is never written or logged. Returns the contribution hash (hex) the
 * contributor publishes. The points are scaled by the native binary when it is built (prover/setup/contribute.ts,
 * the same file snarkjs writes), by snarkjs otherwise or when OZK_NATIVE_SETUP=0.
 */
export async function contributeSecret(inZkey: string, outZkey: string, name: string, entropy?: Uint8Array): Promise<string> {
  if (!name.trim()) throw new Error("a contribution needs a name (who contributed)");
  if (Buffer.byteLength(name) > 64) throw new Error(`contribution name "${name}" is longer than 64 bytes (snarkjs stores at most 64)`);
  const secret = Buffer.from(entropy ?? randomBytes(64)).toString("hex");
  if (await nativeSetupAvailable()) return contributeNative(inZkey, outZkey, name, secret);
  const hash = (await snarkjs.zKey.contribute(inZkey, outZkey, name, secret, quietLogger)) as Uint8Array;
  return Buffer.from(hash).toString("hex");
}

/**
 * Applies a public beacon (e.g. a future block hash announced in advance). It adds no secrecy: it only removes a
 * last contributor's ability to choose the final key. Returns the contribution hash (hex).
 */
export async function applyBeacon(inZkey: string, outZkey: string, beaconHex: string, iterationsExp: number, name = "final beacon"): Promise<string> {
  const hex = beaconHex.replace(/^0x/, "");
  if (!/^([0-9a-fA-F]{2})+$/.test(hex) || hex.length > 2 * 255) throw new Error(`beacon must be 1 to 255 bytes of hex, got "${beaconHex}"`);
  if (!Number.isInteger(iterationsExp) || iterationsExp < 10 || iterationsExp > 63) throw new Error(`beacon iterations exponent must be an integer in 10..63, got ${iterationsExp}`);
  const hash = await snarkjs.zKey.beacon(inZkey, outZkey, name, hex, iterationsExp, quietLogger);
  if (!(hash instanceof Uint8Array)) throw new Error(`snarkjs rejected the beacon for ${inZkey}`);
  return Buffer.from(hash).toString("hex");
}

/** Checks a key against its circuit and powers of tau: every contribution in the chain, and every key element. */
export async function verifyKey(r1csPath: string, ptauPath: string, zkeyPath: string, logger: snarkjs.Logger = quietLogger): Promise<boolean> {
  // snarkjs prints some mismatches with console.log rather than the logger: route them to the logger too.
  const log = console.log;
  // (a logger that itself prints with console.log gets the original: no loop)
  let inside = false;
  console.log = (...a: unknown[]) => {
    if (inside) return log(...a);
    inside = true;
    try {
      logger.error(a.map(String).join(" "));
    } finally {
      inside = false;
    }
  };
  // verifyFromR1cs is newZKey (the slow part) then verifyFromInit: make the initial key natively when built
  const dir = (await nativeSetupAvailable()) ? mkdtempSync(join(tmpdir(), "ozk-verify-")) : undefined;
  try {
    if (!dir) return (await snarkjs.zKey.verifyFromR1cs(r1csPath, ptauPath, zkeyPath, logger)) === true;
    const init = join(dir, "init.zkey");
    await nativeNewZKey(r1csPath, ptauPath, init);
    return (await snarkjs.zKey.verifyFromInit(init, ptauPath, zkeyPath, logger)) === true;
  } finally {
    console.log = log;
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** The setup record of a key: the kind follows from the ptau and the number of secret contributions. */
export async function setupRecordOf(zkeyPath: string, ptau: PtauInfo, opts: { unsafeDev?: boolean; ceremony?: boolean } = {}): Promise<SetupRecord> {
  const chain = await readContributions(zkeyPath);
  const secret = chain.filter((c) => !c.beacon);
  const beacons = chain.filter((c) => c.beacon);
  if (secret.length === 0) throw new Error(`${zkeyPath} has no secret phase-2 contribution: anyone can forge proofs for it`);
  if (beacons.length > 1 || (beacons.length === 1 && chain.at(-1)!.beacon === null)) throw new Error(`${zkeyPath}: a beacon may only close phase 2, once`);
  let kind: SetupKindName = opts.ceremony && secret.length >= 2 ? "ceremony" : "single-contributor";
  if (isUnsafePtau(ptau, opts.unsafeDev)) kind = "unsafe-dev";
  return { kind, ptau, contributions: secret.map(({ name, hash }) => ({ name, hash })), beacon: beacons[0]?.beacon ?? null };
}

/** The record of a key from the native UNSAFE dev setup (prover/setup/devsetup.ts): no ptau, no contributions. */
export const UNSAFE_DEV_SETUP: SetupRecord = { kind: "unsafe-dev", ptau: null, contributions: [], beacon: null };

/** The secret a beacon contribution uses: anyone can recompute it from the beacon hash (snarkjs misc.rngFromBeaconParams). */
export function beaconSecretRng(beaconHex: string, iterationsExp: number): ChaCha {
  let h: Buffer = Buffer.from(beaconHex, "hex");
  const n = 2 ** iterationsExp;
  for (let i = 0; i < n; i++) h = createHash("sha256").update(h).digest();
  return new ChaCha(Array.from({ length: 8 }, (_, i) => h.readUInt32BE(4 * i)));
}
