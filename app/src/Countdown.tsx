// A live countdown to a chain deadline: chain time at the last snapshot plus the wall-clock time since.
import { useEffect, useState } from "react";
import { formatCountdown, secondsLeft } from "./format.ts";

export function Countdown({ deadline, chainTime, takenAt, now = Date.now }: { deadline: bigint; chainTime: bigint; takenAt: number; now?: () => number }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((x) => x + 1), 1000);
    return () => clearInterval(t);
  }, []);
  const elapsed = BigInt(Math.max(0, Math.floor((now() - takenAt) / 1000)));
  const left = secondsLeft(deadline, chainTime + elapsed);
  return <span className={left === 0 ? "countdown passed" : "countdown"} data-testid="countdown">{formatCountdown(left)}</span>;
}
