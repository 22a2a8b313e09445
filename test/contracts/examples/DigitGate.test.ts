// The DigitGate example consumer: pays for a digit classification, acts on the settled logits in its callback
// (opens only for a 7);
// a slashed answer is replaced by a new claim before the gate hears anything; an unanswered request is refunded.
import { expect } from "chai";
import type { Contract } from "ethers";
import {
  CHALLENGE_WINDOW, MIN_CHALLENGER_BOND, MIN_PROVIDER_BOND, PROOF_WINDOW, RequestStatus, ClaimStatus, answer, deployFixture,
  ethers, expectSolvent, networkHelpers, now, type Fixture, loadFixture,
} from "../helpers.ts";

const FEE = 10n ** 18n;
const INPUT_HASH = 4242n;
const TTL = 86_400n; // longer than a challenge plus a proof window, so a slashed request can still be re-answered
enum Phase { None, Pending, Opened, Rejected, Refunded }

/** Logits whose argmax is `digit`. */
function logits(digit: number): bigint[] {
  return Array.from({ length: 10 }, (_, i) => (i === digit ? 90_000n : BigInt(i * 1000 - 5000)));
}

async function setup() {
  const f = await deployFixture();
  const gate = (await ethers.deployContract("DigitGate", [await f.manager.getAddress(), f.modelId, 7n])) as unknown as Contract;
  await f.token.connect(f.consumer).approve(await gate.getAddress(), ethers.MaxUint256);
  return { f, gate };
}
const load = () => loadFixture(setup);

async function requestAttempt(f: Fixture, gate: Contract): Promise<bigint> {
  await (await (gate.connect(f.consumer) as Contract).getFunction("request")(INPUT_HASH, "0x0102", FEE, (await now()) + TTL)).wait();
  return f.manager.requestCount();
}

