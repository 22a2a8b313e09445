// Attacks on settlement, written the way an attacker would run them: swapping the verifier's code, registering an
// entry whose shape disagrees with its verifier, copying a pending counter-proof or request answer out of the
// mempool, challenging in front of a watcher's counter-proof, and challenging one's own false claim from a second
// address. Each test says why it would have succeeded against the contracts before commit-reveal, the pinned
// verifier code hash, the example proof at registration and the slash cap.
import { expect } from "chai";
import { keccak256, type ContractTransactionResponse, type TransactionResponse } from "ethers";
import { network } from "hardhat";
import { outputHash } from "../../sdk/signals.ts";
import {
  ClaimStatus, E18, MIN_PROVIDER_BOND, PROTOCOL_FEE_BPS, RequestStatus, SALT, SLASH_REWARD_BPS, STAKE, ZERO_PROOF, claimId, counterProve, deployFixture, deployReal,
  ethers, fixture, fixtureExample, mockExample, modelParams, networkHelpers, realClaim, request, sampleOutputs,
  type Proof, type RealFixture, loadFixture,
} from "./helpers.ts";

const tiny = () => loadFixture(function tinyReal() { return deployReal("tiny"); });
const load = () => loadFixture(deployFixture);

/** Gas pricing that decides the order of transactions inside one block (higher tip first). */
const slow = { maxPriorityFeePerGas: 1n, maxFeePerGas: 100n * 10n ** 9n, gasLimit: 2_000_000n };
const fast = { maxPriorityFeePerGas: 50n * 10n ** 9n, maxFeePerGas: 100n * 10n ** 9n, gasLimit: 2_000_000n };

/** Runs `send` with automining off (its transactions wait in the mempool), then mines them all in one block. */
async function oneBlock<T>(send: () => Promise<T>): Promise<T> {
  await ethers.provider.send("evm_setAutomine", [false]);
  try {
    const out = await send();
    await networkHelpers.mine();
    return out;
  } finally {
    await ethers.provider.send("evm_setAutomine", [true]);
  }
}

async function receipt(tx: TransactionResponse | ContractTransactionResponse) {
  const r = await ethers.provider.getTransactionReceipt(tx.hash);
  if (!r) throw new Error(`no receipt for ${tx.hash}`);
  return r;
}

/** The custom error a mined, failed transaction reverted with (re-executed by the node's tracer). */
async function revertError(f: { manager: RealFixture["manager"] }, tx: TransactionResponse | ContractTransactionResponse): Promise<string> {
  const trace = (await ethers.provider.send("debug_traceTransaction", [tx.hash, { disableStorage: true, disableMemory: true, disableStack: true }])) as { failed: boolean; returnValue: string };
  expect(trace.failed).to.equal(true);
  const data = trace.returnValue.startsWith("0x") ? trace.returnValue : `0x${trace.returnValue}`;
  return f.manager.interface.parseError(data)!.name;
}

