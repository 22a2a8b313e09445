// withRetry and the retryable/fatal classification (sdk/node/retry.ts, sdk/errors.ts).
import { expect } from "chai";
import { rejects } from "node:assert/strict";
import { HttpRequestError, TimeoutError, ContractFunctionRevertedError } from "viem";
import { withRetry, backoffDelay } from "../../sdk/node/retry.ts";
import { FatalError, OzkError, RetryableError, isRetryable, errorSummary } from "../../sdk/errors.ts";

describe("sdk/errors", () => {
  it("classifies transient and permanent failures", () => {
    expect(isRetryable(new RetryableError("x"))).to.equal(true);
    expect(isRetryable(new FatalError("x"))).to.equal(false);
    expect(isRetryable(Object.assign(new Error("socket"), { code: "ECONNRESET" }))).to.equal(true);
    expect(isRetryable(new Error("wrapped", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) }))).to.equal(true);
    expect(isRetryable(new HttpRequestError({ url: "http://x", status: 503 }))).to.equal(true);
    expect(isRetryable(new HttpRequestError({ url: "http://x", status: 400 }))).to.equal(false);
    expect(isRetryable(new TimeoutError({ body: {}, url: "http://x" }))).to.equal(true);
    expect(isRetryable(new ContractFunctionRevertedError({ abi: [], functionName: "f" }))).to.equal(false);
    expect(isRetryable(new TypeError("bug"))).to.equal(false);
  });

  it("carries a short message, details and a docs hint", () => {
    const err = new OzkError("claim not found", { details: "claim 7 on chain 31337", docsPath: "sdk.md#claims" });
    expect(err.shortMessage).to.equal("claim not found");
    expect(err.message).to.contain("Details: claim 7 on chain 31337").and.contain("Docs: docs/sdk.md#claims");
    expect(errorSummary(err)).to.equal("claim not found");
  });
});

describe("sdk/node/retry", () => {
  it("retries retryable errors with growing delays, then succeeds", async () => {
    const delays: number[] = [];
    let calls = 0;
    const out = await withRetry(
      async () => {
        if (++calls < 4) throw new RetryableError("flaky");
        return "ok";
      },
      { baseDelayMs: 1, random: () => 1, onRetry: (_e, _a, d) => delays.push(d) },
    );
    expect(out).to.equal("ok");
    expect(calls).to.equal(4);
    expect(delays).to.deep.equal([1, 2, 4]);
  });

  it("stops at once on a fatal error", async () => {
    let calls = 0;
    const p = withRetry(async () => {
      calls++;
      throw new FatalError("bad input");
    }, { baseDelayMs: 1 });
    await rejects(p, FatalError);
    expect(calls).to.equal(1);
  });

  it("gives up after `retries` and rethrows the last error", async () => {
    let calls = 0;
    const p = withRetry(async () => {
      calls++;
      throw new RetryableError(`try ${calls}`);
    }, { retries: 2, baseDelayMs: 1 });
    await rejects(p, /try 3/);
    expect(calls).to.equal(3);
  });

  it("caps the delay and applies full jitter", () => {
    expect(backoffDelay(30, { baseDelayMs: 100, maxDelayMs: 5000, random: () => 1 })).to.equal(5000);
    expect(backoffDelay(3, { baseDelayMs: 100, random: () => 0.5 })).to.equal(200);
    expect(backoffDelay(3, { baseDelayMs: 100, random: () => 0 })).to.equal(0);
  });

  it("an abort stops the wait", async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = withRetry(async () => {
      throw new RetryableError("down");
    }, { baseDelayMs: 60_000, random: () => 1, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await rejects(p, /down/);
    expect(Date.now() - t0).to.be.lessThan(5000);
  });
});
