// Bench part 3: load on a local net with the daemons as real processes (scripts/lib/devnet.ts: embedded chain over
// JSON-RPC, ozk deployed, the MNIST MLP registered). An honest provider gets N inference jobs over its HTTP API
// (POST /infer, distinct tags, all posted at once), a challenger (sampling policy "all") re-executes every claim;
// then a third party challenges K of the claims at once and the provider proves them.
// Figures: claims per minute submitted on chain and re-executed by the challenger (first POST -> last claim),
// and proof latency per challenged claim (challenge tx mined -> ClaimProven seen), median and max.
// First, on a net of its own, a burst: B distinct jobs posted 50 at a time to a provider with the default stake
// settings (stakeTarget five bonds) and tokens for every bond; it must stake for the queue as it grows. Figures:
// claims, failed jobs, seconds from the first POST until every job is claimed (or failed), claims per minute.
// Usage: tsx scripts/bench/load.ts --out bench-results/load.json [--quick] [--jobs N] [--challenges K] [--burst B] [--prover-backend native|snarkjs]
import { pool } from "../lib/random.ts";
import { erc20Abi, type Address, type Hex } from "viem";
import { ClaimStatus } from "../../sdk/protocol.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { deployerFor, mintDevTokens } from "../../runtime/deploy.ts";
import { BONDS, TOKEN, daemon, freeStake, startNet, submittedClaim, waitFor, wallet, type Net } from "../lib/devnet.ts";
import { argValue, isMain, median, peakRssMB, since, treePeakRssMB, runMain } from "./common.ts";

export interface BurstResult {
  jobs: number;
  /** Requests in flight at once while posting. */
  parallel: number;
  /** The provider's stakeTarget (the harness default), far below the burst's bonds. */
  stakeTarget: string;
  acceptedSeconds: number;
  /** First POST until every job is claimed on chain or failed. */
  seconds: number;
  claims: number;
  failed: number;
  /** Reasons of failed jobs, counted. */
  failedReasons: Record<string, number>;
  claimsPerMinute: number;
  /** Stake transactions the provider sent during the burst. */
  stakeTransactions: number;
}

export interface LoadResult {
  burst?: BurstResult;
  jobs: number;
  challenges: number;
  providerIntervalMs: number;
  challengerIntervalMs: number;
  submit: { seconds: number; claimsPerMinute: number };
  reexecute: { seconds: number; claimsPerMinute: number; verdicts: Record<string, number>; challengesOfHonestClaims: number };
  proofLatency: { samplesMs: number[]; medianMs: number; maxMs: number; proverMedianMs: number | null; proverBackends: string[]; proveGas: number[] };
  allProven: boolean;
  errors: string[];
  seconds: number;
  benchProcessPeakRssMB: number;
  /** Peak RSS of each daemon's live process tree at the end of the run. */
  daemonPeakRssMB: { provider?: number; challenger?: number };
}

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}
/** Prometheus counter `*<name>` summed by the value of one label (all series when the label is absent). */
function counterByLabel(text: string, name: string, label = ""): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^\\w*${name}(?:\\{([^}]*)\\})?\\s+([0-9.e+]+)$`, "gm");
  for (const m of text.matchAll(re)) {
    const key = label ? (new RegExp(`${label}="([^"]*)"`).exec(m[1] ?? "")?.[1] ?? "") : "";
    out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}
const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);


