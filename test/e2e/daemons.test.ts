// End-to-end and fault tests: the provider and challenger daemons as real processes against a chain served over
// JSON-RPC. Each test ends with the right party paid and no claim lost.
import { expect } from "chai";
import { keccak256, toHex, zeroAddress, type Address, type Hex } from "viem";
import { encodeInputData } from "../../sdk/inputs.ts";
import { hashVector } from "../../sdk/hash.ts";
import { outputHash } from "../../sdk/signals.ts";
import { ClaimStatus, RequestStatus } from "../../sdk/protocol.ts";
import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { devKey } from "../../runtime/localnet.ts";
import { raw } from "../raw-http.ts";
import { modelRegistryAbi } from "../../sdk/abi.ts";
import { deployerFor, registerPackage, saveDeployment } from "../../runtime/deploy.ts";
import { spawnDaemon } from "../../runtime/processes.ts";
import { selectBackend } from "../../prover/backends/index.ts";
import { terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import type { Job } from "../../prover/service/jobs.ts";
import { ProverService } from "../../prover/service/service.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { Store } from "../../sdk/node/store.ts";
import {
  BONDS,
  PKG,
  TOKEN,
  WINDOWS,
  claimEvents,
  daemon,
  digit,
  freeStake,
  infer,
  quantized,
  restarted,
  solvent,
  startFaultProxy,
  startNet,
  status,
  submittedClaim,
  tokenAbi,
  waitFor,
  waitStatus,
  wallet,
  type Net,
} from "./harness.ts";

/** The exit code of a daemon expected to stop on its own; a daemon still running after `ms` fails the test. */
async function exitCode(d: { name: string; proc: ChildProcess }, ms = 30_000): Promise<number | null> {
  if (d.proc.exitCode !== null) return d.proc.exitCode;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<number | null>((r) => d.proc.once("exit", r)),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${d.name} still running after ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Creation code of a minimal forwarding proxy: its runtime copies the calldata, STATICCALLs `target` with it and
 * returns (or reverts with) whatever `target` returned. 45 bytes of runtime:
 *   CALLDATASIZE PUSH0 PUSH0 CALLDATACOPY                      memory = calldata
 *   PUSH0 PUSH0 CALLDATASIZE PUSH0 PUSH20 target GAS STATICCALL
 *   RETURNDATASIZE PUSH0 PUSH0 RETURNDATACOPY                  memory = returndata
 *   PUSH1 0x29 JUMPI RETURNDATASIZE PUSH0 REVERT JUMPDEST RETURNDATASIZE PUSH0 RETURN
 * preceded by 9 bytes that copy it to memory and return it (PUSH1 45 DUP1 PUSH1 9 PUSH0 CODECOPY PUSH0 RETURN).
 */
function forwarderInitCode(target: Address): Hex {
  const runtime = `365f5f37` + `5f5f365f73${target.slice(2).toLowerCase()}5afa` + `3d5f5f3e` + `602957` + `3d5ffd` + `5b3d5ff3`;
  return `0x602d8060095f395ff3${runtime}`;
}

/** The consumer stakes one challenger bond. */
async function stakeChallengerBond(net: Net): Promise<void> {
  const w = wallet(net, "consumer");
  const send = async (hash: Promise<Hex>) => net.pc.waitForTransactionReceipt({ hash: await hash });
  await send(w.writeContract({ address: net.deployment.addresses.token as Address, abi: tokenAbi(), functionName: "approve", args: [net.claims.address, BONDS.minChallengerBond], chain: null }));
  await send(w.writeContract({ ...net.claims, functionName: "stake", args: [BONDS.minChallengerBond], chain: null }));
}

/** The consumer challenges a claim with bond it staked before. */
async function challengeAsConsumer(net: Net, claimId: Hex): Promise<void> {
  const { claim } = await submittedClaim(net, claimId);
  await net.pc.waitForTransactionReceipt({ hash: await wallet(net, "consumer").writeContract({ ...net.claims, functionName: "challenge", args: [claim], chain: null }) });
}

/** The consumer stakes and challenges a claim itself (a griefing challenge of an honest claim). */
async function griefChallenge(net: Net, claimId: Hex): Promise<void> {
  await stakeChallengerBond(net);
  await challengeAsConsumer(net, claimId);
}

/** The consumer pays `fee` for an inference of a digit of `label`, open to `provider` (zero: anyone). */
async function requestDigit(net: Net, label: number, o: { fee: bigint; provider: Address; minBond: bigint }): Promise<void> {
  const c = wallet(net, "consumer");
  await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ address: net.deployment.addresses.token as Address, abi: tokenAbi(), functionName: "approve", args: [net.claims.address, o.fee], chain: null }) });
  const x = quantized(net, label);
  const bits = net.pkg.manifest.inputBits;
  const now = (await net.pc.getBlock()).timestamp;
  const params = { modelId: net.modelId, inputHash: hashVector(x, bits), fee: o.fee, expiry: now + 3600n, callbackGasLimit: 0, provider: o.provider, minBond: o.minBond };
  await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ ...net.claims, functionName: "requestInference", args: [params, encodeInputData(x, bits), ""], chain: null }) });
}

