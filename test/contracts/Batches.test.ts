// Batched claims and random forced audits (contracts/BatchManager.sol): the lifecycle with its edge times, Merkle
// paths, challenges by position, audits, the missed-draw rule, counter-proofs and solvency. Attacks on bonds, fees
// and rewards are in BatchAttacks.test.ts.
import { expect } from "chai";
import type { Hex } from "viem";
import { batchLeaf, drawBatchAudit } from "../../sdk/batch.ts";
import { outputHash } from "../../sdk/signals.ts";
import {
  AUDIT_FEE, AUDIT_POOL, AuditStatus, BatchStatus, LeafStatus, SlashReason, batchStatus, challengeDeadline,
  counterProveLeaf, expectBatchSolvent, loadBatches, loadRealBatches, proveLeaf, sampleLeaves, submitBatch,
  type BatchFixture,
} from "./batch-helpers.ts";
import {
  MIN_CHALLENGER_BOND, MIN_PROVIDER_BOND, PROOF_WINDOW, STAKE, ZERO_PROOF, atTime, ethers, networkHelpers,
  sampleOutputs, type Proof,
} from "./helpers.ts";

const FEE = (MIN_CHALLENGER_BOND * 500n) / 10_000n;
const REWARD = (MIN_PROVIDER_BOND * 5000n) / 10_000n;

/** Mines the seed block (the one after submission) and draws the audit. */
async function draw(f: BatchFixture, b: { batch: Parameters<BatchFixture["batches"]["drawAudit"]>[0] }) {
  await networkHelpers.mine(1);
  return f.batches.drawAudit(b.batch);
}

async function auditAll(f: BatchFixture, rate = 10_000) {
  await f.batches.connect(f.treasury).setAuditPolicy(f.modelId, rate, AUDIT_FEE);
}

