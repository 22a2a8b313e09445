// The provider's rules for a job on its way to a claim and for staking for the queue: which send errors fail a
// job, which leave it queued, which failed jobs a resend queues again, and how far free stake is topped up.
import { expect } from "chai";
import { FatalError, RetryableError } from "../../sdk/errors.ts";
import { classifySendError, isDue, isQueued, mayRetry, retryDelayMs } from "../../provider/jobs.ts";
import { stakeLevels } from "../../provider/stake.ts";
import { openClaims, queuedJobs } from "../../provider/step.ts";
import { Store } from "../../sdk/node/store.ts";

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
});