describe("DigitGate example consumer", () => {
  describe("settle", () => {
    it("pays the fee from the requester and opens for a 7 in the settling transaction", async () => {
      const { f, gate } = await load();
      const before = await f.token.balanceOf(f.consumer.address);
      const requestId = await requestAttempt(f, gate);
      expect(await f.token.balanceOf(f.consumer.address)).to.equal(before - FEE);
      const req = await f.manager.getRequest(requestId);
      expect(req.consumer).to.equal(await gate.getAddress());
      expect(req.callbackGasLimit).to.equal(await gate.getFunction("CALLBACK_GAS")());

      const { claim, id, outputs } = await answer(f, requestId, { outputs: logits(7) });
      expect(claim.inputHash).to.equal(INPUT_HASH);
      expect((await gate.getFunction("attempts")(requestId)).phase).to.equal(Phase.Pending);
      expect(await gate.getFunction("isOpen")(f.consumer.address)).to.equal(false);

      await networkHelpers.time.increase(CHALLENGE_WINDOW);
      await expect(f.manager.connect(f.other).finalize(claim, outputs))
        .to.emit(gate, "AttemptSettled").withArgs(requestId, id, claim.outputHash, 7n)
        .and.to.emit(gate, "GateOpened").withArgs(requestId, f.consumer.address)
        .and.to.emit(f.manager, "ConsumerCallback").withArgs(requestId, await gate.getAddress(), true);
      const a = await gate.getFunction("attempts")(requestId);
      expect(a.phase).to.equal(Phase.Opened);
      expect(a.outputHash).to.equal(claim.outputHash);
      expect(await gate.getFunction("isOpen")(f.consumer.address)).to.equal(true);
      await expectSolvent(f, [claim], [requestId]);
    });

    it("rejects another digit and stays closed", async () => {
      const { f, gate } = await load();
      const requestId = await requestAttempt(f, gate);
      const { claim, outputs } = await answer(f, requestId, { outputs: logits(3) });
      await networkHelpers.time.increase(CHALLENGE_WINDOW);
      await expect(f.manager.finalize(claim, outputs))
        .to.emit(gate, "AttemptRejected").withArgs(requestId, f.consumer.address, 3n);
      expect(await gate.getFunction("isOpen")(f.consumer.address)).to.equal(false);
      expect((await gate.getFunction("attempts")(requestId)).phase).to.equal(Phase.Rejected);
    });

    it("a proven answer calls back too", async () => {
      const { f, gate } = await load();
      const requestId = await requestAttempt(f, gate);
      const { claim, id, outputs } = await answer(f, requestId, { outputs: logits(7) });
      await expect(f.manager.prove(claim, outputs, [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]))
        .to.emit(gate, "AttemptSettled").withArgs(requestId, id, claim.outputHash, 7n)
        .and.to.emit(gate, "GateOpened");
    });

    it("only the manager may call back", async () => {
      const { f, gate } = await load();
      const requestId = await requestAttempt(f, gate);
      await expect(gate.connect(f.other).getFunction("onInferenceSettled")(requestId, ethers.ZeroHash, logits(7), f.other.address, MIN_PROVIDER_BOND))
        .to.be.revertedWithCustomError(gate, "NotManager").withArgs(f.other.address);
    });

    it("argmax takes the first of equal maxima", async () => {
      const { gate } = await load();
      expect(await gate.getFunction("argmax")([5n, 9n, 9n, -1n])).to.equal(1n);
      expect(await gate.getFunction("argmax")([-5n, -9n])).to.equal(0n);
      await expect(gate.getFunction("argmax")([])).to.be.revertedWithCustomError(gate, "NoOutputs");
    });
  });

  describe("slash then re-answer", () => {
    it("a wrong 7 is slashed without reaching the gate; the re-answer settles and decides", async () => {
      const { f, gate } = await load();
      const requestId = await requestAttempt(f, gate);
      // A cheater claims the input is a 7; the challenger disputes; no proof comes.
      const lie = await answer(f, requestId, { outputs: logits(7), provider: f.other });
      await f.manager.connect(f.challenger).challenge(lie.claim);
      await networkHelpers.time.increase(PROOF_WINDOW);
      await expect(f.manager.slash(lie.claim))
        .to.emit(f.manager, "RequestReopened").withArgs(requestId, lie.id)
        .and.not.to.emit(gate, "AttemptSettled");
      expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Open);
      expect((await gate.getFunction("attempts")(requestId)).phase).to.equal(Phase.Pending);
      const [lieStatus] = await f.manager.claimState(lie.id);
      expect(lieStatus).to.equal(ClaimStatus.Slashed);

      // An honest provider answers the reopened request with the true class (a 1) and it settles.
      const truth = await answer(f, requestId, { outputs: logits(1) });
      expect(await f.manager.claimOfRequest(requestId)).to.equal(truth.id);
      await networkHelpers.time.increase(CHALLENGE_WINDOW);
      // The settled answer is a 1: the slashed claim's 7 never reached the gate.
      await expect(f.manager.finalize(truth.claim, truth.outputs))
        .to.emit(gate, "AttemptSettled").withArgs(requestId, truth.id, truth.claim.outputHash, 1n)
        .and.to.emit(gate, "AttemptRejected").withArgs(requestId, f.consumer.address, 1n);
      expect(await gate.getFunction("isOpen")(f.consumer.address)).to.equal(false);
      // Challenger got its bond back plus half the cheater's bond.
      expect(await f.manager.freeStake(f.challenger.address)).to.be.greaterThan(10n * MIN_CHALLENGER_BOND);
      await expectSolvent(f, [lie.claim, truth.claim], [requestId]);
    });
  });

  describe("expiry", () => {
    it("an unanswered request is refunded to the requester after expiry, once", async () => {
      const { f, gate } = await load();
      const before = await f.token.balanceOf(f.consumer.address);
      const requestId = await requestAttempt(f, gate);
      const { expiry } = await f.manager.getRequest(requestId);
      await networkHelpers.time.setNextBlockTimestamp(expiry - 1n);
      await expect(gate.getFunction("reclaim")(requestId)).to.be.revertedWithCustomError(f.manager, "RequestNotExpired");
      await networkHelpers.time.setNextBlockTimestamp(expiry);
      await expect(gate.connect(f.other).getFunction("reclaim")(requestId))
        .to.emit(gate, "AttemptRefunded").withArgs(requestId, f.consumer.address, FEE)
        .and.to.emit(f.manager, "RequestRefunded").withArgs(requestId, await gate.getAddress(), FEE);
      expect(await f.token.balanceOf(f.consumer.address)).to.equal(before);
      expect(await f.token.balanceOf(await gate.getAddress())).to.equal(0n);
      await expect(gate.getFunction("reclaim")(requestId)).to.be.revertedWithCustomError(gate, "WrongPhase");
      // Too late for a provider now.
      await expect(answer(f, requestId, { outputs: logits(7) })).to.be.revertedWithCustomError(f.manager, "RequestNotOpen");
      await expectSolvent(f, [], [requestId]);
    });

    it("works when someone else already asked the manager for the refund", async () => {
      const { f, gate } = await load();
      const requestId = await requestAttempt(f, gate);
      await networkHelpers.time.increase(TTL);
      await f.manager.connect(f.other).refundRequest(requestId);
      await expect(gate.getFunction("reclaim")(requestId)).to.emit(gate, "AttemptRefunded");
      expect(await f.manager.credits(await gate.getAddress())).to.equal(0n);
    });

    it("a claimed request cannot be reclaimed", async () => {
      const { f, gate } = await load();
      const requestId = await requestAttempt(f, gate);
      await answer(f, requestId, { outputs: logits(7) });
      await networkHelpers.time.increase(TTL);
      await expect(gate.getFunction("reclaim")(requestId))
        .to.be.revertedWithCustomError(gate, "NotRefundable").withArgs(requestId, RequestStatus.Claimed);
      await expect(gate.getFunction("reclaim")(99n)).to.be.revertedWithCustomError(gate, "UnknownAttempt");
    });
  });
});
