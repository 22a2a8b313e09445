// Resident native provers: one long-lived `ozk-prover serve <zkey>` (or `ozk-prover-cuda serve <zkey>`) per key,
// which loads and checks the key once (on the GPU: uploads its points once) and then proves on request. The
// line protocol is documented in prover/native/include/ozk/serve.hpp. Requests to one process are serialized;
// a process that dies is replaced on the next request; idle processes never keep Node alive.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { FatalError } from "../../sdk/errors.ts";

/** The native prover rejected its inputs (corrupted key or witness) or failed; never retried. */
export class NativeProverError extends FatalError {
  override name = "NativeProverError";
}

/** What `serve` reports once its key is loaded. */
export interface ResidentInfo {
  nVars: number;
  nPublic: number;
  domainSize: number;
  loadMs: number;
  backend: "cpu" | "cuda";
}

interface Pending {
  resolve(line: string): void;
  reject(err: Error): void;
}

/** The prover's error message from its stderr: the last line, without the `ozk-prover[-cuda]: error: ` prefix. */
export function proverErrorMessage(stderr: string): string | undefined {
  return stderr.trim().split("\n").filter((l) => l.length > 0).pop()?.replace(/^ozk-prover(-cuda)?: error: /, "");
}

/** One `serve` process bound to one key. */
export class ResidentProver {
  readonly ready: Promise<ResidentInfo>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Pending[] = [];
  private stderr = "";
  private exited: Error | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private queued = 0;

  constructor(readonly binary: string, readonly zkeyPath: string, args: string[] = []) {
    this.child = spawn(binary, ["serve", zkeyPath, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-8192);
    });
    const lines = createInterface({ input: this.child.stdout });
    lines.on("line", (line) => this.waiting.shift()?.resolve(line));
    const failAll = (err: Error) => {
      this.exited ??= err;
      for (const p of this.waiting.splice(0)) p.reject(this.exited);
    };
    this.child.on("error", (err) => failAll(new NativeProverError(`cannot start ${binary}: ${err.message}`, { cause: err })));
    this.child.on("close", (code, signal) => {
      const why = proverErrorMessage(this.stderr);
      failAll(new NativeProverError(why ?? `prover process exited (${signal ?? `code ${code}`})`, { details: this.stderr.trim() || undefined, docsPath: "prover.md#native" }));
    });
    this.child.stdin.on("error", () => undefined); // a dead process shows up through "exit"
    this.setActive(true);
    this.ready = this.nextLine().then((line) => {
      const [tag, json] = line.split("\t");
      if (tag !== "ready" || json === undefined) throw new NativeProverError(`unexpected first line from ${binary}: ${line}`);
      return JSON.parse(json) as ResidentInfo;
    });
    this.ready.then(() => this.setActive(false), () => undefined);
  }

  /** The process id (for diagnostics and tests). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process is still running (a dead one is replaced by the pool). */
  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Proves `wtnsPath`, writing snarkjs's proof.json and public.json to the given paths. Resolves to the ms taken. */
  prove(wtnsPath: string, proofPath: string, publicPath: string): Promise<number> {
    for (const p of [wtnsPath, proofPath, publicPath]) {
      if (/[\t\n\r]/.test(p)) return Promise.reject(new NativeProverError(`path contains a tab or newline: ${JSON.stringify(p)}`));
    }
    const run = async (): Promise<number> => {
      await this.ready;
      this.inFlight++;
      this.setActive(true);
      try {
        const reply = this.nextLine();
        this.child.stdin.write(`prove\t${wtnsPath}\t${proofPath}\t${publicPath}\n`);
        const [tag, rest = ""] = (await reply).split("\t");
        if (tag === "ok") return Number(rest);
        throw new NativeProverError(rest || "prover error", { docsPath: "prover.md#native" });
      } finally {
        if (--this.inFlight === 0) this.setActive(false);
      }
    };
    this.queued++;
    const result = this.chain.then(run, run).finally(() => this.queued--);
    this.chain = result.catch(() => undefined);
    return result;
  }

  /** Whether requests are queued or running. */
  get busy(): boolean {
    return this.queued > 0;
  }

  /** Ends the process (closing its input lets it finish the current proof and exit). */
  close(): void {
    if (!this.alive) return;
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    t.unref();
    this.child.once("exit", () => clearTimeout(t));
  }

  private nextLine(): Promise<string> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Holds Node's event loop open only while a request (or start-up) is under way. */
  private setActive(active: boolean): void {
    const handles = [this.child, this.child.stdout, this.child.stdin, this.child.stderr] as unknown as { ref?(): void; unref?(): void }[];
    for (const h of handles) {
      if (active) h.ref?.();
      else h.unref?.();
    }
  }
}

/** Keeps up to `maxKeys` resident provers, least recently used evicted; a changed key file gets a new process. */
export class ResidentPool {
  private readonly provers = new Map<string, ResidentProver>();

  constructor(private readonly maxKeys = 2) {}

  /** The resident prover for this binary, key file (as it is now on disk) and arguments. */
  get(binary: string, zkeyPath: string, args: string[] = []): ResidentProver {
    const full = resolve(zkeyPath);
    let id: string;
    try {
      const st = statSync(full);
      id = [binary, full, st.ino, st.size, st.mtimeMs, ...args].join("\0");
    } catch (err) {
      throw new NativeProverError(`cannot open ${zkeyPath}: ${(err as Error).message}`, { cause: err });
    }
    let p = this.provers.get(id);
    if (p && !p.alive) {
      this.provers.delete(id);
      p = undefined;
    }
    if (p) {
      this.provers.delete(id); // re-insert: most recently used last
    } else {
      for (const [other, q] of this.provers) {
        if (q.zkeyPath === full && q.binary === binary) {
          q.close(); // the key file changed under it
          this.provers.delete(other);
        }
      }
      p = new ResidentProver(binary, full, args);
      p.ready.catch(() => undefined); // surfaced through prove()
      // Evict the least recently used idle provers (a busy one finishes its requests first).
      for (const [other, q] of this.provers) {
        if (this.provers.size < this.maxKeys) break;
        if (q.busy && q.alive) continue;
        q.close();
        this.provers.delete(other);
      }
    }
    this.provers.set(id, p);
    return p;
  }

  /** Number of live resident processes. */
  get size(): number {
    return [...this.provers.values()].filter((p) => p.alive).length;
  }

  closeAll(): void {
    for (const p of this.provers.values()) p.close();
    this.provers.clear();
  }
}
