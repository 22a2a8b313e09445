// snarkjs binary formats from TypeScript: a streaming .r1cs writer, a .r1cs reader, a constraint checker
// (so tests can tamper a witness and watch a constraint fail) and .wtns read/write.
import { closeSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { FIELD_P } from "../../sdk/hash.ts";

/** A linear combination: parallel arrays of wire ids and coefficients (any integers; reduced mod p on write). */
export interface LC {
  wires: number[];
  coeffs: bigint[];
}

export interface Constraint {
  a: LC;
  b: LC;
  c: LC;
}

export interface R1csHeader {
  nWires: number;
  nPubOut: number;
  nPubIn: number;
  nPrvIn: number;
  nLabels: number;
  nConstraints: number;
}

const N8 = 32;
const MASK64 = (1n << 64n) - 1n;
const HEADER_SIZE = 4 + N8 + 4 * 4 + 8 + 4;

export const mod = (v: bigint): bigint => {
  const r = v % FIELD_P;
  return r < 0n ? r + FIELD_P : r;
};

function writeField(buf: Buffer, off: number, v: bigint): void {
  writeUint256(buf, off, mod(v));
}

function writeUint256(buf: Buffer, off: number, v: bigint): void {
  let x = v;
  for (let i = 0; i < 4; i++) {
    buf.writeBigUInt64LE(x & MASK64, off + 8 * i);
    x >>= 64n;
  }
}

function readField(buf: Buffer, off: number): bigint {
  let x = 0n;
  for (let i = 3; i >= 0; i--) x = (x << 64n) | buf.readBigUInt64LE(off + 8 * i);
  return x;
}

/**
 * Streams constraints to a .r1cs file: the header section is written first with placeholders and patched
 * on close, so memory stays flat however many constraints there are.
 */
export class R1csWriter {
  private fd: number;
  private buf = Buffer.alloc(1 << 22);
  private pos = 0;
  private fileOff = 0;
  private constraintsStart = 0;
  nConstraints = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, "w");
    const head = Buffer.alloc(12);
    head.write("r1cs", 0, "ascii");
    head.writeUInt32LE(1, 4);
    head.writeUInt32LE(3, 8);
    this.raw(head);
    this.raw(Buffer.alloc(12 + HEADER_SIZE)); // header section, patched in close()
    const sec = Buffer.alloc(12);
    sec.writeUInt32LE(2, 0);
    this.raw(sec); // constraints section header, size patched in close()
    this.constraintsStart = this.offset();
  }

  private offset(): number {
    return this.fileOff + this.pos;
  }

  private flush(): void {
    if (this.pos > 0) writeSync(this.fd, this.buf, 0, this.pos, this.fileOff);
    this.fileOff += this.pos;
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.flush();
    if (n > this.buf.length) this.buf = Buffer.alloc(n);
  }

  private raw(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  private lc(l: LC): void {
    const n = l.wires.length;
    this.ensure(4 + n * (4 + N8));
    this.buf.writeUInt32LE(n, this.pos);
    this.pos += 4;
    for (let i = 0; i < n; i++) {
      this.buf.writeUInt32LE(l.wires[i]!, this.pos);
      writeField(this.buf, this.pos + 4, l.coeffs[i]!);
      this.pos += 4 + N8;
    }
  }

  add(a: LC, b: LC, c: LC): void {
    this.lc(a);
    this.lc(b);
    this.lc(c);
    this.nConstraints++;
  }

  close(h: Omit<R1csHeader, "nConstraints" | "nLabels">): void {
    const constraintsSize = this.offset() - this.constraintsStart;
    // wire -> label map: identity
    const map = Buffer.alloc(12);
    map.writeUInt32LE(3, 0);
    map.writeBigUInt64LE(BigInt(h.nWires * 8), 4);
    this.raw(map);
    const labels = Buffer.alloc(8 * 4096);
    for (let w = 0; w < h.nWires; w += 4096) {
      const n = Math.min(4096, h.nWires - w);
      for (let i = 0; i < n; i++) labels.writeBigUInt64LE(BigInt(w + i), 8 * i);
      this.raw(labels.subarray(0, 8 * n));
    }
    this.flush();
    const header = Buffer.alloc(12 + HEADER_SIZE);
    header.writeUInt32LE(1, 0);
    header.writeBigUInt64LE(BigInt(HEADER_SIZE), 4);
    let o = 12;
    header.writeUInt32LE(N8, o);
    writeUint256(header, o + 4, FIELD_P);
    o += 4 + N8;
    header.writeUInt32LE(h.nWires, o);
    header.writeUInt32LE(h.nPubOut, o + 4);
    header.writeUInt32LE(h.nPubIn, o + 8);
    header.writeUInt32LE(h.nPrvIn, o + 12);
    header.writeBigUInt64LE(BigInt(h.nWires), o + 16);
    header.writeUInt32LE(this.nConstraints, o + 24);
    writeSync(this.fd, header, 0, header.length, 12);
    const sizeBuf = Buffer.alloc(8);
    sizeBuf.writeBigUInt64LE(BigInt(constraintsSize));
    writeSync(this.fd, sizeBuf, 0, 8, this.constraintsStart - 8);
    closeSync(this.fd);
  }
}

/** The counts of a header section, after its field size and prime (at `o`). */
function decodeHeaderCounts(b: Buffer, o: number): R1csHeader {
  return {
    nWires: b.readUInt32LE(o),
    nPubOut: b.readUInt32LE(o + 4),
    nPubIn: b.readUInt32LE(o + 8),
    nPrvIn: b.readUInt32LE(o + 12),
    nLabels: Number(b.readBigUInt64LE(o + 16)),
    nConstraints: b.readUInt32LE(o + 24),
  };
}

