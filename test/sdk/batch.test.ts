// sdk/batch.ts against contracts/BatchManager.sol: the SDK's leaf, root, path, batch id and audit draw are exactly
// what the contract accepts, for batch sizes 1, 2, 3, 5, 8 and 100, and tampered paths are refused by both; the
// status names and the missed-draw rule (auditSeedGone) are the contract's.
import { expect } from "chai";
import type { Hex } from "viem";
import {
  MAX_BATCH_SIZE, auditSeedGone, auditStatusName, batchDepth, batchId, batchLeaf, batchRootFromPath, batchStatusName, buildBatchTree,
  leafStatusName, slashReasonName, verifyBatchPath,
} from "../../sdk/batch.ts";
import { outputHash } from "../../sdk/signals.ts";
import { AUDIT_FEE, AuditStatus, BatchStatus, LeafStatus, SlashReason, loadBatches, proveLeaf, sampleLeaves, submitBatch } from "../contracts/batch-helpers.ts";
import { ethers, networkHelpers } from "../contracts/helpers.ts";

describe("sdk/batch: the position-bound tree", () => {
  it("depth is ceil(log2(size)); sizes outside 1..MAX_BATCH_SIZE and indexes outside the batch are refused", () => {
    expect([1, 2, 3, 4, 5, 8, 9, 100, 1024, 1025].map(batchDepth)).to.deep.equal([0, 1, 2, 2, 3, 3, 4, 7, 10, 11]);
    expect(() => buildBatchTree([])).to.throw(RangeError, /1 to 1048576 claims, got 0/);
    expect(() => batchDepth(MAX_BATCH_SIZE + 1)).to.throw(RangeError, /got 1048577/);
    const tree = buildBatchTree([ethers.ZeroHash as Hex, ethers.keccak256("0x01") as Hex, ethers.keccak256("0x02") as Hex]);
    expect(() => tree.path(3)).to.throw(RangeError, /\[0, 3\), got 3/);
    expect(() => tree.path(-1)).to.throw(RangeError);
    expect(() => batchLeaf(ethers.ZeroHash as Hex, 1n, [1n], 1.5)).to.throw(RangeError, /non-negative integer/);
  });

  it("the leaf accepts the outputs or their hash; verifyBatchPath refuses another index, a short path and a swapped sibling", () => {
    const model = ethers.keccak256("0x07") as Hex;
    const outputs = [1n, -2n, 3n];
    expect(batchLeaf(model, 5n, outputs, 2)).to.equal(batchLeaf(model, 5n, outputHash(outputs), 2));
    expect(batchLeaf(model, 5n, outputs, 2)).to.not.equal(batchLeaf(model, 5n, outputs, 3));
    const leaves = Array.from({ length: 5 }, (_, i) => batchLeaf(model, BigInt(i), outputs, i));
    const tree = buildBatchTree(leaves);
    for (let i = 0; i < 5; i++) expect(verifyBatchPath(tree.root, 5, i, leaves[i]!, tree.path(i))).to.equal(true);
    expect(verifyBatchPath(tree.root, 5, 1, leaves[0]!, tree.path(0))).to.equal(false);
    expect(verifyBatchPath(tree.root, 5, 2, leaves[2]!, tree.path(2).slice(1))).to.equal(false);
    expect(verifyBatchPath(tree.root, 5, 5, leaves[4]!, tree.path(4))).to.equal(false);
    const p = tree.path(3);
    expect(verifyBatchPath(tree.root, 5, 3, leaves[3]!, [p[1]!, p[0]!, p[2]!])).to.equal(false);
    // Padding: positions 5..7 hold bytes32(0); the zero "leaf" at 5 reaches the root but is refused (index >= size).
    expect(batchRootFromPath(ethers.ZeroHash as Hex, 5, [leaves[4]!, ...tree.path(4).slice(1)])).to.equal(tree.root);
    expect(verifyBatchPath(tree.root, 5, 5, ethers.ZeroHash as Hex, [leaves[4]!, ...tree.path(4).slice(1)])).to.equal(false);
  });
});

