// Random forced audits of single claims (ClaimManager, the batch audit rules of BatchManager for one claim), written
// the way an attacker would try them: the draw's block and time edges, the 256-block seed edge, an audit of an
// already-challenged claim, a missed audit, finalizing while audited, draining the pool, slashing one's own audited
// lie for the reward, and what a block builder can and cannot do with the seed. Each test says what the attacker
// wanted.
import { expect } from "chai";
import type { Hex } from "viem";
import { drawClaimAudit } from "../../sdk/claims.ts";
import { AUDIT_FEE, AuditStatus, SlashReason, loadBatches, type BatchFixture } from "./batch-helpers.ts";
import {
  CHALLENGE_WINDOW, ClaimStatus, E18, MIN_CHALLENGER_BOND, MIN_PROVIDER_BOND, PROOF_WINDOW, RequestStatus, STAKE, ZERO_PROOF, answer,
  atTime, counterProve, deployFixture, ethers, expectSolvent, networkHelpers, request, sampleOutputs, submit,
  type ClaimStruct, loadFixture,
} from "./helpers.ts";

const REWARD = (MIN_PROVIDER_BOND * 5000n) / 10_000n;
const FEE = (MIN_CHALLENGER_BOND * 500n) / 10_000n;
const POOL = 50n * E18;

/** The batch fixture (ClaimManager wired to a BatchManager, as deployed) with the model's audit policy set by the
 *  treasury and the claim audit pool funded by `consumer`. */
async function audited(rate = 10_000, fee = AUDIT_FEE, pool = POOL): Promise<BatchFixture> {
  const f = await loadBatches();
  await f.batches.connect(f.treasury).setAuditPolicy(f.modelId, rate, fee);
  if (pool !== 0n) await f.manager.connect(f.consumer).fundAuditPool(pool);
  return f;
}

async function auditOf(f: BatchFixture, id: string) {
  const [status, submittedBlock, rateBps, fee, deadline] = await f.manager.auditOf(id);
  return { status: Number(status), submittedBlock, rateBps: Number(rateBps), fee, deadline };
}

/** The end of the challenge window of the claim submitted in `c.tx`'s block. */
async function challengeEnd(_f: BatchFixture, c: { tx: { blockNumber: number | null } }): Promise<bigint> {
  const block = await ethers.provider.getBlock(c.tx.blockNumber!);
  return BigInt(block!.timestamp) + CHALLENGE_WINDOW;
}

/** A claim under a low audit rate whose draw (computed from its seed the way the contract does) comes out clear. */
async function clearClaim(f: BatchFixture): Promise<{ claim: ClaimStruct; id: string; outputs: bigint[] }> {
  for (let i = 0n; ; i++) {
    const c = await submit(f, { inputHash: 900n + i });
    await networkHelpers.mine(1);
    const seed = (await ethers.provider.getBlock(c.tx.blockNumber! + 1))!.hash as Hex;
    if (!drawClaimAudit(seed, c.id as Hex, (await auditOf(f, c.id)).rateBps)) return c;
  }
}

