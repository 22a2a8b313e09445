// Deadline boundaries at -1, 0 and +1 second: challenge, finalize, prove, slash, counterProve, request expiry.
// Windows are half-open: an action "inside" a window is allowed while block.timestamp < deadline; the action
// "after" it is allowed from block.timestamp == deadline on. No second is claimable by both sides.
import { expect } from "chai";
import {
  SALT, ZERO_PROOF, claimId, deployFixture, networkHelpers, now, request, sampleOutputs, submit, atTime, type Fixture, loadFixture,
} from "./helpers.ts";
import { outputHash } from "../../sdk/signals.ts";

const load = () => loadFixture(deployFixture);

/** Commits now to a counter-proof of `claim` by `other`, to be revealed later (at a chosen time). */
async function commitCounter(f: Fixture, claim: Parameters<typeof claimId>[0], outputs: bigint[]): Promise<void> {
  await f.manager.connect(f.other).commit(await f.manager.hashCounterProof(claimId(claim), outputs, ZERO_PROOF));
}

async function submittedAt(offset: bigint) {
  const f = await load();
  const s = await submit(f);
  await commitCounter(f, s.claim, sampleOutputs(8n));
  const [, deadline] = await f.manager.claimState(s.id);
  await atTime(deadline + offset);
  return { f, ...s, deadline };
}

async function challengedAt(offset: bigint) {
  const f = await load();
  const s = await submit(f);
  await f.manager.connect(f.challenger).challenge(s.claim);
  await commitCounter(f, s.claim, sampleOutputs(8n));
  const [, deadline] = await f.manager.claimState(s.id);
  await atTime(deadline + offset);
  return { f, ...s, deadline };
}