/** Reads only the header of a .r1cs (any size). */
export function readR1csHeader(path: string): R1csHeader {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(12);
    readSync(fd, head, 0, 12, 0);
    if (head.toString("ascii", 0, 4) !== "r1cs") throw new Error(`${path}: not an r1cs file`);
    let off = 12;
    for (let i = 0; i < head.readUInt32LE(8); i++) {
      const sec = Buffer.alloc(12);
      readSync(fd, sec, 0, 12, off);
      const size = Number(sec.readBigUInt64LE(4));
      if (sec.readUInt32LE(0) === 1) {
        const h = Buffer.alloc(size);
        readSync(fd, h, 0, size, off + 12);
        return decodeHeaderCounts(h, 4 + h.readUInt32LE(0));
      }
      off += 12 + size;
    }
    throw new Error(`${path}: no header section`);
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole .r1cs (small circuits: tests, inspect). */
export function readR1cs(path: string): R1csHeader & { constraints: Constraint[] } {
  const buf = readFileSync(path);
  if (buf.toString("ascii", 0, 4) !== "r1cs") throw new Error(`${path}: not an r1cs file`);
  const nSections = buf.readUInt32LE(8);
  let off = 12;
  const sections = new Map<number, { start: number; size: number }>();
  for (let i = 0; i < nSections; i++) {
    const type = buf.readUInt32LE(off);
    const size = Number(buf.readBigUInt64LE(off + 4));
    if (!sections.has(type)) sections.set(type, { start: off + 12, size });
    off += 12 + size;
  }
  const hs = sections.get(1);
  const cs = sections.get(2);
  if (!hs || !cs) throw new Error(`${path}: missing header or constraints section`);
  let o = hs.start;
  const n8 = buf.readUInt32LE(o);
  if (n8 !== N8 || readField(buf, o + 4) !== FIELD_P) throw new Error(`${path}: not a BN254 r1cs`);
  o += 4 + n8;
  const header = decodeHeaderCounts(buf, o);
  const constraints: Constraint[] = [];
  o = cs.start;
  const readLc = (): LC => {
    const n = buf.readUInt32LE(o);
    o += 4;
    const l: LC = { wires: new Array(n), coeffs: new Array(n) };
    for (let i = 0; i < n; i++) {
      l.wires[i] = buf.readUInt32LE(o);
      l.coeffs[i] = readField(buf, o + 4);
      o += 4 + N8;
    }
    return l;
  };
  for (let i = 0; i < header.nConstraints; i++) {
    const a = readLc();
    const b = readLc();
    const c = readLc();
    constraints.push({ a, b, c });
  }
  return { ...header, constraints };
}

export function evalLc(l: LC, w: readonly bigint[]): bigint {
  let s = 0n;
  for (let i = 0; i < l.wires.length; i++) s += l.coeffs[i]! * w[l.wires[i]!]!;
  return mod(s);
}

/** Indices of the constraints the witness violates (empty = satisfied). */
export function violatedConstraints(r1cs: { constraints: Constraint[]; nWires: number }, witness: readonly bigint[]): number[] {
  if (witness.length !== r1cs.nWires) throw new Error(`witness has ${witness.length} values, the circuit ${r1cs.nWires} wires`);
  if (mod(witness[0]!) !== 1n) return [-1];
  const bad: number[] = [];
  r1cs.constraints.forEach((k, i) => {
    if (mod(evalLc(k.a, witness) * evalLc(k.b, witness)) !== evalLc(k.c, witness)) bad.push(i);
  });
  return bad;
}

/** .wtns (version 2) bytes for a witness of field elements (negative integers are taken mod p). */
export function encodeWtns(witness: readonly bigint[]): Uint8Array {
  const n = witness.length;
  const buf = Buffer.alloc(12 + 12 + 4 + N8 + 4 + 12 + n * N8);
  buf.write("wtns", 0, "ascii");
  buf.writeUInt32LE(2, 4);
  buf.writeUInt32LE(2, 8);
  let o = 12;
  buf.writeUInt32LE(1, o);
  buf.writeBigUInt64LE(BigInt(4 + N8 + 4), o + 4);
  buf.writeUInt32LE(N8, o + 12);
  writeUint256(buf, o + 16, FIELD_P);
  buf.writeUInt32LE(n, o + 16 + N8);
  o += 12 + 4 + N8 + 4;
  buf.writeUInt32LE(2, o);
  buf.writeBigUInt64LE(BigInt(n * N8), o + 4);
  o += 12;
  for (let i = 0; i < n; i++) writeField(buf, o + i * N8, witness[i]!);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

export function decodeWtns(bytes: Uint8Array): bigint[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.toString("ascii", 0, 4) !== "wtns") throw new Error("not a wtns file");
  const nSections = buf.readUInt32LE(8);
  let off = 12;
  let n = 0;
  let data = -1;
  for (let i = 0; i < nSections; i++) {
    const type = buf.readUInt32LE(off);
    const size = Number(buf.readBigUInt64LE(off + 4));
    if (type === 1) n = buf.readUInt32LE(off + 12 + 4 + N8);
    if (type === 2) data = off + 12;
    off += 12 + size;
  }
  if (data < 0) throw new Error("wtns without data section");
  return Array.from({ length: n }, (_, i) => readField(buf, data + i * N8));
}