describe("batches: lifecycle", () => {
  it("submit locks one bond and emits the batch; finalize at exactly the deadline (not a second before) frees it; every leaf is then settled", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f, { leaves: sampleLeaves(5) });
    const deadline = await challengeDeadline(f, b.id);
    await expect(b.tx).to.emit(f.batches, "BatchSubmitted")
      .withArgs(b.id, f.modelId, f.provider.address, Object.values(b.batch), deadline, "https://provider.example/batches/1");
    expect(await f.batches.freeStake(f.provider.address)).to.equal(STAKE - MIN_PROVIDER_BOND);
    const s = await batchStatus(f, b.id);
    expect(s.status).to.equal(BatchStatus.Submitted);
    expect(s.audit).to.equal(AuditStatus.Clear); // rate 0: nothing to draw
    expect(s.block).to.equal(BigInt(b.block));
    const l = b.leaves[2]!;
    expect(await f.batches.isSettledLeaf(b.batch, 2, l.inputHash, l.outputs, b.tree.path(2))).to.equal(false);
    await atTime(deadline - 1n);
    await expect(f.batches.finalizeBatch(b.batch)).to.be.revertedWithCustomError(f.batches, "ChallengeWindowOpen").withArgs(b.id, deadline);
    await atTime(deadline);
    await expect(f.batches.finalizeBatch(b.batch)).to.emit(f.batches, "BatchFinalized").withArgs(b.id);
    expect(await f.batches.freeStake(f.provider.address)).to.equal(STAKE);
    for (let i = 0; i < 5; i++) {
      const x = b.leaves[i]!;
      expect(await f.batches.isSettledLeaf(b.batch, i, x.inputHash, x.outputs, b.tree.path(i))).to.equal(true);
    }
    // Other outputs, another index or another path are not settled.
    expect(await f.batches.isSettledLeaf(b.batch, 2, l.inputHash, sampleOutputs(99n), b.tree.path(2))).to.equal(false);
    expect(await f.batches.isSettledLeaf(b.batch, 3, l.inputHash, l.outputs, b.tree.path(3))).to.equal(false);
    expect(await f.batches.isSettledLeaf(b.batch, 2, l.inputHash, l.outputs, b.tree.path(2).slice(1))).to.equal(false);
    expect(await f.batches.isSettledLeaf(b.batch, 5, l.inputHash, l.outputs, b.tree.path(2))).to.equal(false);
    await expect(f.batches.finalizeBatch(b.batch)).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus").withArgs(b.id, BatchStatus.Finalized);
    await expectBatchSolvent(f, [b]);
  });

  it("a challenge is accepted a second before the deadline and refused at it", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f);
    const deadline = await challengeDeadline(f, b.id);
    await atTime(deadline - 1n);
    await expect(f.batches.connect(f.challenger).challengeLeaf(b.batch, 1))
      .to.emit(f.batches, "LeafChallenged").withArgs(b.id, 1, f.challenger.address, MIN_CHALLENGER_BOND, deadline - 1n + PROOF_WINDOW);
    await atTime(deadline);
    await expect(f.batches.connect(f.challenger).challengeLeaf(b.batch, 2))
      .to.be.revertedWithCustomError(f.batches, "ChallengeWindowClosed").withArgs(b.id, deadline);
    expect(await f.batches.freeStake(f.challenger.address)).to.equal(STAKE - MIN_CHALLENGER_BOND);
    await expectBatchSolvent(f, [b]);
  });

  it("a challenged position proven a second before its proof deadline pays the challenger bond (less the fee) to the provider; at the deadline a proof answers nothing and the batch is slashable", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f);
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 0);
    const [, proofDeadline] = await f.batches.leafChallenge(b.id, 0);
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 3);
    await atTime(proofDeadline - 1n);
    await expect(f.batches.connect(f.challenger).slashBatch(b.batch, 0))
      .to.be.revertedWithCustomError(f.batches, "ProofWindowOpen").withArgs(b.id, 0, proofDeadline);
    await atTime(proofDeadline);
    await expect(proveLeaf(f, f.provider, b, 3)).to.emit(f.batches, "LeafProven"); // position 3: its deadline is later
    const [, d3] = await f.batches.leafChallenge(b.id, 3);
    expect(d3).to.be.greaterThan(proofDeadline);
    await expect(proveLeaf(f, f.provider, b, 0)).to.be.revertedWithCustomError(f.batches, "NothingToAnswer").withArgs(b.id, 0);
    await expect(f.batches.connect(f.other).slashBatch(b.batch, 0)).to.emit(f.batches, "BatchSlashed")
      .withArgs(b.id, f.challenger.address, REWARD, MIN_PROVIDER_BOND - REWARD, SlashReason.Unproven, 0);
    // Position 3's challenge was answered: the challenger lost that bond to the provider; position 0's came back.
    expect(await f.batches.freeStake(f.challenger.address)).to.equal(STAKE - MIN_CHALLENGER_BOND + REWARD);
    expect(await f.batches.freeStake(f.provider.address)).to.equal(STAKE - MIN_PROVIDER_BOND + MIN_CHALLENGER_BOND - FEE);
    expect(await f.batches.credits(f.treasury.address)).to.equal(FEE + MIN_PROVIDER_BOND - REWARD);
    await expectBatchSolvent(f, [b]);
  });

  it("proving one position before its deadline: LeafProven pays, the position cannot be challenged again, and a proof with nothing to answer is refused", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f);
    await expect(proveLeaf(f, f.provider, b, 1)).to.be.revertedWithCustomError(f.batches, "NothingToAnswer").withArgs(b.id, 1);
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 1);
    expect((await batchStatus(f, b.id)).open).to.equal(1);
    await expect(proveLeaf(f, f.other, b, 1)).to.emit(f.batches, "LeafProven").withArgs(b.id, 1, f.other.address, MIN_CHALLENGER_BOND - FEE, FEE);
    expect((await batchStatus(f, b.id)).open).to.equal(0);
    const [ls] = await f.batches.leafChallenge(b.id, 1);
    expect(Number(ls)).to.equal(LeafStatus.Proven);
    await expect(f.batches.connect(f.other).challengeLeaf(b.batch, 1))
      .to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus").withArgs(b.id, 1, LeafStatus.Proven);
    await expect(proveLeaf(f, f.provider, b, 1)).to.be.revertedWithCustomError(f.batches, "NothingToAnswer");
    await networkHelpers.time.increaseTo(await challengeDeadline(f, b.id));
    await f.batches.finalizeBatch(b.batch);
    await expectBatchSolvent(f, [b]);
  });

  it("challenges of several positions: all proven -> finalize", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f, { leaves: sampleLeaves(8) });
    for (const i of [0, 5, 7]) await f.batches.connect(i === 5 ? f.other : f.challenger).challengeLeaf(b.batch, i);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, b.id));
    await expect(f.batches.finalizeBatch(b.batch)).to.be.revertedWithCustomError(f.batches, "ChallengesOpen").withArgs(b.id, 3);
    for (const i of [0, 5]) await proveLeaf(f, f.provider, b, i);
    await expect(f.batches.finalizeBatch(b.batch)).to.be.revertedWithCustomError(f.batches, "ChallengesOpen").withArgs(b.id, 1);
    await proveLeaf(f, f.provider, b, 7);
    await f.batches.finalizeBatch(b.batch);
    expect(await f.batches.freeStake(f.provider.address)).to.equal(STAKE + 3n * (MIN_CHALLENGER_BOND - FEE));
    await expectBatchSolvent(f, [b]);
  });

  it("challenges of several positions: one unproven -> the whole batch is slashed, the others' challengers reclaim their bonds once", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f, { leaves: sampleLeaves(8) });
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 2);
    await f.batches.connect(f.other).challengeLeaf(b.batch, 4);
    await f.batches.connect(f.other).challengeLeaf(b.batch, 6);
    await proveLeaf(f, f.provider, b, 6);
    await expect(f.batches.connect(f.other).reclaimChallengerBond(b.batch, 4))
      .to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus").withArgs(b.id, BatchStatus.Submitted);
    const [, d2] = await f.batches.leafChallenge(b.id, 2);
    await networkHelpers.time.increaseTo(d2);
    await f.batches.slashBatch(b.batch, 2);
    await expect(f.batches.slashBatch(b.batch, 4)).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus").withArgs(b.id, BatchStatus.Slashed);
    await expect(proveLeaf(f, f.provider, b, 4)).to.be.revertedWithCustomError(f.batches, "InvalidBatchStatus");
    await expectBatchSolvent(f, [b]);
    await expect(f.batches.reclaimChallengerBond(b.batch, 4))
      .to.emit(f.batches, "ChallengerBondReclaimed").withArgs(b.id, 4, f.other.address, MIN_CHALLENGER_BOND);
    await expect(f.batches.reclaimChallengerBond(b.batch, 4)).to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus").withArgs(b.id, 4, LeafStatus.Released);
    // The slashing position's challenger got its bond back with the reward: no second payment.
    await expect(f.batches.reclaimChallengerBond(b.batch, 2)).to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus").withArgs(b.id, 2, LeafStatus.Released);
    await expect(f.batches.reclaimChallengerBond(b.batch, 6)).to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus").withArgs(b.id, 6, LeafStatus.Proven);
    expect(await f.batches.freeStake(f.other.address)).to.equal(STAKE - MIN_CHALLENGER_BOND); // lost 6, got 4 back
    expect(await f.batches.freeStake(f.challenger.address)).to.equal(STAKE + REWARD);
    await expectBatchSolvent(f, [b]);
  });

  it("a challenge of a position whose leaf the provider cannot prove (the tree holds garbage there) ends in a slash", async () => {
    const f = await loadBatches();
    const leaves = sampleLeaves(4);
    const hashes = leaves.map((l, i) => batchLeaf(f.modelId as Hex, l.inputHash, l.outputs, i));
    hashes[3] = ethers.keccak256("0xdead") as Hex; // nothing hashes to this leaf: no data can ever prove it
    const b = await submitBatch(f, { leaves, leafHashes: hashes });
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 3);
    // The provider tries its best guess of the data: the path check refuses it.
    await expect(proveLeaf(f, f.provider, b, 3)).to.be.revertedWithCustomError(f.batches, "InvalidMerklePath").withArgs(b.id, 3);
    const [, d] = await f.batches.leafChallenge(b.id, 3);
    await networkHelpers.time.increaseTo(d);
    await f.batches.slashBatch(b.batch, 3);
    expect((await batchStatus(f, b.id)).status).to.equal(BatchStatus.Slashed);
    await expectBatchSolvent(f, [b]);
  });

  it("a position is challenged once; positions past the size cannot be challenged", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f, { leaves: sampleLeaves(3) });
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 1);
    await expect(f.batches.connect(f.other).challengeLeaf(b.batch, 1))
      .to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus").withArgs(b.id, 1, LeafStatus.Challenged);
    await expect(f.batches.connect(f.challenger).challengeLeaf(b.batch, 1)).to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus");
    await expect(f.batches.connect(f.other).challengeLeaf(b.batch, 3)).to.be.revertedWithCustomError(f.batches, "IndexOutOfRange").withArgs(3, 3);
    expect((await batchStatus(f, b.id)).open).to.equal(1);
    await expectBatchSolvent(f, [b]);
  });
});

