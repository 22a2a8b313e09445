// Two proving workers sharing a real Redis queue (BullMQ) behind the prover API (prover/service/queue.ts). Starts its
// own redis-server on a random loopback port; skipped, with a message, where redis-server is not installed.
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";
import * as snarkjsModule from "snarkjs";
import type { VerificationKey } from "snarkjs";
import { Store } from "../../sdk/node/store.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { ProverService } from "../../prover/service/service.ts";
import { JobStore } from "../../prover/service/jobs.ts";
import { startRedisWorker } from "../../prover/service/queue.ts";
import { createSnarkjsBackend, terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import type { Worker } from "bullmq";

const snarkjs = snarkjsModule;
const MODELS = "test/fixtures/prover";
const vkey = JSON.parse(readFileSync(`${MODELS}/tiny/vkey.json`, "utf8")) as VerificationKey;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, proc };
}

const redisInstalled = spawnSync("redis-server", ["--version"]).status === 0;

describe("prover/queue (Redis, two workers)", function () {
  this.timeout(180_000);
  let redis: { url: string; proc: ChildProcess } | undefined;

  before(async function () {
    if (!redisInstalled) {
      console.log("    skipped: redis-server is not installed (apt-get install -y redis-server)");
      this.skip();
    }
    redis = await startRedis();
  });

  after(async () => {
    redis?.proc.kill("SIGTERM");
    await terminateSnarkjs();
  });

  it("spreads jobs over both workers; every proof verifies; a rejected input fails once; lost enqueues are repaired", async () => {
    const spy = createSpyLogger("prover");
    const backend = createSnarkjsBackend();
    const store = new Store(":memory:");
    const options = { store, logger: spy.logger, backend, modelsDir: MODELS, workers: 0, redisUrl: redis!.url, queueName: "test-prove" };
    let service = new ProverService(options);
    await service.start();
    const workers: Worker[] = ["gpu-a", "gpu-b"].map((id) =>
      startRedisWorker({ backend, modelsDir: MODELS, logger: spy.logger, workerId: id }, { url: redis!.url, queueName: "test-prove" }),
    );
    try {
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      const n = 8;
      const t0 = performance.now();
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const { job } = await service.submit({ id: `job-${i}`, modelDir: "tiny", input: { x: [i, 1, 2, 3], w: 3 } });
        ids.push(job.id);
      }
      const jobs = await Promise.all(ids.map((id) => service.waitFor(id, { timeoutMs: 120_000 })));
      const seconds = (performance.now() - t0) / 1000;
      console.log(`    ${n} proofs through redis with 2 workers in ${seconds.toFixed(2)} s (${(n / seconds).toFixed(1)} proofs/s)`);
      for (const [i, job] of jobs.entries()) {
        expect(job.status, job.error).to.equal("done");
        const y = 3 * (i * i + 1 + 4 + 9);
        expect(job.result!.publicSignals).to.deep.equal([String(y), "3"]);
        expect(await snarkjs.groth16.verify(vkey, job.result!.publicSignals, job.result!.proof)).to.equal(true);
      }
      const byWorker = new Set(jobs.map((j) => j.result!.worker));
      expect([...byWorker].sort()).to.deep.equal(["gpu-a", "gpu-b"]);

      const { job: bad } = await service.submit({ id: "bad", modelDir: "tiny", input: { x: [1, 2, 3, 4], w: 4000 } });
      const failed = await service.waitFor(bad.id, { timeoutMs: 60_000 });
      expect(failed.status).to.equal("failed");
      expect(failed.error).to.match(/circuit rejects this input/);
      expect(failed.attempts).to.equal(1);

      // The API dies between storing a job and enqueueing it: on restart, reconcile enqueues it.
      await service.stop();
      new JobStore(store).submit({ id: "lost", modelDir: "tiny", input: { x: [1, 1, 1, 1], w: 1 } });
      service = new ProverService(options);
      await service.start();
      const lost = await service.waitFor("lost", { timeoutMs: 60_000 });
      expect(lost.status).to.equal("done");
      expect(lost.result!.publicSignals).to.deep.equal(["4", "1"]);
      expect(spy.find("re-enqueued jobs missing from redis")?.readded).to.equal(1);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await service.stop();
    }
  });

  it("a worker killed (-9) mid-proof: its job goes to the other worker and completes", async () => {
    const spy = createSpyLogger("prover");
    const backend = createSnarkjsBackend();
    const queueName = "test-crash";
    const service = new ProverService({ store: new Store(":memory:"), logger: spy.logger, backend, modelsDir: MODELS, workers: 0, redisUrl: redis!.url, queueName });
    await service.start();
    const url = (p: string): string => JSON.stringify(pathToFileURL(resolve(p)).href);
    // The doomed worker: computes the witness, then its backend hangs until the process is killed.
    const code = `
      import { startRedisWorker } from ${url("prover/service/queue.ts")};
      import { createLogger } from ${url("sdk/node/logger.ts")};
      const hang = { name: "hang", available: async () => true, prove: () => new Promise(() => {}) };
      const w = startRedisWorker(
        { backend: hang, modelsDir: ${JSON.stringify(MODELS)}, logger: createLogger({ name: "doomed", level: "silent" }), workerId: "doomed" },
        { url: ${JSON.stringify(redis!.url)}, queueName: ${JSON.stringify(queueName)}, lockDurationMs: 1500, stalledIntervalMs: 500 },
      );
      await w.waitUntilReady();
      process.stdout.write("ready\\n");`;
    const child = spawn(process.execPath, ["--no-warnings", "--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    let survivor: Worker | undefined;
    try {
      await new Promise<void>((res, rej) => {
        child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && res());
        child.on("exit", (c) => rej(new Error(`doomed worker exited early with ${c}`)));
      });
      const { job } = await service.submit({ id: "crash-1", modelDir: "tiny", input: { x: [2, 0, 0, 0], w: 5 } });
      for (let i = 0; service.get(job.id)!.status !== "running"; i++) {
        if (i > 400) throw new Error("the doomed worker never took the job");
        await new Promise((r) => setTimeout(r, 25));
      }
      child.kill("SIGKILL");
      await new Promise((r) => child.on("exit", r));
      survivor = startRedisWorker({ backend, modelsDir: MODELS, logger: spy.logger, workerId: "survivor" }, { url: redis!.url, queueName, stalledIntervalMs: 500 });
      const done = await service.waitFor(job.id, { timeoutMs: 60_000 });
      expect(done.status, done.error).to.equal("done");
      expect(done.result!.worker).to.equal("survivor");
      expect(done.result!.publicSignals).to.deep.equal(["20", "5"]);
    } finally {
      child.kill("SIGKILL");
      await survivor?.close();
      await service.stop();
    }
  });
});
