// Daemons as child processes (provider/main.ts, challenger/main.ts) with a config file, a log file and a
// SQLite store in a work folder: what `ozk dev`, the demo and the end-to-end tests start, kill and restart.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isCompiledModule, packageRootUrl } from "../sdk/package-root.ts";

const root = fileURLToPath(packageRootUrl(import.meta.url, 1));
/** From the sources the daemons run under tsx's loader; from the compiled package (dist/), as plain JavaScript. */
const compiled = isCompiledModule(import.meta.url);
const live = new Set<ChildProcess>();
process.on("exit", () => live.forEach((p) => p.exitCode === null && p.signalCode === null && p.kill("SIGKILL")));

export interface DaemonProcess {
  name: string;
  role: "provider" | "challenger";
  configFile: string;
  logFile: string;
  proc: ChildProcess;
  /** The daemon's log so far (JSON lines). */
  log(): string;
  /** Resolves with the first log line (parsed) whose msg matches, polling the log file. */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Base URL of its HTTP server, read from its "listening" log line. */
  url(): Promise<string>;
  /** SIGTERM and wait for exit (graceful), or SIGKILL when `hard`. */
  stop(hard?: boolean): Promise<void>;
  /** Starts a new process with the same config and log file (appending); returns it. */
  restart(): DaemonProcess;
}

/** Writes `config` to <work>/<name>.json and starts the daemon; stdout and stderr go to <work>/<name>.log. */
export function spawnDaemon(role: "provider" | "challenger", name: string, work: string, config: Record<string, unknown>): DaemonProcess {
  const configFile = join(work, `${name}.json`);
  writeFileSync(configFile, JSON.stringify({ store: join(work, `${name}.sqlite`), ...config }, null, 2));
  return start(role, name, configFile, join(work, `${name}.log`));
}

function start(role: "provider" | "challenger", name: string, configFile: string, logFile: string): DaemonProcess {
  // One process (node, with tsx's loader from the sources), not the tsx wrapper: a SIGKILL must kill the daemon itself.
  const args = compiled ? [join(root, "dist", role, "main.js")] : ["--import", "tsx", join(root, role, "main.ts")];
  const proc = spawn(process.execPath, [...args, "--config", configFile], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  const out = createWriteStream(logFile, { flags: "a" });
  proc.stdout!.pipe(out);
  proc.stderr!.pipe(out);
  const startedAt = (() => {
    try {
      return readFileSync(logFile, "utf8").length;
    } catch {
      return 0;
    }
  })();
  const self: DaemonProcess = {
    name,
    role,
    configFile,
    logFile,
    proc,
    log: () => {
      try {
        return readFileSync(logFile, "utf8");
      } catch {
        return ""; // the stream opens the file asynchronously
      }
    },
    async waitForLog(msg, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        // Only lines written by this process (a restart appends to the same file).
        for (const line of self.log().slice(startedAt).split("\n")) {
          if (!line.startsWith("{")) continue;
          const entry = JSON.parse(line) as Record<string, unknown>;
          const m = String(entry.msg ?? "");
          if (typeof msg === "string" ? m === msg : msg.test(m)) return entry;
        }
        if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}) before logging ${String(msg)}; log: ${logFile}`);
        if (Date.now() > end) throw new Error(`${name}: no "${String(msg)}" in ${timeoutMs} ms; log: ${logFile}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async url() {
      const entry = await self.waitForLog(`${role} listening`);
      return String(entry.url);
    },
    async stop(hard = false) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill(hard ? "SIGKILL" : "SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
    restart: () => start(role, name, configFile, logFile),
  };
  return self;
}
