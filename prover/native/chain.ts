// Synthetic benchmark circuit written straight to .r1cs/.wtns (no circom): y[i] = y[i-1]^2 + i, y[-1] = x (public
// input), the last y is the public output. One multiplication gate per constraint.
import { writeFileSync } from "node:fs";

export const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

function put256(buf: Buffer, off: number, v: bigint): void {
  for (let i = 0; i < 4; i++) {
    buf.writeBigUInt64LE(v & 0xffffffffffffffffn, off + 8 * i);
    v >>= 64n;
  }
}

function header(magic: string, version: number, nSections: number): Buffer {
  const b = Buffer.alloc(12);
  b.write(magic, 0, "ascii");
  b.writeUInt32LE(version, 4);
  b.writeUInt32LE(nSections, 8);
  return b;
}

function section(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt32LE(type, 0);
  h.writeBigUInt64LE(BigInt(body.length), 4);
  return Buffer.concat([h, body]);
}

/** Wire of y[i]: wire 0 is the constant one, 1 the output (= y[n-1]), 2 the input x, then y[0..n-2]. */
function wireOf(i: number, n: number): number {
  return i === n - 1 ? 1 : 3 + i;
}

/** Number of constraints so that snarkjs's domain (next power of two above constraints + public) is 2^log. */
export function chainConstraintsForDomain(log: number): number {
  return 2 ** log - 2 - 1; // 2 public signals, plus room for the constant-one row
}

export function writeChainR1cs(path: string, n: number): void {
  const nWires = n + 2;
  const h = Buffer.alloc(4 + 32 + 4 * 4 + 8 + 4);
  let o = 0;
  h.writeUInt32LE(32, o); o += 4;
  put256(h, o, BN254_R); o += 32;
  h.writeUInt32LE(nWires, o); o += 4;
  h.writeUInt32LE(1, o); o += 4; // public outputs
  h.writeUInt32LE(1, o); o += 4; // public inputs
  h.writeUInt32LE(0, o); o += 4; // private inputs
  h.writeBigUInt64LE(BigInt(nWires), o); o += 8;
  h.writeUInt32LE(n, o);
  // per constraint: A (1 term), B (1 term), C (1 or 2 terms)
  const c = Buffer.alloc(n * (3 * 4 + 4 * 36) );
  o = 0;
  for (let i = 0; i < n; i++) {
    const prev = i === 0 ? 2 : wireOf(i - 1, n);
    for (let m = 0; m < 2; m++) {
      c.writeUInt32LE(1, o); o += 4;
      c.writeUInt32LE(prev, o); o += 4;
      put256(c, o, 1n); o += 32;
    }
    c.writeUInt32LE(i === 0 ? 1 : 2, o); o += 4;
    c.writeUInt32LE(wireOf(i, n), o); o += 4;
    put256(c, o, 1n); o += 32;
    if (i > 0) {
      c.writeUInt32LE(0, o); o += 4;
      put256(c, o, BN254_R - BigInt(i)); o += 32;
    }
  }
  const labels = Buffer.alloc(8 * nWires);
  for (let w = 0; w < nWires; w++) labels.writeBigUInt64LE(BigInt(w), 8 * w);
  writeFileSync(path, Buffer.concat([header("r1cs", 1, 3), section(1, h), section(2, c.subarray(0, o)), section(3, labels)]));
}

export function writeChainWtns(path: string, n: number, x: bigint): void {
  const nWires = n + 2;
  const h = Buffer.alloc(4 + 32 + 4);
  h.writeUInt32LE(32, 0);
  put256(h, 4, BN254_R);
  h.writeUInt32LE(nWires, 36);
  const w = Buffer.alloc(32 * nWires);
  put256(w, 0, 1n);
  put256(w, 64, x % BN254_R);
  let y = x % BN254_R;
  for (let i = 0; i < n; i++) {
    y = (y * y + BigInt(i)) % BN254_R;
    put256(w, 32 * wireOf(i, n), y);
  }
  writeFileSync(path, Buffer.concat([header("wtns", 2, 2), section(1, h), section(2, w)]));
}
