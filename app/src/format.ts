// Small display helpers: token amounts, short hashes, countdowns against chain time.

export const short = (h: string, n = 6): string => (h.length > 2 + 2 * n ? `${h.slice(0, 2 + n)}…${h.slice(-4)}` : h);

/** A token amount (18 decimals unless told), up to two decimals, with its unit when given. */
export function tokens(v: bigint, unit?: { symbol: string; decimals: number }): string {
  const one = 10n ** BigInt(unit?.decimals ?? 18);
  const whole = v / one;
  const cents = one >= 100n ? (v % one) / (one / 100n) : 0n;
  const amount = `${whole.toLocaleString("en-US")}${cents ? `.${cents.toString().padStart(2, "0").replace(/0$/, "")}` : ""}`;
  return unit ? `${amount} ${unit.symbol}` : amount;
}

/** Seconds from `chainNow` until `deadline` (never negative). */
export function secondsLeft(deadline: bigint, chainNow: bigint): number {
  return deadline > chainNow ? Number(deadline - chainNow) : 0;
}

/** A duration in seconds as "1h 02m 03s", "4m 05s", "7s". */
export function duration(seconds: number): string {
  return seconds <= 0 ? "0s" : formatCountdown(seconds);
}

/** "1h 02m 03s", "4m 05s", "7s", or "passed". */
export function formatCountdown(seconds: number): string {
  if (seconds <= 0) return "passed";
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = Math.floor(seconds % 60);
  const p = (x: number) => x.toString().padStart(2, "0");
  if (h > 0) return `${h}h ${p(m)}m ${p(s)}s`;
  if (m > 0) return `${m}m ${p(s)}s`;
  return `${s}s`;
}
