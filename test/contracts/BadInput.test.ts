// Every bad input reverts with its named custom error and leaves balances, claims and requests untouched.
import { expect } from "chai";
import { FIELD_P } from "../../sdk/hash.ts";
import { outputHash } from "../../sdk/signals.ts";
import {
  CHALLENGE_WINDOW, ClaimStatus, MIN_CHALLENGER_BOND, MIN_PROVIDER_BOND, OUTPUT_BITS, RequestStatus, SALT, STAKE, ZERO_PROOF,
  answer, claimId, counterProve, deployFixture, ethers, networkHelpers, now, request, requestParams, sampleOutputs, submit,
  type ClaimStruct, type Fixture, loadFixture,
} from "./helpers.ts";

const load = () => loadFixture(deployFixture);

/** Everything observable: token balances, free stake and credits of all actors, the claims' and requests' state. */
async function observe(f: Fixture, claims: ClaimStruct[], requestIds: bigint[]): Promise<string> {
  const actors = [f.provider, f.challenger, f.other, f.consumer, f.treasury].map((s) => s.address);
  const out: unknown[] = [await f.token.balanceOf(await f.manager.getAddress()), await f.manager.requestCount()];
  for (const a of actors) out.push(await f.token.balanceOf(a), await f.manager.freeStake(a), await f.manager.credits(a));
  for (const c of claims) out.push(...(await f.manager.claimState(claimId(c))));
  for (const r of requestIds) out.push(...(await f.manager.getRequest(r)));
  return JSON.stringify(out, (_, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** Runs `fn` expecting `error` (with `args` if given) from `contract`, and checks nothing observable changed. */
async function rejects(
  f: Fixture,
  fn: () => Promise<unknown>,
  contract: { interface: unknown },
  error: string,
  args?: unknown[],
  claims: ClaimStruct[] = [],
  requestIds: bigint[] = [],
): Promise<void> {
  const before = await observe(f, claims, requestIds);
  const assertion = expect(fn()).to.be.revertedWithCustomError(contract as never, error);
  if (args) await assertion.withArgs(...args);
  else await assertion;
  expect(await observe(f, claims, requestIds)).to.equal(before);
}

describe("ClaimManager bad input", () => {
  describe("stake and credits", () => {
    it("zero amounts", async () => {
      const f = await load();
      await rejects(f, () => f.manager.connect(f.provider).stake(0), f.manager, "ZeroAmount", []);
      await rejects(f, () => f.manager.connect(f.provider).unstake(0), f.manager, "ZeroAmount", []);
      await rejects(f, () => f.manager.connect(f.provider).withdraw(0), f.manager, "ZeroAmount", []);
    });
    it("unstake more than free stake", async () => {
      const f = await load();
      await rejects(f, () => f.manager.connect(f.provider).unstake(STAKE + 1n), f.manager, "InsufficientStake", [f.provider.address, STAKE, STAKE + 1n]);
    });
    it("withdraw more than credited", async () => {
      const f = await load();
      await rejects(f, () => f.manager.connect(f.provider).withdraw(1n), f.manager, "InsufficientCredit", [f.provider.address, 0n, 1n]);
    });
    it("a fee-on-transfer token is rejected at stake and at request", async () => {
      const f = await load();
      const fot = await ethers.deployContract("FeeOnTransferERC20");
      const m = await ethers.deployContract("ClaimManager", [fot, f.registry, f.treasury.address, 500, 5000, ethers.ZeroAddress]);
      await fot.mint(f.provider.address, 1000n);
      await fot.connect(f.provider).approve(await m.getAddress(), 1000n);
      await expect(m.connect(f.provider).stake(1000n)).to.be.revertedWithCustomError(m, "TransferAmountMismatch").withArgs(1000n, 990n);
      await expect(m.connect(f.provider).requestInference(await requestParams(f, { fee: 1000n }), "0x", ""))
        .to.be.revertedWithCustomError(m, "TransferAmountMismatch").withArgs(1000n, 990n);
      expect(await fot.balanceOf(await m.getAddress())).to.equal(0n);
      expect(await m.freeStake(f.provider.address)).to.equal(0n);
    });
    it("a malicious ERC20 that re-enters during transfers is stopped by the reentrancy guard", async () => {
      const f = await load();
      const evil = await ethers.deployContract("ReentrantERC20");
      const m = await ethers.deployContract("ClaimManager", [evil, f.registry, f.treasury.address, 500, 5000, ethers.ZeroAddress]);
      await evil.mint(f.provider.address, 1000n);
      await evil.connect(f.provider).approve(await m.getAddress(), 1000n);
      await m.connect(f.provider).stake(500n);
      // Re-enter unstake from inside the unstake transfer (a double withdrawal if it got through).
      await evil.arm(await m.getAddress(), m.interface.encodeFunctionData("unstake", [500n]));
      await expect(m.connect(f.provider).unstake(500n)).to.be.revertedWithCustomError(m, "ReentrancyGuardReentrantCall");
      // Re-enter stake from inside the stake transfer.
      await evil.arm(await m.getAddress(), m.interface.encodeFunctionData("stake", [1n]));
      await expect(m.connect(f.provider).stake(100n)).to.be.revertedWithCustomError(m, "ReentrancyGuardReentrantCall");
      expect(await m.freeStake(f.provider.address)).to.equal(500n);
      expect(await evil.balanceOf(await m.getAddress())).to.equal(500n);
    });
    it("constructor refuses a zero address, itself as treasury, a fee above 100%, a slash reward above 50% or a BatchManager on another registry", async () => {
      const f = await load();
      const factory = await ethers.getContractFactory("ClaimManager");
      const good = [await f.token.getAddress(), await f.registry.getAddress(), f.treasury.address, 500, 5000, ethers.ZeroAddress] as const;
      // A BatchManager whose batches name models of another registry: a batch's modelId would mean another model.
      const otherRegistry = await ethers.deployContract("ModelRegistry");
      const foreignBatches = await ethers.deployContract("BatchManager", [good[0], otherRegistry, f.treasury.address, 500, 5000, 0, 0n]);
      // The address the next deployment by the deployer gets: the manager itself as treasury (its credits could never
      // be withdrawn).
      const self = ethers.getCreateAddress({ from: f.deployer.address, nonce: await f.deployer.getNonce() });
      expect(await f.manager.MAX_SLASH_REWARD_BPS()).to.equal(5000n);
      for (const bad of [
        [ethers.ZeroAddress, good[1], good[2], 500, 5000, good[5]],
        [good[0], ethers.ZeroAddress, good[2], 500, 5000, good[5]],
        [good[0], good[1], ethers.ZeroAddress, 500, 5000, good[5]],
        [good[0], good[1], self, 500, 5000, good[5]],
        [good[0], good[1], good[2], 10_001, 5000, good[5]],
        [good[0], good[1], good[2], 500, 5001, good[5]],
        [good[0], good[1], good[2], 500, 10_000, good[5]],
        [good[0], good[1], good[2], 500, 5000, await foreignBatches.getAddress()],
      ] as const) {
        await expect(factory.connect(f.deployer).deploy(...(bad as unknown as Parameters<typeof factory.deploy>))).to.be.revertedWithCustomError(f.manager, "InvalidProtocolConfig");
      }
      const atCap = await factory.connect(f.deployer).deploy(good[0], good[1], good[2], 10_000, 5000, good[5]);
      expect(await atCap.slashRewardBps()).to.equal(5000n);
    });
  });

  describe("submitClaim", () => {
    it("unknown model", async () => {
      const f = await load();
      const unknown = ethers.keccak256("0xdead");
      await rejects(f, () => f.manager.connect(f.provider).submitClaim(unknown, 1n, sampleOutputs(), MIN_PROVIDER_BOND, "0x", ""), f.registry, "UnknownModel", [unknown]);
    });
    it("deprecated model", async () => {
      const f = await load();
      await f.registry.connect(f.modelOwner).deprecateModel(f.modelId);
      await rejects(f, () => submit(f), f.manager, "ModelIsDeprecated", [f.modelId]);
    });
    it("short stake", async () => {
      const f = await load();
      await rejects(f, () => submit(f, { bond: STAKE + 1n }), f.manager, "InsufficientStake", [f.provider.address, STAKE, STAKE + 1n]);
    });
    it("bond below the model minimum", async () => {
      const f = await load();
      await rejects(f, () => submit(f, { bond: MIN_PROVIDER_BOND - 1n }), f.manager, "BondBelowMinimum", [MIN_PROVIDER_BOND - 1n, MIN_PROVIDER_BOND]);
    });
    it("duplicate claim", async () => {
      const f = await load();
      const { claim, id } = await submit(f);
      await rejects(f, () => submit(f), f.manager, "ClaimAlreadyExists", [id], [claim]);
    });
    it("wrong output length (short and long)", async () => {
      const f = await load();
      await rejects(f, () => submit(f, { outputs: sampleOutputs().slice(1) }), f.manager, "WrongOutputLength", [10n, 9n]);
      await rejects(f, () => submit(f, { outputs: [...sampleOutputs(), 1n] }), f.manager, "WrongOutputLength", [10n, 11n]);
    });
    it("an output that does not fit outputBits (either end)", async () => {
      const f = await load();
      const half = 1n << BigInt(OUTPUT_BITS - 1);
      const hi = sampleOutputs();
      hi[4] = half;
      await rejects(f, () => submit(f, { outputs: hi }), f.manager, "OutputOutOfRange", [4n, half, OUTPUT_BITS]);
      const lo = sampleOutputs();
      lo[9] = -half - 1n;
      await rejects(f, () => submit(f, { outputs: lo }), f.manager, "OutputOutOfRange", [9n, -half - 1n, OUTPUT_BITS]);
    });
    it("inputHash outside the BN254 field", async () => {
      const f = await load();
      await rejects(f, () => submit(f, { inputHash: FIELD_P }), f.manager, "InputHashNotInField", [FIELD_P]);
    });
  });

  describe("challenge", () => {
    it("unknown claim (fields that hash to nothing submitted)", async () => {
      const f = await load();
      const { claim } = await submit(f);
      const forged = { ...claim, bond: claim.bond + 1n };
      await rejects(f, () => f.manager.connect(f.challenger).challenge(forged), f.manager, "UnknownClaim", [claimId(forged)], [claim]);
    });
    it("challenge after the window", async () => {
      const f = await load();
      const { claim, id } = await submit(f);
      const [, deadline] = await f.manager.claimState(id);
      await networkHelpers.time.increaseTo(deadline);
      await rejects(f, () => f.manager.connect(f.challenger).challenge(claim), f.manager, "ChallengeWindowClosed", [id, deadline], [claim]);
    });
    it("challenge twice", async () => {
      const f = await load();
      const { claim, id } = await submit(f);
      await f.manager.connect(f.challenger).challenge(claim);
      await rejects(f, () => f.manager.connect(f.other).challenge(claim), f.manager, "InvalidClaimStatus", [id, ClaimStatus.Challenged], [claim]);
    });
    it("challenger without enough free stake", async () => {
      const f = await load();
      const { claim } = await submit(f);
      await f.manager.connect(f.challenger).unstake(STAKE - MIN_CHALLENGER_BOND + 1n);
      await rejects(f, () => f.manager.connect(f.challenger).challenge(claim), f.manager, "InsufficientStake",
        [f.challenger.address, MIN_CHALLENGER_BOND - 1n, MIN_CHALLENGER_BOND], [claim]);
    });
  });

  describe("prove and counterProve", () => {
    it("proof with wrong outputs", async () => {
      const f = await load();
      const { claim, id } = await submit(f);
      await rejects(f, () => f.manager.prove(claim, sampleOutputs(3n), ZERO_PROOF), f.manager, "OutputsMismatch", [id, claim.outputHash], [claim]);
    });
    it("invalid proof", async () => {
      const f = await load();
      const { claim, id, outputs } = await submit(f);
      await f.verifier.setAnswer(false);
      await rejects(f, () => f.manager.prove(claim, outputs, ZERO_PROOF), f.manager, "InvalidProof", [id], [claim]);
      await rejects(f, () => counterProve(f, f.other, claim, sampleOutputs(4n)), f.manager, "InvalidProof", [id], [claim]);
    });
    it("proof after its deadline", async () => {
      const f = await load();
      const { claim, id, outputs } = await submit(f);
      await f.manager.connect(f.challenger).challenge(claim);
      const [, deadline] = await f.manager.claimState(id);
      await networkHelpers.time.increaseTo(deadline);
      await rejects(f, () => f.manager.prove(claim, outputs, ZERO_PROOF), f.manager, "ProofWindowClosed", [id, deadline], [claim]);
    });
    it("prove or counterProve a settled claim", async () => {
      const f = await load();
      const { claim, id, outputs } = await submit(f);
      await f.manager.prove(claim, outputs, ZERO_PROOF);
      await rejects(f, () => f.manager.prove(claim, outputs, ZERO_PROOF), f.manager, "InvalidClaimStatus", [id, ClaimStatus.Proven], [claim]);
      await rejects(f, () => counterProve(f, f.other, claim, sampleOutputs(4n)), f.manager, "InvalidClaimStatus", [id, ClaimStatus.Proven], [claim]);
    });
    it("prove an unknown claim", async () => {
      const f = await load();
      const outputs = sampleOutputs();
      const ghost: ClaimStruct = { modelId: f.modelId, provider: f.provider.address, inputHash: 1n, outputHash: outputHash(outputs), bond: 1n, requestId: 0n };
      await rejects(f, () => f.manager.prove(ghost, outputs, ZERO_PROOF), f.manager, "UnknownClaim", [claimId(ghost)]);
    });
    it("counter-proof carrying the claimed outputs", async () => {
      const f = await load();
      const { claim, id, outputs } = await submit(f);
      await rejects(f, () => counterProve(f, f.other, claim, outputs), f.manager, "SameOutputs", [id], [claim]);
    });
    it("counter-proof with a wrong output length or an output out of range", async () => {
      const f = await load();
      const { claim } = await submit(f);
      await rejects(f, () => counterProve(f, f.other, claim, sampleOutputs().slice(2)), f.manager, "WrongOutputLength", [10n, 8n], [claim]);
      const big = sampleOutputs();
      big[0] = 1n << 40n;
      await rejects(f, () => counterProve(f, f.other, claim, big), f.manager, "OutputOutOfRange", [0n, 1n << 40n, OUTPUT_BITS], [claim]);
    });
    it("counter-proof of an unchallenged claim after its window", async () => {
      const f = await load();
      const { claim, id } = await submit(f);
      const [, deadline] = await f.manager.claimState(id);
      const other = sampleOutputs(4n);
      await f.manager.connect(f.other).commit(await f.manager.hashCounterProof(id, other, ZERO_PROOF));
      await networkHelpers.time.increaseTo(deadline);
      await rejects(f, () => f.manager.connect(f.other).counterProve(claim, other, ZERO_PROOF), f.manager, "ChallengeWindowClosed", [id, deadline], [claim]);
    });
    it("a counter-proof without a commitment, revealed in its commitment's block, or revealed twice", async () => {
      const f = await load();
      const { claim, id } = await submit(f);
      const other = sampleOutputs(4n);
      const commitment = await f.manager.hashCounterProof(id, other, ZERO_PROOF);
      const m = f.manager.connect(f.other);
      await rejects(f, () => m.counterProve(claim, other, ZERO_PROOF), f.manager, "CommitmentNotFound", [f.other.address, commitment], [claim]);
      // Commit and reveal in one block: the reveal is refused.
      await networkHelpers.mine();
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        const c = await m.commit(commitment);
        const block = (await ethers.provider.getBlockNumber()) + 1;
        // The reveal run on the pending block, the one holding the commitment:
        await expect(m.counterProve.staticCall(claim, other, ZERO_PROOF, { blockTag: "pending" }))
          .to.be.revertedWithCustomError(f.manager, "CommitmentTooRecent").withArgs(commitment, block);
        const r = await m.counterProve(claim, other, ZERO_PROOF, { gasLimit: 1_000_000 });
        await networkHelpers.mine();
        expect((await c.wait())!.blockNumber).to.equal(block);
        const revealed = (await ethers.provider.getTransactionReceipt(r.hash))!;
        expect(revealed.blockNumber).to.equal(block);
        expect(revealed.status).to.equal(0);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      expect((await f.manager.claimState(id))[0]).to.equal(ClaimStatus.Submitted);
      await expect(m.counterProve(claim, other, ZERO_PROOF)).to.emit(f.manager, "ClaimSlashed");
      expect(await f.manager.commitments(f.other.address, commitment)).to.equal(0n);
    });
    it("a commitment is kept per sender: the same commitment made by someone else does not count", async () => {
      const f = await load();
      const { claim, id } = await submit(f);
      const other = sampleOutputs(4n);
      const commitment = await f.manager.hashCounterProof(id, other, ZERO_PROOF);
      await expect(f.manager.connect(f.other).commit(commitment)).to.emit(f.manager, "Committed").withArgs(f.other.address, commitment);
      await rejects(f, () => f.manager.connect(f.challenger).counterProve(claim, other, ZERO_PROOF), f.manager, "CommitmentNotFound", [f.challenger.address, commitment], [claim]);
    });
  });

  describe("finalize and slash", () => {
    it("finalize too early", async () => {
      const f = await load();
      const { claim, id, outputs } = await submit(f);
      const [, deadline] = await f.manager.claimState(id);
      await rejects(f, () => f.manager.finalize(claim, outputs), f.manager, "ChallengeWindowOpen", [id, deadline], [claim]);
    });
    it("finalize a challenged or settled claim", async () => {
      const f = await load();
      const { claim, id, outputs } = await submit(f);
      await f.manager.connect(f.challenger).challenge(claim);
      await networkHelpers.time.increase(CHALLENGE_WINDOW * 10n);
      await rejects(f, () => f.manager.finalize(claim, outputs), f.manager, "InvalidClaimStatus", [id, ClaimStatus.Challenged], [claim]);
      await f.manager.slash(claim);
      await rejects(f, () => f.manager.finalize(claim, outputs), f.manager, "InvalidClaimStatus", [id, ClaimStatus.Slashed], [claim]);
      await rejects(f, () => f.manager.slash(claim), f.manager, "InvalidClaimStatus", [id, ClaimStatus.Slashed], [claim]);
    });
    it("finalize with outputs other than the claimed ones", async () => {
      const f = await load();
      const { claim, id } = await submit(f);
      await networkHelpers.time.increase(CHALLENGE_WINDOW);
      await rejects(f, () => f.manager.finalize(claim, sampleOutputs(3n)), f.manager, "OutputsMismatch", [id, claim.outputHash], [claim]);
    });
    it("slash too early or unchallenged", async () => {
      const f = await load();
      const { claim, id } = await submit(f);
      await rejects(f, () => f.manager.slash(claim), f.manager, "InvalidClaimStatus", [id, ClaimStatus.Submitted], [claim]);
      await f.manager.connect(f.challenger).challenge(claim);
      const [, deadline] = await f.manager.claimState(id);
      await rejects(f, () => f.manager.slash(claim), f.manager, "ProofWindowOpen", [id, deadline], [claim]);
    });
  });

  describe("requests", () => {
    async function open(f: Fixture, ttl = 1000n, inputHash = 777n, extra: { provider?: string; minBond?: bigint } = {}): Promise<bigint> {
      return request(f, { ttl, inputHash, ...extra });
    }
    it("request parameters: deprecated model, zero fee, bad expiry, callback gas, input not in field", async () => {
      const f = await load();
      const m = f.manager.connect(f.consumer);
      const t = await now();
      const params = (o: Parameters<typeof requestParams>[1]) => requestParams(f, { fee: 1n, expiry: t + 100n, inputHash: 1n, ...o });
      await rejects(f, async () => m.requestInference(await params({ fee: 0n }), "0x", ""), f.manager, "ZeroAmount", []);
      await rejects(f, async () => m.requestInference(await params({ expiry: t }), "0x", ""), f.manager, "InvalidExpiry", [t]);
      const far = t + 30n * 86400n + 3600n; // the exact boundary is in EdgeCases
      await rejects(f, async () => m.requestInference(await params({ expiry: far }), "0x", ""), f.manager, "InvalidExpiry", [far]);
      await rejects(f, async () => m.requestInference(await params({ callbackGasLimit: 1_000_001 }), "0x", ""), f.manager, "CallbackGasTooHigh", [1_000_001n, 1_000_000n]);
      await rejects(f, async () => m.requestInference(await params({ inputHash: FIELD_P }), "0x", ""), f.manager, "InputHashNotInField", [FIELD_P]);
      await f.registry.connect(f.modelOwner).deprecateModel(f.modelId);
      await rejects(f, async () => m.requestInference(await params({}), "0x", ""), f.manager, "ModelIsDeprecated", [f.modelId]);
    });
    it("answers to an unknown, claimed or expired request", async () => {
      const f = await load();
      await rejects(f, () => answer(f, 5n), f.manager, "UnknownRequest", [5n]);
      const r = await open(f);
      const { claim } = await answer(f, r);
      await rejects(f, () => answer(f, r, { provider: f.other }), f.manager, "RequestNotOpen", [r, RequestStatus.Claimed], [claim], [r]);
      const r2 = await open(f, 10n);
      const expiry = (await f.manager.getRequest(r2)).expiry;
      await networkHelpers.time.increaseTo(expiry);
      await rejects(f, () => answer(f, r2), f.manager, "RequestExpired", [r2, expiry], [], [r2]);
    });
    it("an answer must be committed to: no commitment, or a commitment to other outputs, bond or salt", async () => {
      const f = await load();
      const r = await open(f);
      const outputs = sampleOutputs();
      const m = f.manager.connect(f.provider);
      const commitment = await f.manager.hashAnswer(r, outputHash(outputs), MIN_PROVIDER_BOND, SALT);
      await rejects(f, () => m.answerRequest(r, outputs, MIN_PROVIDER_BOND, SALT), f.manager, "CommitmentNotFound", [f.provider.address, commitment], [], [r]);
      await m.commit(commitment);
      const otherOutputs = sampleOutputs(2n);
      for (const [o, bond, salt] of [[otherOutputs, MIN_PROVIDER_BOND, SALT], [outputs, MIN_PROVIDER_BOND + 1n, SALT], [outputs, MIN_PROVIDER_BOND, ethers.ZeroHash]] as const) {
        const c = await f.manager.hashAnswer(r, outputHash([...o]), bond, salt);
        await rejects(f, () => m.answerRequest(r, [...o], bond, salt), f.manager, "CommitmentNotFound", [f.provider.address, c], [], [r]);
      }
      await expect(m.answerRequest(r, outputs, MIN_PROVIDER_BOND, SALT)).to.emit(f.manager, "RequestClaimed");
    });
    it("a request naming its provider refuses every other provider; a request's minimum bond binds", async () => {
      const f = await load();
      const r = await open(f, 1000n, 777n, { provider: f.other.address, minBond: 2n * MIN_PROVIDER_BOND });
      const req = await f.manager.getRequest(r);
      expect(req.provider).to.equal(f.other.address);
      expect(req.minBond).to.equal(2n * MIN_PROVIDER_BOND);
      await rejects(f, () => answer(f, r, { bond: 2n * MIN_PROVIDER_BOND }), f.manager, "ProviderNotAllowed", [r, f.provider.address], [], [r]);
      await rejects(f, () => answer(f, r, { provider: f.other, bond: 2n * MIN_PROVIDER_BOND - 1n }), f.manager, "BondBelowMinimum",
        [2n * MIN_PROVIDER_BOND - 1n, 2n * MIN_PROVIDER_BOND], [], [r]);
      await answer(f, r, { provider: f.other, bond: 2n * MIN_PROVIDER_BOND });
      expect((await f.manager.getRequest(r)).status).to.equal(RequestStatus.Claimed);
      // A request minimum below the model's does not lower the model's.
      const r2 = await open(f, 1000n, 777n, { minBond: 1n });
      await rejects(f, () => answer(f, r2, { bond: MIN_PROVIDER_BOND - 1n }), f.manager, "BondBelowMinimum",
        [MIN_PROVIDER_BOND - 1n, MIN_PROVIDER_BOND], [], [r2]);
    });
    it("refund of an unknown, unexpired, claimed or refunded request", async () => {
      const f = await load();
      await rejects(f, () => f.manager.refundRequest(9n), f.manager, "UnknownRequest", [9n]);
      const r = await open(f, 100n);
      const expiry = (await f.manager.getRequest(r)).expiry;
      await rejects(f, () => f.manager.refundRequest(r), f.manager, "RequestNotExpired", [r, expiry], [], [r]);
      await networkHelpers.time.increaseTo(expiry);
      await f.manager.refundRequest(r);
      await rejects(f, () => f.manager.refundRequest(r), f.manager, "RequestNotOpen", [r, RequestStatus.Refunded], [], [r]);
      const r2 = await open(f, 100n);
      await answer(f, r2);
      await networkHelpers.time.increase(200n);
      await rejects(f, () => f.manager.refundRequest(r2), f.manager, "RequestNotOpen", [r2, RequestStatus.Claimed], [], [r2]);
    });
  });
});