describe("claims: random forced audits", () => {
  it("a claim snapshots the model's audit policy at submission: the treasury lowering it later does not clear the claim", async () => {
    // The provider hoped a policy change after its lie was submitted would move its audit.
    const f = await audited();
    const c = await submit(f);
    const a = await auditOf(f, c.id);
    expect(a).to.deep.equal({
      status: AuditStatus.Undrawn, submittedBlock: BigInt(c.tx.blockNumber!), rateBps: 10_000, fee: AUDIT_FEE,
      deadline: (await challengeEnd(f, c)) + PROOF_WINDOW,
    });
    expect(await f.manager.auditPolicy(f.modelId)).to.deep.equal([10_000n, AUDIT_FEE]);
    await f.batches.connect(f.treasury).setAuditPolicy(f.modelId, 0, 0);
    await networkHelpers.mine(1);
    await expect(f.manager.drawAudit(c.claim)).to.emit(f.manager, "AuditDrawn").withArgs(c.id, true, 0, a.deadline);
    expect((await auditOf(f, c.id)).status).to.equal(AuditStatus.Selected);
  });

  it("a claim under audit rate 0 (or with no BatchManager) has no audit: Clear, nothing to draw, finalizes as before", async () => {
    const f = await loadBatches(); // rate 0
    const c = await submit(f);
    expect(await auditOf(f, c.id)).to.deep.equal({ status: AuditStatus.Clear, submittedBlock: 0n, rateBps: 0, fee: 0n, deadline: 0n });
    await expect(f.manager.drawAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "AuditAlreadyDrawn").withArgs(c.id, AuditStatus.Clear);
    await expect(f.manager.slashMissedAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "AuditNotMissed").withArgs(c.id, AuditStatus.Clear);
    await networkHelpers.time.increaseTo(await challengeEnd(f, c));
    await f.manager.finalize(c.claim, c.outputs);
    expect((await f.manager.claimState(c.id))[0]).to.equal(ClaimStatus.Finalized);

    // Without a BatchManager there is no policy to read: every claim is Clear.
    const g = await loadFixture(deployFixture);
    expect(await g.manager.auditPolicy(g.modelId)).to.deep.equal([0n, 0n]);
    const d = await submit(g);
    expect((await g.manager.auditOf(d.id))[0]).to.equal(BigInt(AuditStatus.Clear));
    await expect(g.manager.drawAudit(d.claim)).to.be.revertedWithCustomError(g.manager, "AuditAlreadyDrawn").withArgs(d.id, AuditStatus.Clear);
  });

  it("the draw: not in the seed block itself, then the same result for whoever draws, matching the formula; only once", async () => {
    // A watcher (or the provider) tried to draw before the seed existed, or to redraw for another result.
    const f = await audited(5000);
    const c = await submit(f);
    const seedBlock = c.tx.blockNumber! + 1;
    // The next transaction is mined in the seed block: its hash is not known there.
    await expect(f.manager.connect(f.other).drawAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "AuditNotDrawable").withArgs(c.id, seedBlock);
    await networkHelpers.mine(1);
    const seed = (await ethers.provider.getBlock(seedBlock))!.hash as Hex;
    const selected = drawClaimAudit(seed, c.id as Hex, 5000);
    const deadline = (await auditOf(f, c.id)).deadline;
    await expect(f.manager.connect(f.other).drawAudit(c.claim)).to.emit(f.manager, "AuditDrawn").withArgs(c.id, selected, 0, selected ? deadline : 0n);
    const status = selected ? AuditStatus.Selected : AuditStatus.Clear;
    expect((await auditOf(f, c.id)).status).to.equal(status);
    await expect(f.manager.drawAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "AuditAlreadyDrawn").withArgs(c.id, status);
  });

  it("the 256-block seed edge: drawable while blockhash(seed) is readable, then AuditSeedGone and slashMissedAudit, not one block earlier", async () => {
    // A cheater skipped the draw, hoping a late draw from another block would come out clear.
    const f = await audited();
    const c = await submit(f);
    const seedBlock = BigInt(c.tx.blockNumber! + 1);
    // The last block in which blockhash(seedBlock) is readable is seedBlock + 256.
    await networkHelpers.mine(seedBlock + 255n - BigInt(await ethers.provider.getBlockNumber()));
    const snap = await networkHelpers.takeSnapshot();
    await expect(f.manager.slashMissedAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "AuditNotMissed").withArgs(c.id, AuditStatus.Undrawn);
    await snap.restore();
    await expect(f.manager.drawAudit(c.claim)).to.emit(f.manager, "AuditDrawn");
    await snap.restore();
    await networkHelpers.mine(1); // the next transaction lands in seedBlock + 257
    const snap2 = await networkHelpers.takeSnapshot();
    await expect(f.manager.drawAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "AuditSeedGone").withArgs(c.id, seedBlock);
    await snap2.restore();
    await networkHelpers.time.increaseTo(await challengeEnd(f, c));
    await expect(f.manager.finalize(c.claim, c.outputs)).to.be.revertedWithCustomError(f.manager, "AuditSeedGone").withArgs(c.id, seedBlock);
    await expect(f.manager.connect(f.other).slashMissedAudit(c.claim)).to.emit(f.manager, "ClaimAuditSlashed").withArgs(c.id, SlashReason.AuditMissed)
      .and.to.emit(f.manager, "ClaimSlashed").withArgs(c.id, f.treasury.address, 0, MIN_PROVIDER_BOND, false);
    expect(await f.manager.credits(f.treasury.address)).to.equal(MIN_PROVIDER_BOND);
    expect(await f.manager.freeStake(f.other.address)).to.equal(STAKE); // nobody earns a reward for it
    await expectSolvent(f, [c.claim]);
  });

  it("audit deadline edges (-1/0/+1 s): proven at deadline - 1 s earns the fee; at the deadline the proof is refused and the missed audit slashes", async () => {
    // The provider wanted to prove late (racing the slash), a watcher to slash early.
    const f = await audited();
    const c = await submit(f);
    await networkHelpers.mine(1);
    await f.manager.drawAudit(c.claim);
    const { deadline } = await auditOf(f, c.id);
    expect(deadline).to.equal((await challengeEnd(f, c)) + PROOF_WINDOW);

    const snap = await networkHelpers.takeSnapshot();
    await atTime(deadline - 1n);
    await expect(f.manager.slashMissedAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "AuditNotMissed").withArgs(c.id, AuditStatus.Selected);
    await snap.restore();
    await atTime(deadline - 1n);
    await expect(f.manager.connect(f.provider).finalize(c.claim, c.outputs)).to.be.revertedWithCustomError(f.manager, "AuditPending").withArgs(c.id, deadline);
    await snap.restore();
    await atTime(deadline - 1n);
    await expect(f.manager.prove(c.claim, c.outputs, ZERO_PROOF)).to.emit(f.manager, "AuditAnswered").withArgs(c.id, 0, AUDIT_FEE)
      .and.to.emit(f.manager, "ClaimProven").withArgs(c.id, f.deployer.address, 0, 0);
    expect((await auditOf(f, c.id)).status).to.equal(AuditStatus.Answered);
    expect(await f.manager.credits(f.provider.address)).to.equal(AUDIT_FEE);
    expect(await f.manager.freeStake(f.provider.address)).to.equal(STAKE);
    expect(await f.manager.auditPool()).to.equal(POOL - AUDIT_FEE);
    await expect(f.manager.slashMissedAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "InvalidClaimStatus").withArgs(c.id, ClaimStatus.Proven);
    await expectSolvent(f, [c.claim]);

    for (const t of [deadline, deadline + 1n]) {
      await snap.restore();
      await atTime(t);
      await expect(f.manager.prove(c.claim, c.outputs, ZERO_PROOF)).to.be.revertedWithCustomError(f.manager, "ProofWindowClosed").withArgs(c.id, deadline);
      await snap.restore();
      await atTime(t);
      await expect(f.manager.connect(f.challenger).slashMissedAudit(c.claim)).to.emit(f.manager, "ClaimAuditSlashed").withArgs(c.id, SlashReason.AuditUnanswered);
      expect(await f.manager.credits(f.treasury.address)).to.equal(MIN_PROVIDER_BOND);
      expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE);
      expect((await f.manager.claimState(c.id))[0]).to.equal(ClaimStatus.Slashed);
      await expect(f.manager.connect(f.provider).finalize(c.claim, c.outputs)).to.be.revertedWithCustomError(f.manager, "InvalidClaimStatus").withArgs(c.id, ClaimStatus.Slashed);
      await expectSolvent(f, [c.claim]);
    }
  });

  it("the provider cannot finalize while audited: not after the challenge window, not after the audit deadline; an undrawn selected audit is drawn and refused inline", async () => {
    // The provider of a lie wanted its bond back before anyone noticed the audit.
    const f = await audited();
    const c = await submit(f);
    const end = await challengeEnd(f, c);
    const { deadline } = await auditOf(f, c.id);
    await networkHelpers.mine(1);
    await atTime(end);
    // Undrawn: finalize draws it itself (the same result as any draw), is selected, reverts; nothing is stored.
    await expect(f.manager.connect(f.provider).finalize(c.claim, c.outputs)).to.be.revertedWithCustomError(f.manager, "AuditPending").withArgs(c.id, deadline);
    expect((await auditOf(f, c.id)).status).to.equal(AuditStatus.Undrawn);
    await f.manager.drawAudit(c.claim);
    await networkHelpers.time.increaseTo(deadline + 1000n);
    await expect(f.manager.connect(f.provider).finalize(c.claim, c.outputs)).to.be.revertedWithCustomError(f.manager, "AuditPending").withArgs(c.id, deadline);
    await f.manager.slashMissedAudit(c.claim);
    await expectSolvent(f, [c.claim]);
  });

  it("a clear audit lets the claim finalize at its challenge deadline, and finalize stores a draw it made", async () => {
    const f = await audited(1); // 1 in 10,000: clearClaim picks a claim whose draw is clear
    const c = await clearClaim(f);
    await networkHelpers.time.increaseTo(await challengeEnd(f, { tx: { blockNumber: Number((await auditOf(f, c.id)).submittedBlock) } }));
    await expect(f.manager.finalize(c.claim, c.outputs)).to.emit(f.manager, "AuditDrawn").withArgs(c.id, false, 0, 0)
      .and.to.emit(f.manager, "ClaimFinalized").withArgs(c.id);
    expect((await auditOf(f, c.id)).status).to.equal(AuditStatus.Clear);
    await expect(f.manager.slashMissedAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "InvalidClaimStatus").withArgs(c.id, ClaimStatus.Finalized);
  });

  it("an audit of an already-challenged claim: one proof before the proof deadline answers both (challenger bond and audit fee)", async () => {
    const f = await audited();
    const c = await submit(f);
    await f.manager.connect(f.challenger).challenge(c.claim);
    await f.manager.drawAudit(c.claim); // allowed while Challenged
    expect((await auditOf(f, c.id)).status).to.equal(AuditStatus.Selected);
    // A Challenged claim settles by its challenge, never by the missed-audit slash.
    await expect(f.manager.slashMissedAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "InvalidClaimStatus").withArgs(c.id, ClaimStatus.Challenged);
    await expect(f.manager.prove(c.claim, c.outputs, ZERO_PROOF))
      .to.emit(f.manager, "ClaimProven").withArgs(c.id, f.deployer.address, MIN_CHALLENGER_BOND - FEE, FEE)
      .and.to.emit(f.manager, "AuditAnswered").withArgs(c.id, 0, AUDIT_FEE);
    expect(await f.manager.freeStake(f.provider.address)).to.equal(STAKE + MIN_CHALLENGER_BOND - FEE);
    expect(await f.manager.credits(f.provider.address)).to.equal(AUDIT_FEE);
    await expectSolvent(f, [c.claim]);
  });

  it("a challenged, audited lie left unproven: the challenge made after the seed block earns no reward (its bond back), all of the bond to the treasury", async () => {
    // The cheater challenged its own selected lie from a second address to take the slash reward back.
    const f = await audited();
    const c = await submit(f);
    await networkHelpers.mine(1);
    await f.manager.drawAudit(c.claim);
    await f.manager.connect(f.other).challenge(c.claim); // the cheater's second address, after reading the draw
    const [, proofDeadline] = await f.manager.claimState(c.id);
    await networkHelpers.time.increaseTo(proofDeadline);
    await expect(f.manager.slash(c.claim)).to.emit(f.manager, "ClaimSlashed").withArgs(c.id, f.other.address, 0, MIN_PROVIDER_BOND, false);
    expect(await f.manager.freeStake(f.other.address)).to.equal(STAKE);
    expect(await f.manager.credits(f.treasury.address)).to.equal(MIN_PROVIDER_BOND);
    await expectSolvent(f, [c.claim]);
  });

  it("a challenge in the seed block or before could not know the draw: it keeps the slash reward even though the audit selected the claim", async () => {
    const f = await audited();
    const c = await submit(f);
    const challenged = await f.manager.connect(f.challenger).challenge(c.claim); // mined in the seed block
    expect(challenged.blockNumber).to.equal(c.tx.blockNumber! + 1);
    await f.manager.drawAudit(c.claim);
    expect((await auditOf(f, c.id)).status).to.equal(AuditStatus.Selected);
    const [, proofDeadline] = await f.manager.claimState(c.id);
    await networkHelpers.time.increaseTo(proofDeadline);
    await expect(f.manager.slash(c.claim)).to.emit(f.manager, "ClaimSlashed").withArgs(c.id, f.challenger.address, REWARD, MIN_PROVIDER_BOND - REWARD, false);
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE + REWARD);
    await expectSolvent(f, [c.claim]);
  });

  it("a cheater skipping its own draw cannot void the watcher's reward: a challenge while the seed is readable draws the audit, and a clear draw leaves the reward", async () => {
    // The cheater never draws, hoping the seed is gone (a missed audit pays no slash reward) before the watcher's
    // challenge is slashed.
    const f = await audited(1);
    let c;
    for (let i = 0n; ; i++) {
      c = await submit(f, { inputHash: 950n + i });
      await networkHelpers.mine(1);
      const seed = (await ethers.provider.getBlock(c.tx.blockNumber! + 1))!.hash as Hex;
      if (!drawClaimAudit(seed, c.id as Hex, 1)) break;
    }
    await expect(f.manager.connect(f.challenger).challenge(c.claim)).to.emit(f.manager, "AuditDrawn").withArgs(c.id, false, 0, 0);
    expect((await auditOf(f, c.id)).status).to.equal(AuditStatus.Clear);
    await networkHelpers.mine(300); // the seed is long gone
    const [, proofDeadline] = await f.manager.claimState(c.id);
    await networkHelpers.time.increaseTo(proofDeadline);
    await expect(f.manager.slash(c.claim)).to.emit(f.manager, "ClaimSlashed").withArgs(c.id, f.challenger.address, REWARD, MIN_PROVIDER_BOND - REWARD, false);
    await expectSolvent(f, [c.claim]);
  });

  it("a cheater counter-proving its own selected (or undrawn, seed gone) lie from a second address gets no reward", async () => {
    // The cheater read that the audit picked its lie and raced the missed-audit slash with a counter-proof.
    const f = await audited();
    const c = await submit(f);
    await networkHelpers.mine(1);
    await f.manager.drawAudit(c.claim);
    await expect(counterProve(f, f.other, c.claim, sampleOutputs(99n))).to.emit(f.manager, "ClaimSlashed").withArgs(c.id, f.other.address, 0, MIN_PROVIDER_BOND, true);
    expect(await f.manager.freeStake(f.other.address)).to.equal(STAKE);

    // Never drawn and the seed gone: the audit is missed, the same rule.
    const d = await submit(f, { inputHash: 778n });
    await networkHelpers.mine(260);
    await expect(counterProve(f, f.other, d.claim, sampleOutputs(98n))).to.emit(f.manager, "ClaimSlashed").withArgs(d.id, f.other.address, 0, MIN_PROVIDER_BOND, true);
    expect(await f.manager.credits(f.treasury.address)).to.equal(2n * MIN_PROVIDER_BOND);
    await expectSolvent(f, [c.claim, d.claim]);
  });

  it("a counter-proof of a claim whose audit cleared still pays the reward (the draw is made, and stored, inline)", async () => {
    const f = await audited(1);
    const c = await clearClaim(f);
    await expect(counterProve(f, f.other, c.claim, sampleOutputs(99n))).to.emit(f.manager, "AuditDrawn").withArgs(c.id, false, 0, 0)
      .and.to.emit(f.manager, "ClaimSlashed").withArgs(c.id, f.other.address, REWARD, MIN_PROVIDER_BOND - REWARD, true);
    expect((await auditOf(f, c.id)).status).to.equal(AuditStatus.Clear);
  });

  it("a griefer draining the audit pool: proving someone's audit pays the provider, never the prover; one answer pays once; the fee is capped by the pool", async () => {
    const f = await audited(10_000, AUDIT_FEE, AUDIT_FEE + E18); // enough for one full fee and a part
    const c = await submit(f);
    await networkHelpers.mine(1);
    await f.manager.connect(f.other).drawAudit(c.claim);
    await f.manager.connect(f.other).prove(c.claim, c.outputs, ZERO_PROOF);
    expect(await f.manager.credits(f.other.address)).to.equal(0n);
    expect(await f.manager.credits(f.provider.address)).to.equal(AUDIT_FEE);
    await expect(f.manager.connect(f.other).prove(c.claim, c.outputs, ZERO_PROOF)).to.be.revertedWithCustomError(f.manager, "InvalidClaimStatus").withArgs(c.id, ClaimStatus.Proven);
    await expect(f.manager.drawAudit(c.claim)).to.be.revertedWithCustomError(f.manager, "InvalidClaimStatus").withArgs(c.id, ClaimStatus.Proven);

    // A proof of a claim whose audit was not drawn pays nothing: no fee without a selected audit.
    const u = await submit(f, { inputHash: 779n });
    await f.manager.connect(f.other).prove(u.claim, u.outputs, ZERO_PROOF);
    expect((await auditOf(f, u.id)).status).to.equal(AuditStatus.Undrawn);
    expect(await f.manager.auditPool()).to.equal(E18);

    // The pool runs dry: the next answer gets what is left, the one after nothing, and neither reverts.
    for (const [i, paid] of [[780n, E18], [781n, 0n]] as const) {
      const d = await submit(f, { inputHash: i });
      await networkHelpers.mine(1);
      await f.manager.drawAudit(d.claim);
      await expect(f.manager.prove(d.claim, d.outputs, ZERO_PROOF)).to.emit(f.manager, "AuditAnswered").withArgs(d.id, 0, paid);
    }
    expect(await f.manager.auditPool()).to.equal(0n);
    expect(await f.manager.credits(f.provider.address)).to.equal(AUDIT_FEE + E18);
    await expect(f.manager.fundAuditPool(0)).to.be.revertedWithCustomError(f.manager, "ZeroAmount");
    await expectSolvent(f, [c.claim, u.claim]);
  });

  it("a block builder chooses the seed and so the draw: the result is a pure function of blockhash(submittedBlock + 1) and the claim id, nothing else", async () => {
    // What a builder of the seed block can do (docs/contracts.md, "Audit randomness"): grind that block's hash until
    // its lie's draw clears. What it cannot do: pick the draw's block or caller (every draw agrees with the formula
    // over the seed), nor redraw once the seed is gone (missed: slashed). Here two claims share one seed block and
    // each draw matches the formula, whoever sends it and however late.
    const f = await audited(5000);
    await networkHelpers.mine(1);
    const a = await submit(f, { inputHash: 1001n });
    const b = await submit(f, { inputHash: 1002n, provider: f.other });
    await networkHelpers.mine(30);
    for (const [c, who] of [[a, f.challenger], [b, f.consumer]] as const) {
      const audit = await auditOf(f, c.id);
      const seed = (await ethers.provider.getBlock(Number(audit.submittedBlock) + 1))!.hash as Hex;
      const selected = drawClaimAudit(seed, c.id as Hex, 5000);
      await expect(f.manager.connect(who).drawAudit(c.claim)).to.emit(f.manager, "AuditDrawn").withArgs(c.id, selected, 0, selected ? audit.deadline : 0n);
    }
  });

  it("a missed audit of a claim answering a request reopens the request; the bond goes to the treasury", async () => {
    const f = await audited();
    const requestId = await request(f);
    const c = await answer(f, requestId);
    await networkHelpers.mine(1);
    await f.manager.drawAudit(c.claim);
    await networkHelpers.time.increaseTo((await auditOf(f, c.id)).deadline);
    await expect(f.manager.slashMissedAudit(c.claim)).to.emit(f.manager, "RequestReopened").withArgs(requestId, c.id);
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Open);
    await expectSolvent(f, [c.claim], [requestId]);
  });
});
