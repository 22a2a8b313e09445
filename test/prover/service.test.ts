// The prover service in local mode (prover/service/service.ts) over HTTP with the tiny circom fixture: jobs run,
// proofs verify with snarkjs, bad inputs fail once with a clear reason, a backend's bad proof is caught,
// and a job left running by a dead process is finished after restart.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as snarkjsModule from "snarkjs";
import type { VerificationKey } from "snarkjs";
import { Store } from "../../sdk/node/store.ts";
import { Metrics } from "../../sdk/node/metrics.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { ConfigError } from "../../sdk/errors.ts";
import { ProverService } from "../../prover/service/service.ts";
import { JobStore, type Job } from "../../prover/service/jobs.ts";
import { createSnarkjsBackend, terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import { selectBackend } from "../../prover/backends/index.ts";
import { loadModelPackage } from "../../circuits/compiler/package.ts";
import { proveWithPackage } from "../../prover/prove.ts";
import { ProofError } from "../../prover/errors.ts";
import type { ProverBackend } from "../../prover/types.ts";
import { ProverClient } from "../../prover/service/client.ts";
import { FatalError, RetryableError } from "../../sdk/errors.ts";
import { raw } from "../raw-http.ts";

const snarkjs = snarkjsModule;
const MODELS = "test/fixtures/prover";
const vkey = JSON.parse(readFileSync(`${MODELS}/tiny/vkey.json`, "utf8")) as VerificationKey;
const input = { x: ["1", "2", "3", "4"], w: "7" }; // y = 7 * (1 + 4 + 9 + 16) = 210

async function api(base: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(base + path, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

async function waitDone(base: string, id: string): Promise<Job> {
  for (let i = 0; i < 600; i++) {
    const { json } = await api(base, `/jobs/${id}`);
    if (json.status === "done" || json.status === "failed") return json as unknown as Job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not finish`);
}

describe("prover/service (local mode)", function () {
  this.timeout(120_000);
  after(terminateSnarkjs);

  it("proves a job submitted over HTTP; the proof verifies; resubmitting the id returns the same job", async () => {
    const spy = createSpyLogger("prover");
    const metrics = new Metrics({ prefix: "ozk_prover_", processMetrics: false });
    const service = new ProverService({ store: new Store(":memory:"), logger: spy.logger, metrics, backend: createSnarkjsBackend(), modelsDir: MODELS });
    await service.start();
    const server = await service.listen(0);
    try {
      const post = await api(server.url, "/jobs", { id: "claim-1", modelDir: "tiny", input });
      expect(post.status).to.equal(202);
      expect(post.json).to.include({ id: "claim-1", status: "queued" });
      const job = await waitDone(server.url, "claim-1");
      expect(job.status).to.equal("done", job.error);
      expect(job.result!.publicSignals).to.deep.equal(["210", "7"]);
      expect(await snarkjs.groth16.verify(vkey, job.result!.publicSignals, job.result!.proof)).to.equal(true);
      expect(job.timings!.proveMs).to.be.greaterThan(0);
      expect(job.result!.backend).to.equal("snarkjs");

      const again = await api(server.url, "/jobs", { id: "claim-1", modelDir: "tiny", input });
      expect(again.status).to.equal(200);
      expect(again.json.status).to.equal("done");
      expect((await api(server.url, "/jobs", { id: "claim-1", modelDir: "tiny", input: { ...input, w: "8" } })).status).to.equal(409);

      const metricsText = await (await fetch(`${server.url}/metrics`)).text();
      expect(metricsText).to.match(/ozk_prover_jobs\{status="done"\} 1/);
      expect(metricsText).to.match(/ozk_prover_job_phase_seconds_count\{phase="prove",backend="snarkjs"\} 1/);
      expect((await api(server.url, "/healthz")).json).to.include({ ok: true, mode: "local", backend: "snarkjs" });
      expect(spy.find("proof done")).to.include({ job: "claim-1" });
    } finally {
      await service.stop();
    }
  });

  it("fails a job the circuit rejects at once (no retry), with the reason", async () => {
    const spy = createSpyLogger("prover");
    const service = new ProverService({ store: new Store(":memory:"), logger: spy.logger, backend: createSnarkjsBackend(), modelsDir: MODELS });
    await service.start();
    const server = await service.listen(0);
    try {
      const { json } = await api(server.url, "/jobs", { modelDir: "tiny", input: { x: [1, 2, 3, 4], w: 5000 } });
      const job = await waitDone(server.url, json.id as string);
      expect(job.status).to.equal("failed");
      expect(job.attempts).to.equal(1);
      expect(job.error).to.match(/the circuit rejects this input \(assert in Tiny_0 line \d+\)/);
    } finally {
      await service.stop();
    }
  });

  it("answers bad requests with 4xx and never reads outside the models root", async () => {
    const spy = createSpyLogger("prover");
    const service = new ProverService({ store: new Store(":memory:"), logger: spy.logger, backend: createSnarkjsBackend(), modelsDir: MODELS, workers: 0 });
    await service.start();
    const server = await service.listen(0);
    try {
      expect((await api(server.url, "/jobs", { modelDir: "../../..", input })).status).to.equal(400);
      expect((await api(server.url, "/jobs", { modelDir: "/etc", input })).status).to.equal(400);
      expect((await api(server.url, "/jobs", { modelDir: "tiny" })).status).to.equal(400);
      expect((await api(server.url, "/jobs", { modelDir: "tiny", input, id: "no/slash" })).status).to.equal(400);
      expect((await api(server.url, "/jobs/unknown")).status).to.equal(404);
      expect((await api(server.url, "/jobs", [])).status).to.equal(400);
      expect(service.jobs.counts().queued).to.equal(0);
    } finally {
      await service.stop();
    }
  });

  it("survives a hostile client: malformed request targets, bad percent-encoding, out-of-range list parameters", async () => {
    const spy = createSpyLogger("prover");
    const service = new ProverService({ store: new Store(":memory:"), logger: spy.logger, backend: createSnarkjsBackend(), modelsDir: MODELS, workers: 0 });
    await service.start();
    const server = await service.listen(0);
    try {
      for (let i = 0; i < 3; i++) await service.submit({ id: `j${i}`, modelDir: "tiny", input });
      // The request line that used to end the service.
      const r = await raw(server.port, "GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(r.status).to.equal(400);
      expect((await api(server.url, "/jobs/%ZZ")).status).to.equal(400);
      // A negative limit used to list everything; anything but an integer in 1..1000 is refused by name.
      for (const limit of ["-5", "0", "1001", "abc", "1e3", ""]) {
        const bad = await api(server.url, `/jobs?limit=${limit}`);
        expect(bad.status, `limit=${limit}`).to.equal(400);
        expect(bad.json.error).to.equal(`limit must be an integer from 1 to 1000, got "${limit}"`);
      }
      expect((await api(server.url, "/jobs?status=everything")).json.error).to.match(/^status must be one of/);
      const two = await api(server.url, "/jobs?limit=2");
      expect(two.status).to.equal(200);
      expect(two.json.jobs).to.have.length(2);
      expect((await api(server.url, "/healthz")).status).to.equal(200);
    } finally {
      await service.stop();
    }
  });

  it("fails a job whose inputData is not hex at once, with the reason (a bad input is not transient)", async () => {
    const spy = createSpyLogger("prover");
    // The compiler's MNIST package reads {inputData}; the input is refused before any proving.
    const service = new ProverService({ store: new Store(":memory:"), logger: spy.logger, backend: createSnarkjsBackend(), modelsDir: "models" });
    await service.start();
    try {
      for (const inputData of ["0xzz", "hello", "0x123"]) {
        const { job } = await service.submit({ modelDir: "mnist-mlp", input: { inputData } });
        const done = await service.waitFor(job.id, { timeoutMs: 60_000 });
        expect(done.status, inputData).to.equal("failed");
        expect(done.attempts, inputData).to.equal(1);
        expect(done.error).to.match(/^input data is not 0x-prefixed hex with whole bytes/);
      }
    } finally {
      await service.stop();
    }
  });

  it("never hands out a proof that does not verify, whatever the backend returns", async () => {
    const real = createSnarkjsBackend();
    const lying: ProverBackend = {
      name: "lying",
      available: async () => true,
      prove: async (zkey, wtns) => {
        const r = await real.prove(zkey, wtns);
        return { ...r, publicSignals: ["211", r.publicSignals[1]!] }; // claims a different output
      },
    };
    const pkg = loadModelPackage(`${MODELS}/tiny`);
    let caught: unknown;
    try {
      await proveWithPackage(pkg, input, { backend: lying });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(ProofError);
    expect((caught as ProofError).shortMessage).to.match(/proof from backend lying does not verify/);

    const spy = createSpyLogger("prover");
    const service = new ProverService({ store: new Store(":memory:"), logger: spy.logger, backend: lying, modelsDir: MODELS });
    await service.start();
    try {
      const { job } = await service.submit({ modelDir: "tiny", input });
      const done = await service.waitFor(job.id);
      expect(done.status).to.equal("failed");
      expect(done.result).to.equal(undefined);
    } finally {
      await service.stop();
    }
  });

  it("finishes a job that a dead process left running, after restart", async () => {
    const store = new Store(":memory:");
    const before = new JobStore(store);
    before.submit({ id: "orphan", modelDir: "tiny", input });
    expect(before.claim("dead-worker")?.id).to.equal("orphan");
    const spy = createSpyLogger("prover");
    const service = new ProverService({ store, logger: spy.logger, backend: createSnarkjsBackend(), modelsDir: MODELS });
    await service.start();
    try {
      const job = await service.waitFor("orphan");
      expect(job.status).to.equal("done");
      expect(job.attempts).to.equal(1); // the interrupted attempt does not count
      expect(spy.find("re-queued jobs interrupted by a restart")?.jobs).to.deep.equal(["orphan"]);
    } finally {
      await service.stop();
    }
  });

  it("selects an available backend, and refuses an unknown one by name", async () => {
    const spy = createSpyLogger("prover");
    const b = await selectBackend({ logger: spy.logger });
    expect(["native", "snarkjs"]).to.include(b.name);
    expect(spy.find("prover backend selected")?.backend).to.equal(b.name);
    expect((await selectBackend({ prefer: "snarkjs" })).name).to.equal("snarkjs");
    let err: unknown;
    try {
      await selectBackend({ prefer: "quantum" });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).shortMessage).to.equal('unknown prover backend "quantum"');
  });

  it("ProverClient: submit, wait, and classify refusals and outages", async () => {
    const spy = createSpyLogger("prover");
    const service = new ProverService({ store: new Store(":memory:"), logger: spy.logger, backend: createSnarkjsBackend(), modelsDir: MODELS });
    await service.start();
    const server = await service.listen(0);
    const client = new ProverClient({ url: server.url });
    try {
      const job = await client.submit({ id: "via-client", modelDir: "tiny", input });
      const done = await client.waitFor(job.id, { pollMs: 20, timeoutMs: 60_000 });
      expect(done.result!.publicSignals).to.deep.equal(["210", "7"]);
      expect(await client.get("nope")).to.equal(undefined);
      let refused: unknown;
      try {
        await client.submit({ modelDir: "../..", input });
      } catch (err) {
        refused = err;
      }
      expect(refused).to.be.instanceOf(FatalError);
    } finally {
      await service.stop();
    }
    let down: unknown;
    try {
      await client.get("via-client");
    } catch (err) {
      down = err;
    }
    expect(down).to.be.instanceOf(RetryableError);
  });
});