describe("batches: Merkle paths", () => {
  it("proveLeaf refuses a wrong sibling, a short or long path, another index's leaf, an index past the size and the padding position", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f, { leaves: sampleLeaves(3) }); // depth 2, padded to 4
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 1);
    const l = b.leaves[1]!;
    const path = b.tree.path(1);
    const prove = (index: number, p: string[], leaf = l) => f.batches.proveLeaf(b.batch, index, leaf.inputHash, leaf.outputs, p, ZERO_PROOF);
    await expect(prove(1, [path[0]!, ethers.keccak256("0x01")])).to.be.revertedWithCustomError(f.batches, "InvalidMerklePath").withArgs(b.id, 1);
    await expect(prove(1, [path[1]!, path[0]!])).to.be.revertedWithCustomError(f.batches, "InvalidMerklePath");
    await expect(prove(1, path.slice(0, 1))).to.be.revertedWithCustomError(f.batches, "WrongPathLength").withArgs(2, 1);
    await expect(prove(1, [...path, ethers.ZeroHash])).to.be.revertedWithCustomError(f.batches, "WrongPathLength").withArgs(2, 3);
    // Leaf 0's data and path at index 1: its leaf hash binds index 0.
    await expect(prove(1, b.tree.path(0), b.leaves[0])).to.be.revertedWithCustomError(f.batches, "InvalidMerklePath");
    // The padding position (3 of a batch of 3, holding bytes32(0)) and anything past it are not claims.
    await expect(prove(3, b.tree.path(2))).to.be.revertedWithCustomError(f.batches, "IndexOutOfRange").withArgs(3, 3);
    await expect(prove(4, path)).to.be.revertedWithCustomError(f.batches, "IndexOutOfRange").withArgs(4, 3);
    await expect(prove(1, path)).to.emit(f.batches, "LeafProven");
    await expectBatchSolvent(f, [b]);
  });

  it("a batch of one claim has the leaf as its root and an empty path", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f, { leaves: sampleLeaves(1) });
    expect(b.tree.depth).to.equal(0);
    expect(b.batch.root).to.equal(batchLeaf(f.modelId as Hex, b.leaves[0]!.inputHash, b.leaves[0]!.outputs, 0));
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 0);
    await expect(f.batches.proveLeaf(b.batch, 0, b.leaves[0]!.inputHash, b.leaves[0]!.outputs, [ethers.ZeroHash], ZERO_PROOF))
      .to.be.revertedWithCustomError(f.batches, "WrongPathLength").withArgs(0, 1);
    await expect(proveLeaf(f, f.provider, b, 0)).to.emit(f.batches, "LeafProven");
  });

  it("a cheater's tree holding two leaves for one index cannot pass: only the leaf at that position verifies (a sorted-pair tree would accept both)", async () => {
    const f = await loadBatches();
    const honest = { inputHash: 42n, outputs: sampleOutputs(1n) };
    const lie = { inputHash: 42n, outputs: sampleOutputs(2n) };
    const h0 = batchLeaf(f.modelId as Hex, honest.inputHash, honest.outputs, 0);
    const l0 = batchLeaf(f.modelId as Hex, lie.inputHash, lie.outputs, 0);
    // Both leaves claim index 0; the cheater puts them side by side.
    const b = await submitBatch(f, { leaves: [honest, lie], leafHashes: [h0, l0] });
    // OpenZeppelin's sorted-pair rule would accept the lie at index 0 with the honest leaf as its sibling.
    const sortedRoot = BigInt(h0) < BigInt(l0) ? ethers.keccak256(ethers.concat([h0, l0])) : ethers.keccak256(ethers.concat([l0, h0]));
    expect(sortedRoot).to.equal(ethers.keccak256(ethers.concat([l0 < h0 ? l0 : h0, l0 < h0 ? h0 : l0])));
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 0);
    // The audit or challenge of position 0 is answered with the honest leaf...
    await f.batches.proveLeaf(b.batch, 0, honest.inputHash, honest.outputs, [l0], ZERO_PROOF);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, b.id));
    await f.batches.finalizeBatch(b.batch);
    expect(await f.batches.isSettledLeaf(b.batch, 0, honest.inputHash, honest.outputs, [l0])).to.equal(true);
    // ...and the lie cannot be shown to a consumer at index 0 (wrong side) nor at index 1 (its leaf binds index 0).
    expect(await f.batches.isSettledLeaf(b.batch, 0, lie.inputHash, lie.outputs, [h0])).to.equal(false);
    expect(await f.batches.isSettledLeaf(b.batch, 1, lie.inputHash, lie.outputs, [h0])).to.equal(false);
  });
});

