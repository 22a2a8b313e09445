// The challenger's keeper of single-claim audits (challenger/audit.ts), against ClaimManager.slashMissedAudit's rule:
// a selected audit is missed from its deadline (challenge window end + proof window) on, an undrawn one once its seed
// block has left the 256 whose hash the chain keeps; a clear or answered audit never is. Sent a block early, the
// transaction is refused (AuditNotMissed); never sent, a cheater's claim goes unpunished when nobody else slashes it.
import { expect } from "chai";
import { claimManagerAbi } from "../../sdk/abi.ts";
import { AuditStatus } from "../../sdk/batch.ts";
import { ClaimStatus } from "../../sdk/protocol.ts";
import { keepClaimAudits, missedClaimAudit } from "../../challenger/audit.ts";
import type { ChallengerContext, WatchedClaim } from "../../challenger/step.ts";
import { BOND, auditChain, type AuditChain } from "../audit-chain.ts";

describe("challenger: missed claim audits", function () {
  this.timeout(120_000);

  it("a selected audit is missed once the latest block's time reaches its deadline, not a second before; an undrawn one once the latest block no longer has the seed's hash", () => {
    // Judged at the latest block: that is where the send is simulated (eth_call), before it is sent.
    const a = (status: number) => ({ status, submittedBlock: 100n, deadline: 20_000n });
    expect(missedClaimAudit(a(AuditStatus.Selected), { now: 19_999n, head: 5000n })).to.equal(undefined);
    expect(missedClaimAudit(a(AuditStatus.Selected), { now: 20_000n, head: 5000n })).to.equal("AuditUnanswered");
    // The seed is block 101; blockhash(101) is 0 from block 101 + 257 = 358 on.
    expect(missedClaimAudit(a(AuditStatus.Undrawn), { now: 0n, head: 357n })).to.equal(undefined);
    expect(missedClaimAudit(a(AuditStatus.Undrawn), { now: 0n, head: 358n })).to.equal("AuditMissed");
    expect(missedClaimAudit(a(AuditStatus.Undrawn), { now: 10n ** 9n, head: 102n }), "time alone does not miss a draw").to.equal(undefined);
    for (const s of [AuditStatus.Clear, AuditStatus.Answered]) expect(missedClaimAudit(a(s), { now: 10n ** 9n, head: 10n ** 6n })).to.equal(undefined);
  });

  describe("on chain", () => {
    let chain: AuditChain;
    before(async () => {
      chain = await auditChain();
    });

    const watched = (c: Awaited<ReturnType<AuditChain["submit"]>>, status: WatchedClaim["status"] = "done"): WatchedClaim => ({
      claimId: c.claimId,
      claim: { ...c.claim, inputHash: c.claim.inputHash.toString(), bond: c.claim.bond.toString(), requestId: "0" },
      outputs: c.outputs.map(String),
      blockNumber: String(c.blockNumber),
      status,
      verdict: "skipped",
    });
    const keeper = (claims: WatchedClaim[], slashMissedAudits = true) => {
      const k = chain.context("keeper");
      for (const c of claims) k.ctx.store.set(`claim/${c.claimId}`, c);
      return { ...k, ctx: { ...k.ctx, config: { slashMissedAudits } } as unknown as ChallengerContext };
    };
    const read = (functionName: "credits", args: [`0x${string}`]) => chain.publicClient.readContract({ address: chain.deployment.addresses.claims, abi: claimManagerAbi, functionName, args });
    const statusOf = async (id: `0x${string}`) => (await chain.publicClient.readContract({ address: chain.deployment.addresses.claims, abi: claimManagerAbi, functionName: "claimState", args: [id] }))[0];

    it("slashes a claim (even one it did not sample) whose audit nobody drew, from the first block where the seed is gone, to the treasury; then leaves it", async () => {
      const c = await chain.submit(601n);
      const k = keeper([watched(c)]);
      await chain.mine(257); // head = submitted + 257: blockhash(submitted + 1) still exists there
      await keepClaimAudits(k.ctx);
      expect(await statusOf(c.claimId)).to.equal(ClaimStatus.Submitted);
      expect(k.entries, "nothing sent, so nothing failed").to.deep.equal([]);
      await chain.mine(1);
      const before = await read("credits", [chain.treasury]);
      await keepClaimAudits(k.ctx);
      expect(await statusOf(c.claimId)).to.equal(ClaimStatus.Slashed);
      expect(await read("credits", [chain.treasury])).to.equal(before + BOND);
      expect(k.find("claim audit missed: slashed to the treasury")).to.include({ reason: "AuditMissed" });
      expect(k.ctx.store.get<WatchedClaim>(`claim/${c.claimId}`)!.auditSettled).to.equal(true);
      const head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
      await keepClaimAudits(k.ctx);
      expect(await chain.publicClient.getBlockNumber({ cacheTime: 0 }), "nothing sent again").to.equal(head);
    });

    it("slashes a selected, unproven claim once the latest block reaches its audit deadline; a keeper turned off does not", async () => {
      const c = await chain.submit(602n);
      await chain.mine(1);
      await chain.wallets.keeper.writeContract({ address: chain.deployment.addresses.claims, abi: claimManagerAbi, functionName: "drawAudit", args: [c.claim], chain: null });
      const [audit, , , , deadline] = await chain.publicClient.readContract({ address: chain.deployment.addresses.claims, abi: claimManagerAbi, functionName: "auditOf", args: [c.claimId] });
      expect(audit).to.equal(AuditStatus.Selected);
      const k = keeper([watched(c, "watching")]);
      await chain.mineAt(deadline - 1n);
      await keepClaimAudits(k.ctx);
      expect(await statusOf(c.claimId)).to.equal(ClaimStatus.Submitted);
      expect(k.entries, "nothing sent, so nothing failed").to.deep.equal([]);
      await chain.mineAt(deadline);
      await keepClaimAudits(keeper([watched(c)], false).ctx);
      expect(await statusOf(c.claimId)).to.equal(ClaimStatus.Submitted);
      await keepClaimAudits(k.ctx);
      expect(await statusOf(c.claimId)).to.equal(ClaimStatus.Slashed);
      expect(k.find("claim audit missed: slashed to the treasury")).to.include({ reason: "AuditUnanswered" });
    });
  });
});