/** B distinct jobs, `parallel` posted at a time, to a provider with the default stake settings and tokens for every bond. */
export async function benchBurst(o: { jobs: number; parallel?: number; log?: (s: string) => void }): Promise<BurstResult> {
  const log = o.log ?? ((s: string) => console.log(`  [burst] ${s}`));
  const N = o.jobs;
  const parallel = o.parallel ?? 50;
  const net: Net = await startNet("bench-burst");
  try {
    await mintDevTokens(await deployerFor(net.chain.url, net.keys.deployer), net.deployment, net.addr.honest, BigInt(N) * BONDS.minProviderBond);
    const stakeTarget = String(5n * BONDS.minProviderBond);
    const honest = daemon(net, "honest", { stakeTarget, logLevel: "info" });
    const url = await honest.url();
    await waitFor("the provider to stake", async () => ((await freeStake(net, net.addr.honest)) > 0n ? true : undefined), 60_000);
    const stakedBefore = honest.log().split("\n").filter((l) => l.includes('"msg":"staked"')).length;
    const images = heldOutSample(N).images;
    const t0 = performance.now();
    const ids = await pool(images, parallel, async (img, i) => {
      const res = await fetch(`${url}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "mnist-mlp", input: Array.from(img), tag: `burst-${i}` }) });
      if (res.status !== 202) throw new Error(`/infer answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { jobId: string }).jobId;
    });
    const acceptedSeconds = since(t0) / 1000;
    log(`${N} jobs accepted in ${acceptedSeconds.toFixed(1)} s`);
    type View = { status: string; reason?: string; claimId?: Hex };
    let views: View[] = [];
    await waitFor(`${N} jobs claimed or failed`, async () => {
      views = await pool(ids, 20, async (id) => (await (await fetch(`${url}/jobs/${id}`)).json()) as View);
      if (!views.every((v) => (v.status === "claimed" && v.claimId) || v.status === "failed")) return undefined;
      const onChain = (await net.pc.getContractEvents({ ...net.claims, eventName: "ClaimSubmitted", args: { provider: net.addr.honest }, fromBlock: 0n })).length;
      return onChain >= views.filter((v) => v.status === "claimed").length ? true : undefined;
    }, 60_000 + N * 2_000);
    const seconds = since(t0) / 1000;
    const claims = (await net.pc.getContractEvents({ ...net.claims, eventName: "ClaimSubmitted", args: { provider: net.addr.honest }, fromBlock: 0n })).length;
    const failedReasons: Record<string, number> = {};
    for (const v of views.filter((x) => x.status === "failed")) {
      const key = (v.reason ?? "?").replace(/0x[0-9a-fA-F]+|\d{6,}/g, "…");
      failedReasons[key] = (failedReasons[key] ?? 0) + 1;
    }
    const failed = views.filter((v) => v.status === "failed").length;
    const stakeTransactions = honest.log().split("\n").filter((l) => l.includes('"msg":"staked"')).length - stakedBefore;
    log(`${claims} claims, ${failed} failed, in ${seconds.toFixed(1)} s (${stakeTransactions} stake transactions)`);
    return { jobs: N, parallel, stakeTarget, acceptedSeconds, seconds, claims, failed, failedReasons, claimsPerMinute: (claims / seconds) * 60, stakeTransactions };
  } finally {
    await net.close();
  }
}

