// The provider daemon, as a process, against what an operator's bad day (or a hostile one) brings: a prover service
// that takes a challenged claim's job and then goes silent or dies, and a store that is lost while claims are live.
// In both the challenged claim must still be proven before its deadline, and the provider must keep working.
import { expect } from "chai";
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { encodeInputData } from "../../sdk/inputs.ts";
import { hashVector } from "../../sdk/hash.ts";
import { ClaimStatus } from "../../sdk/protocol.ts";
import { runQuantized } from "../../circuits/compiler/engine.ts";
import { clientJobId } from "../../provider/keys.ts";
import { terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import {
  BONDS,
  TOKEN,
  WINDOWS,
  daemon,
  freeStake,
  infer,
  quantized,
  restarted,
  solvent,
  startNet,
  status,
  submittedClaim,
  tokenAbi,
  waitFor,
  waitStatus,
  wallet,
  type Net,
} from "./harness.ts";

/** `who` stakes `amount` (approving first). */
async function stake(net: Net, who: "consumer" | "cheater" | "honest", amount: bigint): Promise<void> {
  const w = wallet(net, who);
  const send = async (hash: Promise<Hex>) => net.pc.waitForTransactionReceipt({ hash: await hash });
  await send(w.writeContract({ address: net.deployment.addresses.token as Address, abi: tokenAbi(), functionName: "approve", args: [net.claims.address, amount], chain: null }));
  await send(w.writeContract({ ...net.claims, functionName: "stake", args: [amount], chain: null }));
}

/** The consumer challenges a claim (it staked a challenger bond per challenge before). */
async function challenge(net: Net, claimId: Hex): Promise<void> {
  const { claim } = await submittedClaim(net, claimId);
  await net.pc.waitForTransactionReceipt({ hash: await wallet(net, "consumer").writeContract({ ...net.claims, functionName: "challenge", args: [claim], chain: null }) });
}

/** A claim's proof deadline (Challenged) or window end (Submitted), and the chain's time now. */
async function timeLeft(net: Net, claimId: Hex): Promise<{ deadline: bigint; now: bigint }> {
  const [, deadline] = await net.pc.readContract({ ...net.claims, functionName: "claimState", args: [claimId] });
  return { deadline, now: (await net.pc.getBlock()).timestamp };
}

/** The exit code of a daemon expected to stop on its own. */
async function exitCode(proc: ChildProcess, ms = 60_000): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<number | null>((r) => proc.once("exit", r)),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A prover service that accepts every job and never finishes one: POST /jobs is 202 queued, GET /jobs/:id says
 * running. `kill()` closes it the way a killed process does (connections refused); `revive()` listens again on
 * the same port.
 */
async function stuckProverService(): Promise<{ url: string; jobs: Set<string>; kill(): Promise<void>; revive(): Promise<void> }> {
  const jobs = new Set<string>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      const job = (id: string, s: string) => ({ id, modelDir: "mnist-mlp", input: {}, status: s, attempts: s === "running" ? 1 : 0, maxAttempts: 3, createdAt: new Date().toISOString() });
      if (req.method === "POST" && req.url === "/jobs") {
        const { id } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string };
        jobs.add(id);
        return reply(202, job(id, "queued"));
      }
      const id = decodeURIComponent(req.url!.split("/").pop()!);
      return jobs.has(id) ? reply(200, job(id, "running")) : reply(404, { error: `no job ${id}` });
    });
  };
  let server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    jobs,
    async kill() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async revive() {
      server = createServer(handler);
      await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    },
  };
}

