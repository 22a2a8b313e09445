// The provider daemon (a process) under bursts of jobs and against an RPC that loses the answers to sent
// transactions: jobs wait for stake instead of failing, stake is topped up for what is queued (within the
// tokens held and `stakeCap`), a job failed for a passing reason is queued again when resent, and a claim that
// reached the chain although its send reported an error is the job's claim. One claim per job throughout.
import { expect } from "chai";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { join } from "node:path";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { quantizeInput } from "../../circuits/compiler/engine.ts";
import { addJob, type Job } from "../../provider/step.ts";
import { devKey } from "../../runtime/localnet.ts";
import { spawnDaemon, type DaemonProcess } from "../../runtime/processes.ts";
import { deployerFor, mintDevTokens } from "../../runtime/deploy.ts";
import { openStore } from "../../sdk/node/store.ts";
import { ClaimStatus } from "../../sdk/protocol.ts";
import {
  BONDS,
  PKG,
  WINDOWS,
  claimEvents,
  daemon,
  freeStake,
  getJob,
  pool,
  postJob,
  restarted,
  startNet,
  startTxAnswerFault,
  status,
  submittedClaim,
  tokenAbi,
  waitFor,
  waitStatus,
  wallet,
  type Net,
} from "./harness.ts";

/** Jobs in the burst test (200, the benchmark figure; `OZK_BURST_JOBS` sets fewer on a slow machine). */
const BURST = Number(process.env.OZK_BURST_JOBS ?? 200);

type JobView = Awaited<ReturnType<typeof getJob>>;

async function jobs(url: string, ids: readonly string[]): Promise<JobView[]> {
  return pool(ids, 20, (id) => getJob(url, id));
}

const count = (js: readonly JobView[], s: string): number => js.filter((j) => j.status === s).length;

/** Polls `fn` until it returns a value; an error it throws ends the wait at once (waitFor would retry it). */
async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until `done` holds for the jobs; a failed job ends the wait at once, with its reason (none may fail here). */
async function waitJobs(url: string, ids: readonly string[], what: string, done: (js: JobView[]) => boolean, timeoutMs = 120_000): Promise<JobView[]> {
  return until(what, async () => {
    const js = await jobs(url, ids);
    const failed = js.filter((j) => j.status === "failed" || j.status === "refused");
    if (failed.length) throw new Error(`${failed.length} of ${js.length} jobs failed (${count(js, "claimed")} claimed) while waiting for ${what}, e.g. ${failed[0]!.jobId}: ${failed[0]!.reason}`);
    return done(js) ? js : undefined;
  }, timeoutMs);
}

/** Jobs with claims on chain, one claim each, and claims of this provider equal to the jobs' distinct claim ids. */
async function claimsOf(net: Net, provider: Address): Promise<Hex[]> {
  return (await claimEvents(net, "ClaimSubmitted")).filter((l) => l.args.provider === provider).map((l) => l.args.claimId!);
}

/** Waits until the daemon has run `n` more successful steps. */
async function moreSteps(url: string, n: number): Promise<void> {
  const ok = async () => Number(/daemon_steps_total\{[^}]*result="ok"[^}]*\} (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
  const from = await ok();
  await waitFor(`${n} more steps`, async () => ((await ok()) >= from + n ? true : undefined));
}

/**
 * This provider's claims once at least `n` are on chain (a job is `claimed` when its claim is recorded, just before
 * the send, so the chain can be a moment behind the job's status).
 */
async function claimsOnChain(net: Net, provider: Address, n: number): Promise<Hex[]> {
  return waitFor(`${n} claims on chain`, async () => {
    const ids = await claimsOf(net, provider);
    return ids.length >= n ? ids : undefined;
  });
}

function failedFast(js: JobView[]): void {
  const failed = js.filter((j) => j.status === "failed");
  expect(failed.map((j) => `${j.jobId}: ${j.reason}`), "failed jobs").to.deep.equal([]);
}

