// Random forced audits of single claims end to end: the provider and the challenger as processes. An honest provider
// draws its claim's audit and answers it with a proof; a cheater's selected claim, which it cannot prove, is slashed
// to the treasury by the challenger's keeper without anyone re-executing it. Each test ends with the ClaimManager
// solvent (its balance the free stakes, credits and audit pool).
import { expect } from "chai";
import { type Address, type Hex } from "viem";
import { batchManagerAbi } from "../../sdk/abi.ts";
import { ClaimStatus } from "../../sdk/protocol.ts";
import { terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import { WINDOWS, claimEvents, daemon, infer, solvent, startNet, status, waitStatus, wallet, type Net } from "./harness.ts";

/** The treasury (the deployer in the dev net) sets the model's audit rate, which single claims read too. */
async function setAuditRate(net: Net, rateBps: number): Promise<void> {
  const w = wallet(net, "deployer");
  const batches = { address: net.deployment.addresses.batchManager as Address, abi: batchManagerAbi };
  await net.pc.waitForTransactionReceipt({ hash: await w.writeContract({ ...batches, functionName: "setAuditPolicy", args: [net.modelId, rateBps, 0n], chain: null }) });
}

async function auditEvents<const E extends "AuditDrawn" | "AuditAnswered" | "ClaimAuditSlashed">(net: Net, eventName: E, claimId: Hex) {
  const logs = await net.pc.getContractEvents({ ...net.claims, eventName, fromBlock: 0n, strict: true });
  return logs.filter((l) => (l.args as { claimId?: Hex }).claimId === claimId);
}

describe("e2e: audits of single claims", function () {
  let net: Net;
  after(terminateSnarkjs);
  afterEach(async () => {
    await net?.close();
  });

  it("an honest provider draws its claim's audit, is selected (rate 100%), and answers it with a proof: the claim is Proven", async () => {
    net = await startNet("claim-audit-honest");
    await setAuditRate(net, 10_000);
    const honest = daemon(net, "honest");
    const claimId = await infer(net, honest, 3);
    await honest.waitForLog("audit drawn");
    await honest.waitForLog("audit answered with a proof", 180_000);
    await waitStatus(net, claimId, ClaimStatus.Proven);
    const [drawn] = await auditEvents(net, "AuditDrawn", claimId);
    expect(drawn!.args.selected).to.equal(true);
    expect((await auditEvents(net, "AuditAnswered", claimId)).length).to.equal(1);
    expect((await claimEvents(net, "ClaimChallenged")).length, "nobody challenged").to.equal(0);
    expect(await solvent(net), "ClaimManager solvent").to.equal(true);
  });

  it("the challenger slashes a missed audit of a claim it did not sample: a cheater's selected claim, unproven past its audit deadline, goes to the treasury", async () => {
    net = await startNet("claim-audit-keeper");
    await setAuditRate(net, 10_000);
    // Sampling nothing: the challenger never re-executes the claim, so only its audit keeper can act on it.
    const challenger = daemon(net, "challenger", { sampling: { policy: "probability", probability: 0 } });
    await challenger.waitForLog("challenger: started");
    const cheater = daemon(net, "cheater"); // every output wrong
    const claimId = await infer(net, cheater, 5);
    await cheater.waitForLog("cannot prove the claim", 180_000);
    const [submitted] = await net.pc.getContractEvents({ ...net.claims, eventName: "ClaimSubmitted", args: { claimId }, fromBlock: 0n, strict: true });
    const treasuryBefore = await net.pc.readContract({ ...net.claims, functionName: "credits", args: [net.addr.deployer] });
    const stakeBefore = await net.pc.readContract({ ...net.claims, functionName: "freeStake", args: [net.addr.challenger] });
    await net.chain.advance(WINDOWS.challengeWindow + WINDOWS.proofWindow + 1);
    expect(await challenger.waitForLog("claim audit missed: slashed to the treasury")).to.include({ claimId, reason: "AuditUnanswered" });
    expect(await status(net, claimId)).to.equal(ClaimStatus.Slashed);
    expect(await net.pc.readContract({ ...net.claims, functionName: "credits", args: [net.addr.deployer] })).to.equal(treasuryBefore + submitted!.args.claim.bond);
    expect(await net.pc.readContract({ ...net.claims, functionName: "freeStake", args: [net.addr.challenger] }), "the keeper earns nothing").to.equal(stakeBefore);
    expect((await claimEvents(net, "ClaimChallenged")).length, "no challenge").to.equal(0);
    expect((await auditEvents(net, "ClaimAuditSlashed", claimId)).length).to.equal(1);
    expect(await solvent(net), "ClaimManager solvent").to.equal(true);
  });
});
