// Shared helpers of `npm run bench` (scripts/bench.ts): timing, medians, peak RSS, and running a part as a child
// process so each part (and each model) gets its own peak-memory figure and a clean in-process chain.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const RESULTS = join(ROOT, "bench-results");

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Milliseconds since `t` (performance.now()). */
export const since = (t: number): number => performance.now() - t;

/** Peak resident set size of this process so far, in MB (getrusage ru_maxrss; worker threads included). */
export const peakRssMB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

export function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** True when `metaUrl` is the module node was started with (tsx scripts/bench/x.ts). */
/** Runs a bench part as a script: its result as JSON to `out` (or stdout), exit 0; an error exits 1. */
export function runMain<T>(result: Promise<T>, out: string | undefined): void {
  result
    .then((r) => {
      const json = JSON.stringify(r, null, 2) + "\n";
      if (out) writeFileSync(out, json);
      else process.stdout.write(json);
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}

export const isMain = (metaUrl: string): boolean => !!process.argv[1] && resolve(process.argv[1]) === fileURLToPath(metaUrl);

/**
 * Runs `tsx <script> --out <file> ...args` and returns the JSON it wrote. The child's stdout/stderr stream
 * through (prefixed), so progress shows.
 */
export async function runPart<T>(script: string, out: string, args: string[] = [], timeoutMs = 15 * 60_000): Promise<T> {
  mkdirSync(dirname(out), { recursive: true });
  const tsx = join(ROOT, "node_modules", ".bin", "tsx");
  const child = spawn(tsx, [join(ROOT, script), "--out", out, ...args], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} ${args.join(" ")} exited with ${code}`);
  return JSON.parse(readFileSync(out, "utf8")) as T;
}

export const fmtInt = (n: number | undefined | null): string => (n === undefined || n === null || Number.isNaN(n) ? "–" : Math.round(n).toLocaleString("en-US"));
export const fmtMs = (ms: number | undefined | null): string =>
  ms === undefined || ms === null || Number.isNaN(ms) ? "–" : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
export const fmtPct = (v: number | undefined): string => (v === undefined ? "–" : `${(100 * v).toFixed(2)}%`);

/**
 * Largest peak RSS (VmHWM, MB) over a live process and its live descendants (Linux /proc; undefined elsewhere).
 * A daemon started through tsx is a wrapper process with the node process under it; children that already
 * exited (a native prover run) are not counted.
 */
export function treePeakRssMB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  let best: number | undefined;
  const visit = (p: number, depth: number): void => {
    try {
      const kb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1]);
      if (Number.isFinite(kb)) best = Math.max(best ?? 0, Math.round(kb / 1024));
      if (depth > 4) return;
      for (const t of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, "utf8").split(/\s+/).filter(Boolean)) visit(Number(c), depth + 1);
      }
    } catch {
      // gone, or no /proc
    }
  };
  visit(pid, 0);
  return best;
}
