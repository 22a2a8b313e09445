// Inference requests fulfilled from a leaf of a Finalized batch (ClaimManager.fulfillFromBatch), tried as an
// attacker would: leaves of batches that are not settled, of another model, input, index or path, another
// provider's batch for a restricted request, a bond below the request's minimum, expired and already fulfilled
// requests, and a stranger sending the call to take the fee. Each case is checked against a call that succeeds.
import { expect } from "chai";
import { keccak256 } from "ethers";
import { outputHash } from "../../sdk/signals.ts";
import {
  BatchStatus, batchStatus, challengeDeadline, expectBatchSolvent, loadBatches, sampleLeaves, submitBatch,
  type BatchFixture, type LeafData, type SubmittedBatch,
} from "./batch-helpers.ts";
import {
  E18, MIN_PROVIDER_BOND, OUTPUT_BITS, OUTPUT_LENGTH, PROOF_WINDOW, PROTOCOL_FEE_BPS, RequestStatus, answer, atTime,
  deployFixture, ethers, expectSolvent, mockExample, modelParams, networkHelpers, now, request, sampleOutputs,
} from "./helpers.ts";

const FEE = E18;
const PROTOCOL_FEE = (FEE * PROTOCOL_FEE_BPS) / 10_000n;
const INPUT = 777n;
/** Long enough for a batch to pass its challenge window, or be challenged and slashed, before the request expires. */
const TTL = 30_000n;
/** The position of the request's input in the sample batches. */
const AT = 2;

/** Four sample leaves, the one at AT on the request's input (or `leaf`). */
function leavesWith(leaf: Partial<LeafData> = {}): LeafData[] {
  const leaves = sampleLeaves(4);
  leaves[AT] = { inputHash: INPUT, outputs: sampleOutputs(42n), ...leaf };
  return leaves;
}

/** Submits a batch and finalizes it once its challenge window has passed. */
async function finalizedBatch(f: BatchFixture, opts: Parameters<typeof submitBatch>[1] = {}): Promise<SubmittedBatch> {
  const b = await submitBatch(f, { leaves: leavesWith(), ...opts });
  await atTime(await challengeDeadline(f, b.id));
  await f.batches.finalizeBatch(b.batch);
  expect((await batchStatus(f, b.id)).status).to.equal(BatchStatus.Finalized);
  return b;
}

function fulfil(f: BatchFixture, b: SubmittedBatch, requestId: bigint, index = AT, sender = f.other) {
  const l = b.leaves[index]!;
  return f.manager.connect(sender).fulfillFromBatch(requestId, b.batch, index, l.outputs, b.tree.path(index));
}