describe("ClaimManager deadlines", () => {
  it("a fixture reloaded later resumes the chain's clock one second after its last block", async () => {
    // Reverting restores blocks but not the wall clock: without the resume, the next block after a pause (slow tests
    // in between) is stamped hours after the fixture, and a request expiring at latest + 10,000 s is refused. Here: latest + 2 s.
    await load();
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const f = await load();
    const latest = await now();
    await request(f, { ttl: 2n });
    expect(await now()).to.equal(latest + 1n);
  });

  describe("challenge window (Submitted)", () => {
    it("challenge at deadline-1 succeeds", async () => {
      const { f, claim } = await submittedAt(-1n);
      await expect(f.manager.connect(f.challenger).challenge(claim)).to.emit(f.manager, "ClaimChallenged");
    });
    it("challenge at deadline reverts", async () => {
      const { f, claim, id, deadline } = await submittedAt(0n);
      await expect(f.manager.connect(f.challenger).challenge(claim)).to.be.revertedWithCustomError(f.manager, "ChallengeWindowClosed").withArgs(id, deadline);
    });
    it("challenge at deadline+1 reverts", async () => {
      const { f, claim } = await submittedAt(1n);
      await expect(f.manager.connect(f.challenger).challenge(claim)).to.be.revertedWithCustomError(f.manager, "ChallengeWindowClosed");
    });
    it("finalize at deadline-1 reverts", async () => {
      const { f, claim, id, deadline, outputs } = await submittedAt(-1n);
      await expect(f.manager.finalize(claim, outputs)).to.be.revertedWithCustomError(f.manager, "ChallengeWindowOpen").withArgs(id, deadline);
    });
    it("finalize at deadline succeeds", async () => {
      const { f, claim, outputs } = await submittedAt(0n);
      await expect(f.manager.finalize(claim, outputs)).to.emit(f.manager, "ClaimFinalized");
    });
    it("finalize at deadline+1 succeeds", async () => {
      const { f, claim, outputs } = await submittedAt(1n);
      await expect(f.manager.finalize(claim, outputs)).to.emit(f.manager, "ClaimFinalized");
    });
    it("counterProve at deadline-1 succeeds, at deadline reverts", async () => {
      const a = await submittedAt(-1n);
      await expect(a.f.manager.connect(a.f.other).counterProve(a.claim, sampleOutputs(8n), ZERO_PROOF)).to.emit(a.f.manager, "ClaimSlashed");
      const b = await submittedAt(0n);
      await expect(b.f.manager.connect(b.f.other).counterProve(b.claim, sampleOutputs(8n), ZERO_PROOF)).to.be.revertedWithCustomError(b.f.manager, "ChallengeWindowClosed");
    });
    it("an unchallenged claim can still be proven after its window (instead of finalized)", async () => {
      const { f, claim, outputs } = await submittedAt(1n);
      await expect(f.manager.prove(claim, outputs, ZERO_PROOF)).to.emit(f.manager, "ClaimProven");
    });
  });

  describe("proof window (Challenged)", () => {
    it("prove at deadline-1 succeeds", async () => {
      const { f, claim, outputs } = await challengedAt(-1n);
      await expect(f.manager.prove(claim, outputs, ZERO_PROOF)).to.emit(f.manager, "ClaimProven");
    });
    it("prove at deadline reverts", async () => {
      const { f, claim, outputs, id, deadline } = await challengedAt(0n);
      await expect(f.manager.prove(claim, outputs, ZERO_PROOF)).to.be.revertedWithCustomError(f.manager, "ProofWindowClosed").withArgs(id, deadline);
    });
    it("prove at deadline+1 reverts", async () => {
      const { f, claim, outputs } = await challengedAt(1n);
      await expect(f.manager.prove(claim, outputs, ZERO_PROOF)).to.be.revertedWithCustomError(f.manager, "ProofWindowClosed");
    });
    it("slash at deadline-1 reverts", async () => {
      const { f, claim, id, deadline } = await challengedAt(-1n);
      await expect(f.manager.slash(claim)).to.be.revertedWithCustomError(f.manager, "ProofWindowOpen").withArgs(id, deadline);
    });
    it("slash at deadline succeeds", async () => {
      const { f, claim } = await challengedAt(0n);
      await expect(f.manager.slash(claim)).to.emit(f.manager, "ClaimSlashed");
    });
    it("slash at deadline+1 succeeds", async () => {
      const { f, claim } = await challengedAt(1n);
      await expect(f.manager.slash(claim)).to.emit(f.manager, "ClaimSlashed");
    });
    it("a challenged claim can be counter-proven even after its proof deadline", async () => {
      const { f, claim } = await challengedAt(5n);
      await expect(f.manager.connect(f.other).counterProve(claim, sampleOutputs(8n), ZERO_PROOF)).to.emit(f.manager, "ClaimSlashed");
    });
  });

  describe("request expiry", () => {
    /** A request expiring in 100 s, a provider's answer to it committed now, and the next block at expiry + offset. */
    async function requestAt(offset: bigint) {
      const f = await load();
      const expiry = (await now()) + 100n;
      const r = await request(f, { expiry });
      const outputs = sampleOutputs();
      await f.manager.connect(f.provider).commit(await f.manager.hashAnswer(r, outputHash(outputs), 10n ** 20n, SALT));
      await atTime(expiry + offset);
      const answer = () => f.manager.connect(f.provider).answerRequest(r, outputs, 10n ** 20n, SALT);
      return { f, r, expiry, answer };
    }
    it("answer at expiry-1 succeeds; refund at expiry-1 reverts", async () => {
      const a = await requestAt(-1n);
      await a.answer();
      expect((await a.f.manager.getRequest(a.r)).status).to.equal(2n); // Claimed
      const b = await requestAt(-1n);
      await expect(b.f.manager.refundRequest(b.r)).to.be.revertedWithCustomError(b.f.manager, "RequestNotExpired").withArgs(b.r, b.expiry);
    });
    it("answer at expiry reverts; refund at expiry succeeds", async () => {
      const a = await requestAt(0n);
      await expect(a.answer()).to.be.revertedWithCustomError(a.f.manager, "RequestExpired").withArgs(a.r, a.expiry);
      const b = await requestAt(0n);
      await expect(b.f.manager.refundRequest(b.r)).to.emit(b.f.manager, "RequestRefunded");
    });
    it("answer at expiry+1 reverts; refund at expiry+1 succeeds", async () => {
      const a = await requestAt(1n);
      await expect(a.answer()).to.be.revertedWithCustomError(a.f.manager, "RequestExpired");
      const b = await requestAt(1n);
      await expect(b.f.manager.refundRequest(b.r)).to.emit(b.f.manager, "RequestRefunded");
    });
    it("expiry exactly MAX_REQUEST_TTL ahead is accepted, one second more is not", async () => {
      const f = await load();
      const t = (await now()) + 1n;
      const { requestParams } = await import("./helpers.ts");
      const ok = await requestParams(f, { fee: 1n, expiry: t + 30n * 86400n });
      const late = await requestParams(f, { fee: 1n, expiry: t + 1n + 30n * 86400n + 1n });
      await atTime(t);
      await expect(f.manager.connect(f.consumer).requestInference(ok, "0x", "")).to.emit(f.manager, "InferenceRequested");
      await atTime(t + 1n);
      await expect(f.manager.connect(f.consumer).requestInference(late, "0x", "")).to.be.revertedWithCustomError(f.manager, "InvalidExpiry");
    });
  });

  describe("shares and amounts", () => {
    it("a fee too small for a protocol cut goes whole to the provider", async () => {
      const f = await load();
      const r = await request(f, { fee: 19n, ttl: 100n });
      const { answer } = await import("./helpers.ts");
      const { claim, outputs } = await answer(f, r);
      await networkHelpers.time.increase(3600);
      await f.manager.finalize(claim, outputs);
      expect(await f.manager.credits(f.provider.address)).to.equal(19n); // 19 * 5% rounds down to 0
      expect(await f.manager.credits(f.treasury.address)).to.equal(0n);
    });

    it("zero protocol fee moves nothing to the treasury on a proof; the largest slash reward still sends it half", async () => {
      const f = await load();
      const { ethers } = await import("./helpers.ts");
      const m = await ethers.deployContract("ClaimManager", [f.token, f.registry, f.treasury.address, 0, 5000, ethers.ZeroAddress]);
      for (const s of [f.provider, f.challenger]) {
        await f.token.connect(s).approve(await m.getAddress(), ethers.MaxUint256);
        await m.connect(s).stake(10n ** 21n);
      }
      const outputs = sampleOutputs();
      await m.connect(f.provider).submitClaim(f.modelId, 1n, outputs, 10n ** 20n, "0x", "");
      const claim = { modelId: f.modelId, provider: f.provider.address, inputHash: 1n, outputHash: (await import("../../sdk/signals.ts")).outputHash(outputs), bond: 10n ** 20n, requestId: 0n };
      await m.connect(f.challenger).challenge(claim);
      await m.prove(claim, outputs, ZERO_PROOF);
      expect(await m.credits(f.treasury.address)).to.equal(0n);
      await m.connect(f.provider).submitClaim(f.modelId, 2n, outputs, 10n ** 20n, "0x", "");
      const claim2 = { ...claim, inputHash: 2n };
      const { counterProve } = await import("./helpers.ts");
      await counterProve({ manager: m as unknown as Fixture["manager"] }, f.challenger, claim2, sampleOutputs(3n));
      expect(await m.credits(f.treasury.address)).to.equal(10n ** 20n / 2n);
      expect(await m.freeStake(f.challenger.address)).to.equal(10n ** 21n - 10n ** 19n + 10n ** 20n / 2n);
    });
  });
});
