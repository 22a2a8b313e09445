// The one rounding rule of every integer op: multiply, shift with rounding, clamp to a signed width.

/** Requantize one accumulator: floor((acc*M + 2^(s-1)) / 2^s), clamped to outBits signed ([0, hi] with relu). */
export function requantize(acc: bigint, M: bigint, s: number, outBits: number, relu: boolean, counter?: { clamped: number }): bigint {
  const round = s > 0 ? 1n << BigInt(s - 1) : 0n;
  let y = (acc * M + round) >> BigInt(s);
  const hi = (1n << BigInt(outBits - 1)) - 1n;
  const lo = relu ? 0n : -hi - 1n;
  if (y > hi) {
    y = hi;
    if (counter) counter.clamped++;
  }
  if (y < lo) {
    y = lo;
    if (counter && !relu) counter.clamped++;
  }
  return y;
}
