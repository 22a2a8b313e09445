// Input data as it travels to challengers (calldata, events, URIs): a compact byte encoding of the
// quantized input vector, and the local check that data matches a claim's inputHash.
//
// Byte format, version 1 (all integers big-endian):
//   offset 0      u8   version = 0x01
//   offset 1      u8   bits: signed width of each value, 1..248
//   offset 2      u32  count: number of values
//   offset 6      limbs: ceil(count / floor(248 / bits)) limbs of 31 bytes each. Limb j is
//                 packSigned(values, bits)[j] from sdk/hash.ts: value v is offset to v + 2^(bits-1) and
//                 packed little-endian inside the limb, floor(248 / bits) values per limb.
// The limbs are exactly the field elements the Poseidon sponge absorbs, so
// inputHash = poseidonSponge(limbs). Encoding is canonical: unused bits are zero and the decoder
// rejects anything else, so one input has exactly one encoding.
import { bytesToHex, hexToBytes, type Hex } from "viem";
import { hashVector, packSigned, unpackSigned, valuesPerLimb, LIMB_BITS } from "./hash.ts";
import { InputError } from "./errors.ts";

export const INPUT_FORMAT_VERSION = 1;
const HEADER_BYTES = 6;
const LIMB_BYTES = LIMB_BITS / 8; // 31

export interface InputData {
  values: bigint[];
  bits: number;
}

/** Encodes a quantized input vector in the version-1 byte format (see the file header). */
export function encodeInputData(values: readonly bigint[], bits: number): Hex {
  if (values.length > 0xffffffff) throw new InputError(`too many values: ${values.length}`);
  const limbs = packSigned(values, bits);
  const out = new Uint8Array(HEADER_BYTES + limbs.length * LIMB_BYTES);
  out[0] = INPUT_FORMAT_VERSION;
  out[1] = bits;
  new DataView(out.buffer).setUint32(2, values.length, false);
  limbs.forEach((limb, j) => {
    let x = limb;
    for (let b = LIMB_BYTES - 1; b >= 0; b--) {
      out[HEADER_BYTES + j * LIMB_BYTES + b] = Number(x & 0xffn);
      x >>= 8n;
    }
  });
  return bytesToHex(out);
}

/** Decodes and validates the version-1 byte format. Throws InputError on any deviation. */
export function decodeInputData(data: Hex | Uint8Array): InputData {
  // Not hex at all is bad input like any other (permanent, an InputError), not an unknown failure.
  if (typeof data === "string" && !/^0x(?:[0-9a-fA-F]{2})*$/.test(data)) {
    throw new InputError(`input data is not 0x-prefixed hex with whole bytes: ${JSON.stringify(data.slice(0, 40))}${data.length > 40 ? "…" : ""}`, {
      docsPath: "sdk.md#input-data",
    });
  }
  const bytes = typeof data === "string" ? hexToBytes(data) : data;
  if (bytes.length < HEADER_BYTES) throw new InputError(`input data too short: ${bytes.length} bytes`);
  if (bytes[0] !== INPUT_FORMAT_VERSION) {
    throw new InputError(`unsupported input data version ${bytes[0]}`, { docsPath: "sdk.md#input-data" });
  }
  const bits = bytes[1]!;
  if (bits < 1 || bits > LIMB_BITS) throw new InputError(`invalid bit width ${bits} in input data`);
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(2, false);
  const nLimbs = Math.ceil(count / valuesPerLimb(bits));
  const expected = HEADER_BYTES + nLimbs * LIMB_BYTES;
  if (bytes.length !== expected) {
    throw new InputError(`input data is ${bytes.length} bytes, expected ${expected}`, {
      details: `${count} values of ${bits} bits take ${nLimbs} limbs of ${LIMB_BYTES} bytes plus a ${HEADER_BYTES}-byte header`,
      docsPath: "sdk.md#input-data",
    });
  }
  const limbs: bigint[] = [];
  for (let j = 0; j < nLimbs; j++) {
    let limb = 0n;
    for (let b = 0; b < LIMB_BYTES; b++) limb = (limb << 8n) | BigInt(bytes[HEADER_BYTES + j * LIMB_BYTES + b]!);
    limbs.push(limb);
  }
  const values = unpackSigned(limbs, bits, count);
  // Canonical form: re-packing must give the same limbs (no stray bits in unused slots).
  const repacked = packSigned(values, bits);
  if (repacked.some((l, j) => l !== limbs[j])) {
    throw new InputError("input data is not canonical: unused bits are set", { docsPath: "sdk.md#input-data" });
  }
  return { values, bits };
}

/** inputHash of a quantized input vector (Poseidon sponge over the packed limbs). */
export function inputHashOf(values: readonly bigint[], bits: number): bigint {
  return hashVector(values, bits);
}

/** Whether `values` (signed, `bits` wide) hash to `inputHash`. False also when a value is out of range. */
export function verifyInput(values: readonly bigint[], bits: number, inputHash: bigint): boolean {
  try {
    return hashVector(values, bits) === inputHash;
  } catch (err) {
    if (err instanceof RangeError) return false;
    throw err;
  }
}

/**
 * Decodes input data and checks it against a claim's commitment: its inputHash and, when given, the
 * model's expected input length and bit width. Returns the values; throws InputError with the reason.
 */
export function checkInputData(
  data: Hex | Uint8Array,
  inputHash: bigint,
  expect: { length?: number; bits?: number } = {},
): InputData {
  const decoded = decodeInputData(data);
  if (expect.bits !== undefined && decoded.bits !== expect.bits) {
    throw new InputError(`input data has ${decoded.bits}-bit values, the model takes ${expect.bits}-bit values`);
  }
  if (expect.length !== undefined && decoded.values.length !== expect.length) {
    throw new InputError(`input data has ${decoded.values.length} values, the model takes ${expect.length}`);
  }
  const actual = hashVector(decoded.values, decoded.bits);
  if (actual !== inputHash) {
    throw new InputError("input data does not match its commitment", {
      details: `inputHash ${inputHash}, data hashes to ${actual}`,
      meta: { inputHash: inputHash.toString(), actual: actual.toString() },
    });
  }
  return decoded;
}