describe("sdk/batch against BatchManager", () => {
  for (const size of [1, 2, 3, 5, 8, 100]) {
    it(`size ${size}: the contract takes the SDK's root, leaves, paths and batch id; tampered paths are refused`, async () => {
      const f = await loadBatches();
      const leaves = sampleLeaves(size, BigInt(size));
      const b = await submitBatch(f, { leaves });
      expect(await f.batches.hashBatch(b.batch)).to.equal(batchId(b.batch));
      const l0 = leaves[0]!;
      expect(await f.batches.hashLeaf(f.modelId, l0.inputHash, outputHash(l0.outputs), 0)).to.equal(batchLeaf(f.modelId as Hex, l0.inputHash, l0.outputs, 0));
      // A challenge of the last position answered with the SDK's path.
      const last = size - 1;
      await f.batches.connect(f.challenger).challengeLeaf(b.batch, last);
      if (b.tree.depth > 0) {
        const bad = [...b.tree.path(last)];
        bad[0] = ethers.keccak256(bad[0]!) as Hex;
        const l = leaves[last]!;
        await expect(f.batches.proveLeaf(b.batch, last, l.inputHash, l.outputs, bad, [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]))
          .to.be.revertedWithCustomError(f.batches, "InvalidMerklePath");
      }
      await proveLeaf(f, f.provider, b, last);
      await networkHelpers.time.increaseTo((await f.batches.batchState(b.id)).challengeDeadline);
      await f.batches.finalizeBatch(b.batch);
      for (let i = 0; i < size; i++) {
        const l = leaves[i]!;
        const path = b.tree.path(i);
        expect(await f.batches.isSettledLeaf(b.batch, i, l.inputHash, l.outputs, path), `leaf ${i}`).to.equal(true);
        expect(verifyBatchPath(b.tree.root, size, i, batchLeaf(f.modelId as Hex, l.inputHash, l.outputs, i), path)).to.equal(true);
        if (i > 2 && i < size - 2) continue; // the tampered cases at both ends are enough
        const other = (i + 1) % size;
        if (other !== i) expect(await f.batches.isSettledLeaf(b.batch, other, l.inputHash, l.outputs, path)).to.equal(false);
        expect(await f.batches.isSettledLeaf(b.batch, i, l.inputHash + 1n, l.outputs, path)).to.equal(false);
        expect(await f.batches.isSettledLeaf(b.batch, i, l.inputHash, l.outputs, [...path, ethers.ZeroHash])).to.equal(false);
        if (path.length > 0) {
          expect(await f.batches.isSettledLeaf(b.batch, i, l.inputHash, l.outputs, path.slice(1))).to.equal(false);
          const swapped = [...path];
          swapped[path.length - 1] = ethers.keccak256("0x1234") as Hex;
          expect(await f.batches.isSettledLeaf(b.batch, i, l.inputHash, l.outputs, swapped)).to.equal(false);
        }
      }
      expect(await f.batches.isSettledLeaf(b.batch, size, l0.inputHash, l0.outputs, b.tree.path(0))).to.equal(false);
    });
  }

  it("status names are the contract's enums; auditSeedGone says missed exactly when slashMissedAudit takes an undrawn audit", async () => {
    expect([0, 1, 2, 3].map(batchStatusName)).to.deep.equal([0, 1, 2, 3].map((i) => BatchStatus[i]));
    expect([0, 1, 2, 3].map(auditStatusName)).to.deep.equal([0, 1, 2, 3].map((i) => AuditStatus[i]));
    expect([0, 1, 2, 3].map(leafStatusName)).to.deep.equal([0, 1, 2, 3].map((i) => LeafStatus[i]));
    expect([0, 1, 2, 3].map(slashReasonName)).to.deep.equal([0, 1, 2, 3].map((i) => SlashReason[i]));
    expect(auditStatusName(4)).to.equal("Unknown(4)");

    const f = await loadBatches();
    await f.batches.connect(f.treasury).setAuditPolicy(f.modelId, 10_000, AUDIT_FEE);
    const b = await submitBatch(f);
    const submitted = BigInt(b.block);
    // Head at submittedBlock + 256: the next block still reads the seed (block submittedBlock + 1).
    await networkHelpers.mine(b.block + 256 - (await ethers.provider.getBlockNumber()));
    expect(auditSeedGone(submitted, BigInt(await ethers.provider.getBlockNumber()))).to.equal(false);
    await expect(f.batches.slashMissedAudit(b.batch)).to.be.revertedWithCustomError(f.batches, "AuditNotMissed");
    await networkHelpers.mine(1);
    expect(auditSeedGone(submitted, BigInt(await ethers.provider.getBlockNumber()))).to.equal(true);
    await expect(f.batches.slashMissedAudit(b.batch)).to.emit(f.batches, "BatchSlashed");
    const [status, , , , audit] = await f.batches.batchState(b.id);
    expect([batchStatusName(Number(status)), auditStatusName(Number(audit))]).to.deep.equal(["Slashed", "Undrawn"]);
  });
});