describe("requests fulfilled from a batch", () => {
  it("a stranger's call pays the batch provider (never the sender), fulfils the request once, and both books stay solvent", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL });
    const b = await finalizedBatch(f);
    const l = b.leaves[AT]!;
    await expect(fulfil(f, b, requestId))
      .to.emit(f.manager, "RequestFulfilledFromBatch")
      .withArgs(requestId, b.id, AT, l.outputs, FEE - PROTOCOL_FEE, PROTOCOL_FEE);
    expect(await f.manager.credits(f.provider.address)).to.equal(FEE - PROTOCOL_FEE);
    expect(await f.manager.credits(f.other.address)).to.equal(0n);
    expect(await f.manager.credits(f.treasury.address)).to.equal(PROTOCOL_FEE);
    const r = await f.manager.getRequest(requestId);
    expect(r.status).to.equal(RequestStatus.Fulfilled);
    expect(await f.manager.claimOfRequest(requestId)).to.equal(ethers.ZeroHash);
    // A second fulfilment, by the same leaf or another batch's leaf, finds the request closed.
    await expect(fulfil(f, b, requestId)).to.be.revertedWithCustomError(f.manager, "RequestNotOpen").withArgs(requestId, RequestStatus.Fulfilled);
    const requestId2 = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL });
    const b2 = await finalizedBatch(f, { leaves: leavesWith({ outputs: sampleOutputs(43n) }) });
    await expect(fulfil(f, b2, requestId)).to.be.revertedWithCustomError(f.manager, "RequestNotOpen").withArgs(requestId, RequestStatus.Fulfilled);
    await fulfil(f, b2, requestId2, AT, f.provider);
    expect(await f.manager.credits(f.provider.address)).to.equal(2n * (FEE - PROTOCOL_FEE));
    // The fees were escrowed in ClaimManager and moved to credits there; BatchManager's books are untouched.
    await expectSolvent(f, [], [requestId, requestId2]);
    await expectBatchSolvent(f, [b, b2]);
    await f.manager.connect(f.provider).withdraw(2n * (FEE - PROTOCOL_FEE));
    await expectSolvent(f, [], [requestId, requestId2]);
  });

  it("a request open to any provider is refused a batch's leaf (its data is published by its provider alone), even a true one, and stays open for a claim", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { inputHash: INPUT, fee: FEE, ttl: TTL });
    const b = await finalizedBatch(f);
    await expect(fulfil(f, b, requestId, AT, f.provider)).to.be.revertedWithCustomError(f.manager, "BatchAnswerNeedsNamedProvider").withArgs(requestId);
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Open);
    expect(await f.manager.credits(f.provider.address)).to.equal(0n);
  });

  it("a leaf of a batch still in its challenge window, or of a slashed batch, is refused", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL });
    const b = await submitBatch(f, { leaves: leavesWith() });
    await expect(fulfil(f, b, requestId)).to.be.revertedWithCustomError(f.manager, "BatchLeafNotSettled").withArgs(b.id, AT);
    // Past the window but not finalized: still not settled (finalizeBatch is what checks challenges and the audit).
    await atTime(await challengeDeadline(f, b.id));
    await expect(fulfil(f, b, requestId)).to.be.revertedWithCustomError(f.manager, "BatchLeafNotSettled").withArgs(b.id, AT);

    const s = await submitBatch(f, { leaves: leavesWith({ outputs: sampleOutputs(44n) }) });
    await f.batches.connect(f.challenger).challengeLeaf(s.batch, AT);
    await networkHelpers.time.increase(PROOF_WINDOW);
    await f.batches.slashBatch(s.batch, AT);
    expect((await batchStatus(f, s.id)).status).to.equal(BatchStatus.Slashed);
    await expect(fulfil(f, s, requestId)).to.be.revertedWithCustomError(f.manager, "BatchLeafNotSettled").withArgs(s.id, AT);
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Open);
    // The unslashed batch, once finalized, fulfils it.
    await f.batches.finalizeBatch(b.batch);
    await fulfil(f, b, requestId);
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Fulfilled);
  });

  it("a settled leaf of another model with the same input and outputs is refused", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL });
    // A second model of the same registry, with the same shapes: its batch's leaves verify under its own id.
    await f.registry.connect(f.modelOwner).registerModel(
      modelParams(await f.verifier.getAddress(), { artifactHash: keccak256("0x02") }), mockExample(),
    );
    const other = await f.registry.computeModelId(f.modelOwner.address, keccak256("0x02"));
    const b = await finalizedBatch({ ...f, modelId: other });
    const l = b.leaves[AT]!;
    expect(await f.batches.isSettledLeaf(b.batch, AT, INPUT, l.outputs, b.tree.path(AT))).to.equal(true);
    await expect(fulfil(f, b, requestId)).to.be.revertedWithCustomError(f.manager, "BatchModelMismatch").withArgs(requestId, other);
  });

  it("the leaf is checked with the request's input: a settled leaf of another input is refused", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL });
    const b = await finalizedBatch(f, { leaves: leavesWith({ inputHash: INPUT + 1n }) });
    const l = b.leaves[AT]!;
    expect(await f.batches.isSettledLeaf(b.batch, AT, INPUT + 1n, l.outputs, b.tree.path(AT))).to.equal(true);
    await expect(fulfil(f, b, requestId)).to.be.revertedWithCustomError(f.manager, "BatchLeafNotSettled").withArgs(b.id, AT);
  });

  it("a wrong index, another position's path, a short path or other outputs are refused", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL });
    const b = await finalizedBatch(f);
    const l = b.leaves[AT]!;
    const m = f.manager.connect(f.other);
    const notSettled = (index: number) => [f.manager, "BatchLeafNotSettled", b.id, index] as const;
    for (const [index, outputs, path] of [
      [AT + 1, l.outputs, b.tree.path(AT)],
      [AT, l.outputs, b.tree.path(AT + 1)],
      [AT, l.outputs, b.tree.path(AT).slice(1)],
      [AT, sampleOutputs(99n), b.tree.path(AT)],
      [AT + 4, l.outputs, b.tree.path(AT)],
    ] as const) {
      const [c, name, id, i] = notSettled(index);
      await expect(m.fulfillFromBatch(requestId, b.batch, index, outputs, path)).to.be.revertedWithCustomError(c, name).withArgs(id, i);
    }
    await m.fulfillFromBatch(requestId, b.batch, AT, l.outputs, b.tree.path(AT));
  });

  it("outputs of the wrong length or out of the model's range are refused even from a settled leaf", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL });
    const short = sampleOutputs(42n).slice(1);
    const b = await finalizedBatch(f, { leaves: leavesWith({ outputs: short }) });
    expect(await f.batches.isSettledLeaf(b.batch, AT, INPUT, short, b.tree.path(AT))).to.equal(true);
    await expect(fulfil(f, b, requestId)).to.be.revertedWithCustomError(f.manager, "WrongOutputLength").withArgs(OUTPUT_LENGTH, OUTPUT_LENGTH - 1);
    const big = sampleOutputs(42n);
    big[0] = 1n << 40n;
    const c = await finalizedBatch(f, { leaves: leavesWith({ outputs: big }) });
    await expect(fulfil(f, c, requestId)).to.be.revertedWithCustomError(f.manager, "OutputOutOfRange").withArgs(0n, 1n << 40n, OUTPUT_BITS);
  });

  it("a request naming its provider is refused another provider's batch and taken by its own", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { inputHash: INPUT, fee: FEE, ttl: TTL, provider: f.other.address });
    const foreign = await finalizedBatch(f);
    await expect(fulfil(f, foreign, requestId, AT, f.other))
      .to.be.revertedWithCustomError(f.manager, "ProviderNotAllowed").withArgs(requestId, f.provider.address);
    const own = await finalizedBatch(f, { provider: f.other });
    await fulfil(f, own, requestId, AT, f.challenger);
    expect(await f.manager.credits(f.other.address)).to.equal(FEE - PROTOCOL_FEE);
    expect(await f.manager.credits(f.provider.address)).to.equal(0n);
    expect(await f.manager.credits(f.challenger.address)).to.equal(0n);
  });

  it("a batch bond below the request's minimum bond is refused; one at it is accepted", async () => {
    const f = await loadBatches();
    const minBond = MIN_PROVIDER_BOND + 1n;
    const requestId = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL, minBond });
    const low = await finalizedBatch(f);
    await expect(fulfil(f, low, requestId)).to.be.revertedWithCustomError(f.manager, "BondBelowMinimum").withArgs(MIN_PROVIDER_BOND, minBond);
    const enough = await finalizedBatch(f, { bond: minBond });
    await fulfil(f, enough, requestId);
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Fulfilled);
  });

  it("an expired request is refused (from its expiry on, not a second before) and refunds instead", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL });
    const b = await finalizedBatch(f);
    const expiry = (await f.manager.getRequest(requestId)).expiry;
    const snapshot = await networkHelpers.takeSnapshot();
    await atTime(expiry - 1n);
    await fulfil(f, b, requestId);
    await snapshot.restore();
    await atTime(expiry);
    await expect(fulfil(f, b, requestId)).to.be.revertedWithCustomError(f.manager, "RequestExpired").withArgs(requestId, expiry);
    await f.manager.refundRequest(requestId);
    expect(await f.manager.credits(f.consumer.address)).to.equal(FEE);
    await expectSolvent(f, [], [requestId]);
  });

  it("a request a claim is answering, an unknown request, or a ClaimManager without a BatchManager is refused", async () => {
    const f = await loadBatches();
    const requestId = await request(f, { provider: f.provider.address, inputHash: INPUT, fee: FEE, ttl: TTL });
    const b = await finalizedBatch(f);
    await answer(f, requestId);
    await expect(fulfil(f, b, requestId)).to.be.revertedWithCustomError(f.manager, "RequestNotOpen").withArgs(requestId, RequestStatus.Claimed);
    await expect(fulfil(f, b, 99n)).to.be.revertedWithCustomError(f.manager, "UnknownRequest").withArgs(99n);

    const plain = await deployFixture();
    expect(await plain.manager.batchManager()).to.equal(ethers.ZeroAddress);
    await plain.manager.connect(plain.consumer).requestInference(
      { modelId: plain.modelId, inputHash: INPUT, fee: FEE, expiry: (await now()) + TTL, callbackGasLimit: 0, provider: ethers.ZeroAddress, minBond: 0n }, "0x", "",
    );
    const l = b.leaves[AT]!;
    await expect(plain.manager.fulfillFromBatch(1n, b.batch, AT, l.outputs, b.tree.path(AT)))
      .to.be.revertedWithCustomError(plain.manager, "BatchFulfilmentDisabled");
  });

  it("the consumer's callback gets the outputs, the batchId, the batch provider and bond, with its full gas or not at all", async () => {
    const f = await loadBatches();
    const gas = 200_000;
    const consumer = await ethers.deployContract("RecordingConsumer", [await f.manager.getAddress()]);
    await f.token.mint(await consumer.getAddress(), FEE);
    await consumer.requestFrom(f.modelId, INPUT, FEE, (await now()) + TTL, gas, f.provider.address);
    const requestId = await f.manager.requestCount();
    const bond = MIN_PROVIDER_BOND + 5n;
    const b = await finalizedBatch(f, { bond });
    const l = b.leaves[AT]!;
    // Too little gas to give the consumer its limit: the whole fulfilment reverts, nothing is paid.
    await expect(f.manager.connect(f.other).fulfillFromBatch(requestId, b.batch, AT, l.outputs, b.tree.path(AT), { gasLimit: gas }))
      .to.be.revertedWithCustomError(f.manager, "InsufficientGasForCallback");
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Open);
    await expect(fulfil(f, b, requestId))
      .to.emit(f.manager, "ConsumerCallback").withArgs(requestId, await consumer.getAddress(), true);
    expect(await consumer.calls()).to.equal(1n);
    expect(await consumer.lastRequestId()).to.equal(requestId);
    expect(await consumer.lastClaimId()).to.equal(b.id);
    expect(await consumer.lastOutputHash()).to.equal(outputHash(l.outputs));
    expect(await consumer.lastOutputCount()).to.equal(BigInt(l.outputs.length));
    expect(await consumer.lastProvider()).to.equal(f.provider.address);
    expect(await consumer.lastBond()).to.equal(bond);
    const seen = await consumer.gasSeen();
    expect(seen).to.be.greaterThan(BigInt(gas) - 2_000n);
    expect(seen).to.be.lessThanOrEqual(BigInt(gas));
  });
});