describe("attacks on settlement", () => {
  it("swapped verifier: replacing the verifier's code by an always-yes one cannot slash an honest claim", async () => {
    // Before: prove/counterProve called whatever code sat at the registered address. On a chain where code can
    // change (a metamorphic verifier, or hardhat_setCode here), the attacker made the verifier accept anything and
    // counter-proved an honest claim with made-up outputs and a junk proof, taking the slash reward.
    const f = await tiny();
    const c = f.cases[0]!;
    const honest = await realClaim(f, c.inputHash, c.outputs);
    const verifierAddress = await f.verifier.getAddress();
    const yes = await ethers.deployContract("AlwaysYesVerifier");
    await ethers.provider.send("hardhat_setCode", [verifierAddress, await ethers.provider.getCode(await yes.getAddress())]);
    const fake = c.outputs.map((v) => v + 1n);
    const junk: Proof = [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
    await expect(counterProve(f, f.other, honest, fake, junk))
      .to.be.revertedWithCustomError(f.manager, "VerifierCodeChanged").withArgs(f.modelId, verifierAddress);
    // Nor can the swapped code prove a lie.
    const lie = await realClaim(f, c.inputHash, fake, f.other);
    await f.manager.connect(f.challenger).challenge(lie);
    await expect(f.manager.prove(lie, fake, junk)).to.be.revertedWithCustomError(f.manager, "VerifierCodeChanged");
    expect((await f.manager.claimState(claimId(honest)))[0]).to.equal(ClaimStatus.Submitted);
    expect(await f.manager.freeStake(f.other.address)).to.equal(STAKE - 100n * E18);
  });

  it("wrong output shape at registration: an entry disagreeing with its real verifier is refused", async () => {
    // Before: registerModel took the shape on trust. An entry with the real TinyModelVerifier but another
    // outputBits or outputLength registered fine, and then no honest claim on it could ever be proven (the
    // on-chain public signals never match the circuit's): every challenge won, every honest provider was slashed.
    const f = await tiny();
    const example = fixtureExample(fixture);
    const bad = (o: Record<string, unknown>) => ({ ...f.params, artifactHash: ethers.keccak256("0x0bad"), ...o });
    const r = f.registry.connect(f.other);
    // outputBits 20 (the circuit packs 24-bit values): the real outputs still fit, the packing differs.
    await expect(r.registerModel(bad({ outputBits: 20 }), example))
      .to.be.revertedWithCustomError(f.registry, "InvalidExampleProof").withArgs(f.params.verifier);
    // outputLength 9 or 11, with an example of that length made from the real one.
    await expect(r.registerModel(bad({ outputLength: 9 }), { ...example, outputs: example.outputs.slice(0, 9) }))
      .to.be.revertedWithCustomError(f.registry, "InvalidExampleProof");
    await expect(r.registerModel(bad({ outputLength: 11 }), { ...example, outputs: [...example.outputs, 0n] }))
      .to.be.revertedWithCustomError(f.registry, "InvalidExampleProof");
    // Another weights commitment.
    await expect(r.registerModel(bad({ weightsCommitment: f.params.weightsCommitment + 1n }), example))
      .to.be.revertedWithCustomError(f.registry, "InvalidExampleProof");
    // The true shape registers.
    await expect(r.registerModel(bad({}), example)).to.emit(f.registry, "ModelRegistered");
  });

  it("copied counter-proof: replaying a pending counterProve from the mempool fails for lack of a commitment", async () => {
    // Before: counterProve paid whoever sent it. The attacker saw the watcher's pending counterProve, sent the same
    // calldata with a higher tip, got mined first and took the reward; the watcher's transaction then reverted.
    const f = await tiny();
    const [c0] = [f.cases[0]!];
    const wrong = c0.outputs.map((v, i) => (i === 4 ? v - 3n : v));
    const lie = await realClaim(f, c0.inputHash, wrong);
    const watcher = f.manager.connect(f.challenger);
    await watcher.commit(await watcher.hashCounterProof(claimId(lie), c0.outputs, c0.proof));
    const [reveal, copy] = await oneBlock(async () => {
      const reveal = await watcher.counterProve(lie, c0.outputs, c0.proof, slow);
      const seen = (await ethers.provider.getTransaction(reveal.hash))!; // the pending transaction, as a bot sees it
      const copy = await f.other.sendTransaction({ to: seen.to!, data: seen.data, ...fast });
      return [reveal, copy] as const;
    });
    const [rReveal, rCopy] = [await receipt(reveal), await receipt(copy)];
    expect(rCopy.blockNumber).to.equal(rReveal.blockNumber);
    expect(rCopy.index).to.be.lessThan(rReveal.index); // the copy ran first...
    expect(rCopy.status).to.equal(0); // ...and failed
    expect(await revertError(f, copy)).to.equal("CommitmentNotFound");
    expect(rReveal.status).to.equal(1);
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE + 50n * E18);
    expect(await f.manager.freeStake(f.other.address)).to.equal(STAKE);
  });

  it("copied counter-proof: a copier that commits when it sees the reveal is a block late", async () => {
    const f = await tiny();
    const c0 = f.cases[0]!;
    const wrong = c0.outputs.map((v, i) => (i === 4 ? v - 3n : v));
    const lie = await realClaim(f, c0.inputHash, wrong);
    const watcher = f.manager.connect(f.challenger);
    const commitment = await watcher.hashCounterProof(claimId(lie), c0.outputs, c0.proof);
    await watcher.commit(commitment);
    const copier = f.manager.connect(f.other);
    const [reveal, copyCommit, copyReveal] = await oneBlock(async () => {
      const reveal = await watcher.counterProve(lie, c0.outputs, c0.proof, slow);
      const copyCommit = await copier.commit(commitment, { ...fast, maxPriorityFeePerGas: fast.maxPriorityFeePerGas + 1n });
      const copyReveal = await copier.counterProve(lie, c0.outputs, c0.proof, fast);
      return [reveal, copyCommit, copyReveal] as const;
    });
    expect((await receipt(copyCommit)).status).to.equal(1);
    expect((await receipt(copyReveal)).status).to.equal(0);
    expect(await revertError(f, copyReveal)).to.equal("CommitmentTooRecent");
    expect((await receipt(reveal)).status).to.equal(1);
    // One block later the claim is already slashed.
    await expect(copier.counterProve(lie, c0.outputs, c0.proof)).to.be.revertedWithCustomError(f.manager, "InvalidClaimStatus");
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE + 50n * E18);
  });

  it("front-running challenge: challenging just before the watcher's reveal earns only the challenger bond back", async () => {
    // Before: a counter-proof of a challenged claim paid the challenger. Seeing the watcher's pending counterProve,
    // the attacker challenged the claim with a higher tip, so the watcher's own transaction paid the attacker.
    const f = await tiny();
    const c1 = f.cases[1]!;
    const wrong = c1.outputs.map((v, i) => (i === 0 ? v + 9n : v));
    const lie = await realClaim(f, c1.inputHash, wrong);
    const watcher = f.manager.connect(f.challenger);
    await watcher.commit(await watcher.hashCounterProof(claimId(lie), c1.outputs, c1.proof));
    const [reveal, frontRun] = await oneBlock(async () => {
      const reveal = await watcher.counterProve(lie, c1.outputs, c1.proof, slow);
      const frontRun = await f.manager.connect(f.other).challenge(lie, fast);
      return [reveal, frontRun] as const;
    });
    const [rReveal, rFront] = [await receipt(reveal), await receipt(frontRun)];
    expect(rFront.status).to.equal(1);
    expect(rFront.index).to.be.lessThan(rReveal.index); // the challenge landed first
    expect(rReveal.status).to.equal(1);
    await expect(reveal).to.emit(f.manager, "ClaimSlashed").withArgs(claimId(lie), f.challenger.address, 50n * E18, 50n * E18, true);
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE + 50n * E18); // the reward
    expect(await f.manager.freeStake(f.other.address)).to.equal(STAKE); // its challenger bond back, nothing more
  });

  it("reward diversion: a cheater's second address counter-proving after an honest challenge earns nothing", async () => {
    // Before (first version of commit-reveal): a counter-proof paid whoever revealed it, even on a claim an honest
    // watcher had already challenged. The cheater, whose circuit gives it the true outputs' proof for free, had a
    // second address commit and reveal it a block after the challenge: half its bond came back to the second
    // address and the honest challenger got only its bond back. Now a challenge from an earlier block keeps the
    // reward; the counter-proof only settles the claim sooner.
    const f = await tiny();
    const c0 = f.cases[0]!;
    const cheater = f.provider;
    const second = f.other;
    const lie = await realClaim(f, c0.inputHash, c0.outputs.map((v) => v + 3n), cheater);
    await f.manager.connect(f.challenger).challenge(lie);
    const secondBefore = await f.manager.freeStake(second.address);
    await expect(counterProve(f, second, lie, c0.outputs, c0.proof))
      .to.emit(f.manager, "ClaimSlashed").withArgs(claimId(lie), f.challenger.address, 50n * E18, 50n * E18, true);
    expect(await f.manager.freeStake(second.address)).to.equal(secondBefore); // nothing diverted
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE + 50n * E18); // bond back + reward
  });

  it("reward diversion on a chain whose consecutive blocks share a timestamp: the challenger from the earlier block keeps the reward", async () => {
    // Before: "challenged in an earlier block" was read from the proof deadline minus the proof window, a timestamp.
    // On chains with several blocks per second, the cheater commits the counter-proof of its own lie from a second
    // address at submission and, the moment a watcher challenges, reveals in the next block of the same second: the
    // reward went to the cheater and the watcher got only its bond back. Now the challenge's block number decides.
    const { ethers: l2 } = await network.create({ override: { allowBlocksWithSameTimestamp: true } });
    const [, provider, challenger, second, , treasury, modelOwner] = await l2.getSigners();
    const token = await l2.deployContract("MockERC20");
    const registry = await l2.deployContract("ModelRegistry");
    const verifier = await l2.deployContract("MockVerifier");
    const manager = await l2.deployContract("ClaimManager", [token, registry, treasury!.address, PROTOCOL_FEE_BPS, SLASH_REWARD_BPS, l2.ZeroAddress]);
    await (await registry.connect(modelOwner!).registerModel(modelParams(await verifier.getAddress()), mockExample())).wait();
    const modelId = await registry.computeModelId(modelOwner!.address, keccak256("0x01"));
    for (const s of [provider!, challenger!, second!]) {
      await token.mint(s.address, STAKE);
      await token.connect(s).approve(await manager.getAddress(), STAKE);
      await manager.connect(s).stake(STAKE);
    }
    const claimed = sampleOutputs(1n);
    const truth = sampleOutputs(77n);
    await manager.connect(provider!).submitClaim(modelId, 777n, claimed, MIN_PROVIDER_BOND, "0x", "");
    const lie = { modelId, provider: provider!.address, inputHash: 777n, outputHash: outputHash(claimed), bond: MIN_PROVIDER_BOND, requestId: 0n };
    await manager.connect(second!).commit(await manager.hashCounterProof(claimId(lie), truth, ZERO_PROOF));

    const rc = await (await manager.connect(challenger!).challenge(lie)).wait(); // the honest watcher
    const { timestamp } = (await l2.provider.getBlock(rc!.blockNumber))!;
    await l2.provider.send("evm_setNextBlockTimestamp", [timestamp]); // the next block, in the same second
    const revealed = await (await manager.connect(second!).counterProve(lie, truth, ZERO_PROOF)).wait();
    expect(revealed!.blockNumber).to.be.greaterThan(rc!.blockNumber);
    expect((await l2.provider.getBlock(revealed!.blockNumber))!.timestamp).to.equal(timestamp);
    const reward = (MIN_PROVIDER_BOND * SLASH_REWARD_BPS) / 10_000n;
    expect(await manager.freeStake(challenger!.address)).to.equal(STAKE + reward);
    expect(await manager.freeStake(second!.address)).to.equal(STAKE);
  });

  it("reward diversion after the proof deadline: a counter-proof front-running slash() still pays the challenger", async () => {
    // Before: counterProve stayed open on a Challenged claim after its proof deadline and paid the revealer, so the
    // cheater's second address could front-run the challenger's slash() and take the reward it had already won.
    const f = await tiny();
    const c0 = f.cases[0]!;
    const lie = await realClaim(f, c0.inputHash, c0.outputs.map((v) => v - 1n), f.provider);
    await f.manager.connect(f.challenger).challenge(lie);
    const commitment = await f.manager.hashCounterProof(claimId(lie), c0.outputs, c0.proof);
    await f.manager.connect(f.other).commit(commitment);
    await networkHelpers.time.increase(7200);
    await expect(f.manager.connect(f.other).counterProve(lie, c0.outputs, c0.proof))
      .to.emit(f.manager, "ClaimSlashed").withArgs(claimId(lie), f.challenger.address, 50n * E18, 50n * E18, true);
    expect(await f.manager.freeStake(f.other.address)).to.equal(STAKE);
  });

  it("self-challenge: a cheater challenging its own false claim from a second address still loses half its bond", async () => {
    // Before: slashRewardBps could be anything up to 100%. With it at 100% a cheater whose claim was about to be
    // caught challenged it from a second address and let the proof deadline pass: the whole bond came back to
    // its second address, and the watcher got nothing. Now the constructor refuses more than 50%.
    const f = await tiny();
    const factory = await ethers.getContractFactory("ClaimManager");
    for (const bps of [10_000, 7_500, 5_001]) {
      await expect(factory.deploy(await f.token.getAddress(), await f.registry.getAddress(), f.treasury.address, 500, bps, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.manager, "InvalidProtocolConfig");
    }
    const c0 = f.cases[0]!;
    const cheater = f.provider;
    const second = f.other;
    const wealth = async () => (await f.manager.freeStake(cheater.address)) + (await f.manager.freeStake(second.address));
    const before = await wealth();
    const lie = await realClaim(f, c0.inputHash, c0.outputs.map((v) => -v), cheater);
    await f.manager.connect(second).challenge(lie);
    await networkHelpers.time.increase(7200);
    await f.manager.slash(lie);
    expect(before - (await wealth())).to.be.greaterThanOrEqual(lie.bond / 2n);
    // Counter-proving its own lie from the second address is no better.
    const before2 = await wealth();
    const lie2 = await realClaim(f, c0.inputHash, c0.outputs.map((v) => v + 2n), cheater);
    await counterProve(f, second, lie2, c0.outputs, c0.proof);
    expect(before2 - (await wealth())).to.be.greaterThanOrEqual(lie2.bond / 2n);
  });

  describe("request answers", () => {
    it("copied request answer: replaying a pending answerRequest fails for lack of a commitment", async () => {
      // Before: a provider answered with submitClaim(..., requestId). A copier replayed the pending transaction's
      // outputs in its own submitClaim with a higher tip, took the request, and later its fee.
      const f = await load();
      const r = await request(f);
      const outputs = sampleOutputs();
      const honest = f.manager.connect(f.provider);
      await honest.commit(await honest.hashAnswer(r, outputHash(outputs), MIN_PROVIDER_BOND, SALT));
      const [answer, copy] = await oneBlock(async () => {
        const answer = await honest.answerRequest(r, outputs, MIN_PROVIDER_BOND, SALT, slow);
        const seen = (await ethers.provider.getTransaction(answer.hash))!;
        const copy = await f.other.sendTransaction({ to: seen.to!, data: seen.data, ...fast });
        return [answer, copy] as const;
      });
      expect((await receipt(copy)).status).to.equal(0);
      expect((await receipt(copy)).index).to.be.lessThan((await receipt(answer)).index);
      expect(await revertError(f, copy)).to.equal("CommitmentNotFound");
      expect((await receipt(answer)).status).to.equal(1);
      const claim = { modelId: f.modelId, provider: f.provider.address, inputHash: 777n, outputHash: outputHash(outputs), bond: MIN_PROVIDER_BOND, requestId: r };
      expect(await f.manager.claimOfRequest(r)).to.equal(claimId(claim));
    });

    it("copied request answer: a copier that commits when it sees the answer loses the race by a block", async () => {
      const f = await load();
      const r = await request(f);
      const outputs = sampleOutputs();
      const honest = f.manager.connect(f.provider);
      const commitment = await honest.hashAnswer(r, outputHash(outputs), MIN_PROVIDER_BOND, SALT);
      await honest.commit(commitment);
      const copier = f.manager.connect(f.other);
      const [answer, copyCommit, copyAnswer] = await oneBlock(async () => {
        const answer = await honest.answerRequest(r, outputs, MIN_PROVIDER_BOND, SALT, slow);
        // The salt is in the pending answer: the copier can rebuild the commitment, under its own address.
        const copyCommit = await copier.commit(commitment, { ...fast, maxPriorityFeePerGas: fast.maxPriorityFeePerGas + 1n });
        const copyAnswer = await copier.answerRequest(r, outputs, MIN_PROVIDER_BOND, SALT, fast);
        return [answer, copyCommit, copyAnswer] as const;
      });
      expect((await receipt(copyCommit)).status).to.equal(1);
      expect((await receipt(copyAnswer)).status).to.equal(0);
      expect(await revertError(f, copyAnswer)).to.equal("CommitmentTooRecent");
      expect((await receipt(answer)).status).to.equal(1);
      // The next block is too late: the request is taken.
      await expect(copier.answerRequest(r, outputs, MIN_PROVIDER_BOND, SALT))
        .to.be.revertedWithCustomError(f.manager, "RequestNotOpen").withArgs(r, RequestStatus.Claimed);
    });

    it("the answering claim is on the request's model and input, not one the provider picks", async () => {
      // answerRequest takes no model or input: both come from the request. A second model with the same shape
      // makes a claim on the wrong model distinguishable.
      const f = await load();
      const artifactB = ethers.keccak256("0x0b");
      await f.registry.connect(f.other).registerModel(modelParams(await f.verifier.getAddress(), { artifactHash: artifactB }), mockExample());
      const modelB = await f.registry.computeModelId(f.other.address, artifactB);
      const r = await request(f, { modelId: modelB, inputHash: 4321n });
      const outputs = sampleOutputs(3n);
      await f.manager.connect(f.provider).commit(await f.manager.hashAnswer(r, outputHash(outputs), MIN_PROVIDER_BOND, SALT));
      const claim = { modelId: modelB, provider: f.provider.address, inputHash: 4321n, outputHash: outputHash(outputs), bond: MIN_PROVIDER_BOND, requestId: r };
      await expect(f.manager.connect(f.provider).answerRequest(r, outputs, MIN_PROVIDER_BOND, SALT))
        .to.emit(f.manager, "ClaimSubmitted")
        .withArgs(claimId(claim), modelB, f.provider.address, [modelB, f.provider.address, 4321n, claim.outputHash, MIN_PROVIDER_BOND, r], (v: unknown) => typeof v === "bigint", outputs);
      expect(await f.manager.claimOfRequest(r)).to.equal(claimId(claim));
      await expect(f.manager.prove({ ...claim, modelId: f.modelId }, outputs, [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]))
        .to.be.revertedWithCustomError(f.manager, "UnknownClaim");
      await expect(f.manager.prove(claim, outputs, [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n])).to.emit(f.manager, "RequestFulfilled");
    });
  });
});
