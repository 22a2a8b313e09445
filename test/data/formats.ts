// Writers for the data formats ozk reads (circuits/data/datasets.ts), for tests: .npy, PNG, PGM.
import { crc32, deflateSync } from "node:zlib";

/** A .npy file (format 1.0) of `descr` ('<f4', '<f8', '|u1', '<i8', ...) and `shape` holding `values`. */
export function npy(descr: string, shape: number[], values: ArrayLike<number>, fortran = false): Buffer {
  const body =
    descr === "<f4" ? Buffer.from(Float32Array.from(values).buffer)
    : descr === "<f8" ? Buffer.from(Float64Array.from(values).buffer)
    : descr === "|u1" ? Buffer.from(Uint8Array.from(values))
    : descr === "<i4" ? Buffer.from(Int32Array.from(values).buffer)
    : Buffer.from(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const pre = Buffer.alloc(10);
  pre[0] = 0x93;
  pre.write("NUMPY", 1, "latin1");
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, "latin1"), body]);
}

/** A PNG of 8-bit samples (`channels` 1 = gray, 3 = RGB, 4 = RGBA), row r filtered with filter r % 5. */
export function png(width: number, height: number, channels: 1 | 3 | 4, px: Uint8Array): Buffer {
  const color = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const stride = width * channels;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let r = 0; r < height; r++) {
    const f = r % 5;
    raw[r * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = px[r * stride + i]!;
      const a = i >= channels ? px[r * stride + i - channels]! : 0;
      const b = r > 0 ? px[(r - 1) * stride + i]! : 0;
      const c = r > 0 && i >= channels ? px[(r - 1) * stride + i - channels]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f]!;
      raw[r * (stride + 1) + 1 + i] = (x - pred) & 0xff;
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = color;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

/** A binary PGM (P5) with a comment in its header. */
export const pgm = (w: number, h: number, px: Uint8Array): Buffer => Buffer.concat([Buffer.from(`P5\n# a comment\n${w} ${h}\n255\n`, "latin1"), Buffer.from(px)]);