describe("batches: audits", () => {
  it("rate 10000 always selects; the draw needs the next block's hash, happens once, and matches the SDK's formula", async () => {
    const f = await loadBatches();
    await auditAll(f);
    const b = await submitBatch(f, { leaves: sampleLeaves(7) });
    expect((await batchStatus(f, b.id)).audit).to.equal(AuditStatus.Undrawn);
    // This transaction lands in block submittedBlock + 1, whose hash does not exist yet.
    await expect(f.batches.drawAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditNotDrawable").withArgs(b.id, b.block + 1);
    await networkHelpers.mine(1); // block submittedBlock + 1 now exists; the draw goes into the one after
    const tx = await f.batches.connect(f.other).drawAudit(b.batch);
    const seed = (await ethers.provider.getBlock(b.block + 1))!.hash as Hex;
    const want = drawBatchAudit(seed, b.id, 10_000, 7);
    expect(want.selected).to.equal(true);
    const deadline = (await challengeDeadline(f, b.id)) + PROOF_WINDOW;
    await expect(tx).to.emit(f.batches, "AuditDrawn").withArgs(b.id, true, want.index, deadline);
    const s = await batchStatus(f, b.id);
    expect([s.audit, s.auditIndex]).to.deep.equal([AuditStatus.Selected, want.index]);
    await expect(f.batches.drawAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditAlreadyDrawn").withArgs(b.id, AuditStatus.Selected);
  });

  it("draws at partial rates agree with the SDK for many batches", async () => {
    const f = await loadBatches();
    await auditAll(f, 5000);
    await f.batches.connect(f.provider).stake(STAKE);
    let selected = 0;
    for (let k = 0; k < 12; k++) {
      const b = await submitBatch(f, { leaves: sampleLeaves(3 + k, BigInt(k) * 100n) });
      await networkHelpers.mine(1);
      await f.batches.drawAudit(b.batch);
      const seed = (await ethers.provider.getBlock(b.block + 1))!.hash as Hex;
      const want = drawBatchAudit(seed, b.id, 5000, 3 + k);
      const s = await batchStatus(f, b.id);
      expect(s.audit).to.equal(want.selected ? AuditStatus.Selected : AuditStatus.Clear);
      if (want.selected) { selected++; expect(s.auditIndex).to.equal(want.index); }
    }
    expect(selected).to.be.greaterThan(0).and.lessThan(12);
  });

  it("rate 0 never selects (no draw needed); a clear audit lets the batch finalize", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f);
    await expect(f.batches.drawAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditAlreadyDrawn").withArgs(b.id, AuditStatus.Clear);
    await expect(f.batches.slashMissedAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditNotMissed").withArgs(b.id, AuditStatus.Clear);
    await networkHelpers.mine(300); // the seed would be long gone: irrelevant at rate 0
    await networkHelpers.time.increaseTo(await challengeDeadline(f, b.id));
    await f.batches.finalizeBatch(b.batch);
  });

  it("a selected audit proven a second before the audit deadline pays the audit fee from the pool; at the deadline it is missed and the whole bond goes to the treasury", async () => {
    const f = await loadBatches();
    await auditAll(f);
    const b = await submitBatch(f);
    await networkHelpers.time.increase(100);
    const b2 = await submitBatch(f, { leaves: sampleLeaves(4, 50n) });
    await draw(f, b);
    await f.batches.drawAudit(b2.batch);
    const deadline = (await challengeDeadline(f, b.id)) + PROOF_WINDOW;
    const deadline2 = (await challengeDeadline(f, b2.id)) + PROOF_WINDOW;
    const { auditIndex } = await batchStatus(f, b.id);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, b.id));
    await expect(f.batches.finalizeBatch(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditPending").withArgs(b.id, auditIndex, deadline);
    await atTime(deadline - 1n);
    await expect(f.batches.slashMissedAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditNotMissed").withArgs(b.id, AuditStatus.Selected);
    await atTime(deadline);
    await expect(proveLeaf(f, f.provider, b, (auditIndex + 1) % 4)).to.be.revertedWithCustomError(f.batches, "NothingToAnswer");
    await atTime(deadline + 1n);
    // The second batch's position is proven a second before its audit deadline (deadline2 = deadline + its delay).
    const i2 = (await batchStatus(f, b2.id)).auditIndex;
    expect(deadline2).to.be.greaterThan(deadline + 1n);
    await atTime(deadline2 - 1n);
    await expect(proveLeaf(f, f.other, b2, i2)).to.emit(f.batches, "AuditAnswered").withArgs(b2.id, i2, AUDIT_FEE);
    expect(await f.batches.credits(f.provider.address)).to.equal(AUDIT_FEE);
    expect(await f.batches.auditPool()).to.equal(AUDIT_POOL - AUDIT_FEE);
    await f.batches.finalizeBatch(b2.batch);
    // The first batch's audit is late: a proof answers nothing; anyone slashes it, the bond to the treasury.
    await expect(proveLeaf(f, f.provider, b, auditIndex)).to.be.revertedWithCustomError(f.batches, "NothingToAnswer");
    await expect(f.batches.connect(f.other).slashMissedAudit(b.batch)).to.emit(f.batches, "BatchSlashed")
      .withArgs(b.id, f.treasury.address, 0, MIN_PROVIDER_BOND, SlashReason.AuditUnanswered, auditIndex);
    expect(await f.batches.credits(f.treasury.address)).to.equal(MIN_PROVIDER_BOND);
    await expectBatchSolvent(f, [b, b2]);
  });

  it("an audit at an already-challenged position is answered, with the challenge, by one proof", async () => {
    const f = await loadBatches();
    await auditAll(f);
    const b = await submitBatch(f, { leaves: sampleLeaves(5) });
    await draw(f, b);
    const { auditIndex } = await batchStatus(f, b.id);
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, auditIndex);
    const tx = await proveLeaf(f, f.provider, b, auditIndex);
    await expect(tx).to.emit(f.batches, "LeafProven").withArgs(b.id, auditIndex, f.provider.address, MIN_CHALLENGER_BOND - FEE, FEE);
    await expect(tx).to.emit(f.batches, "AuditAnswered").withArgs(b.id, auditIndex, AUDIT_FEE);
    const s = await batchStatus(f, b.id);
    expect([s.audit, s.open]).to.deep.equal([AuditStatus.Answered, 0]);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, b.id));
    await f.batches.finalizeBatch(b.batch);
    await expectBatchSolvent(f, [b]);
  });

  it("finalize draws an undrawn audit inline: clear -> finalized; selected -> AuditPending, and the draw is the same when drawn again", async () => {
    const f = await loadBatches();
    await auditAll(f, 1); // 1 bps: this draw is clear unless the seed says otherwise (checked with the SDK)
    const b = await submitBatch(f);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, b.id));
    const seed = (await ethers.provider.getBlock(b.block + 1))!.hash as Hex;
    const want = drawBatchAudit(seed, b.id, 1, 4);
    if (want.selected) {
      await expect(f.batches.finalizeBatch(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditPending");
    } else {
      await expect(f.batches.finalizeBatch(b.batch)).to.emit(f.batches, "AuditDrawn").withArgs(b.id, false, 0, 0);
      expect((await batchStatus(f, b.id)).status).to.equal(BatchStatus.Finalized);
    }
    // Rate 10000: the inline draw selects, finalize reverts, and the stored draw is what drawAudit then gives.
    await auditAll(f);
    const c = await submitBatch(f);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, c.id));
    const seedC = (await ethers.provider.getBlock(c.block + 1))!.hash as Hex;
    const wantC = drawBatchAudit(seedC, c.id, 10_000, 4);
    await expect(f.batches.finalizeBatch(c.batch)).to.be.revertedWithCustomError(f.batches, "AuditPending").withArgs(c.id, wantC.index, (await challengeDeadline(f, c.id)) + PROOF_WINDOW);
    await f.batches.drawAudit(c.batch);
    expect((await batchStatus(f, c.id)).auditIndex).to.equal(wantC.index);
  });

  it("missed draw: 256 blocks after the seed block the draw still works; one block later the audit is missed and the batch slashed", async () => {
    const f = await loadBatches();
    await auditAll(f);
    const early = await submitBatch(f);
    const late = await submitBatch(f, { leaves: sampleLeaves(4, 7n) }); // one block after `early`
    // Next transaction's block = early.block + 1 + 256: the seed of `early` is still readable (the oldest one).
    await networkHelpers.mine(early.block + 1 + 256 - (await ethers.provider.getBlockNumber()) - 1);
    await expect(f.batches.slashMissedAudit(early.batch)).to.be.revertedWithCustomError(f.batches, "AuditNotMissed").withArgs(early.id, AuditStatus.Undrawn);
    // One block more: `early`'s seed is 257 blocks old, gone.
    await networkHelpers.mine(1);
    await expect(f.batches.drawAudit(early.batch)).to.be.revertedWithCustomError(f.batches, "AuditSeedGone").withArgs(early.id, early.block + 1);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, early.id));
    await expect(f.batches.finalizeBatch(early.batch)).to.be.revertedWithCustomError(f.batches, "AuditSeedGone");
    await expect(f.batches.connect(f.other).slashMissedAudit(early.batch)).to.emit(f.batches, "BatchSlashed")
      .withArgs(early.id, f.treasury.address, 0, MIN_PROVIDER_BOND, SlashReason.AuditMissed, 0);
    await networkHelpers.mine(1);
    await expect(f.batches.drawAudit(late.batch)).to.be.revertedWithCustomError(f.batches, "AuditSeedGone");
    await expectBatchSolvent(f, [early, late]);
  });

  it("the audit at its last readable block: drawn at submittedBlock + 257 (seed 256 blocks old)", async () => {
    const f = await loadBatches();
    await auditAll(f);
    const b = await submitBatch(f);
    await networkHelpers.mine(b.block + 1 + 256 - (await ethers.provider.getBlockNumber()) - 1);
    await expect(f.batches.drawAudit(b.batch)).to.emit(f.batches, "AuditDrawn");
  });

  it("the audit fee is capped by the pool, and a second proof cannot take it twice", async () => {
    const f = await loadBatches();
    await f.batches.connect(f.treasury).setAuditPolicy(f.modelId, 10_000, AUDIT_POOL + 1n);
    const b = await submitBatch(f);
    expect(b.batch.auditFee).to.equal(AUDIT_POOL + 1n);
    await draw(f, b);
    const { auditIndex } = await batchStatus(f, b.id);
    await expect(proveLeaf(f, f.provider, b, auditIndex)).to.emit(f.batches, "AuditAnswered").withArgs(b.id, auditIndex, AUDIT_POOL);
    expect(await f.batches.auditPool()).to.equal(0n);
    await expect(proveLeaf(f, f.provider, b, auditIndex)).to.be.revertedWithCustomError(f.batches, "NothingToAnswer");
    expect(await f.batches.credits(f.provider.address)).to.equal(AUDIT_POOL);
    await expectBatchSolvent(f, [b]);
  });

  it("audit policy: only the treasury sets it, rates above 10000 are refused, batches keep the policy they were submitted under", async () => {
    const f = await loadBatches();
    expect(await f.batches.auditPolicy(f.modelId)).to.deep.equal([0n, AUDIT_FEE]);
    await expect(f.batches.connect(f.provider).setAuditPolicy(f.modelId, 10_000, 0)).to.be.revertedWithCustomError(f.batches, "NotTreasury").withArgs(f.provider.address);
    await expect(f.batches.connect(f.treasury).setAuditPolicy(f.modelId, 10_001, 0)).to.be.revertedWithCustomError(f.batches, "InvalidAuditRate").withArgs(10_001);
    const b = await submitBatch(f); // rate 0
    await expect(f.batches.connect(f.treasury).setAuditPolicy(f.modelId, 10_000, 5n)).to.emit(f.batches, "AuditPolicySet").withArgs(f.modelId, 10_000, 5n);
    expect(await f.batches.auditPolicy(f.modelId)).to.deep.equal([10_000n, 5n]);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, b.id));
    await f.batches.finalizeBatch(b.batch); // still rate 0, no audit
  });
});

