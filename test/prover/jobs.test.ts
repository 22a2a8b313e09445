// The SQLite job store (prover/service/jobs.ts): idempotent submit, atomic claim, retries, and recovery of jobs that
// were running when the process died (kill -9 of a real child process).
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Store, openStore } from "../../sdk/node/store.ts";
import { JobStore } from "../../prover/service/jobs.ts";
import { InputError } from "../../sdk/errors.ts";

const url = (p: string): string => pathToFileURL(resolve(p)).href;

describe("prover/jobs", () => {
  it("submit is idempotent by id and refuses the same id with other content", () => {
    const jobs = new JobStore(new Store(":memory:"));
    const a = jobs.submit({ id: "claim-7", modelDir: "m", input: { x: [1] } });
    const b = jobs.submit({ id: "claim-7", modelDir: "m", input: { x: [1] } });
    expect(a.created).to.equal(true);
    expect(b.created).to.equal(false);
    expect(b.job.id).to.equal("claim-7");
    expect(() => jobs.submit({ id: "claim-7", modelDir: "m", input: { x: [2] } })).to.throw(InputError, /different/);
    expect(() => jobs.submit({ id: "12", modelDir: "m", input: {} })).to.throw(InputError, /invalid job id/);
    expect(() => jobs.submit({ id: "a/b", modelDir: "m", input: {} })).to.throw(InputError);
  });

  it("claims oldest first, each job once", () => {
    let now = 1000;
    const jobs = new JobStore(new Store(":memory:"), () => now++);
    for (const id of ["j1", "j2", "j3"]) jobs.submit({ id, modelDir: "m", input: {} });
    expect(jobs.claim("w1")?.id).to.equal("j1");
    expect(jobs.claim("w2")?.id).to.equal("j2");
    expect(jobs.claim("w1")?.id).to.equal("j3");
    expect(jobs.claim("w1")).to.equal(undefined);
    expect(jobs.get("j2")).to.include({ status: "running", worker: "w2", attempts: 1 });
    expect(jobs.counts()).to.deep.equal({ queued: 0, running: 3, done: 0, failed: 0 });
  });

  it("retries a retryable failure after its delay, fails for good when attempts run out or the error is fatal", () => {
    let now = 0;
    const jobs = new JobStore(new Store(":memory:"), () => now);
    jobs.submit({ id: "r", modelDir: "m", input: {}, maxAttempts: 2 });
    now = 1;
    jobs.submit({ id: "f", modelDir: "m", input: {}, maxAttempts: 5 });
    expect(jobs.claim("w")!.id).to.equal("r");
    expect(jobs.fail("r", "rpc down", { retryable: true, retryDelayMs: 100 })).to.equal("queued");
    expect(jobs.claim("w")!.id).to.equal("f"); // r waits for its delay
    expect(jobs.fail("f", "circuit rejects input", { retryable: false })).to.equal("failed");
    expect(jobs.claim("w")).to.equal(undefined);
    now = 100;
    expect(jobs.claim("w")).to.equal(undefined);
    now = 101;
    const again = jobs.claim("w")!;
    expect(again).to.include({ id: "r", attempts: 2 });
    expect(jobs.fail("r", "rpc down", { retryable: true })).to.equal("failed");
    expect(jobs.get("r")).to.include({ status: "failed", error: "rpc down" });
    // A late result from a worker that lost the job is ignored.
    expect(jobs.complete("r", { proof: {} as never, publicSignals: [], backend: "x" }, undefined)).to.equal(false);
  });

  it("a job running when its process was killed (-9) is re-queued when the store is reopened", async function () {
    this.timeout(60_000);
    const path = join(mkdtempSync(join(tmpdir(), "ozk-jobs-")), "prover.db");
    const code = `
      import { openStore } from ${JSON.stringify(url("sdk/node/store.ts"))};
      import { JobStore } from ${JSON.stringify(url("prover/service/jobs.ts"))};
      const jobs = new JobStore(openStore(${JSON.stringify(path)}));
      jobs.submit({ id: "done-1", modelDir: "m", input: { x: 1 } });
      jobs.claim("dying");
      jobs.complete("done-1", { proof: { pi_a: [] }, publicSignals: ["1"], backend: "fake" }, { witnessMs: 1, proveMs: 2, verifyMs: 3, totalMs: 6 });
      jobs.submit({ id: "running-1", modelDir: "m", input: { x: 2 } });
      jobs.submit({ id: "queued-1", modelDir: "m", input: { x: 3 } });
      jobs.claim("dying");
      process.stdout.write("claimed\\n");
      setInterval(() => {}, 1000); // stay alive mid-proof until killed
    `;
    const child = spawn(process.execPath, ["--no-warnings", "--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((res, rej) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("claimed") && res());
      child.on("exit", (c) => rej(new Error(`child exited early with ${c}`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));

    const jobs = new JobStore(openStore(path));
    expect(jobs.get("running-1")).to.include({ status: "running", worker: "dying" });
    expect(jobs.requeueInterrupted()).to.deep.equal(["running-1"]);
    expect(jobs.get("running-1")).to.include({ status: "queued", attempts: 0 });
    expect(jobs.get("done-1")).to.include({ status: "done" });
    expect(jobs.get("done-1")!.result!.publicSignals).to.deep.equal(["1"]);
    expect(jobs.get("queued-1")).to.include({ status: "queued" });
    // The re-queued job is served before later ones (it was submitted first).
    expect(jobs.claim("new")!.id).to.equal("running-1");
    jobs.store.close();
  });
});