describe("e2e: provider stake and claim submission under load", function () {
  let net: Net;
  afterEach(async () => {
    await net?.close();
  });

  it(`a burst of ${BURST} distinct jobs, 50 posted at a time, with tokens for every bond: ${BURST} claims, none failed`, async () => {
    net = await startNet("burst");
    // Tokens for every bond and more; the stake target (harness: 500 tokens, five bonds) is far below the burst.
    await mintDevTokens(await deployerFor(net.chain.url, net.keys.deployer), net.deployment, net.addr.honest, BigInt(BURST) * BONDS.minProviderBond);
    const honest = daemon(net, "honest", { logLevel: "info" });
    const url = await honest.url();
    const images = heldOutSample(BURST).images;
    const t0 = performance.now();
    const posted = await pool(images, 50, (img, i) => postJob(url, img, `burst-${i}`));
    const ids = posted.map((j) => j.jobId);
    expect(new Set(ids).size).to.equal(BURST);
    const acceptedMs = performance.now() - t0;
    const js = await waitJobs(url, ids, `${BURST} claims`, (xs) => xs.every((j) => j.status === "claimed" && j.claimId), 60_000 + BURST * 2_000);
    failedFast(js);
    const onChain = await claimsOnChain(net, net.addr.honest, BURST);
    expect(onChain.length, "one claim per job").to.equal(BURST);
    expect(new Set(js.map((j) => j.claimId)), "each job's claim is on chain").to.deep.equal(new Set(onChain));
    const seconds = (performance.now() - t0) / 1000;
    console.log(`      burst: ${BURST} jobs accepted in ${(acceptedMs / 1000).toFixed(1)} s; ${onChain.length} claims, 0 failed, in ${seconds.toFixed(1)} s`);
  });

  it("jobs beyond the tokens held wait for stake, and are claimed once the account is funded", async () => {
    net = await startNet("wait-stake");
    const key = devKey(7); // gas, no tokens
    const me = privateKeyToAccount(key).address;
    await mintDevTokens(await deployerFor(net.chain.url, net.keys.deployer), net.deployment, me, 3n * BONDS.minProviderBond);
    const d = spawnDaemon("provider", "poorish", net.work, { rpcUrl: net.chain.url, deployment: net.deploymentFile, models: [{ package: PKG }], intervalMs: 200, privateKey: key, logLevel: "debug" });
    net.daemons.push(d);
    const url = await d.url();
    const images = heldOutSample(5).images;
    const ids = (await pool(images, 5, (img, i) => postJob(url, img, `w-${i}`))).map((j) => j.jobId);
    const waiting = await waitJobs(url, ids, "3 claims and 2 jobs waiting for stake", (js) => count(js, "claimed") === 3 && count(js, "waiting-stake") === 2);
    expect(waiting.find((j) => j.status === "waiting-stake")!.reason).to.match(/free stake/);
    expect((await claimsOnChain(net, me, 3)).length).to.equal(3);
    // Funded: the waiting jobs are claimed, none failed.
    await mintDevTokens(await deployerFor(net.chain.url, net.keys.deployer), net.deployment, me, 2n * BONDS.minProviderBond);
    const js = await waitJobs(url, ids, "5 claims", (xs) => count(xs, "claimed") === 5);
    failedFast(js);
    expect((await claimsOnChain(net, me, 5)).length).to.equal(5);
  });

  it("stakeCap bounds the free stake: jobs beyond it wait until finalized claims bring their bonds back", async () => {
    net = await startNet("stake-cap");
    const cap = 3n * BONDS.minProviderBond;
    const honest = daemon(net, "honest", { stakeCap: String(cap) }); // stakeTarget (500 tokens) is above the cap: the cap wins
    const url = await honest.url();
    const images = heldOutSample(5).images;
    const ids = (await pool(images, 5, (img, i) => postJob(url, img, `c-${i}`))).map((j) => j.jobId);
    await waitJobs(url, ids, "3 claims and 2 jobs waiting for stake", (js) => count(js, "claimed") === 3 && count(js, "waiting-stake") === 2);
    const first = await claimsOnChain(net, net.addr.honest, 3);
    expect(first.length).to.equal(3);
    // Five steps later still 3: the 300 tokens are all locked, none more is staked.
    await moreSteps(url, 5);
    expect(await freeStake(net, net.addr.honest)).to.equal(0n);
    expect((await claimsOf(net, net.addr.honest)).length).to.equal(3);
    await net.chain.advance(WINDOWS.challengeWindow + 1);
    for (const id of first) await waitStatus(net, id, ClaimStatus.Finalized);
    await waitJobs(url, ids, "5 claims", (js) => count(js, "claimed") === 5);
    expect((await claimsOnChain(net, net.addr.honest, 5)).length).to.equal(5);
    expect(await freeStake(net, net.addr.honest)).to.be.at.most(cap);
  });

  it("a job failed for a passing reason (a store from before this version) is queued again when resent; a permanent failure is not", async () => {
    net = await startNet("resend");
    const store = openStore(join(net.work, "honest.sqlite"));
    const models = new Map([[net.modelId.toLowerCase() as Hex, { modelId: net.modelId.toLowerCase() as Hex, name: "mnist-mlp", pkg: net.pkg }]]);
    const [a, b] = heldOutSample(2).images;
    const transient = addJob({ store, models }, net.modelId.toLowerCase() as Hex, quantizeInput(net.pkg.quant, a!), "r");
    const permanent = addJob({ store, models }, net.modelId.toLowerCase() as Hex, quantizeInput(net.pkg.quant, b!), "r");
    const reason = (what: string) => `simulation of submitClaim failed: ${what}`;
    store.set(`job/${transient.jobId}`, { ...transient, status: "failed", reason: reason(`InsufficientStake(${net.addr.honest}, 0, ${BONDS.minProviderBond})`) } satisfies Job);
    store.set(`job/${permanent.jobId}`, { ...permanent, status: "failed", reason: reason(`ModelIsDeprecated(${net.modelId})`) } satisfies Job);
    store.close();
    const honest = daemon(net, "honest");
    const url = await honest.url();
    await honest.waitForLog("provider: started");
    expect((await getJob(url, transient.jobId)).status).to.equal("failed"); // not retried behind the client's back
    const again = await postJob(url, a!, "r");
    expect(again.jobId).to.equal(transient.jobId);
    expect(again.status).to.not.equal("failed");
    const claimed = await waitFor("the resent job's claim", async () => {
      const j = await getJob(url, transient.jobId);
      return j.status === "claimed" && j.claimId && (await status(net, j.claimId)) !== ClaimStatus.None ? j : undefined;
    });
    expect(claimed.claimId).to.match(/^0x[0-9a-f]{64}$/);
    const stays = await postJob(url, b!, "r");
    expect(stays).to.include({ jobId: permanent.jobId, status: "failed" });
    expect((await claimsOf(net, net.addr.honest)).length).to.equal(1);
  });

  it("kill -9 of the provider twice during a burst: the restarts claim every job once", async () => {
    net = await startNet("burst-kill");
    const n = 20;
    let honest: DaemonProcess = daemon(net, "honest", { logLevel: "info" });
    const url = await honest.url();
    const ids = (await pool(heldOutSample(n).images, 20, (img, i) => postJob(url, img, `k-${i}`))).map((j) => j.jobId);
    for (const after of [4, 11]) {
      await waitFor(`${after} claims`, async () => ((await claimsOf(net, net.addr.honest)).length >= after ? true : undefined));
      await honest.stop(true);
      honest = restarted(net, honest);
    }
    const url2 = await honest.url();
    const js = await waitJobs(url2, ids, `${n} claims`, (xs) => count(xs, "claimed") === n && xs.every((j) => j.claimId));
    const onChain = await claimsOnChain(net, net.addr.honest, n);
    expect(onChain.length, "one claim per job").to.equal(n);
    expect(new Set(js.map((j) => j.claimId))).to.deep.equal(new Set(onChain));
  });

  it("an RPC that loses the answer to eth_sendRawTransaction: the job follows the claim on chain, which is later proven", async () => {
    net = await startNet("lost-tx-answer");
    const proxy = await startTxAnswerFault(net.chain.url);
    try {
      const honest = daemon(net, "honest", { rpcUrl: proxy.url });
      const url = await honest.url();
      await waitFor("the provider to stake", async () => ((await freeStake(net, net.addr.honest)) > 0n ? true : undefined));
      const [a, b] = heldOutSample(2).images;
      const claimed: Hex[] = [];
      for (const [mode, img] of [["drop", a!], ["garble", b!]] as const) {
        proxy.mode = mode;
        const lostBefore = proxy.stats.lost;
        const { jobId } = await postJob(url, img, mode);
        await waitFor(`a ${mode}ped answer`, async () => (proxy.stats.lost > lostBefore ? true : undefined));
        await waitFor(`the ${mode} job's claim on chain`, async () => ((await claimsOf(net, net.addr.honest)).length === claimed.length + 1 ? true : undefined));
        proxy.mode = "off";
        const job = await until(`the ${mode} job to follow its claim`, async () => {
          const j = await getJob(url, jobId);
          if (j.status === "failed") throw new Error(`the ${mode} job failed although its claim is on chain: ${j.reason}`);
          return j.status === "claimed" && j.claimId ? j : undefined;
        }, 30_000);
        const onChain = await claimsOf(net, net.addr.honest);
        expect(onChain.length, "one claim per job").to.equal(claimed.length + 1);
        expect(job.claimId).to.equal(onChain.at(-1));
        claimed.push(job.claimId!);
      }
      // A griefing challenge of the first: the provider proves it, and the job still names that claim.
      const c = wallet(net, "consumer");
      await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ address: net.deployment.addresses.token as Address, abi: tokenAbi(), functionName: "approve", args: [net.claims.address, BONDS.minChallengerBond], chain: null }) });
      await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ ...net.claims, functionName: "stake", args: [BONDS.minChallengerBond], chain: null }) });
      const { claim } = await submittedClaim(net, claimed[0]!);
      await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ ...net.claims, functionName: "challenge", args: [claim], chain: null }) });
      await waitStatus(net, claimed[0]!, ClaimStatus.Proven);
      expect((await claimEvents(net, "ClaimSubmitted")).length).to.equal(2);
      expect(proxy.stats.lost).to.be.greaterThan(1);
    } finally {
      await proxy.close();
    }
  });
});