describe("batches: counter-proofs", () => {
  it("a counter-proof of an unchallenged leaf inside the window slashes the whole batch, the reward to the revealer", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f);
    const tx = await counterProveLeaf(f, f.other, b, 2, sampleOutputs(77n));
    await expect(tx).to.emit(f.batches, "BatchSlashed").withArgs(b.id, f.other.address, REWARD, MIN_PROVIDER_BOND - REWARD, SlashReason.CounterProven, 2);
    expect(await f.batches.freeStake(f.other.address)).to.equal(STAKE + REWARD);
    await expectBatchSolvent(f, [b]);
  });

  it("counter-proofs: the same outputs, a wrong claimed output hash, a reveal in the commit block, a copied reveal, after the window, or of a proven leaf are refused", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f);
    const l = b.leaves[1]!;
    await expect(counterProveLeaf(f, f.other, b, 1, l.outputs)).to.be.revertedWithCustomError(f.batches, "SameOutputs").withArgs(b.id, 1);
    await expect(counterProveLeaf(f, f.other, b, 1, sampleOutputs(5n), ZERO_PROOF, outputHash(sampleOutputs(6n))))
      .to.be.revertedWithCustomError(f.batches, "InvalidMerklePath");
    const other = sampleOutputs(9n);
    const commitment = await f.batches.hashCounterProof(b.id, 1, l.inputHash, other, ZERO_PROOF);
    // A copier who never committed (the reveal seen in the mempool) gets nothing.
    await f.batches.connect(f.other).commit(commitment);
    await expect(f.batches.connect(f.challenger).counterProveLeaf(b.batch, 1, l.inputHash, outputHash(l.outputs), b.tree.path(1), other, ZERO_PROOF))
      .to.be.revertedWithCustomError(f.batches, "CommitmentNotFound").withArgs(f.challenger.address, commitment);
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 0);
    await proveLeaf(f, f.provider, b, 0);
    await expect(counterProveLeaf(f, f.other, b, 0, sampleOutputs(3n))).to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus").withArgs(b.id, 0, LeafStatus.Proven);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, b.id));
    await expect(f.batches.connect(f.other).counterProveLeaf(b.batch, 1, l.inputHash, outputHash(l.outputs), b.tree.path(1), other, ZERO_PROOF))
      .to.be.revertedWithCustomError(f.batches, "ChallengeWindowClosed");
    await expectBatchSolvent(f, [b]);
  });

  it("front-running: a challenge of the position in the reveal's own block only gets its bond back; a challenge from an earlier block keeps the reward", async () => {
    const f = await loadBatches();
    const b = await submitBatch(f);
    const l = b.leaves[2]!;
    const other = sampleOutputs(11n);
    await f.batches.connect(f.other).commit(await f.batches.hashCounterProof(b.id, 2, l.inputHash, other, ZERO_PROOF));
    // The watcher sees the reveal in the mempool and challenges position 2 ahead of it in the same block.
    await ethers.provider.send("evm_setAutomine", [false]);
    const fast = { maxPriorityFeePerGas: 50n * 10n ** 9n, maxFeePerGas: 100n * 10n ** 9n, gasLimit: 2_000_000n };
    const slow = { maxPriorityFeePerGas: 1n, maxFeePerGas: 100n * 10n ** 9n, gasLimit: 2_000_000n };
    try {
      await f.batches.connect(f.challenger).challengeLeaf(b.batch, 2, fast);
      await f.batches.connect(f.other).counterProveLeaf(b.batch, 2, l.inputHash, outputHash(l.outputs), b.tree.path(2), other, ZERO_PROOF, slow);
      await networkHelpers.mine();
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
    expect((await batchStatus(f, b.id)).status).to.equal(BatchStatus.Slashed);
    expect(await f.batches.freeStake(f.challenger.address)).to.equal(STAKE); // bond back, no reward
    expect(await f.batches.freeStake(f.other.address)).to.equal(STAKE + REWARD);
    await expectBatchSolvent(f, [b]);

    // A challenger from an earlier block found the lie first: a later counter-proof (a cheater's second address)
    // cannot take its reward, even after the window closed.
    const c = await submitBatch(f, { leaves: sampleLeaves(4, 20n) });
    await f.batches.connect(f.challenger).challengeLeaf(c.batch, 1);
    await networkHelpers.time.increaseTo(await challengeDeadline(f, c.id));
    await expect(counterProveLeaf(f, f.provider, c, 1, sampleOutputs(12n)))
      .to.emit(f.batches, "BatchSlashed").withArgs(c.id, f.challenger.address, REWARD, MIN_PROVIDER_BOND - REWARD, SlashReason.CounterProven, 1);
    expect(await f.batches.freeStake(f.challenger.address)).to.equal(STAKE + REWARD);
    await expect(f.batches.reclaimChallengerBond(c.batch, 1)).to.be.revertedWithCustomError(f.batches, "InvalidLeafStatus");
    await expectBatchSolvent(f, [b, c]);
  });
});

