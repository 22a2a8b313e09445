// The float engine beside the fidelity report's own work: a worker thread runs it (float-worker.ts) while this
// thread runs the integer engine, and onnxruntime its own thread, so a report uses both cores. Where no worker
// can start (or one fails), the same float engine runs on this thread: results are identical either way.
import { Worker } from "node:worker_threads";
import type { FloatModel } from "../ir/ir.ts";
import { runFloat } from "../ir/float-engine.ts";
import { moduleExtension } from "../../sdk/package-root.ts";

export class FloatRunner {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { x: Float32Array; resolve: (layers: Float32Array[]) => void }>();
  private seq = 0;

  constructor(private readonly model: FloatModel) {
    try {
      const w = new Worker(new URL(`./float-worker${moduleExtension(import.meta.url)}`, import.meta.url), { workerData: { model } });
      w.on("message", (m: { id: number; layers: Float32Array[] }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m.layers);
      });
      w.on("error", () => this.inline());
      w.on("exit", () => this.inline());
      this.worker = w;
    } catch {
      this.worker = undefined;
    }
  }

  /** Every layer's float output for `x` (the input is copied to the worker; the caller keeps it). */
  run(x: Float32Array): Promise<Float32Array[]> {
    if (!this.worker) return Promise.resolve(runFloat(this.model, x).layers);
    const id = this.seq++;
    return new Promise((resolve) => {
      this.pending.set(id, { x, resolve });
      this.worker!.postMessage({ id, x });
    });
  }

  /** Stops the worker (a runner must be closed, or its thread keeps the process alive). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) {
      w.removeAllListeners("exit");
      w.removeAllListeners("error");
      await w.terminate();
    }
    this.inline();
  }

  /** No worker (it failed or was stopped): what it still owed is computed here. */
  private inline(): void {
    this.worker = undefined;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve(runFloat(this.model, p.x).layers);
    }
  }
}
