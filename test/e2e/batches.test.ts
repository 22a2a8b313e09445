// Merkle-batched claims end to end: providers and a challenger as processes posting, auditing, challenging and
// settling batches on BatchManager. Each test ends with the right party paid and every job accounted for.
import { expect } from "chai";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { erc20Abi, zeroAddress, type Address, type Hex } from "viem";
import { batchManagerAbi } from "../../sdk/abi.ts";
import { terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import { runQuantized } from "../../circuits/compiler/engine.ts";
import { decodeInputData, encodeInputData } from "../../sdk/inputs.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { BONDS, TOKEN, WINDOWS, claimEvents, daemon, digit, freeStake, getJob, postJob, quantized, restarted, startNet, waitFor, wallet, type Net } from "./harness.ts";
import { hashVector } from "../../sdk/hash.ts";
import { RequestStatus } from "../../sdk/protocol.ts";


const batches = (net: Net) => ({ address: net.deployment.addresses.batchManager as Address, abi: batchManagerAbi });

async function batchEvents<const E extends "BatchSubmitted" | "AuditDrawn" | "AuditAnswered" | "LeafChallenged" | "LeafProven" | "BatchFinalized" | "BatchSlashed">(net: Net, eventName: E) {
  return net.pc.getContractEvents({ ...batches(net), eventName, fromBlock: 0n, strict: true });
}

/** The treasury (the deployer in the dev net) sets the model's audit rate for new batches. */
async function setAuditRate(net: Net, rateBps: number): Promise<void> {
  const w = wallet(net, "deployer");
  await net.pc.waitForTransactionReceipt({ hash: await w.writeContract({ ...batches(net), functionName: "setAuditPolicy", args: [net.modelId, rateBps, 0n], chain: null }) });
}

async function batchStatus(net: Net, batchId: Hex): Promise<number> {
  const [status] = await net.pc.readContract({ ...batches(net), functionName: "batchState", args: [batchId] });
  return status;
}

/** BatchManager's money once nothing is locked: its token balance is every actor's free stake and credits plus the audit pool. */
async function batchesSolvent(net: Net): Promise<boolean> {
  let sum = await net.pc.readContract({ ...batches(net), functionName: "auditPool" });
  for (const a of Object.values(net.addr)) {
    sum += await net.pc.readContract({ ...batches(net), functionName: "freeStake", args: [a] });
    sum += await net.pc.readContract({ ...batches(net), functionName: "credits", args: [a] });
  }
  const balance = await net.pc.readContract({ address: net.deployment.addresses.token as Address, abi: erc20Abi, functionName: "balanceOf", args: [batches(net).address] });
  return balance === sum;
}

/** The positions of a batch's served data whose outputs are not the engine's. */
async function wrongPositions(net: Net, dataURI: string): Promise<number[]> {
  const data = (await (await fetch(dataURI)).json()) as { leaves: Array<{ index: number; outputs: string[]; inputData: Hex }> };
  return data.leaves
    .filter((l) => runQuantized(net.pkg.quant, decodeInputData(l.inputData).values).outputs.some((v, i) => String(v) !== l.outputs[i]))
    .map((l) => l.index)
    .sort((a, b) => a - b);
}

/** The consumer stakes a challenger bond and challenges position `index` of `batch`; the provider proves it. */
async function challengeAndProve(net: Net, batch: { modelId: Hex; provider: Address; root: Hex; size: number; bond: bigint; auditRateBps: number; auditFee: bigint }, index: bigint): Promise<void> {
  const w = wallet(net, "consumer");
  const send = async (hash: Promise<Hex>) => net.pc.waitForTransactionReceipt({ hash: await hash });
  await send(w.writeContract({ address: net.deployment.addresses.token as Address, abi: erc20Abi, functionName: "approve", args: [batches(net).address, BONDS.minChallengerBond], chain: null }));
  await send(w.writeContract({ ...batches(net), functionName: "stake", args: [BONDS.minChallengerBond], chain: null }));
  await send(w.writeContract({ ...batches(net), functionName: "challengeLeaf", args: [batch, index], chain: null }));
  const [proven] = await waitFor("the proof", async () => ((await batchEvents(net, "LeafProven")).length > 0 ? batchEvents(net, "LeafProven") : undefined), 180_000);
  expect(proven!.args.index).to.equal(index);
}

type JobView = { jobId: string; status: string; outputs?: string[]; batch?: { root: Hex; index: number; batchId?: Hex; path?: Hex[] } };

describe("e2e: batched claims", function () {
  let net: Net;
  after(terminateSnarkjs);
  afterEach(async () => {
    await net?.close();
  });

  it("an honest provider posts ten jobs as one batch, answers its forced audit with a proof, and finalizes it: each job is a settled leaf", async () => {
    net = await startNet("batch-honest");
    await setAuditRate(net, 10_000); // every batch is audited
    // The batch bond is its own setting (three times the model's minimum here), not the per-claim `bond`.
    const honest = daemon(net, "honest", { batching: { enabled: true, maxClaims: 10, maxAgeMs: 600_000, bond: (3n * BONDS.minProviderBond).toString() } });
    const url = await honest.url();
    const jobs: string[] = [];
    for (let label = 0; label < 10; label++) jobs.push((await postJob(url, digit(label))).jobId);
    const [submitted] = await waitFor("the batch", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    const batchId = submitted!.args.batchId;
    expect(submitted!.args.batch.size).to.equal(10);
    expect(submitted!.args.batch.bond).to.equal(3n * BONDS.minProviderBond);
    expect(submitted!.args.batch.auditRateBps).to.equal(10_000);
    expect(submitted!.args.dataURI).to.equal(`${url}/batches/${submitted!.args.batch.root}`);
    // The audit is drawn by the provider at its next step, selected (rate 100%), and answered by a proof.
    const [drawn] = await waitFor("the audit draw", async () => ((await batchEvents(net, "AuditDrawn")).length > 0 ? batchEvents(net, "AuditDrawn") : undefined));
    expect(drawn!.args.selected).to.equal(true);
    const [answered] = await waitFor("the audit's answer", async () => ((await batchEvents(net, "AuditAnswered")).length > 0 ? batchEvents(net, "AuditAnswered") : undefined), 180_000);
    expect(answered!.args.index).to.equal(drawn!.args.index);
    await net.chain.advance(WINDOWS.challengeWindow + 1);
    await waitFor("the batch to finalize", async () => ((await batchStatus(net, batchId)) === 2 ? true : undefined));
    // Every job is claimed with its batch, position and path, and the contract agrees it is a settled leaf.
    const views = await waitFor("the jobs claimed", async () => {
      const vs = (await Promise.all(jobs.map((j) => getJob(url, j)))) as JobView[];
      return vs.every((v) => v.status === "claimed") ? vs : undefined;
    });
    const indexes = new Set<number>();
    for (const v of views) {
      expect(v.batch!.batchId).to.equal(batchId);
      indexes.add(v.batch!.index);
      const full = (await (await fetch(`${url}/jobs/${v.jobId}`)).json()) as JobView & { inputHash: string };
      const settled = await net.pc.readContract({
        ...batches(net),
        functionName: "isSettledLeaf",
        args: [submitted!.args.batch, BigInt(v.batch!.index), BigInt(full.inputHash), v.outputs!.map(BigInt), v.batch!.path!],
      });
      expect(settled, `job ${v.jobId}`).to.equal(true);
    }
    expect(indexes.size).to.equal(10);
    // The batch data endpoint serves what the provider committed to.
    const data = (await (await fetch(submitted!.args.dataURI)).json()) as { size: number; leaves: unknown[] };
    expect(data.size).to.equal(10);
    expect(data.leaves.length).to.equal(10);
    expect((await batchEvents(net, "BatchSubmitted")).length).to.equal(1);
  });

  it("a griefer challenges a position of an honest batch: the provider proves it with its stored leaf and path, wins the bond, and finalizes", async () => {
    net = await startNet("batch-grief");
    await setAuditRate(net, 0);
    const honest = daemon(net, "honest", { batching: { enabled: true, maxClaims: 4, maxAgeMs: 600_000 } });
    const url = await honest.url();
    for (const label of [2, 3, 5, 8]) await postJob(url, digit(label));
    const [submitted] = await waitFor("the batch", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    const batchId = submitted!.args.batchId;
    // The consumer stakes a challenger bond in BatchManager and challenges position 2.
    const w = wallet(net, "consumer");
    const send = async (hash: Promise<Hex>) => net.pc.waitForTransactionReceipt({ hash: await hash });
    await send(w.writeContract({ address: net.deployment.addresses.token as Address, abi: erc20Abi, functionName: "approve", args: [batches(net).address, BONDS.minChallengerBond], chain: null }));
    await send(w.writeContract({ ...batches(net), functionName: "stake", args: [BONDS.minChallengerBond], chain: null }));
    await send(w.writeContract({ ...batches(net), functionName: "challengeLeaf", args: [submitted!.args.batch, 2n], chain: null }));
    await honest.waitForLog("batch position challenged: proving");
    const [proven] = await waitFor("the proof", async () => ((await batchEvents(net, "LeafProven")).length > 0 ? batchEvents(net, "LeafProven") : undefined), 180_000);
    expect(proven!.args.index).to.equal(2n);
    expect(proven!.args.challengerBondWon > 0n).to.equal(true);
    await net.chain.advance(WINDOWS.challengeWindow + 1);
    await waitFor("the batch to finalize", async () => ((await batchStatus(net, batchId)) === 2 ? true : undefined));
    // Bond back plus the griefer's bond less the protocol fee.
    expect(await net.pc.readContract({ ...batches(net), functionName: "freeStake", args: [net.addr.honest] })).to.equal(submitted!.args.batch.bond + proven!.args.challengerBondWon);
  });

  it("a cheating provider's batch with wrong leaves: the challenger checks the data, challenges the first wrong position and slashes the batch", async () => {
    net = await startNet("batch-cheat");
    await setAuditRate(net, 0); // no audit: the watcher alone catches the lie
    const challenger = daemon(net, "challenger");
    await challenger.waitForLog("challenger: started");
    // Some of the cheater's jobs get a wrong output (deterministic per job), so the batch mixes right and wrong leaves.
    const cheater = daemon(net, "cheater", { batching: { enabled: true, maxClaims: 6, maxAgeMs: 600_000 }, faults: { wrongOutputRate: 0.5 } });
    const url = await cheater.url();
    for (let label = 0; label < 6; label++) await postJob(url, digit(label));
    const [submitted] = await waitFor("the batch", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    const batchId = submitted!.args.batchId;
    // Which positions lie, by the engine, from the data the cheater serves.
    const data = (await (await fetch(submitted!.args.dataURI)).json()) as { leaves: Array<{ index: number; outputs: string[]; inputData: Hex }> };
    const wrong = data.leaves
      .filter((l) => runQuantized(net.pkg.quant, decodeInputData(l.inputData).values).outputs.some((v, i) => String(v) !== l.outputs[i]))
      .map((l) => l.index)
      .sort((a, b) => a - b);
    expect(wrong.length, "some leaves lie").to.be.greaterThan(0);
    expect(wrong.length, "some leaves are right").to.be.lessThan(6);
    const [challenged] = await waitFor("the challenge", async () => ((await batchEvents(net, "LeafChallenged")).length > 0 ? batchEvents(net, "LeafChallenged") : undefined));
    expect(challenged!.args.batchId).to.equal(batchId);
    expect(Number(challenged!.args.index), "the first wrong position").to.equal(wrong[0]);
    expect(challenged!.args.challenger).to.equal(net.addr.challenger);
    await cheater.waitForLog("cannot prove the batch position");
    const before = await net.pc.readContract({ ...batches(net), functionName: "freeStake", args: [net.addr.challenger] });
    await net.chain.advance(WINDOWS.proofWindow + 1);
    await waitFor("the batch slashed", async () => ((await batchStatus(net, batchId)) === 3 ? true : undefined));
    const [slash] = await batchEvents(net, "BatchSlashed");
    expect(slash!.args.beneficiary).to.equal(net.addr.challenger);
    // The challenger's bond back plus its share of the batch bond.
    expect(await net.pc.readContract({ ...batches(net), functionName: "freeStake", args: [net.addr.challenger] })).to.equal(before + BONDS.minChallengerBond + slash!.args.reward);
    await challenger.waitForLog("batch dispute settled");
    expect((await batchEvents(net, "LeafChallenged")).length, "one challenge").to.equal(1);
    expect(await freeStake(net, net.addr.challenger), "nothing moved in ClaimManager's books").to.equal(500n * 10n ** 18n);
  });

  it("kill -9 of the provider between storing a batch and sending it, and between sending and recording it: one batch each, the same jobs", async () => {
    net = await startNet("batch-kill");
    await setAuditRate(net, 0);
    const batching = { enabled: true, maxClaims: 3, maxAgeMs: 600_000 };
    for (const [who, killAt] of [["honest", "batch-stored"], ["cheater", "batch-sent"]] as const) {
      const d = daemon(net, who, { batching, faults: { wrongOutputRate: 0, killAt } });
      const url = await d.url();
      const jobs: string[] = [];
      for (const label of [1, 4, 7]) jobs.push((await postJob(url, digit(label))).jobId);
      await new Promise<void>((r) => (d.proc.exitCode !== null || d.proc.signalCode !== null ? r() : d.proc.once("exit", () => r())));
      expect(d.proc.signalCode, `${who} killed itself at ${killAt}`).to.equal("SIGKILL");
      const mine = async () => (await batchEvents(net, "BatchSubmitted")).filter((e) => e.args.provider === net.addr[who]);
      expect((await mine()).length, `${who}: ${killAt === "batch-stored" ? "nothing" : "the batch"} on chain before the restart`).to.equal(killAt === "batch-stored" ? 0 : 1);
      const again = restarted(net, d);
      // Stored, not sent: the restart sends the stored batch. Sent, not recorded: the restart finds it on chain.
      await again.waitForLog(killAt === "batch-stored" ? "batch submitted (sent)" : /^batch submitted \((found|already) on chain/);
      const again2 = await again.url();
      const views = await waitFor("the jobs batched on chain", async () => {
        const vs = (await Promise.all(jobs.map((j) => getJob(again2, j)))) as JobView[];
        return vs.every((v) => v.status === "batched" && v.batch?.batchId) ? vs : undefined;
      });
      const [event, ...more] = await mine();
      expect(more.length, `${who}: one batch only`).to.equal(0);
      expect(event!.args.batch.size).to.equal(3);
      expect(new Set(views.map((v) => v.batch!.batchId))).to.deep.equal(new Set([event!.args.batchId]));
      expect(new Set(views.map((v) => v.batch!.index))).to.deep.equal(new Set([0, 1, 2]));
      if (killAt === "batch-sent") expect(again.log(), "not sent again").to.not.include("batch submitted (sent)");
    }
  });
  it("a batch of 100 claims with exactly one wrong leaf: the challenger challenges that position, the batch is slashed, the challenger gets its bond and the reward", async () => {
    net = await startNet("batch-one-wrong");
    await setAuditRate(net, 0); // no audit: the watcher alone catches the lie
    const challenger = daemon(net, "challenger");
    await challenger.waitForLog("challenger: started");
    const WRONG = 37;
    // Every output right but position 37's (the test-only fault wrongLeafIndexes), whatever the jobs.
    const cheater = daemon(net, "cheater", { batching: { enabled: true, maxClaims: 100, maxAgeMs: 600_000 }, faults: { wrongOutputRate: 0, wrongLeafIndexes: [WRONG] } });
    const url = await cheater.url();
    const images = heldOutSample(100).images; // 100 distinct inputs: 100 leaves
    for (const image of images) await postJob(url, image);
    const [submitted] = await waitFor("the batch", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    const batchId = submitted!.args.batchId;
    expect(submitted!.args.batch.size).to.equal(100);
    expect(await wrongPositions(net, submitted!.args.dataURI), "exactly one leaf lies").to.deep.equal([WRONG]);
    const [challenged] = await waitFor("the challenge", async () => ((await batchEvents(net, "LeafChallenged")).length > 0 ? batchEvents(net, "LeafChallenged") : undefined), 180_000);
    expect(challenged!.args.batchId).to.equal(batchId);
    expect(Number(challenged!.args.index), "the wrong position").to.equal(WRONG);
    expect(challenged!.args.challenger).to.equal(net.addr.challenger);
    await cheater.waitForLog("cannot prove the batch position", 180_000);
    const before = await net.pc.readContract({ ...batches(net), functionName: "freeStake", args: [net.addr.challenger] });
    await net.chain.advance(WINDOWS.proofWindow + 1);
    await waitFor("the batch slashed", async () => ((await batchStatus(net, batchId)) === 3 ? true : undefined));
    const [slash] = await batchEvents(net, "BatchSlashed");
    expect(slash!.args.beneficiary).to.equal(net.addr.challenger);
    expect(slash!.args.reward > 0n, "a reward").to.equal(true);
    expect(await net.pc.readContract({ ...batches(net), functionName: "freeStake", args: [net.addr.challenger] })).to.equal(before + BONDS.minChallengerBond + slash!.args.reward);
    await challenger.waitForLog("batch dispute settled");
    await cheater.waitForLog("batch slashed");
    expect((await batchEvents(net, "LeafChallenged")).length, "one challenge").to.equal(1);
    expect(await batchesSolvent(net), "BatchManager solvent").to.equal(true);
  });

  it("a cheater with no challenger running is caught by its audit: it draws it, cannot prove the selected position, and after the audit deadline anyone's slashMissedAudit takes the whole bond to the treasury", async () => {
    // Rate 10000 bps makes selection certain, so the test is deterministic. At a rate r, a batch of n leaves of which
    // w are wrong is caught by its audit with probability r * w / n (the audit is selected with probability r and then
    // names one position uniformly), whatever the cheater does after posting: m such batches all escape with
    // probability (1 - r*w/n)^m, and each caught one costs the whole bond, so lying pays only while the gain per
    // batch is below bond * r * w / n (docs/contracts.md, "Batches and audits").
    net = await startNet("batch-audit-cheat");
    await setAuditRate(net, 10_000);
    const cheater = daemon(net, "cheater", { batching: { enabled: true, maxClaims: 4, maxAgeMs: 600_000 } }); // every output wrong
    const url = await cheater.url();
    for (const label of [1, 2, 3, 4]) await postJob(url, digit(label));
    const [submitted] = await waitFor("the batch", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    const batchId = submitted!.args.batchId;
    expect(await wrongPositions(net, submitted!.args.dataURI), "every leaf lies").to.deep.equal([0, 1, 2, 3]);
    const [drawn] = await waitFor("the audit draw", async () => ((await batchEvents(net, "AuditDrawn")).length > 0 ? batchEvents(net, "AuditDrawn") : undefined));
    expect(drawn!.args.selected).to.equal(true);
    await cheater.waitForLog("cannot prove the batch position", 180_000);
    const keeper = wallet(net, "consumer");
    const slashMissed = () => keeper.writeContract({ ...batches(net), functionName: "slashMissedAudit", args: [submitted!.args.batch], chain: null });
    // Inside the audit's proof window the audit is not missed yet.
    const early = await net.pc.simulateContract({ ...batches(net), functionName: "slashMissedAudit", args: [submitted!.args.batch], account: net.addr.consumer }).then(
      () => "accepted",
      (err: Error) => err.message,
    );
    expect(early).to.match(/AuditNotMissed/);
    const treasuryBefore = await net.pc.readContract({ ...batches(net), functionName: "credits", args: [net.addr.deployer] });
    await net.chain.advance(WINDOWS.challengeWindow + WINDOWS.proofWindow + 1);
    await net.pc.waitForTransactionReceipt({ hash: await slashMissed() });
    expect(await batchStatus(net, batchId)).to.equal(3);
    const [slash, ...more] = await batchEvents(net, "BatchSlashed");
    expect(more.length).to.equal(0);
    expect(slash!.args.beneficiary, "the treasury").to.equal(net.addr.deployer);
    expect(slash!.args.reward).to.equal(0n);
    expect(await net.pc.readContract({ ...batches(net), functionName: "credits", args: [net.addr.deployer] })).to.equal(treasuryBefore + submitted!.args.batch.bond);
    expect((await batchEvents(net, "AuditAnswered")).length, "never answered").to.equal(0);
    await cheater.waitForLog("batch slashed");
    expect(await batchesSolvent(net), "BatchManager solvent").to.equal(true);
  });

  it("the challenger slashes a missed audit of a batch it did not sample: a selected audit unproven past its deadline goes to the treasury, with no challenge", async () => {
    net = await startNet("batch-audit-keeper");
    await setAuditRate(net, 10_000);
    // Sampling nothing: the challenger never re-executes the batch, so only its audit keeper can act on it.
    const challenger = daemon(net, "challenger", { sampling: { policy: "probability", probability: 0 } });
    await challenger.waitForLog("challenger: started");
    const cheater = daemon(net, "cheater", { batching: { enabled: true, maxClaims: 2, maxAgeMs: 600_000 } });
    const url = await cheater.url();
    for (const label of [5, 6]) await postJob(url, digit(label));
    const [submitted] = await waitFor("the batch", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    const batchId = submitted!.args.batchId;
    await cheater.waitForLog("cannot prove the batch position", 180_000);
    const stakeBefore = await net.pc.readContract({ ...batches(net), functionName: "freeStake", args: [net.addr.challenger] });
    const treasuryBefore = await net.pc.readContract({ ...batches(net), functionName: "credits", args: [net.addr.deployer] });
    await net.chain.advance(WINDOWS.challengeWindow + WINDOWS.proofWindow + 1);
    expect(await challenger.waitForLog("batch audit missed: slashed to the treasury")).to.include({ batchId, reason: "AuditUnanswered" });
    expect(await batchStatus(net, batchId)).to.equal(3);
    const [slash] = await batchEvents(net, "BatchSlashed");
    expect(slash!.args.beneficiary, "the treasury").to.equal(net.addr.deployer);
    expect(await net.pc.readContract({ ...batches(net), functionName: "credits", args: [net.addr.deployer] })).to.equal(treasuryBefore + submitted!.args.batch.bond);
    expect(await net.pc.readContract({ ...batches(net), functionName: "freeStake", args: [net.addr.challenger] }), "the keeper earns nothing").to.equal(stakeBefore);
    expect((await batchEvents(net, "LeafChallenged")).length, "no challenge").to.equal(0);
    await cheater.waitForLog("batch slashed");
    expect(await batchesSolvent(net), "BatchManager solvent").to.equal(true);
  });

  it("a provider restarted with its store and its archive deleted while its batch is open logs the batch as LOST: no source has its leaves, so it no longer serves them", async () => {
    net = await startNet("batch-lost-store");
    await setAuditRate(net, 0);
    const honest = daemon(net, "honest", { batching: { enabled: true, maxClaims: 3, maxAgeMs: 600_000 } });
    const url = await honest.url();
    for (const label of [1, 4, 7]) await postJob(url, digit(label));
    await honest.waitForLog("batch submitted (sent)");
    const [submitted] = await batchEvents(net, "BatchSubmitted");
    expect((await fetch(submitted!.args.dataURI)).status, "served before").to.equal(200);
    await honest.stop(true);
    const store = join(net.work, "honest.sqlite");
    expect(existsSync(join(`${store}.batches`, submitted!.args.batch.root)), "archived before it was sent").to.equal(true);
    for (const f of [store, `${store}-wal`, `${store}-shm`, `${store}.batches`]) rmSync(f, { force: true, recursive: true });
    const again = restarted(net, honest);
    const lost = await again.waitForLog(/^LOST BATCH/);
    expect(lost).to.include({ batchId: submitted!.args.batchId, root: submitted!.args.batch.root });
    expect(await batchStatus(net, submitted!.args.batchId), "still open on chain").to.equal(1);
    const served = await fetch(`${await again.url()}/batches/${submitted!.args.batch.root}`);
    expect(served.status, "its data is gone").to.equal(404);
  });

  it("a batch whose archive file cannot be written is not sent, with the problem logged; once the archive can be written it is sent", async () => {
    net = await startNet("batch-archive-unwritable");
    await setAuditRate(net, 0);
    const archiveDir = join(net.work, "archive-is-a-file");
    writeFileSync(archiveDir, "not a folder");
    const honest = daemon(net, "honest", { batching: { enabled: true, maxClaims: 3, maxAgeMs: 600_000, archiveDir } });
    const url = await honest.url();
    for (const label of [1, 4, 7]) await postJob(url, digit(label));
    const refused = await honest.waitForLog("cannot write the batch archive (batching.archiveDir): the batch is not sent until it can be");
    expect(refused).to.include({ archiveDir });
    expect(String(refused.err)).to.match(/EEXIST|ENOTDIR/);
    expect((await batchEvents(net, "BatchSubmitted")).length, "nothing sent").to.equal(0);
    rmSync(archiveDir);
    await honest.waitForLog("batch submitted (sent)");
    const [submitted] = await batchEvents(net, "BatchSubmitted");
    expect(existsSync(join(archiveDir, submitted!.args.batch.root)), "archived").to.equal(true);
  });

  it("a provider restarted with its store deleted restores its open batch from its archive, and proves a challenged position with it", async () => {
    net = await startNet("batch-restore-archive");
    await setAuditRate(net, 0);
    const honest = daemon(net, "honest", { batching: { enabled: true, maxClaims: 3, maxAgeMs: 600_000 } });
    const url = await honest.url();
    for (const label of [1, 4, 7]) await postJob(url, digit(label));
    await honest.waitForLog("batch submitted (sent)");
    const [submitted] = await batchEvents(net, "BatchSubmitted");
    await honest.stop(true);
    const store = join(net.work, "honest.sqlite");
    for (const f of [store, `${store}-wal`, `${store}-shm`]) rmSync(f, { force: true });
    const again = restarted(net, honest);
    const restored = await again.waitForLog(/^batch missing from the store: restored/);
    expect(restored).to.include({ batchId: submitted!.args.batchId, root: submitted!.args.batch.root, source: `archive ${store}.batches` });
    expect(again.log()).to.not.include("LOST BATCH");
    expect((await fetch(`${await again.url()}/batches/${submitted!.args.batch.root}`)).status, "served again").to.equal(200);
    await challengeAndProve(net, submitted!.args.batch, 1n);
  });

  it("a provider whose store and archive are both lost restores its open batch from a challenger's archive (a mirror; every leaf checked) and proves a challenged position", async () => {
    net = await startNet("batch-restore-mirror");
    await setAuditRate(net, 0);
    const challenger = daemon(net, "challenger", { batchData: { archiveDir: join(net.work, "challenger-batches") } });
    const mirror = await challenger.url();
    const honest = daemon(net, "honest", { batching: { enabled: true, maxClaims: 3, maxAgeMs: 600_000, mirrors: [mirror] } });
    const url = await honest.url();
    for (const label of [2, 5, 8]) await postJob(url, digit(label));
    await honest.waitForLog("batch submitted (sent)");
    const [submitted] = await batchEvents(net, "BatchSubmitted");
    await challenger.waitForLog("batch re-executed: every position correct");
    expect((await fetch(`${mirror}/batches/${submitted!.args.batch.root}`)).status, "the challenger serves what it checked").to.equal(200);
    await honest.stop(true);
    const store = join(net.work, "honest.sqlite");
    for (const f of [store, `${store}-wal`, `${store}-shm`, `${store}.batches`]) rmSync(f, { force: true, recursive: true });
    const again = restarted(net, honest);
    const restored = await again.waitForLog(/^batch missing from the store: restored/);
    expect(restored).to.include({ batchId: submitted!.args.batchId, source: `mirror ${mirror}/batches/${submitted!.args.batch.root}` });
    expect(existsSync(join(`${store}.batches`, submitted!.args.batch.root)), "archived again").to.equal(true);
    await challengeAndProve(net, submitted!.args.batch, 2n);
  });

  it("a reorg that orphans a batch and a challenge of one of its positions onto a shorter chain: the provider sends the batch again once, the orphaned challenge does not hold it, and it finalizes with every job", async () => {
    net = await startNet("batch-reorg");
    await setAuditRate(net, 0);
    const snapshot = (await net.chain.request("evm_snapshot")) as string;
    // Blocks of others on the fork before the batch: the chain it is orphaned onto is shorter than the block the
    // batch was formed at, so its second sending lands below that block.
    await net.chain.request("hardhat_mine", ["0x8"]);
    // Events are read 2 blocks behind head: the provider cannot learn of its second sending from its event cursor
    // before its next step.
    const honest = daemon(net, "honest", { confirmations: 2, batching: { enabled: true, maxClaims: 3, maxAgeMs: 600_000 } });
    const url = await honest.url();
    const jobs: string[] = [];
    for (const label of [1, 4, 7]) jobs.push((await postJob(url, digit(label))).jobId);
    const [submitted] = await waitFor("the batch", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    const w = wallet(net, "consumer");
    const send = async (hash: Promise<Hex>) => net.pc.waitForTransactionReceipt({ hash: await hash });
    await send(w.writeContract({ address: net.deployment.addresses.token as Address, abi: erc20Abi, functionName: "approve", args: [batches(net).address, BONDS.minChallengerBond], chain: null }));
    await send(w.writeContract({ ...batches(net), functionName: "stake", args: [BONDS.minChallengerBond], chain: null }));
    await send(w.writeContract({ ...batches(net), functionName: "challengeLeaf", args: [submitted!.args.batch, 1n], chain: null }));
    await net.chain.request("hardhat_mine", ["0x2"]); // confirm it
    await honest.waitForLog("batch position challenged");
    // Reorg onto a shorter chain: back to before the provider staked and sent the batch, then one block.
    await net.chain.request("evm_revert", [snapshot]);
    await net.chain.request("evm_mine");
    expect(await batchStatus(net, submitted!.args.batchId)).to.equal(0);
    await honest.waitForLog("batch not on chain: submitting it again");
    const [again] = await waitFor("the batch sent again", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    expect(again!.args.batch.root, "the same leaves").to.equal(submitted!.args.batch.root);
    expect((await batchEvents(net, "LeafChallenged")).length, "the challenge is gone with its fork").to.equal(0);
    await net.chain.advance(WINDOWS.challengeWindow + 1);
    await waitFor("the batch to finalize", async () => ((await batchStatus(net, again!.args.batchId)) === 2 ? true : undefined));
    const views = await waitFor("every job settled as a leaf", async () => {
      await net.chain.request("evm_mine"); // the finalization is settled once 2 blocks deep
      const vs = (await Promise.all(jobs.map((j) => getJob(url, j)))) as JobView[];
      return vs.every((v) => v.status === "claimed" && v.batch?.batchId === again!.args.batchId && v.batch.path) ? vs : undefined;
    });
    expect(new Set(views.map((v) => v.batch!.index))).to.deep.equal(new Set([0, 1, 2]));
    expect((await batchEvents(net, "BatchSubmitted")).length, "sent once on the new chain").to.equal(1);
    expect(honest.log()).to.not.match(/batch refused/);
  });

  it("a reorg that orphans a batch's finalization: the provider, settling it only once confirmations blocks deep, finalizes it again and then settles its jobs", async () => {
    net = await startNet("batch-reorg-finalize");
    await setAuditRate(net, 0);
    const honest = daemon(net, "honest", { confirmations: 3, batching: { enabled: true, maxClaims: 2, maxAgeMs: 600_000 } });
    const url = await honest.url();
    const jobs: string[] = [];
    for (const label of [3, 8]) jobs.push((await postJob(url, digit(label))).jobId);
    const [submitted] = await waitFor("the batch", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    const batchId = submitted!.args.batchId;
    const snapshot = (await net.chain.request("evm_snapshot")) as string;
    await net.chain.advance(WINDOWS.challengeWindow + 1);
    await waitFor("the batch to finalize", async () => ((await batchStatus(net, batchId)) === 2 ? true : undefined));
    await honest.waitForLog("batch finalized on chain: settled once that is confirmations blocks deep");
    // Reorg: the finalization is orphaned (chain time goes back with it); the window passes again on the new chain.
    await net.chain.request("evm_revert", [snapshot]);
    expect(await batchStatus(net, batchId)).to.equal(1);
    await net.chain.advance(WINDOWS.challengeWindow + 1);
    await honest.waitForLog("batch finalization orphaned by a reorg: following the batch again");
    await waitFor("the batch finalized again", async () => ((await batchStatus(net, batchId)) === 2 ? true : undefined));
    const views = await waitFor("every job settled as a leaf", async () => {
      await net.chain.request("evm_mine");
      const vs = (await Promise.all(jobs.map((j) => getJob(url, j)))) as JobView[];
      return vs.every((v) => v.status === "claimed" && v.batch?.batchId === batchId && v.batch.path) ? vs : undefined;
    });
    expect(new Set(views.map((v) => v.batch!.index))).to.deep.equal(new Set([0, 1]));
    expect(honest.log().split("\n").filter((l) => l.includes('"msg":"batch finalized"')).length, "settled once").to.equal(1);
  });

  it("requests naming the provider for inputs of its own batch: one expiring after the batch finalizes waits for it and is fulfilled from its leaf (no claim); one expiring before, and one open to any provider, are answered with claims", async () => {
    net = await startNet("batch-requests");
    await setAuditRate(net, 0);
    // Events read 2 blocks behind, and a finalized batch settled once 2 blocks deep: the request is fulfilled as soon
    // as the batch is Finalized on chain, not only once the provider has settled it.
    const honest = daemon(net, "honest", { confirmations: 2, batching: { enabled: true, maxClaims: 2, maxAgeMs: 600_000 } });
    const url = await honest.url();
    for (const label of [3, 6]) await postJob(url, digit(label));
    const [submitted] = await waitFor("the batch", async () => ((await batchEvents(net, "BatchSubmitted")).length > 0 ? batchEvents(net, "BatchSubmitted") : undefined));
    const batchId = submitted!.args.batchId;
    const [, challengeDeadline] = await net.pc.readContract({ ...batches(net), functionName: "batchState", args: [batchId] });
    const c = wallet(net, "consumer");
    const fee = 5n * TOKEN;
    const bits = net.pkg.manifest.inputBits;
    await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ address: net.deployment.addresses.token as Address, abi: erc20Abi, functionName: "approve", args: [net.claims.address, 3n * fee], chain: null }) });
    const ask = async (label: number, expiry: bigint, provider: Address = net.addr.honest): Promise<bigint> => {
      const x = quantized(net, label);
      const params = { modelId: net.modelId, inputHash: hashVector(x, bits), fee, expiry, callbackGasLimit: 0, provider, minBond: 0n };
      await net.pc.waitForTransactionReceipt({ hash: await c.writeContract({ ...net.claims, functionName: "requestInference", args: [params, encodeInputData(x, bits), ""], chain: null }) });
      return net.pc.readContract({ ...net.claims, functionName: "requestCount" }); // the id of the newest request
    };
    const late = await ask(3, BigInt(challengeDeadline) + 3600n);
    const soon = await ask(6, BigInt(challengeDeadline) - 60n);
    // Open to any provider: a leaf answers only a request naming its provider (the batch's data is published by the
    // provider alone), so this one gets a claim although its input is a leaf of the batch and it expires late.
    const open = await ask(3, BigInt(challengeDeadline) + 3600n, zeroAddress);
    await waitFor("the request to wait for the batch", async () => {
      await net.chain.request("evm_mine"); // the requests 2 blocks deep
      return honest.log().includes("request waits for its input's batch to finalize") ? true : undefined;
    });
    const claimed = await waitFor("the claim answering the request that expires first", async () => {
      await net.chain.request("evm_mine"); // the reveal goes in a block after the commitment's
      return (await claimEvents(net, "ClaimSubmitted")).find((e) => e.args.claim?.requestId === soon);
    });
    expect(claimed.args.claim?.provider).to.equal(net.addr.honest);
    await waitFor("the claim answering the request open to any provider", async () => {
      await net.chain.request("evm_mine");
      return (await claimEvents(net, "ClaimSubmitted")).find((e) => e.args.claim?.requestId === open);
    });
    await net.chain.advance(WINDOWS.challengeWindow + 1);
    await waitFor("the batch to finalize", async () => ((await batchStatus(net, batchId)) === 2 ? true : undefined));
    const [fulfilled] = await waitFor("the request fulfilled from the batch", async () => {
      await net.chain.request("evm_mine");
      const logs = await net.pc.getContractEvents({ ...net.claims, eventName: "RequestFulfilledFromBatch", fromBlock: 0n, strict: true });
      return logs.length > 0 ? logs : undefined;
    });
    expect(fulfilled!.args).to.include({ requestId: late, batchId });
    expect((await claimEvents(net, "ClaimSubmitted")).filter((e) => e.args.claim?.requestId === late), "no claim for it").to.have.length(0);
    const job = (await getJob(url, `req-${late}`)) as JobView;
    expect(job).to.include({ status: "claimed" });
    expect(job.batch).to.include({ batchId });
    const req = await net.pc.readContract({ ...net.claims, functionName: "getRequest", args: [late] });
    expect(req.status).to.equal(RequestStatus.Fulfilled);
  });
});