describe("e2e: daemons as processes", function () {
  let net: Net;
  after(terminateSnarkjs); // the in-process prover service verifies with snarkjs, whose worker threads keep Node up
  afterEach(async () => {
    await net?.close();
  });

  it("kill -9 of the provider while it proves: the restart proves the challenged claim, one claim only", async () => {
    net = await startNet("kill-provider");
    const honest = daemon(net, "honest");
    const claimId = await infer(net, honest, 3);
    const before = await freeStake(net, net.addr.honest);
    await griefChallenge(net, claimId);
    await honest.waitForLog("claim challenged: proving");
    await honest.stop(true); // kill -9 mid-proof
    expect(await status(net, claimId)).to.equal(ClaimStatus.Challenged);
    restarted(net, honest);
    await waitStatus(net, claimId, ClaimStatus.Proven);
    expect((await claimEvents(net, "ClaimSubmitted")).length).to.equal(1);
    expect((await claimEvents(net, "ClaimProven")).length).to.equal(1);
    // The provider keeps its bond and wins the challenger's bond less the protocol fee.
    expect(await freeStake(net, net.addr.honest)).to.be.greaterThan(before);
    expect(await solvent(net)).to.equal(true);
  });

  it("a griefer who challenges five honest claims at once: the proofs take turns, soonest deadline first, and all five are proven", async () => {
    net = await startNet("many-challenges");
    const honest = daemon(net, "honest");
    const claimIds: Hex[] = [];
    for (const label of [0, 1, 2, 3, 5]) claimIds.push(await infer(net, honest, label));
    const before = await freeStake(net, net.addr.honest);
    const w = wallet(net, "consumer");
    const send = async (hash: Promise<Hex>) => net.pc.waitForTransactionReceipt({ hash: await hash });
    const bonds = BONDS.minChallengerBond * BigInt(claimIds.length);
    await send(w.writeContract({ address: net.deployment.addresses.token as Address, abi: tokenAbi(), functionName: "approve", args: [net.claims.address, bonds], chain: null }));
    await send(w.writeContract({ ...net.claims, functionName: "stake", args: [bonds], chain: null }));
    // All five challenges in one block.
    await net.chain.request("evm_setAutomine", [false]);
    const hashes: Hex[] = [];
    for (const id of claimIds) hashes.push(await w.writeContract({ ...net.claims, functionName: "challenge", args: [(await submittedClaim(net, id)).claim], chain: null }));
    await net.chain.request("evm_mine");
    await net.chain.request("evm_setAutomine", [true]);
    for (const hash of hashes) await net.pc.waitForTransactionReceipt({ hash });
    for (const id of claimIds) await waitStatus(net, id, ClaimStatus.Proven);
    expect(honest.log()).to.include("proof waits for its turn (soonest deadline first)");
    expect((await claimEvents(net, "ClaimProven")).length).to.equal(claimIds.length);
    // Each griefing challenge paid the provider.
    expect(await freeStake(net, net.addr.honest)).to.be.greaterThan(before);
    expect(await solvent(net)).to.equal(true);
  });

  it("kill -9 of the challenger after it found a wrong claim: the restart challenges once and slashes", async () => {
    net = await startNet("kill-challenger");
    const cheater = daemon(net, "cheater");
    const challenger = daemon(net, "challenger");
    await challenger.waitForLog("challenger: started");
    const claimId = await infer(net, cheater, 2);
    await challenger.waitForLog("WRONG claim found");
    await challenger.stop(true);
    const again = restarted(net, challenger);
    await waitStatus(net, claimId, ClaimStatus.Challenged);
    const stakeBefore = await freeStake(net, net.addr.challenger);
    await net.chain.advance(WINDOWS.proofWindow + 1);
    await waitStatus(net, claimId, ClaimStatus.Slashed);
    await again.waitForLog("dispute settled");
    expect((await claimEvents(net, "ClaimChallenged")).length).to.equal(1);
    const [slash] = await claimEvents(net, "ClaimSlashed");
    expect(slash!.args.beneficiary).to.equal(net.addr.challenger);
    // Own bond back plus the reward share of the provider bond.
    expect(await freeStake(net, net.addr.challenger)).to.equal(stakeBefore + BONDS.minChallengerBond + slash!.args.reward!);
    expect(await solvent(net)).to.equal(true);
  });

  it("a challenger set to counter-prove slashes a wrong claim at once with a proof of the right output", async () => {
    net = await startNet("counter-prove");
    const cheater = daemon(net, "cheater");
    const challenger = daemon(net, "challenger", { counterProve: true });
    await challenger.waitForLog("challenger: started");
    const claimId = await infer(net, cheater, 9);
    await waitStatus(net, claimId, ClaimStatus.Slashed);
    const [slash] = await claimEvents(net, "ClaimSlashed");
    expect(slash!.args.counterProven).to.equal(true);
    expect(slash!.args.beneficiary).to.equal(net.addr.challenger);
    expect((await claimEvents(net, "ClaimChallenged")).length).to.equal(0);
    // Commit-reveal: the challenger committed to its counter-proof in an earlier block than the one that revealed it.
    const commits = await net.pc.getContractEvents({ ...net.claims, eventName: "Committed", args: { account: net.addr.challenger }, fromBlock: 0n });
    expect(commits.length).to.equal(1);
    expect(commits[0]!.blockNumber < slash!.blockNumber).to.equal(true);
    expect(await solvent(net)).to.equal(true);
  });

  it("a challenger whose counter-proof is committed when someone else challenges first leaves the reward to that challenger", async () => {
    // The contract pays a counter-proof's reward to a challenge from an earlier block (it found the lie first), so
    // revealing would only spend gas: the daemon keeps its commitment unrevealed and the claim is slashed at the
    // proof deadline, the reward going to the one who challenged.
    net = await startNet("counter-prove-challenged");
    await net.chain.request("evm_setIntervalMining", [0]); // blocks only on transactions: the test decides when one comes
    const cheater = daemon(net, "cheater");
    const challenger = daemon(net, "challenger", { counterProve: true });
    await challenger.waitForLog("challenger: started");
    await stakeChallengerBond(net);
    const claimId = await infer(net, cheater, 5);
    await challenger.waitForLog(/^counter-proof committed in block/);
    // The consumer challenges the claim in the block after the commitment.
    await challengeAsConsumer(net, claimId);
    await challenger.waitForLog(/^challenged first by another account/);
    await net.chain.advance(WINDOWS.proofWindow + 1);
    await waitStatus(net, claimId, ClaimStatus.Slashed);
    const [slash] = await claimEvents(net, "ClaimSlashed");
    expect(slash!.args.counterProven).to.equal(false);
    expect(slash!.args.beneficiary).to.equal(net.addr.consumer);
    expect((await claimEvents(net, "ClaimChallenged"))[0]!.args.challenger).to.equal(net.addr.consumer);
    expect(await solvent(net)).to.equal(true);
  });

  it("a counter-prover that cannot reveal before the challenge window closes challenges first, then reveals", async () => {
    net = await startNet("counter-prove-late");
    await net.chain.request("evm_setIntervalMining", [0]); // no block comes by itself: the commitment cannot age
    const cheater = daemon(net, "cheater");
    // A margin above the whole window: every counter-proof is "late", so the challenger challenges to keep the claim open.
    const challenger = daemon(net, "challenger", { counterProve: true, counterProveMarginSeconds: WINDOWS.challengeWindow * 2 });
    await challenger.waitForLog("challenger: started");
    const claimId = await infer(net, cheater, 8);
    await challenger.waitForLog("challenge window closing before the counter-proof can be revealed: challenging first");
    await waitStatus(net, claimId, ClaimStatus.Slashed); // the challenge's own block ages the commitment
    const [challenge] = await claimEvents(net, "ClaimChallenged");
    expect(challenge!.args.challenger).to.equal(net.addr.challenger);
    const [slash] = await claimEvents(net, "ClaimSlashed");
    expect(slash!.args).to.include({ counterProven: true, beneficiary: net.addr.challenger });
    expect(await solvent(net)).to.equal(true);
  });

  it("kill -9 of the provider between committing to a request's answer and revealing it: the restart reveals that answer", async () => {
    net = await startNet("kill-commit");
    await net.chain.request("evm_setIntervalMining", [0]); // no block until the test mines one: the answer stays unrevealed
    // The request asks for 150 tokens of bond, above this provider's own 100: its policy must allow it.
    const honest = daemon(net, "honest", { requestPolicy: { maxBond: String(200n * TOKEN) } });
    await honest.waitForLog("provider: started");
    await requestDigit(net, 7, { fee: 5n * TOKEN, provider: net.addr.honest, minBond: 150n * TOKEN });
    await honest.waitForLog(/^answer committed in block/);
    await honest.stop(true); // kill -9 after the commit, before the reveal
    const again = restarted(net, honest);
    await again.waitForLog("answer committed: revealing in a later block"); // found its commitment on chain: not sent again
    await net.chain.request("evm_mine");
    const claimId = await waitFor("the request's answer", async () => {
      const id = await net.pc.readContract({ ...net.claims, functionName: "claimOfRequest", args: [1n] });
      return BigInt(id) === 0n ? undefined : id;
    });
    const commits = await net.pc.getContractEvents({ ...net.claims, eventName: "Committed", args: { account: net.addr.honest }, fromBlock: 0n });
    expect(commits.length, "one commitment, never a second salt").to.equal(1);
    const [answer] = await claimEvents(net, "ClaimSubmitted");
    expect(answer!.args.claimId).to.equal(claimId);
    expect(answer!.blockNumber > commits[0]!.blockNumber).to.equal(true);
    expect(answer!.args.claim!.requestId).to.equal(1n);
    expect(answer!.args.claim!.bond).to.equal(150n * TOKEN); // the request's minimum bond, above the model's
    expect(answer!.args.outputs!.reduce((best, v, i, xs) => (v > xs[best]! ? i : best), 0)).to.equal(7);
  });

  it("a request first answered by a cheater reopens when the cheater is slashed: the honest provider, which had given up on it, answers it and is paid", async () => {
    net = await startNet("reopened");
    const cheater = daemon(net, "cheater", { answerRequests: true });
    await cheater.waitForLog("provider: started");
    await requestDigit(net, 4, { fee: 5n * TOKEN, provider: zeroAddress, minBond: 0n });
    const claimOfRequest = () => net.pc.readContract({ ...net.claims, functionName: "claimOfRequest", args: [1n] });
    const wrong = await waitFor("the cheater's answer", async () => (BigInt(await claimOfRequest()) === 0n ? undefined : await claimOfRequest()));
    // The honest provider comes late: the request is answered already, its job fails.
    const honest = daemon(net, "honest");
    await honest.waitForLog("request not answerable");
    expect(honest.log()).to.include("request is no longer open");
    const challenger = daemon(net, "challenger");
    await waitStatus(net, wrong, ClaimStatus.Challenged);
    await net.chain.advance(WINDOWS.proofWindow + 1);
    await waitStatus(net, wrong, ClaimStatus.Slashed);
    await honest.waitForLog("request reopened: answering it again");
    const right = await waitFor("the honest answer", async () => {
      const id = await claimOfRequest();
      return BigInt(id) === 0n || id === wrong ? undefined : id;
    });
    const { claim, outputs } = await submittedClaim(net, right);
    expect(claim.provider).to.equal(net.addr.honest);
    expect(outputs.reduce((best, v, i, xs) => (v > xs[best]! ? i : best), 0)).to.equal(4);
    await net.chain.advance(WINDOWS.challengeWindow + 1);
    await waitStatus(net, right, ClaimStatus.Finalized);
    await challenger.waitForLog("claim re-executed: correct");
    const request = await net.pc.readContract({ ...net.claims, functionName: "getRequest", args: [1n] });
    expect(request.status).to.equal(RequestStatus.Fulfilled);
    expect(request.claimId).to.equal(right);
    expect(await solvent(net)).to.equal(true);
  });

  it("a model registered with a proxy in front of the real verifier: the provider refuses to stake on it, naming the field", async () => {
    net = await startNet("entry-check");
    // Same package and shapes, registered by another owner with a forwarding proxy in front of the real verifier:
    // the example proof passes through it, but the pinned code hash is the proxy's, not the package's verifier's.
    const real = await net.pc.readContract({ address: net.deployment.addresses.registry, abi: modelRegistryAbi, functionName: "getModel", args: [net.modelId] });
    const w = wallet(net, "consumer");
    const deployHash = await w.sendTransaction({ data: forwarderInitCode(real.verifier), chain: null });
    const proxy = (await net.pc.waitForTransactionReceipt({ hash: deployHash })).contractAddress!;
    const proxied = { ...net.deployment, models: {} as Record<string, Hex> };
    const { modelId } = await registerPackage(await deployerFor(net.chain.url, net.keys.consumer), proxied, PKG, { ...WINDOWS, ...BONDS, verifier: proxy });
    const entry = await net.pc.readContract({ address: net.deployment.addresses.registry, abi: modelRegistryAbi, functionName: "getModel", args: [modelId] });
    expect(entry.verifierCodeHash).to.not.equal(real.verifierCodeHash);
    const file = saveDeployment(proxied, join(net.work, "proxied-deployment.json"));
    const d = spawnDaemon("provider", "proxied", net.work, { rpcUrl: net.chain.url, deployment: file, models: [{ package: PKG }], intervalMs: 200, privateKey: net.keys.honest, stakeTarget: String(500n * TOKEN) });
    net.daemons.push(d);
    const code = await new Promise<number | null>((r) => d.proc.once("exit", r));
    expect(code).to.equal(2);
    expect(d.log()).to.contain(`verifierCodeHash: package ${real.verifierCodeHash}, on chain ${entry.verifierCodeHash}`);
    expect(await freeStake(net, net.addr.honest)).to.equal(0n);
    expect((await claimEvents(net, "ClaimSubmitted")).length).to.equal(0);
    // The challenger checks entries the same way before it challenges anything on the model.
    const c = spawnDaemon("challenger", "proxied-challenger", net.work, { rpcUrl: net.chain.url, deployment: file, models: [{ package: PKG }], intervalMs: 200, privateKey: net.keys.challenger, stakeTarget: String(500n * TOKEN) });
    net.daemons.push(c);
    expect(await new Promise<number | null>((r) => c.proc.once("exit", r))).to.equal(2);
    expect(c.log()).to.contain(`verifierCodeHash: package ${real.verifierCodeHash}, on chain ${entry.verifierCodeHash}`);
    expect(await freeStake(net, net.addr.challenger)).to.equal(0n);
  });

  it("RPC errors, dropped connections and delays: claims still settle, the cheater is slashed", async () => {
    net = await startNet("rpc-faults");
    const proxy = await startFaultProxy(net.chain.url, { errorRate: 0.1, dropRate: 0.05, delayRate: 0.2, delayMs: 150, seed: 7 });
    try {
      const honest = daemon(net, "honest", { rpcUrl: proxy.url });
      const cheater = daemon(net, "cheater", { rpcUrl: proxy.url });
      const challenger = daemon(net, "challenger", { rpcUrl: proxy.url });
      await challenger.waitForLog("challenger: started");
      const good = await infer(net, honest, 5);
      const bad = await infer(net, cheater, 6);
      await waitStatus(net, bad, ClaimStatus.Challenged);
      await net.chain.advance(WINDOWS.challengeWindow + 1);
      await waitStatus(net, good, ClaimStatus.Finalized);
      await net.chain.advance(WINDOWS.proofWindow + 1);
      await waitStatus(net, bad, ClaimStatus.Slashed);
      expect(proxy.stats.errored + proxy.stats.dropped).to.be.greaterThan(0);
      expect(proxy.stats.delayed).to.be.greaterThan(0);
      expect((await claimEvents(net, "ClaimSubmitted")).length).to.equal(2);
      expect((await claimEvents(net, "ClaimChallenged")).length).to.equal(1);
      expect(await solvent(net)).to.equal(true);
    } finally {
      await proxy.close();
    }
  });

  it("a reorg that orphans a claim and its challenge: both are redone, the cheater is slashed once", async () => {
    net = await startNet("reorg");
    const snapshot = (await net.chain.request("evm_snapshot")) as string;
    const cheater = daemon(net, "cheater");
    const challenger = daemon(net, "challenger", { confirmations: 2 });
    const claimId = await infer(net, cheater, 4);
    await net.chain.request("hardhat_mine", ["0x3"]); // confirm it
    await waitStatus(net, claimId, ClaimStatus.Challenged);
    // Reorg: back to before the daemons staked, claimed and challenged; the chain moves on without them.
    await net.chain.request("evm_revert", [snapshot]);
    await net.chain.request("hardhat_mine", ["0x4"]);
    expect(await status(net, claimId)).to.equal(ClaimStatus.None);
    await challenger.waitForLog("reorg detected: cursor rewound");
    // The cheater notices its claim is gone and resubmits it; the challenger disputes it again.
    await waitFor("the claim to be resubmitted", async () => ((await status(net, claimId)) !== ClaimStatus.None ? true : undefined));
    await waitFor("a confirmed challenge", async () => {
      await net.chain.request("evm_mine");
      return (await status(net, claimId)) === ClaimStatus.Challenged ? true : undefined;
    });
    await net.chain.advance(WINDOWS.proofWindow + 1);
    await waitStatus(net, claimId, ClaimStatus.Slashed);
    expect((await claimEvents(net, "ClaimSubmitted")).length).to.equal(1);
    expect((await claimEvents(net, "ClaimChallenged")).length).to.equal(1);
    expect((await claimEvents(net, "ClaimSlashed"))[0]!.args.beneficiary).to.equal(net.addr.challenger);
    expect(await solvent(net)).to.equal(true);
  });

  it("malformed inputs: bad API bodies get 400s, a request whose data misses its commitment is refused", async () => {
    net = await startNet("malformed");
    const honest = daemon(net, "honest");
    const url = await honest.url();
    const post = (body: unknown) => fetch(`${url}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const short = await post({ model: "mnist-mlp", input: [0.1, 0.2] });
    expect(short.status).to.equal(400);
    expect(await short.text()).to.match(/input has 2 values, expected 784/);
    const unknown = await post({ model: "resnet", input: [] });
    expect(unknown.status).to.equal(400);
    expect(await unknown.text()).to.match(/unknown model \\"resnet\\"/);
    const notJson = await fetch(`${url}/infer`, { method: "POST", body: "{" });
    expect(notJson.status).to.equal(400);

    // A request whose input data does not hash to its inputHash.
    const c = wallet(net, "consumer");
    const fee = 5n * TOKEN;
    await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ address: net.deployment.addresses.token as Address, abi: tokenAbi(), functionName: "approve", args: [net.claims.address, fee * 2n], chain: null }) });
    const x = quantized(net, 1);
    const y = quantized(net, 8);
    const bits = net.pkg.manifest.inputBits;
    const now = (await net.pc.getBlock()).timestamp;
    const params = { modelId: net.modelId, inputHash: hashVector(x, bits), fee, expiry: now + 3600n, callbackGasLimit: 0, provider: zeroAddress, minBond: 0n };
    await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ ...net.claims, functionName: "requestInference", args: [params, encodeInputData(y, bits), ""], chain: null }) });
    const refused = await honest.waitForLog("request refused");
    expect(String(refused.reason)).to.match(/does not match its commitment/);
    // A good request right after is answered: the bad one did not wedge the daemon.
    await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ ...net.claims, functionName: "requestInference", args: [params, encodeInputData(x, bits), ""], chain: null }) });
    const answered = await waitFor("the good request's claim", async () => {
      const id = await net.pc.readContract({ ...net.claims, functionName: "claimOfRequest", args: [2n] });
      return BigInt(id) === 0n ? undefined : id;
    });
    expect(BigInt(answered)).to.not.equal(0n);
    expect(await net.pc.readContract({ ...net.claims, functionName: "claimOfRequest", args: [1n] })).to.equal(`0x${"0".repeat(64)}`);
  });

  it("a claim whose input was never published: reported under policy report, challenged under policy challenge", async () => {
    net = await startNet("missing-input");
    const reporter = daemon(net, "challenger", { missingInput: "report" });
    const strict = spawnDaemon("challenger", "strict", net.work, {
      rpcUrl: net.chain.url, deployment: net.deploymentFile, models: [{ package: "models/mnist-mlp" }], intervalMs: 200,
      privateKey: net.keys.consumer, stakeTarget: String(500n * TOKEN), missingInput: "challenge",
    });
    net.daemons.push(strict);
    await reporter.waitForLog("challenger: started");
    await strict.waitForLog("challenger: started");
    // The cheater's wallet claims directly, publishing no input data.
    const w = wallet(net, "cheater");
    await net.pc.waitForTransactionReceipt({ hash: await w.writeContract({ address: net.deployment.addresses.token as Address, abi: tokenAbi(), functionName: "approve", args: [net.claims.address, BONDS.minProviderBond], chain: null }) });
    await net.pc.waitForTransactionReceipt({ hash: await w.writeContract({ ...net.claims, functionName: "stake", args: [BONDS.minProviderBond], chain: null }) });
    const outputs = Array.from({ length: 10 }, (_, i) => BigInt(i));
    const inputHash = BigInt(keccak256(toHex("secret input"))) % 2n ** 248n;
    await net.pc.waitForTransactionReceipt({ hash: await w.writeContract({ ...net.claims, functionName: "submitClaim", args: [net.modelId, inputHash, outputs, BONDS.minProviderBond, "0x", ""], chain: null }) });
    const [submitted] = await claimEvents(net, "ClaimSubmitted");
    const claimId = submitted!.args.claimId!;
    expect(submitted!.args.claim!.outputHash).to.equal(outputHash(outputs));
    const report = await reporter.waitForLog("claim input unavailable");
    expect(report.claimId).to.equal(claimId);
    await waitStatus(net, claimId, ClaimStatus.Challenged);
    const [challenge] = await claimEvents(net, "ClaimChallenged");
    expect(challenge!.args.challenger).to.equal(net.addr.consumer); // the strict bot, not the reporter
    await net.chain.advance(WINDOWS.proofWindow + 1);
    await waitStatus(net, claimId, ClaimStatus.Slashed);
    expect(await solvent(net)).to.equal(true);
  });

  it("a hostile HTTP client: a malformed request line, bad bodies and oversized uploads get 4xx; neither daemon goes down", async () => {
    net = await startNet("hostile-http");
    const honest = daemon(net, "honest");
    const challenger = daemon(net, "challenger");
    const urls = { provider: await honest.url(), challenger: await challenger.url() };
    const port = (url: string) => Number(new URL(url).port);
    // The request line that used to end every daemon (and get an honest provider slashed).
    for (const url of Object.values(urls)) {
      for (const line of ["GET http://[ HTTP/1.1", "POST http://[ HTTP/1.1"]) {
        const r = await raw(port(url), `${line}\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        expect(r.status, `${url} ${line}`).to.equal(400);
      }
    }
    const post = async (body: string) => {
      const r = await fetch(`${urls.provider}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body });
      return { status: r.status, error: ((await r.json()) as { error: string }).error };
    };
    expect(await post(JSON.stringify({ model: 123 }))).to.deep.equal({ status: 400, error: "model must be a string (a served model's name or modelId), got 123; served: mnist-mlp" });
    expect((await post("[1, 2]")).status).to.equal(400);
    expect((await post("null")).status).to.equal(400);
    // Pixels outside [0, 1] were clamped before: now refused, naming the index and the value.
    const pixels = Array.from(digit(3));
    // The body is written by hand: JSON.stringify cannot write 1e999, which JSON.parse reads as Infinity.
    const at = (i: number, v: string) => `{"model":"mnist-mlp","input":[${pixels.map((p, j) => (j === i ? v : String(p))).join(",")}]}`;
    expect(await post(at(7, "-5"))).to.deep.equal({ status: 400, error: "input[7] = -5 is outside mnist-mlp's input range [0, 1]" });
    expect(await post(at(3, "1e308"))).to.deep.equal({ status: 400, error: "input[3] = 1e+308 is outside mnist-mlp's input range [0, 1]" });
    expect(await post(at(0, "1e999"))).to.deep.equal({ status: 400, error: "input[0] = Infinity is not a finite number" });
    expect(await post(JSON.stringify({ model: "mnist-mlp", quantized: pixels.map(() => "1000") }))).to.deep.equal({ status: 400, error: "quantized[0] = 1000 does not fit mnist-mlp's 8-bit signed input" });
    // Bad percent-encoding in a path parameter, on both daemons.
    expect((await fetch(`${urls.provider}/jobs/%ZZ`)).status).to.equal(400);
    expect((await fetch(`${urls.challenger}/claims/%ZZ`)).status).to.equal(400);
    // An upload over the limit: 413, and the daemon hangs up instead of reading on.
    const big = await raw(port(urls.provider), "POST /infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n", { body: Buffer.alloc(65536, 48), waitMs: 10_000 });
    expect(big.status).to.equal(413);
    expect(big.closed, "the provider closed the connection").to.equal(true);
    // Both still up and serving; the provider still takes a good job.
    expect(honest.proc.exitCode).to.equal(null);
    expect(challenger.proc.exitCode).to.equal(null);
    expect((await fetch(`${urls.challenger}/metrics`)).status).to.equal(200);
    expect(await infer(net, honest, 3)).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("bad setups fail at start or show on /healthz: no code at the deployment's addresses, an RPC that never answers, a key with no tokens", async () => {
    net = await startNet("bad-setups");
    // A deployment file whose token address holds no code (another chain's file, or a reset chain).
    const nowhere = "0x000000000000000000000000000000000000dEaD";
    const wrongFile = join(net.work, "wrong-deployment.json");
    const json = JSON.parse(readFileSync(net.deploymentFile, "utf8")) as { addresses: Record<string, string> };
    writeFileSync(wrongFile, JSON.stringify({ ...json, addresses: { ...json.addresses, token: nowhere } }));
    const noCode = daemon(net, "honest", { deployment: wrongFile });
    expect(await exitCode(noCode)).to.equal(2);
    expect(noCode.log()).to.contain(`the deployment ${wrongFile} names ${nowhere} as its token contract, but that address holds no code`);

    // An RPC that accepts connections and never answers: the start fails in time, naming the URL.
    const sockets = new Set<Socket>();
    const hole = createTcpServer((sock) => sockets.add(sock));
    await new Promise<void>((r) => hole.listen(0, "127.0.0.1", r));
    const holeUrl = `http://127.0.0.1:${(hole.address() as AddressInfo).port}`;
    try {
      const hung = daemon(net, "challenger", { rpcUrl: holeUrl }); // the default timeout, 5 s
      expect(await exitCode(hung)).to.equal(1);
      expect(hung.log()).to.contain(`RPC ${holeUrl} did not answer eth_chainId within 5000 ms`);
    } finally {
      sockets.forEach((sock) => sock.destroy());
      hole.close();
    }

    // A key with gas but no tokens: warned about once, with the amount needed; /healthz and /infer say so.
    const poor = spawnDaemon("provider", "poor", net.work, {
      rpcUrl: net.chain.url, deployment: net.deploymentFile, models: [{ package: PKG }], intervalMs: 100, privateKey: devKey(7), logLevel: "debug",
    });
    net.daemons.push(poor);
    const warned = await poor.waitForLog(/cannot cover one bond/);
    expect(warned).to.include({ level: 40, need: String(BONDS.minProviderBond), free: "0", balance: "0", shortfall: String(BONDS.minProviderBond) });
    const url = await poor.url();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).to.equal(503);
    expect(((await health.json()) as { reason: string }).reason).to.equal(`the account cannot cover one bond: needs ${BONDS.minProviderBond}, has 0 staked and 0 in tokens (short ${BONDS.minProviderBond})`);
    const refused = await fetch(`${url}/infer`, { method: "POST", body: JSON.stringify({ model: "mnist-mlp", input: Array.from(digit(1)) }) });
    expect(refused.status).to.equal(503);
    // Many steps later, still the one warning.
    await waitFor("ten more steps", async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/daemon_steps_total\{[^}]*result="ok"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0) >= 10 ? true : undefined;
    });
    expect(poor.log().split("\n").filter((l) => l.includes("cannot cover one bond")).length).to.equal(1);
  });

  it("an RPC outage is logged when it starts and when it ends, and /healthz is 503 with the reason meanwhile", async () => {
    net = await startNet("rpc-outage");
    const proxy = await startFaultProxy(net.chain.url, { errorRate: 0, dropRate: 0, delayRate: 0, delayMs: 0 });
    try {
      // Default probe settings (every 2 s, 5 s timeout, two misses make an outage).
      const honest = daemon(net, "honest", { rpcUrl: proxy.url });
      const url = await honest.url();
      const healthz = async () => {
        const r = await fetch(`${url}/healthz`);
        return { status: r.status, reason: ((await r.json()) as { reason?: string }).reason };
      };
      await waitFor("a healthy provider", async () => ((await healthz()).status === 200 ? true : undefined));
      proxy.setDown(true);
      const down = await honest.waitForLog("RPC stopped answering", 30_000);
      expect(down.rpc).to.equal(proxy.url);
      const degraded = await healthz();
      expect(degraded.status).to.equal(503);
      expect(degraded.reason).to.match(new RegExp(`RPC ${proxy.url} not answering since`));
      proxy.setDown(false);
      await honest.waitForLog("RPC answering again", 30_000);
      await waitFor("a healthy provider again", async () => ((await healthz()).status === 200 ? true : undefined));
      expect(honest.log().split("\n").filter((l) => l.includes("RPC stopped answering")).length).to.equal(1);
    } finally {
      await proxy.close();
    }
  });

  it("a config with a wrong field stops the daemon at start with the field named", async () => {
    net = await startNet("bad-config");
    const d = spawnDaemon("provider", "badconfig", net.work, { rpcUrl: "not a url", privateKey: net.keys.honest, deployment: net.deploymentFile, models: [] });
    const code = await new Promise<number | null>((r) => d.proc.once("exit", r));
    expect(code).to.equal(2);
    expect(d.log()).to.match(/rpcUrl/);
  });

  it("a provider proving on a prover service: the service proves the challenged claim; a service's bad proof is refused and proved locally", async () => {
    net = await startNet("remote-prover");
    // The prover service, in this process, serving the models folder (job modelDir = the package folder's name).
    const service = new ProverService({ store: new Store(":memory:"), logger: createSpyLogger("prover").logger, backend: await selectBackend(), modelsDir: dirname(PKG) });
    await service.start();
    const server = await service.listen(0);
    // A second "service" that answers every job with a valid proof of other public signals.
    const stale = { current: undefined as Job | undefined };
    const liar = createServer((req, res) => {
      const job = stale.current ? { ...stale.current, id: decodeURIComponent(req.url!.split("/").pop()!) } : undefined;
      res.writeHead(job ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify(job ?? { error: "not ready" }));
    });
    await new Promise<void>((r) => liar.listen(0, "127.0.0.1", r));
    const liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
    try {
      const honest = daemon(net, "honest", { prover: { url: server.url, fallbackLocal: false } });
      const claimId = await infer(net, honest, 4);
      await griefChallenge(net, claimId);
      await waitStatus(net, claimId, ClaimStatus.Proven);
      const job = service.jobs.get(claimId);
      expect(job?.status, "the service proved the claim as job <claimId>").to.equal("done");
      const answered = await honest.waitForLog("challenge answered with a proof");
      expect(String(answered.backend)).to.match(/^service:/);

      // The liar hands back that (valid) proof for every job: its signals are not the next claim's.
      stale.current = job;
      const liarProvider = daemon(net, "cheater", { prover: { url: liarUrl }, faults: { wrongOutputRate: 0 }, answerRequests: true });
      const second = await infer(net, liarProvider, 6, "b");
      const before = await freeStake(net, net.addr.cheater);
      await griefChallenge(net, second);
      await waitStatus(net, second, ClaimStatus.Proven);
      await liarProvider.waitForLog("prover service did not deliver a valid proof: proving locally");
      expect(await freeStake(net, net.addr.cheater)).to.be.greaterThan(before);
      expect(await solvent(net)).to.equal(true);
    } finally {
      liar.close();
      await service.stop(); // closes its HTTP server too
    }
  });
});
