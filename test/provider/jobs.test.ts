// The provider's rules for a job on its way to a claim and for staking for the queue: which send errors fail a
// job, which leave it queued, which failed jobs a resend queues again, and how far free stake is topped up.
import { expect } from "chai";
import { FatalError, RetryableError } from "../../sdk/errors.ts";
import { classifySendError, isDue, isQueued, mayRetry, retryDelayMs } from "../../provider/jobs.ts";
import { stakeLevels } from "../../provider/stake.ts";
import { addJob, byPriority, openClaims, queuedBonds, queuedJobs, type Job, type ProviderContext } from "../../provider/step.ts";
import { providerRoutes } from "../../provider/api.ts";
import { loadPackage } from "../../circuits/compiler/package.ts";
import type { ServedModel } from "../../runtime/models.ts";
import { HttpError } from "../../sdk/node/server.ts";
import { Store } from "../../sdk/node/store.ts";
import { resolve } from "node:path";
import type { Hex } from "viem";

const revert = (reason: string, fn = "submitClaim") => new FatalError(`simulation of ${fn} failed: ${reason}`, { meta: { reason } });

describe("provider: jobs and stake for the queue", () => {
  it("a send error: stake short waits for stake, the contract refusing the claim is permanent, anything else is retried", () => {
    expect(classifySendError(revert("InsufficientStake(0xabc, 0, 100)")).kind).to.equal("stake");
    for (const r of ["ModelIsDeprecated(0x01)", "BondBelowMinimum(1, 100)", "WrongOutputLength(10, 9)", "RequestExpired(3, 99)", "ProviderNotAllowed(3, 0xabc)"]) {
      expect(classifySendError(revert(r)).kind, r).to.equal("permanent");
    }
    for (const r of ["ClaimAlreadyExists(0x01)", "CommitmentTooRecent(0x01, 5)", "CommitmentNotFound(0xabc, 0x01)"]) {
      expect(classifySendError(revert(r)).kind, r).to.equal("retry");
    }
    expect(classifySendError(new RetryableError("sending submitClaim failed: HTTP request failed.")).kind).to.equal("retry");
    expect(classifySendError(new FatalError("sending submitClaim failed: nonce too low")).kind).to.equal("retry");
    expect(classifySendError(new FatalError("submitClaim reverted on chain")).kind).to.equal("retry");
    expect(classifySendError(revert("InsufficientStake(0xabc, 0, 100)")).reason).to.match(/InsufficientStake/);
  });

  it("a failed job is queued again on resend when its failure may pass, by its flag or, in an older store, its reason", () => {
    const failed = (reason: string, retryable?: boolean) => ({ status: "failed", reason, ...(retryable === undefined ? {} : { retryable }) });
    expect(mayRetry(failed("simulation of submitClaim failed: InsufficientStake(0xabc, 0, 100)"))).to.equal(true);
    expect(mayRetry(failed("simulation of submitClaim failed: ClaimAlreadyExists(0x01)"))).to.equal(true);
    expect(mayRetry(failed("sending submitClaim failed: nonce too low"))).to.equal(true);
    expect(mayRetry(failed("simulation of submitClaim failed: ModelIsDeprecated(0x01)"))).to.equal(false);
    expect(mayRetry(failed("request is expired"))).to.equal(false);
    expect(mayRetry(failed("request fee 1 is below requestPolicy.minFee 5"))).to.equal(false);
    expect(mayRetry(failed("sending submitClaim failed: nonce too low", false))).to.equal(false);
    expect(mayRetry({ status: "claimed" })).to.equal(false);
    expect(mayRetry({ status: "refused", reason: "the request carries no input data" })).to.equal(false);
  });

  it("queued jobs are pending or waiting for stake, and due once their backoff has passed", () => {
    expect(isQueued({ status: "pending" })).to.equal(true);
    expect(isQueued({ status: "waiting-stake" })).to.equal(true);
    expect(isQueued({ status: "claimed" })).to.equal(false);
    expect(isDue({ status: "pending" }, 1_000)).to.equal(true);
    expect(isDue({ status: "pending", retryAt: 2_000 }, 1_000)).to.equal(false);
    expect(isDue({ status: "pending", retryAt: 2_000 }, 2_000)).to.equal(true);
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, 200))).to.deep.equal([200, 400, 800, 1600]);
    expect(retryDelayMs(40, 1000)).to.equal(60_000);
  });

  it("free stake is topped up for the queue, to at least the target, within what the cap leaves beside the locked bonds", () => {
    const bond = 100n;
    const plan = { oneBond: bond, queued: 0n, target: 5n * bond, cap: 0n, locked: 0n };
    // Nothing queued: below one bond, up to the target (the rule before queues counted).
    expect(stakeLevels(plan)).to.deep.equal({ need: bond, topUpTo: 5n * bond });
    // A burst of 200 jobs: the whole queue's bonds at once.
    expect(stakeLevels({ ...plan, queued: 200n * bond })).to.deep.equal({ need: 200n * bond, topUpTo: 200n * bond });
    // A cap of 10 bonds with 7 locked in live claims: 3 more at most.
    expect(stakeLevels({ ...plan, queued: 200n * bond, cap: 10n * bond, locked: 7n * bond })).to.deep.equal({ need: 3n * bond, topUpTo: 3n * bond });
    // Everything the cap allows is locked: nothing is staked.
    expect(stakeLevels({ ...plan, queued: 2n * bond, cap: 3n * bond, locked: 3n * bond })).to.deep.equal({ need: 0n, topUpTo: 0n });
  });

  it("a step's look for queued jobs and open claims reads those rows only, not the claimed and settled history", () => {
    // Thousands of claimed jobs (each with its input) were decoded at every step, twice: seconds of a blocked event
    // loop on a soak's store, during which GET /jobs/:id went unanswered. Count the rows the store hands back.
    const s = new Store(":memory:");
    const input = Array.from({ length: 784 }, (_, i) => String(i));
    for (let i = 0; i < 500; i++) {
      s.set(`job/job-${String(i).padStart(4, "0")}`, { jobId: `job-${i}`, status: "claimed", values: input, claimId: `0x${i}` });
      s.set(`claim/0x${i}`, { claimId: `0x${i}`, status: "settled", claim: { bond: "10" } });
    }
    s.set("job/job-0100a", { jobId: "q1", status: "pending", values: input });
    s.set("job/job-0200a", { jobId: "q2", status: "waiting-stake", values: input });
    s.set("job/job-0300a", { jobId: "f", status: "failed", values: input });
    s.set("claim/0xopen", { claimId: "0xopen", status: "live", claim: { bond: "10" } });
    let rows = 0;
    const prepare = s.db.prepare.bind(s.db);
    s.db.prepare = ((sql: string) => {
      const st = prepare(sql);
      const all = st.all.bind(st);
      st.all = ((...a: Parameters<typeof all>) => {
        const out = all(...a);
        rows += out.filter((r) => "value" in (r as object)).length;
        return out;
      }) as typeof st.all;
      return st;
    }) as typeof s.db.prepare;
    expect(queuedJobs(s).map(([, j]) => j.jobId)).to.deep.equal(["q1", "q2"]);
    expect(openClaims(s).map(([, c]) => c.claimId)).to.deep.equal(["0xopen"]);
    expect(rows).to.equal(3);
  });

  const M = "0x01" as Hex;
  const queued = (jobId: string, o: Partial<Job> = {}): Job => ({ jobId, modelId: M, bits: 8, values: [], inputHash: "7", requestId: "0", status: "pending", ...o });

  it("the queue's bonds: one per claim, so jobs that differ only by tag are staked for once", async () => {
    // 20 000 tags of one input each counted a bond: the whole token balance went into stake.
    const s = new Store(":memory:");
    for (let i = 0; i < 50; i++) s.set(`job/job-tag${i}`, queued(`job-tag${i}`, { status: i % 2 ? "pending" : "waiting-stake" }));
    s.set("job/job-other", queued("job-other", { inputHash: "8" }));
    s.set("job/job-done", queued("job-done", { inputHash: "9", status: "claimed" }));
    // Requests are claims of their own, even on the same input; a fixed answer brings its bond.
    s.set("job/req-1", queued("req-1", { requestId: "1" }));
    s.set("job/req-2", queued("req-2", { requestId: "2", answer: { outputs: [], bond: "500", salt: "0x00", commitment: "0x00" } }));
    expect(await queuedBonds({ store: s }, () => Promise.resolve(100n))).to.equal(100n + 100n + 100n + 500n);
  });

  it("paid requests get stake and are sent first, soonest expiry first, then client jobs", () => {
    // In key order every client job (job/job-…) came before every request (job/req-…).
    const s = new Store(":memory:");
    s.set("job/job-a", queued("job-a"));
    s.set("job/job-b", queued("job-b", { status: "waiting-stake" }));
    s.set("job/req-5", queued("req-5", { requestId: "5", expiry: "300" }));
    s.set("job/req-10", queued("req-10", { requestId: "10", expiry: "100" }));
    s.set("job/req-7", queued("req-7", { requestId: "7" })); // a store written before expiry was kept
    s.set("job/req-8", queued("req-8", { requestId: "8", expiry: "1000000000000", status: "waiting-stake" }));
    expect(byPriority(queuedJobs(s)).map(([, j]) => j.jobId)).to.deep.equal(["req-10", "req-5", "req-8", "req-7", "job-a", "job-b"]);
  });

  it("POST /infer takes at most maxQueuedJobs queued client jobs, then answers 429; a job already taken is still returned", async () => {
    const pkg = loadPackage(resolve("models/mnist-mlp"));
    const model: ServedModel = { modelId: M, name: "mnist-mlp", pkg };
    const s = new Store(":memory:");
    s.set("job/req-1", queued("req-1", { requestId: "1" })); // requests are not counted
    const ctx = { store: s, models: new Map([[M, model]]), funds: { state: () => undefined }, config: { maxQueuedJobs: 3 } } as unknown as ProviderContext;
    const infer = providerRoutes(ctx).find((r) => r.path === "/infer")!;
    const body = (tag: string) => ({ model: "mnist-mlp", quantized: new Array<string>(pkg.manifest.inputLength).fill("0"), tag });
    const first = (await infer.handler({ method: "POST", path: "/infer", params: {}, query: new URLSearchParams(), body: body("0") })) as { status: number; body: Job };
    expect(first.status).to.equal(202);
    for (const tag of ["1", "2"]) addJob(ctx, M, new Array<bigint>(pkg.manifest.inputLength).fill(0n), tag);
    let refused: unknown;
    try {
      await infer.handler({ method: "POST", path: "/infer", params: {}, query: new URLSearchParams(), body: body("3") });
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(HttpError);
    expect((refused as HttpError).status).to.equal(429);
    expect((refused as HttpError).message).to.match(/maxQueuedJobs/);
    const again = (await infer.handler({ method: "POST", path: "/infer", params: {}, query: new URLSearchParams(), body: body("0") })) as { status: number; body: Job };
    expect(again.body.jobId).to.equal(first.body.jobId);
    // Once one is claimed there is room again.
    s.set(`job/${first.body.jobId}`, { ...first.body, status: "claimed" });
    const next = (await infer.handler({ method: "POST", path: "/infer", params: {}, query: new URLSearchParams(), body: body("3") })) as { status: number };
    expect(next.status).to.equal(202);
  });
});