describe("e2e: provider resilience (daemons as processes)", function () {
  let net: Net;
  after(terminateSnarkjs);
  afterEach(async () => {
    await net?.close();
  });

  it("a prover service that takes the job and never delivers, then dies: claims and finalizations go on, the claim is proven locally before its deadline", async () => {
    net = await startNet("prover-dies");
    const service = await stuckProverService();
    try {
      // Default prover settings: the service is given up after 30 s without an answer, or when a local proof must start.
      const honest = daemon(net, "honest", { prover: { url: service.url } });
      const a = await infer(net, honest, 3);
      const b = await infer(net, honest, 5);
      await stake(net, "consumer", 2n * BONDS.minChallengerBond);
      await challenge(net, a);
      await waitFor("the job on the prover service", async () => (service.jobs.has(a) ? true : undefined));

      // While the service holds the proof, the provider makes new claims and finalizes old ones.
      const c = await infer(net, honest, 7, "c");
      await net.chain.advance(WINDOWS.challengeWindow + 1);
      await waitStatus(net, b, ClaimStatus.Finalized);
      await waitStatus(net, c, ClaimStatus.Finalized);
      expect(await status(net, a), "still waiting on a live service, far from the deadline").to.equal(ClaimStatus.Challenged);

      // The service dies mid-proof: the provider notices, proves locally and answers the challenge in time.
      const before = await freeStake(net, net.addr.honest);
      await service.kill();
      const fellBack = await honest.waitForLog("prover service did not deliver a valid proof: proving locally");
      expect(fellBack).to.include({ level: 40, claimId: a, reason: "unreachable" });
      await waitStatus(net, a, ClaimStatus.Proven);
      expect(await freeStake(net, net.addr.honest)).to.be.greaterThan(before);

      // A service that is up but never finishes: near the deadline the provider stops waiting and proves locally.
      await service.revive();
      const d = await infer(net, honest, 9, "d");
      await challenge(net, d);
      await waitFor("the second job on the prover service", async () => (service.jobs.has(d) ? true : undefined));
      const { deadline, now } = await timeLeft(net, d);
      await net.chain.advance(Number(deadline - now) - 45); // 45 s left: less than any local fallback margin
      const cut = await waitFor("the deadline fallback", async () => {
        const line = honest.log().split("\n").filter((l) => l.includes("proving locally") && l.includes(d)).at(0);
        return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
      });
      expect(cut).to.include({ claimId: d, reason: "deadline" });
      await waitStatus(net, d, ClaimStatus.Proven);
      expect(await solvent(net)).to.equal(true);
    } finally {
      await service.kill().catch(() => undefined);
    }
  });

  it("a prover.timeoutMs longer than the model's proof window stops the provider at start, naming the field", async () => {
    net = await startNet("prover-timeout");
    const d = daemon(net, "honest", { prover: { url: "http://127.0.0.1:9", timeoutMs: (WINDOWS.proofWindow + 100) * 1000 } });
    expect(await exitCode(d.proc)).to.equal(2);
    expect(d.log()).to.contain("prover.timeoutMs");
    expect(d.log()).to.contain(`proof window of mnist-mlp (${WINDOWS.proofWindow} s)`);
  });

  it("a stakeCap that allows more open claims than one proof window can prove is warned about at start; a smaller one is not", async () => {
    net = await startNet("capacity");
    // mnist-mlp before any measured proof: 11.6 s estimated a proof, (1800 s - 60 s) / 11.6 s = 149 provable.
    const big = daemon(net, "honest", { stakeCap: String(200n * 100n * TOKEN) });
    await big.waitForLog("provider: started");
    const warning = big.log().split("\n").find((l) => l.includes("stakeCap allows more open claims"));
    expect(warning, "the warning").to.not.equal(undefined);
    expect(JSON.parse(warning!)).to.include({ openClaims: 200, provableInOneWindow: 149 });
    await big.stop();
    const small = daemon(net, "cheater", { stakeCap: String(100n * 100n * TOKEN) });
    await small.waitForLog("provider: started");
    expect(small.log()).to.not.include("stakeCap allows more open claims");
  });

  it("a provider whose store is lost (deleted, kill -9) rebuilds its live claims and inputs from the chain and proves challenges; bad or foreign input data does not get in", async () => {
    net = await startNet("lost-store");
    const honest = daemon(net, "honest");
    const bits = net.pkg.manifest.inputBits;
    const a = await infer(net, honest, 3);
    const b = await infer(net, honest, 6);
    // A request, answered by commit-reveal: its input lives in the request's event, not in a ClaimInput.
    const c = wallet(net, "consumer");
    const fee = 5n * TOKEN;
    await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ address: net.deployment.addresses.token as Address, abi: tokenAbi(), functionName: "approve", args: [net.claims.address, fee], chain: null }) });
    const x7 = quantized(net, 7);
    const params = { modelId: net.modelId, inputHash: hashVector(x7, bits), fee, expiry: (await net.pc.getBlock()).timestamp + 3600n, callbackGasLimit: 0, provider: net.addr.honest, minBond: 0n };
    await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ ...net.claims, functionName: "requestInference", args: [params, encodeInputData(x7, bits), ""], chain: null }) });
    const r = await waitFor("the request's answer", async () => {
      const id = await net.pc.readContract({ ...net.claims, functionName: "claimOfRequest", args: [1n] });
      return BigInt(id) === 0n ? undefined : id;
    });

    // The store goes (file, journal and all), then the process.
    const store = join(net.work, "honest.sqlite");
    for (const f of [store, `${store}-wal`, `${store}-shm`]) rmSync(f, { force: true });
    await honest.stop(true);

    // Poison on chain, while the provider is down. A stranger claims on the same model and inputHash as `a`, with a
    // ClaimInput of 785 values: a's 784 and a trailing -128, which packs to the same limbs, so it hashes to a's
    // inputHash. A rebuild keyed by inputHash alone, or one trusting any ClaimInput that hashes right, would store it.
    const xa = quantized(net, 3);
    const inputHash = hashVector(xa, bits);
    const longer = [...xa, -128n];
    expect(hashVector(longer, bits)).to.equal(inputHash);
    await stake(net, "cheater", BONDS.minProviderBond);
    const cheater = wallet(net, "cheater");
    const lie = Array.from({ length: 10 }, (_, i) => BigInt(i));
    await net.pc.waitForTransactionReceipt({ hash: await cheater.writeContract({ ...net.claims, functionName: "submitClaim", args: [net.modelId, inputHash, lie, BONDS.minProviderBond, encodeInputData(longer, bits), ""], chain: null }) });
    // And a claim of the provider's own key whose published data does not match its inputHash.
    const own = wallet(net, "honest");
    const x5 = quantized(net, 5);
    await net.pc.waitForTransactionReceipt({ hash: await own.writeContract({ ...net.claims, functionName: "submitClaim", args: [net.modelId, hashVector(x5, bits), lie, BONDS.minProviderBond, encodeInputData(quantized(net, 4), bits), ""], chain: null }) });

    const again = restarted(net, honest);
    await again.waitForLog("provider: started");
    await stake(net, "consumer", 3n * BONDS.minChallengerBond);
    const before = await freeStake(net, net.addr.honest);
    await challenge(net, a);
    await waitStatus(net, a, ClaimStatus.Proven);
    await challenge(net, r);
    await waitStatus(net, r, ClaimStatus.Proven);
    expect(await freeStake(net, net.addr.honest)).to.be.greaterThan(before);

    const rebuilt = await again.waitForLog("provider state rebuilt from the chain");
    expect(rebuilt).to.include({ claims: 4, live: 4, restored: 4, inputs: 3, missing: 1, rejected: 1 });
    const refused = await again.waitForLog("claim input on chain does not match the claim: not used");
    expect(String(refused.reason)).to.match(/does not match its commitment/);
    // The rebuilt jobs answer on the API: the request's job names its claim.
    const url = await again.url();
    const job = async (id: string) => (await (await fetch(`${url}/jobs/${id}`)).json()) as { status: string; claimId: Hex };
    expect(await job("req-1")).to.include({ status: "claimed", claimId: r });
    // A client's job comes back under the id the same input without a tag gets (what `infer` used).
    expect(await job(clientJobId(net.modelId, hashVector(quantized(net, 6), bits)))).to.include({ status: "claimed", claimId: b });

    // A claim the provider adopts from the chain later (made by its key elsewhere) has no input in the store: a
    // challenge of it reads the input back from the chain. (Sent once the daemon has withdrawn the request's fee, so
    // the two do not race for the account's nonce.)
    await again.waitForLog("withdrew credits");
    const x8 = quantized(net, 8);
    const outputs = runQuantized(net.pkg.quant, x8).outputs;
    await net.pc.waitForTransactionReceipt({ hash: await own.writeContract({ ...net.claims, functionName: "submitClaim", args: [net.modelId, hashVector(x8, bits), outputs, BONDS.minProviderBond, encodeInputData(x8, bits), ""], chain: null }) });
    const adopted = await again.waitForLog("adopted own claim from chain");
    const e = adopted.claimId as Hex;
    await challenge(net, e);
    await waitStatus(net, e, ClaimStatus.Proven);
    expect(await again.waitForLog("claim input missing from the store: read back from the chain")).to.include({ claimId: e, source: "ClaimInput" });
  });
});
