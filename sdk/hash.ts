// Field packing and the Poseidon sponge: the one definition of inputHash and weightsCommitment,
// mirrored bit for bit by circuits/lib/hash.circom and the direct R1CS emitter.
import {
  poseidon16,
} from "poseidon-lite";

/** BN254 scalar field modulus (the SNARK field). */
export const FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Bits of payload packed into one field element (< 254 so packing never wraps). */
export const LIMB_BITS = 248;

/** Field elements absorbed per Poseidon call: Poseidon(16) takes the running state plus 15 limbs. */
export const SPONGE_RATE = 15;

/** How many `bits`-wide values one limb holds. */
export function valuesPerLimb(bits: number): number {
  if (!Number.isInteger(bits) || bits < 1 || bits > LIMB_BITS) {
    throw new RangeError(`bits must be an integer in [1, ${LIMB_BITS}], got ${bits}`);
  }
  return Math.floor(LIMB_BITS / bits);
}

/**
 * Packs signed integers into field elements.
 * Each value v must lie in [-2^(bits-1), 2^(bits-1)); it is offset to u = v + 2^(bits-1) in [0, 2^bits)
 * and values are packed little-endian, valuesPerLimb(bits) to a limb: limb_j = sum_t u_{j*k+t} * 2^(bits*t).
 */
export function packSigned(values: readonly bigint[], bits: number): bigint[] {
  const k = valuesPerLimb(bits);
  const offset = 1n << BigInt(bits - 1);
  const limbs: bigint[] = [];
  for (let j = 0; j < values.length; j += k) {
    let limb = 0n;
    for (let t = 0; t < k && j + t < values.length; t++) {
      const v = values[j + t]!;
      if (v < -offset || v >= offset) {
        throw new RangeError(`value ${v} at index ${j + t} does not fit in ${bits} signed bits`);
      }
      limb |= (v + offset) << BigInt(bits * t);
    }
    limbs.push(limb);
  }
  return limbs;
}

/** Inverse of packSigned for `count` values. */
export function unpackSigned(limbs: readonly bigint[], bits: number, count: number): bigint[] {
  const k = valuesPerLimb(bits);
  const offset = 1n << BigInt(bits - 1);
  const mask = (1n << BigInt(bits)) - 1n;
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const limb = limbs[Math.floor(i / k)];
    if (limb === undefined) throw new RangeError(`need ${Math.ceil(count / k)} limbs, got ${limbs.length}`);
    out.push(((limb >> BigInt(bits * (i % k))) & mask) - offset);
  }
  return out;
}

/**
 * Poseidon sponge over field elements: h = 0; for each chunk of 15 elements (the last one zero-padded),
 * h = Poseidon16([h, chunk...]). Lengths are fixed per model, so zero padding is unambiguous.
 */
export function poseidonSponge(elements: readonly bigint[]): bigint {
  let h = 0n;
  for (let i = 0; i < elements.length || i === 0; i += SPONGE_RATE) {
    const chunk: bigint[] = [h];
    for (let t = 0; t < SPONGE_RATE; t++) chunk.push(elements[i + t] ?? 0n);
    h = poseidon16(chunk);
    if (elements.length === 0) break;
  }
  return h;
}

/** inputHash / weightsCommitment of a vector of signed `bits`-wide integers. */
export function hashVector(values: readonly bigint[], bits: number): bigint {
  return poseidonSponge(packSigned(values, bits));
}