export async function benchLoad(o: { jobs: number; challenges: number; burst?: number; log?: (s: string) => void }): Promise<LoadResult> {
  const log = o.log ?? ((s: string) => console.log(`  [load] ${s}`));
  const burst = o.burst ? await benchBurst({ jobs: o.burst }) : undefined;
  const t0 = performance.now();
  const N = o.jobs;
  const K = Math.min(o.challenges, N);
  const net: Net = await startNet("bench-load");
  try {
    const intervalMs = 200;
    // Enough free stake for every claim's bond at once (the harness mints 10,000 tokens per actor).
    const stake = BONDS.minProviderBond * BigInt(N + 2);
    if (stake > 9_000n * TOKEN) throw new Error(`--jobs ${N}: the bonds (${N + 2} x 100 tokens) exceed the provider's 10,000 minted tokens`);
    const honest = daemon(net, "honest", { stakeTarget: String(stake), intervalMs, logLevel: "info" });
    const challenger = daemon(net, "challenger", { sampling: { policy: "all" }, intervalMs, logLevel: "info" });
    const [pUrl, cUrl] = await Promise.all([honest.url(), challenger.url()]);
    await waitFor("the provider to stake", async () => ((await freeStake(net, net.addr.honest)) >= stake ? true : undefined), 60_000);
    log(`net up in ${(since(t0) / 1000).toFixed(1)} s; posting ${N} jobs`);

    // N distinct jobs at once: N distinct held-out digits (a claim's id hashes its input, so equal inputs would be
    // one claim), each with its own tag.
    const images = heldOutSample(N).images;
    const tStart = performance.now();
    const jobIds = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const res = await fetch(`${pUrl}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "mnist-mlp", input: Array.from(images[i]!), tag: `bench-${i}` }) });
        if (res.status !== 202) throw new Error(`/infer answered ${res.status}: ${await res.text()}`);
        return ((await res.json()) as { jobId: string }).jobId;
      }),
    );
    if (new Set(jobIds).size !== N) throw new Error(`expected ${N} distinct jobs, got ${new Set(jobIds).size}`);
    let submittedAt = 0;
    let checkedAt = 0;
    let verdicts: Record<string, number> = {};
    await waitFor(`${N} claims submitted and re-executed`, async () => {
      if (!submittedAt) {
        const logs = await net.pc.getContractEvents({ ...net.claims, eventName: "ClaimSubmitted", fromBlock: 0n });
        if (logs.length >= N) {
          submittedAt = since(tStart);
          log(`${N} claims on chain after ${(submittedAt / 1000).toFixed(1)} s`);
        }
      }
      verdicts = counterByLabel(await metrics(cUrl), "claims_checked_total", "verdict");
      if (!checkedAt && sum(verdicts) >= N) {
        checkedAt = since(tStart);
        log(`${N} claims re-executed by the challenger after ${(checkedAt / 1000).toFixed(1)} s`);
      }
      return submittedAt && checkedAt ? true : undefined;
    }, 180_000);
    const challengesOfHonestClaims = sum(counterByLabel(await metrics(cUrl), "challenges_total"));

    // K challenges at once by a third party (the consumer account), each timed from its receipt to ClaimProven.
    const claimLogs = (await net.pc.getContractEvents({ ...net.claims, eventName: "ClaimSubmitted", fromBlock: 0n })).slice(0, K);
    const consumer = wallet(net, "consumer");
    const token = net.deployment.addresses.token as Address;
    const bond = BONDS.minChallengerBond * BigInt(K);
    await net.pc.waitForTransactionReceipt({ hash: await consumer.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [net.claims.address, bond], chain: null }) });
    await net.pc.waitForTransactionReceipt({ hash: await consumer.writeContract({ ...net.claims, functionName: "stake", args: [bond], chain: null }) });
    const ids = claimLogs.map((l) => l.args.claimId as Hex);
    const hashes: Hex[] = [];
    for (const id of ids) {
      const { claim } = await submittedClaim(net, id);
      hashes.push(await consumer.writeContract({ ...net.claims, functionName: "challenge", args: [claim], chain: null }));
    }
    const minedAt = new Map<Hex, number>();
    await Promise.all(ids.map(async (id, i) => {
      const r = await net.pc.waitForTransactionReceipt({ hash: hashes[i]!, pollingInterval: 50 });
      if (r.status !== "success") throw new Error(`challenge of ${id} reverted`);
      minedAt.set(id, performance.now());
    }));
    log(`${K} claims challenged; waiting for proofs`);
    const provenAt = new Map<Hex, number>();
    const proveGas: number[] = [];
    const errors: string[] = [];
    try {
      await waitFor(`${K} proofs`, async () => {
        for (const id of ids) {
          if (provenAt.has(id)) continue;
          const [s] = await net.pc.readContract({ ...net.claims, functionName: "claimState", args: [id] });
          if (s === ClaimStatus.Proven) provenAt.set(id, performance.now());
        }
        return provenAt.size === K ? true : undefined;
      }, 60_000 + K * 20_000);
    } catch (err) {
      const why = honest.log().split("\n").filter((l) => /cannot prove|"level":50/.test(l)).slice(-1)[0];
      errors.push(`${(err as Error).message}${why ? `; provider log: ${why.slice(0, 300)}` : ""}`);
      log(`ERROR ${errors.at(-1)}`);
    }
    for (const l of await net.pc.getContractEvents({ ...net.claims, eventName: "ClaimProven", fromBlock: 0n })) {
      proveGas.push(Number((await net.pc.getTransactionReceipt({ hash: l.transactionHash })).gasUsed));
    }
    const samplesMs = ids.filter((id) => provenAt.has(id)).map((id) => provenAt.get(id)! - minedAt.get(id)!);
    // The provider's own prove time per claim (witness + prove + verify in its backend), from its log.
    const proved = honest.log().split("\n").filter((l) => l.includes("challenge answered with a proof")).map((l) => JSON.parse(l) as { proveSeconds: string; backend?: string });
    const proverMs = proved.map((p) => Number(p.proveSeconds) * 1000);
    const backends = [...new Set(proved.map((p) => p.backend ?? "?"))];
    if (samplesMs.length) log(`proof latency median ${(median(samplesMs) / 1000).toFixed(2)} s, max ${(Math.max(...samplesMs) / 1000).toFixed(2)} s`);
    const daemonPeakRssMB = { provider: treePeakRssMB(honest.proc.pid), challenger: treePeakRssMB(challenger.proc.pid) };
    return {
      ...(burst ? { burst } : {}),
      daemonPeakRssMB,
      jobs: N,
      challenges: K,
      providerIntervalMs: intervalMs,
      challengerIntervalMs: intervalMs,
      submit: { seconds: submittedAt / 1000, claimsPerMinute: (N / submittedAt) * 60_000 },
      reexecute: { seconds: checkedAt / 1000, claimsPerMinute: (N / checkedAt) * 60_000, verdicts, challengesOfHonestClaims },
      proofLatency: { samplesMs, medianMs: median(samplesMs), maxMs: samplesMs.length ? Math.max(...samplesMs) : NaN, proverMedianMs: proverMs.length ? median(proverMs) : null, proverBackends: backends, proveGas },
      allProven: provenAt.size === K,
      errors,
      seconds: since(t0) / 1000,
      benchProcessPeakRssMB: peakRssMB(),
    };
  } finally {
    await net.close();
  }
}

if (isMain(import.meta.url)) {
  const quick = process.argv.includes("--quick");
  const out = argValue(process.argv, "--out");
  const jobs = Number(argValue(process.argv, "--jobs") ?? (quick ? 20 : 60));
  const challenges = Number(argValue(process.argv, "--challenges") ?? (quick ? 3 : 5));
  const burst = Number(argValue(process.argv, "--burst") ?? (quick ? 50 : 200));
  // The provider proves with the fastest backend it finds (native, else snarkjs); --prover-backend picks one.
  const backend = argValue(process.argv, "--prover-backend");
  if (backend) process.env.OZK_PROVER_BACKEND = backend;
  runMain(benchLoad({ jobs, challenges, burst }), out);
}
