// Claim and request lifecycles end to end with a mock verifier: who ends up with which balance.
import { expect } from "chai";
import {
  CHALLENGE_WINDOW, ClaimStatus, MIN_CHALLENGER_BOND, MIN_PROVIDER_BOND, PROOF_WINDOW, PROTOCOL_FEE_BPS, RequestStatus,
  SLASH_REWARD_BPS, STAKE, ZERO_PROOF, answer, counterProve, deployFixture, ethers, expectSolvent, networkHelpers, now,
  request, requestParams, sampleOutputs, submit, loadFixture,
} from "./helpers.ts";
import { publicSignals } from "../../sdk/signals.ts";

const load = () => loadFixture(deployFixture);

describe("ClaimManager lifecycle", () => {
  it("stakes and unstakes free stake", async () => {
    const f = await load();
    expect(await f.manager.freeStake(f.provider.address)).to.equal(STAKE);
    const before = await f.token.balanceOf(f.provider.address);
    await f.manager.connect(f.provider).unstake(STAKE / 4n);
    expect(await f.manager.freeStake(f.provider.address)).to.equal(STAKE - STAKE / 4n);
    expect(await f.token.balanceOf(f.provider.address)).to.equal(before + STAKE / 4n);
    await expectSolvent(f);
  });

  it("Submitted -> Finalized after an unchallenged window: bond back to free stake", async () => {
    const f = await load();
    const { claim, id, outputs } = await submit(f);
    expect(await f.manager.freeStake(f.provider.address)).to.equal(STAKE - MIN_PROVIDER_BOND);
    const [status, deadline, challenger] = await f.manager.claimState(id);
    expect(status).to.equal(ClaimStatus.Submitted);
    expect(deadline).to.equal((await now()) + CHALLENGE_WINDOW);
    expect(challenger).to.equal(ethersZero);
    await expectSolvent(f, [claim]);
    await networkHelpers.time.increaseTo(deadline);
    await f.manager.connect(f.other).finalize(claim, outputs);
    expect((await f.manager.claimState(id))[0]).to.equal(ClaimStatus.Finalized);
    expect(await f.manager.freeStake(f.provider.address)).to.equal(STAKE);
    expect(await f.manager.isSettledOutput(claim, sampleOutputs())).to.equal(true);
    expect(await f.manager.isSettledOutput(claim, sampleOutputs(2n))).to.equal(false);
    await expectSolvent(f, [claim]);
  });

  it("Submitted -> Challenged -> Proven: provider wins the challenger bond less the protocol fee", async () => {
    const f = await load();
    const { claim, id, outputs } = await submit(f);
    await f.manager.connect(f.challenger).challenge(claim);
    const [status, deadline, challenger] = await f.manager.claimState(id);
    expect(status).to.equal(ClaimStatus.Challenged);
    expect(deadline).to.equal((await now()) + PROOF_WINDOW);
    expect(challenger).to.equal(f.challenger.address);
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE - MIN_CHALLENGER_BOND);
    await expectSolvent(f, [claim]);

    await f.manager.connect(f.other).prove(claim, outputs, ZERO_PROOF);
    const fee = (MIN_CHALLENGER_BOND * PROTOCOL_FEE_BPS) / 10_000n;
    expect((await f.manager.claimState(id))[0]).to.equal(ClaimStatus.Proven);
    expect(await f.manager.freeStake(f.provider.address)).to.equal(STAKE + MIN_CHALLENGER_BOND - fee);
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE - MIN_CHALLENGER_BOND);
    expect(await f.manager.credits(f.treasury.address)).to.equal(fee);
    expect(await f.manager.isSettledOutput(claim, outputs)).to.equal(true);
    await expectSolvent(f, [claim]);
  });

  it("prove derives the public signals [packedOutputs, inputHash, weightsCommitment] from the stored claim", async () => {
    const f = await load();
    const { claim, outputs } = await submit(f, { inputHash: 4242n });
    const model = await f.registry.getModel(f.modelId);
    // The mock verifier now says yes only to exactly these signals (the sdk layout).
    await f.verifier.expectSignals(publicSignals(outputs, Number(model.outputBits), 4242n, model.weightsCommitment));
    await expect(f.manager.prove({ ...claim }, outputs, ZERO_PROOF)).to.emit(f.manager, "ClaimProven");
    const other = await submit(f, { inputHash: 4243n });
    await expect(f.manager.prove(other.claim, other.outputs, ZERO_PROOF)).to.be.revertedWithCustomError(f.manager, "InvalidProof");
  });

  it("Submitted -> Proven at once with a proof before any challenge", async () => {
    const f = await load();
    const { claim, id, outputs } = await submit(f);
    await f.manager.connect(f.provider).prove(claim, outputs, ZERO_PROOF);
    expect((await f.manager.claimState(id))[0]).to.equal(ClaimStatus.Proven);
    expect(await f.manager.freeStake(f.provider.address)).to.equal(STAKE);
    expect(await f.manager.credits(f.treasury.address)).to.equal(0n);
    await expectSolvent(f, [claim]);
  });

  it("Challenged -> Slashed after the proof deadline: challenger gets bond back plus reward, rest to treasury", async () => {
    const f = await load();
    const { claim, id, outputs } = await submit(f, { bond: 2n * MIN_PROVIDER_BOND });
    await f.manager.connect(f.challenger).challenge(claim);
    const [, deadline] = await f.manager.claimState(id);
    await networkHelpers.time.increaseTo(deadline);
    await f.manager.connect(f.other).slash(claim);
    const reward = (2n * MIN_PROVIDER_BOND * SLASH_REWARD_BPS) / 10_000n;
    expect((await f.manager.claimState(id))[0]).to.equal(ClaimStatus.Slashed);
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE + reward);
    expect(await f.manager.freeStake(f.provider.address)).to.equal(STAKE - 2n * MIN_PROVIDER_BOND);
    expect(await f.manager.credits(f.treasury.address)).to.equal(2n * MIN_PROVIDER_BOND - reward);
    expect(await f.manager.isSettledOutput(claim, outputs)).to.equal(false);
    await expectSolvent(f, [claim]);
  });

  it("counterProve slashes an unchallenged claim at once and rewards the counter-prover", async () => {
    const f = await load();
    const { claim, id } = await submit(f);
    await counterProve(f, f.other, claim, sampleOutputs(9n));
    const reward = (MIN_PROVIDER_BOND * SLASH_REWARD_BPS) / 10_000n;
    expect((await f.manager.claimState(id))[0]).to.equal(ClaimStatus.Slashed);
    expect(await f.manager.freeStake(f.other.address)).to.equal(STAKE + reward);
    expect(await f.manager.credits(f.treasury.address)).to.equal(MIN_PROVIDER_BOND - reward);
    await expectSolvent(f, [claim]);
  });

  it("counterProve of a claim challenged in an earlier block pays the challenger (bond back + reward), not the counter-prover", async () => {
    const f = await load();
    const { claim } = await submit(f);
    await f.manager.connect(f.challenger).challenge(claim);
    await counterProve(f, f.other, claim, sampleOutputs(9n));
    const reward = (MIN_PROVIDER_BOND * SLASH_REWARD_BPS) / 10_000n;
    expect(await f.manager.freeStake(f.other.address)).to.equal(STAKE);
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE + reward);
    await expectSolvent(f, [claim]);
  });

  it("a challenger that counter-proves its own challenge gets its bond back plus the reward", async () => {
    const f = await load();
    const { claim } = await submit(f);
    await f.manager.connect(f.challenger).challenge(claim);
    await counterProve(f, f.challenger, claim, sampleOutputs(9n));
    const reward = (MIN_PROVIDER_BOND * SLASH_REWARD_BPS) / 10_000n;
    expect(await f.manager.freeStake(f.challenger.address)).to.equal(STAKE + reward);
    await expectSolvent(f, [claim]);
  });

  it("request -> claim -> finalize: fee to the provider's credits, protocol fee to the treasury; both withdraw", async () => {
    const f = await load();
    const fee = 5n * 10n ** 18n;
    const requestId = await request(f, { fee, ttl: 1000n, inputData: "0x1234" });
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Open);
    await expectSolvent(f, [], [requestId]);

    const { claim, id, outputs } = await answer(f, requestId);
    expect(await f.manager.claimOfRequest(requestId)).to.equal(id);
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Claimed);
    await networkHelpers.time.increase(CHALLENGE_WINDOW);
    await f.manager.finalize(claim, outputs);
    const protocolFee = (fee * PROTOCOL_FEE_BPS) / 10_000n;
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Fulfilled);
    expect(await f.manager.credits(f.provider.address)).to.equal(fee - protocolFee);
    expect(await f.manager.credits(f.treasury.address)).to.equal(protocolFee);
    await expectSolvent(f, [claim], [requestId]);

    const before = await f.token.balanceOf(f.provider.address);
    await f.manager.connect(f.provider).withdraw(fee - protocolFee);
    expect(await f.token.balanceOf(f.provider.address)).to.equal(before + fee - protocolFee);
    await f.manager.connect(f.treasury).withdraw(protocolFee);
    expect(await f.token.balanceOf(f.treasury.address)).to.equal(protocolFee);
    await expectSolvent(f, [claim], [requestId]);
  });

  it("a slashed answer reopens the request; another provider answers; a proof fulfils it", async () => {
    const f = await load();
    const fee = 10n ** 18n;
    const requestId = await request(f, { fee, ttl: 100_000n, inputURI: "ipfs://x" });
    const bad = await answer(f, requestId, { outputs: sampleOutputs(5n) });
    await counterProve(f, f.challenger, bad.claim, sampleOutputs());
    let req = await f.manager.getRequest(requestId);
    expect(req.status).to.equal(RequestStatus.Open);
    expect(req.claimId).to.equal(ethersZeroHash);
    const good = await answer(f, requestId, { provider: f.other });
    await f.manager.prove(good.claim, good.outputs, ZERO_PROOF);
    req = await f.manager.getRequest(requestId);
    expect(req.status).to.equal(RequestStatus.Fulfilled);
    expect(req.claimId).to.equal(good.id);
    expect(await f.manager.credits(f.other.address)).to.equal(fee - (fee * PROTOCOL_FEE_BPS) / 10_000n);
    await expectSolvent(f, [bad.claim, good.claim], [requestId]);
  });

  it("an open request writes no sixth storage slot; one naming its provider or minimum bond writes exactly one more", async () => {
    const f = await load();
    await request(f); // the first request also initializes requestCount
    // Distinct storage slots the transaction writes (the key is on top of the stack at each SSTORE).
    const sstores = async (hash: string): Promise<number> => {
      const trace = (await ethers.provider.send("debug_traceTransaction", [hash, { disableMemory: true, disableStorage: true }])) as { structLogs: { op: string; depth: number; stack: string[] }[] };
      const keys = trace.structLogs.filter((l) => l.op === "SSTORE" && l.depth === 1).map((l) => BigInt(l.stack[l.stack.length - 1]!));
      return new Set(keys).size;
    };
    const send = async (extra: { provider?: string; minBond?: bigint }) => {
      const tx = await f.manager.connect(f.consumer).requestInference(await requestParams(f, extra), "0x", "");
      return sstores(tx.hash);
    };
    const open = await send({});
    expect(await send({ provider: f.provider.address })).to.equal(open + 1);
    expect(await send({ minBond: 1n })).to.equal(open + 1);
    const last = await f.manager.getRequest(await f.manager.requestCount());
    expect([last.provider, last.minBond]).to.deep.equal([ethersZero, 1n]);
  });

  it("an expired open request refunds its fee to the consumer's credits", async () => {
    const f = await load();
    const fee = 3n * 10n ** 18n;
    // (a block first: after other files' time travel the next block's time may be ahead of the latest block's)
    await networkHelpers.mine();
    const expiry = (await now()) + 50n;
    const requestId = await request(f, { fee, expiry, inputHash: 1n });
    await networkHelpers.time.increaseTo(expiry);
    await f.manager.connect(f.other).refundRequest(requestId);
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Refunded);
    expect(await f.manager.credits(f.consumer.address)).to.equal(fee);
    await expectSolvent(f, [], [requestId]);
  });
});

const ethersZero = "0x0000000000000000000000000000000000000000";
const ethersZeroHash = "0x" + "00".repeat(32);