describe("batches: real verifier", () => {
  it("proveLeaf checks the Groth16 proof with the leaf's own public signals; a wrong proof or output count is refused; counter-proofs need a real proof", async () => {
    const f = await loadRealBatches();
    const c0 = f.cases[0]!;
    const c1 = f.cases[1]!;
    const leaves = [{ inputHash: c0.inputHash, outputs: c0.outputs }, { inputHash: c1.inputHash, outputs: c1.outputs }, { inputHash: c0.inputHash, outputs: c1.outputs }];
    const b = await submitBatch(f, { leaves }); // position 2 lies: c0's input with c1's outputs
    for (const i of [0, 1, 2]) await f.batches.connect(f.challenger).challengeLeaf(b.batch, i);
    await expect(proveLeaf(f, f.provider, b, 0, c1.proof)).to.be.revertedWithCustomError(f.batches, "InvalidProof").withArgs(b.id, 0);
    await expect(proveLeaf(f, f.provider, b, 0, c0.proof)).to.emit(f.batches, "LeafProven");
    await expect(proveLeaf(f, f.provider, b, 1, c1.proof)).to.emit(f.batches, "LeafProven");
    // The lie has no proof: neither of the real ones fits its signals.
    await expect(proveLeaf(f, f.provider, b, 2, c0.proof)).to.be.revertedWithCustomError(f.batches, "InvalidProof");
    await expect(proveLeaf(f, f.provider, b, 2, c1.proof)).to.be.revertedWithCustomError(f.batches, "InvalidProof");
    // The challenger (or a watcher) counter-proves it with the true outputs and their proof.
    await expect(counterProveLeaf(f, f.other, b, 2, c0.outputs, c0.proof)).to.emit(f.batches, "BatchSlashed")
      .withArgs(b.id, f.challenger.address, 50n * 10n ** 18n, 50n * 10n ** 18n, SlashReason.CounterProven, 2);
    await expectBatchSolvent(f, [b]);
  });

  it("a verifier whose code changed is refused", async () => {
    const f = await loadRealBatches();
    const c0 = f.cases[0]!;
    const b = await submitBatch(f, { leaves: [{ inputHash: c0.inputHash, outputs: c0.outputs.map((v) => v + 1n) }] });
    await f.batches.connect(f.challenger).challengeLeaf(b.batch, 0);
    const yes = await ethers.deployContract("AlwaysYesVerifier");
    await ethers.provider.send("hardhat_setCode", [await f.verifier.getAddress(), await ethers.provider.getCode(await yes.getAddress())]);
    await expect(proveLeaf(f, f.provider, b, 0, [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] as Proof))
      .to.be.revertedWithCustomError(f.batches, "VerifierCodeChanged").withArgs(f.modelId, await f.verifier.getAddress());
    const short = { inputHash: c0.inputHash, outputs: c0.outputs.slice(1) };
    const s = await submitBatch(f, { leaves: [short] });
    await f.batches.connect(f.challenger).challengeLeaf(s.batch, 0);
    await expect(proveLeaf(f, f.provider, s, 0, c0.proof)).to.be.revertedWithCustomError(f.batches, "WrongOutputLength");
  });
});
