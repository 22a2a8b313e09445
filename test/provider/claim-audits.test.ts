// The provider's side of single-claim audits: when it draws the audit of its own claim (provider/audit.ts drawDue:
// not in the seed block, late from 192 blocks, never past 256), and the step's draw against the real contracts
// (provider/step.ts followAudit): drawn once as soon as the seed block exists, read back and not sent again after a
// restart, left alone (and logged) once the seed is gone; a selected claim then owes a proof by its audit deadline.
import { expect } from "chai";
import { claimManagerAbi } from "../../sdk/abi.ts";
import { AuditStatus } from "../../sdk/batch.ts";
import { getClaimAudit } from "../../sdk/claims.ts";
import { drawDue } from "../../provider/audit.ts";
import { owedProof } from "../../provider/proving.ts";
import { followAudit, type OwnClaim, type ProviderContext } from "../../provider/step.ts";
import { CHALLENGE_WINDOW, PROOF_WINDOW, auditChain, type AuditChain } from "../audit-chain.ts";

describe("provider: audits of its own claims", function () {
  this.timeout(120_000);
  let chain: AuditChain;
  before(async () => {
    chain = await auditChain();
  });

  const own = (c: Awaited<ReturnType<AuditChain["submit"]>>): OwnClaim => ({
    claimId: c.claimId,
    claim: { ...c.claim, inputHash: c.claim.inputHash.toString(), bond: c.claim.bond.toString(), requestId: "0" },
    outputs: c.outputs.map(String),
    status: "live",
  });
  const auditOf = (claimId: `0x${string}`) => chain.publicClient.readContract({ address: chain.deployment.addresses.claims, abi: claimManagerAbi, functionName: "auditOf", args: [claimId] });

  it("draws from the block after the seed block, late from 192 blocks, never past 256; nothing to draw once drawn or clear", () => {
    const at = (head: bigint, status: number = AuditStatus.Undrawn) => drawDue({ status, submittedBlock: 100n }, head);
    expect(at(100n), "the claim's own block").to.equal("wait");
    expect(at(101n), "the seed block is the latest: drawn from the next head on, as batches are").to.equal("wait");
    expect(at(102n)).to.equal("draw");
    expect(at(291n)).to.equal("draw");
    expect(at(292n)).to.equal("late");
    expect(at(356n), "lands in block 357 at the earliest: blockhash(101) still there").to.equal("late");
    expect(at(357n), "lands in 358: blockhash(101) is gone").to.equal("gone");
    for (const status of [AuditStatus.Clear, AuditStatus.Selected, AuditStatus.Answered]) expect(at(200n, status)).to.equal("none");
  });

  it("draws its claim's audit once the seed block exists, proves a selected claim by the audit deadline, and after a restart reads the draw instead of sending it again", async () => {
    const c = await chain.submit(501n);
    const { ctx, find } = chain.context("provider");
    const p = ctx as unknown as ProviderContext;
    let a = await followAudit(p, own(c), c.claim);
    expect(a).to.deep.equal({ status: AuditStatus.Undrawn, deadline: (await auditOf(c.claimId))[4], seedGone: false });
    expect(await chain.publicClient.getBlockNumber({ cacheTime: 0 })).to.equal(c.blockNumber); // nothing sent
    await chain.mine(1); // the seed block
    await followAudit(p, own(c), c.claim);
    expect((await auditOf(c.claimId))[0]).to.equal(AuditStatus.Undrawn);
    await chain.mine(1);
    a = await followAudit(p, own(c), c.claim);
    const submittedAt = (await chain.publicClient.getBlock({ blockNumber: c.blockNumber })).timestamp;
    expect(a).to.deep.equal({ status: AuditStatus.Selected, deadline: submittedAt + CHALLENGE_WINDOW + PROOF_WINDOW, seedGone: false });
    expect(find("audit drawn")).to.not.equal(undefined);
    expect(await owedProof(p, c.claimId)).to.deep.equal({ deadline: a.deadline, reason: "audit" });
    expect(await getClaimAudit({ publicClient: chain.publicClient, deployment: chain.deployment }, c.claimId)).to.deep.equal({
      status: AuditStatus.Selected, statusName: "Selected", submittedBlock: c.blockNumber, rateBps: 10_000, fee: 10n ** 18n, deadline: a.deadline,
    });

    const head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    const restarted = chain.context("provider");
    expect(await followAudit(restarted.ctx as unknown as ProviderContext, own(c), c.claim)).to.deep.equal(a);
    expect(await chain.publicClient.getBlockNumber({ cacheTime: 0 }), "no second draw").to.equal(head);
  });

  it("leaves an audit whose seed is gone alone (the claim is lost to a missed audit) and says so", async () => {
    const c = await chain.submit(502n);
    await chain.mine(257);
    const { ctx, find } = chain.context("provider");
    const head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    expect(await followAudit(ctx as unknown as ProviderContext, own(c), c.claim)).to.include({ status: AuditStatus.Undrawn, seedGone: true });
    expect(await chain.publicClient.getBlockNumber({ cacheTime: 0 })).to.equal(head);
    expect(find(/audit seed is gone/)).to.not.equal(undefined);
    expect(await owedProof(ctx as unknown as ProviderContext, c.claimId), "no proof owed for an undrawn audit").to.equal(undefined);
  });
});
