// Attacks on batches, written the way an attacker would try them: forging the batch passed back, taking an audit
// fee or a challenger bond twice, slashing an honest batch, skipping or replaying the audit, a cheater's own second
// address, a re-entering token, bad submissions. Each test says what the attacker wanted.
import { expect } from "chai";
import type { Hex } from "viem";
import { batchId } from "../../sdk/batch.ts";
import {
  AUDIT_FEE, AuditStatus, BatchStatus, LeafStatus, batchStatus, challengeDeadline, counterProveLeaf, expectBatchSolvent,
  loadBatches, proveLeaf, sampleLeaves, submitBatch,
} from "./batch-helpers.ts";
import { E18, MIN_CHALLENGER_BOND, MIN_PROVIDER_BOND, STAKE, ethers, networkHelpers, sampleOutputs } from "./helpers.ts";

const REWARD = (MIN_PROVIDER_BOND * 5000n) / 10_000n;

describe("batches: attacks", () => {
  it("a forged batch (higher bond, lower audit rate, other provider, larger size) passed back is unknown", async () => {
    // The attacker wanted to finalize for more than it locked, dodge its audit, or settle someone else's batch.
    const f = await loadBatches();
    await f.batches.connect(f.treasury).setAuditPolicy(f.modelId, 10_000, AUDIT_FEE);
    const b = await submitBatch(f);
    for (const forged of [
      { ...b.batch, bond: b.batch.bond * 2n },
      { ...b.batch, auditRateBps: 0 },
      { ...b.batch, auditFee: AUDIT_FEE * 100n },
      { ...b.batch, provider: f.other.address as Hex },
      { ...b.batch, size: b.batch.size + 1 },
    ]) {
      await expect(f.batches.finalizeBatch(forged)).to.be.revertedWithCustomError(f.batches, "UnknownBatch").withArgs(batchId(forged));
      await expect(f.batches.connect(f.challenger).challengeLeaf(forged, 0)).to.be.revertedWithCustomError(f.batches, "UnknownBatch");
    }
    expect(await f.batches.hashBatch(b.batch)).to.equal(b.id);
  });

  it("anyone may prove an audit, but the fee goes to the batch's provider", async () => {
    // The attacker proved someone else's audited leaf (the data is public) to collect the fee itself.
    const f = await loadBatches();
    await f.batches.connect(f.treasury).setAuditPolicy(f.modelId, 10_000, AUDIT_FEE);
    const b = await submitBatch(f);
    await networkHelpers.mine(1);
    await f.batches.drawAudit(b.batch);
    const { auditIndex } = await batchStatus(f, b.id);
    await proveLeaf(f, f.other, b, auditIndex);
    expect(await f.batches.credits(f.other.address)).to.equal(0n);
    expect(await f.batches.credits(f.provider.address)).to.equal(AUDIT_FEE);
  });

  it("an honest batch cannot be slashed: not through a proven position, an answered or clear audit, nor a counter-proof of the true outputs", async () => {
    const f = await loadBatches();
    await f.batches.connect(f.treasury).setAuditPolicy(f.modelId, 10_000, AUDIT_FEE);
    const b = await submitBatch(f);
    await networkHelpers.mine(1);
    await f.batches.drawAudit(b.batch);
    const { auditIndex } = await batchStatus(f, b.id);
    const other = (auditIndex + 1) % 4;
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, other);
    await proveLeaf(f, f.provider, b, other);
    await proveLeaf(f, f.provider, b, auditIndex);
    await expect(f.batches.slashBatch(b.batch, other)).to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus").withArgs(b.id, other, LeafStatus.Proven);
    await expect(f.batches.slashBatch(b.batch, (auditIndex + 2) % 4)).to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus").withArgs(b.id, (auditIndex + 2) % 4, LeafStatus.None);
    await expect(f.batches.slashMissedAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditNotMissed").withArgs(b.id, AuditStatus.Answered);
    await networkHelpers.mine(300); // long past the seed: an answered audit is not "missed"
    await networkHelpers.time.increaseTo((await challengeDeadline(f, b.id)) + 100_000n);
    await expect(f.batches.slashMissedAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditNotMissed");
    await f.batches.finalizeBatch(b.batch);
    await expect(f.batches.slashMissedAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus").withArgs(b.id, BatchStatus.Finalized);
    await expect(f.batches.reclaimChallengerBond(b.batch, other)).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus").withArgs(b.id, BatchStatus.Finalized);
    expect(await f.batches.freeStake(f.provider.address)).to.equal(STAKE + MIN_CHALLENGER_BOND - (MIN_CHALLENGER_BOND * 500n) / 10_000n);
    await expectBatchSolvent(f, [b]);
  });

  it("a cheater that challenges its own batch from a second address and lets the slash happen still loses half its bond", async () => {
    // The cheater (provider) wanted its bond back through a sock puppet's slash reward before an honest challenger
    // found the lie.
    const f = await loadBatches();
    const b = await submitBatch(f); // provider = cheater, other = its second address
    await f.batches.connect(f.other).challengeLeaf(b.batch, 0);
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 3); // the honest challenger, on the real lie
    const [, d] = await f.batches.leafChallenge(b.id, 0);
    await networkHelpers.time.increaseTo(d);
    await f.batches.slashBatch(b.batch, 0);
    await f.batches.reclaimChallengerBond(b.batch, 3);
    const cheaterTotal = (await f.batches.freeStake(f.provider.address)) + (await f.batches.freeStake(f.other.address));
    expect(cheaterTotal).to.equal(2n * STAKE - MIN_PROVIDER_BOND + REWARD); // lost bond - reward = half
    expect(await f.batches.freeStake(f.challenger.address)).to.equal(STAKE); // its bond back
    await expectBatchSolvent(f, [b]);
  });

  it("skipping the draw does not give a second chance: an undrawn audit past its seed slashes the whole bond to the treasury, and challengers still reclaim", async () => {
    // A cheater with a lie never draws, hoping a late draw from another block might come out clear.
    const f = await loadBatches();
    await f.batches.connect(f.treasury).setAuditPolicy(f.modelId, 10_000, AUDIT_FEE);
    const b = await submitBatch(f);
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 2);
    await networkHelpers.mine(260);
    await expect(f.batches.drawAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditSeedGone");
    await f.batches.connect(f.other).slashMissedAudit(b.batch);
    expect(await f.batches.credits(f.treasury.address)).to.equal(MIN_PROVIDER_BOND);
    await f.batches.reclaimChallengerBond(b.batch, 2);
    expect(await f.batches.freeStake(f.challenger.address)).to.equal(STAKE);
    await expectBatchSolvent(f, [b]);
  });

  it("a slashed batch pays once: no second slash, no proof after, no reclaim of the paid challenger", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f);
    await counterProveLeaf(f, f.other, b, 1, sampleOutputs(50n));
    await expect(counterProveLeaf(f, f.challenger, b, 2, sampleOutputs(51n))).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus").withArgs(b.id, BatchStatus.Slashed);
    await expect(f.batches.slashMissedAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus");
    await expect(f.batches.finalizeBatch(b.batch)).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus");
    await expect(f.batches.connect(f.challenger).challengeLeaf(b.batch, 0)).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus");
    await expect(f.batches.drawAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus");
    await expect(f.batches.reclaimChallengerBond(b.batch, 1)).to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus").withArgs(b.id, 1, LeafStatus.None);
    await expectBatchSolvent(f, [b]);
  });

  it("a challenger without enough free stake cannot challenge; the provider cannot lock stake it does not have", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f);
    const [, , , , poor] = await ethers.getSigners();
    await expect(f.batches.connect(poor!).challengeLeaf(b.batch, 0))
      .to.be.revertedWithCustomError(f.batches, "InsufficientStake").withArgs(poor!.address, 0, MIN_CHALLENGER_BOND);
    await expect(submitBatch(f, { bond: STAKE })).to.be.revertedWithCustomError(f.batches, "InsufficientStake")
      .withArgs(f.provider.address, STAKE - MIN_PROVIDER_BOND, STAKE);
  });

  it("bad submissions are refused with the reason: size 0 or above the maximum, zero root, bond below the minimum, deprecated or unknown model, the same batch twice", async () => {
    const f = await loadBatches();
    const m = f.batches.connect(f.provider);
    const root = ethers.keccak256("0x01");
    const max = await f.batches.MAX_BATCH_SIZE();
    expect(max).to.equal(2n ** 20n);
    await expect(m.submitBatch(f.modelId, root, 0, MIN_PROVIDER_BOND, "")).to.be.revertedWithCustomError(f.batches, "InvalidBatchSize").withArgs(0, max);
    await expect(m.submitBatch(f.modelId, root, max + 1n, MIN_PROVIDER_BOND, "")).to.be.revertedWithCustomError(f.batches, "InvalidBatchSize").withArgs(max + 1n, max);
    await expect(m.submitBatch(f.modelId, ethers.ZeroHash, 4, MIN_PROVIDER_BOND, "")).to.be.revertedWithCustomError(f.batches, "EmptyRoot");
    await expect(m.submitBatch(f.modelId, root, 4, MIN_PROVIDER_BOND - 1n, "")).to.be.revertedWithCustomError(f.batches, "BondBelowMinimum").withArgs(MIN_PROVIDER_BOND - 1n, MIN_PROVIDER_BOND);
    await expect(m.submitBatch(ethers.keccak256("0x99"), root, 4, MIN_PROVIDER_BOND, "")).to.be.revertedWithCustomError(f.registry, "UnknownModel");
    await m.submitBatch(f.modelId, root, max, MIN_PROVIDER_BOND, "");
    await expect(m.submitBatch(f.modelId, root, max, MIN_PROVIDER_BOND, "")).to.be.revertedWithCustomError(f.batches, "BatchAlreadyExists");
    await f.registry.connect(f.modelOwner).deprecateModel(f.modelId);
    await expect(m.submitBatch(f.modelId, root, 5, MIN_PROVIDER_BOND, "")).to.be.revertedWithCustomError(f.batches, "ModelIsDeprecated").withArgs(f.modelId);
  });

  it("a re-entering token cannot get through the guard (unstake, withdraw, audit pool); a fee-on-transfer token is refused", async () => {
    const f = await loadBatches();
    const evil = await ethers.deployContract("ReentrantERC20");
    const m = await ethers.deployContract("BatchManager", [evil, f.registry, f.treasury.address, 500, 5000, 0, 0]);
    await evil.mint(f.provider.address, 1000n);
    await evil.connect(f.provider).approve(await m.getAddress(), 1000n);
    await m.connect(f.provider).stake(500n);
    await evil.arm(await m.getAddress(), m.interface.encodeFunctionData("unstake", [500n]));
    await expect(m.connect(f.provider).unstake(500n)).to.be.revertedWithCustomError(m, "ReentrancyGuardReentrantCall");
    await evil.arm(await m.getAddress(), m.interface.encodeFunctionData("stake", [1n]));
    await expect(m.connect(f.provider).fundAuditPool(100n)).to.be.revertedWithCustomError(m, "ReentrancyGuardReentrantCall");
    expect(await m.freeStake(f.provider.address)).to.equal(500n);
    expect(await m.auditPool()).to.equal(0n);
    expect(await evil.balanceOf(await m.getAddress())).to.equal(500n);

    const fot = await ethers.deployContract("FeeOnTransferERC20");
    const n = await ethers.deployContract("BatchManager", [fot, f.registry, f.treasury.address, 500, 5000, 0, 0]);
    await fot.mint(f.provider.address, 1000n);
    await fot.connect(f.provider).approve(await n.getAddress(), 1000n);
    await expect(n.connect(f.provider).stake(1000n)).to.be.revertedWithCustomError(n, "TransferAmountMismatch").withArgs(1000n, 990n);
    await expect(n.connect(f.provider).fundAuditPool(1000n)).to.be.revertedWithCustomError(n, "TransferAmountMismatch").withArgs(1000n, 990n);
  });

  it("stake, unstake, withdraw and the audit pool move exactly what they say; the treasury withdraws its credits", async () => {
    const f = await loadBatches();
    await expect(f.batches.connect(f.provider).unstake(STAKE + 1n)).to.be.revertedWithCustomError(f.batches, "InsufficientStake").withArgs(f.provider.address, STAKE, STAKE + 1n);
    await expect(f.batches.connect(f.provider).withdraw(1n)).to.be.revertedWithCustomError(f.batches, "InsufficientCredit").withArgs(f.provider.address, 0n, 1n);
    await expect(f.batches.connect(f.provider).stake(0)).to.be.revertedWithCustomError(f.batches, "ZeroAmount");
    await expect(f.batches.connect(f.provider).fundAuditPool(0)).to.be.revertedWithCustomError(f.batches, "ZeroAmount");
    const b = await submitBatch(f);
    await counterProveLeaf(f, f.other, b, 0, sampleOutputs(8n));
    const before = await f.token.balanceOf(f.treasury.address);
    await f.batches.connect(f.treasury).withdraw(MIN_PROVIDER_BOND - REWARD);
    expect(await f.token.balanceOf(f.treasury.address)).to.equal(before + MIN_PROVIDER_BOND - REWARD);
    await f.batches.connect(f.other).unstake(STAKE + REWARD);
    expect(await f.batches.freeStake(f.other.address)).to.equal(0n);
    await expectBatchSolvent(f, [b]);
  });

  it("constructor refuses a zero address, itself as treasury, a fee above 100%, a slash reward above 50% or an audit rate above 100%", async () => {
    const f = await loadBatches();
    const factory = await ethers.getContractFactory("BatchManager");
    const self = ethers.getCreateAddress({ from: f.deployer.address, nonce: await f.deployer.getNonce() });
    const t = await f.token.getAddress();
    const r = await f.registry.getAddress();
    const tr = f.treasury.address;
    for (const bad of [
      [ethers.ZeroAddress, r, tr, 500, 5000, 0, 0], [t, ethers.ZeroAddress, tr, 500, 5000, 0, 0], [t, r, ethers.ZeroAddress, 500, 5000, 0, 0],
      [t, r, self, 500, 5000, 0, 0], [t, r, tr, 10_001, 5000, 0, 0], [t, r, tr, 500, 5001, 0, 0], [t, r, tr, 500, 5000, 10_001, 0],
    ] as const) {
      await expect(factory.deploy(bad[0], bad[1], bad[2], bad[3], bad[4], bad[5], bad[6])).to.be.revertedWithCustomError(factory, "InvalidProtocolConfig");
    }
    await factory.deploy(t, r, tr, 10_000, 5000, 10_000, 10n * E18);
  });

  it("several batches of one provider on the same leaves are separate: proving one does not settle the other", async () => {
    const f = await loadBatches();
    const leaves = sampleLeaves(4);
    const a = await submitBatch(f, { leaves });
    const b = await submitBatch(f, { leaves, bond: MIN_PROVIDER_BOND + 1n });
    expect(a.id).to.not.equal(b.id);
    await f.batches.connect(f.challenger).challengeLeaf(a.batch, 1);
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 1);
    await proveLeaf(f, f.provider, a, 1);
    expect(Number((await f.batches.leafChallenge(b.id, 1))[0])).to.equal(LeafStatus.Challenged);
    await expectBatchSolvent(f, [a, b]);
  });
});
