// Every event an indexer relies on, with its arguments.
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import {
  CHALLENGE_WINDOW, MIN_CHALLENGER_BOND, MIN_PROVIDER_BOND, PROOF_WINDOW, PROTOCOL_FEE_BPS, SLASH_REWARD_BPS, ZERO_PROOF,
  answer, claimId, counterProve, deployFixture, networkHelpers, now, request, requestParams, sampleOutputs, submit, atTime, loadFixture,
} from "./helpers.ts";
import { outputHash } from "../../sdk/signals.ts";

const load = () => loadFixture(deployFixture);

describe("ClaimManager events", () => {
  it("Staked, Unstaked, Withdrawn", async () => {
    const f = await load();
    await expect(f.manager.connect(f.other).stake(5n)).to.emit(f.manager, "Staked").withArgs(f.other.address, 5n);
    await expect(f.manager.connect(f.other).unstake(3n)).to.emit(f.manager, "Unstaked").withArgs(f.other.address, 3n);
    await request(f, { inputHash: 1n, fee: 9n, ttl: 10n });
    await networkHelpers.time.increase(20);
    await f.manager.refundRequest(1n);
    await expect(f.manager.connect(f.consumer).withdraw(9n)).to.emit(f.manager, "Withdrawn").withArgs(f.consumer.address, 9n);
  });

  it("ClaimSubmitted carries the claim struct, deadline and outputs; ClaimInput only when input is given", async () => {
    const f = await load();
    const outputs = sampleOutputs(4n);
    const t = (await now()) + 5n;
    await atTime(t);
    const claim = { modelId: f.modelId, provider: f.provider.address, inputHash: 42n, outputHash: outputHash(outputs), bond: MIN_PROVIDER_BOND, requestId: 0n };
    const id = claimId(claim);
    const tx = f.manager.connect(f.provider).submitClaim(f.modelId, 42n, outputs, MIN_PROVIDER_BOND, "0xabcd", "ipfs://in");
    await expect(tx).to.emit(f.manager, "ClaimSubmitted").withArgs(
      id, f.modelId, f.provider.address,
      [claim.modelId, claim.provider, claim.inputHash, claim.outputHash, claim.bond, claim.requestId],
      t + CHALLENGE_WINDOW, outputs,
    );
    await expect(tx).to.emit(f.manager, "ClaimInput").withArgs(id, "0xabcd", "ipfs://in");
    await expect(submit(f).then((s) => s.tx)).to.not.emit(f.manager, "ClaimInput");
    // URI alone also counts as input.
    await expect(f.manager.connect(f.provider).submitClaim(f.modelId, 43n, outputs, MIN_PROVIDER_BOND, "0x", "ipfs://x"))
      .to.emit(f.manager, "ClaimInput").withArgs(anyValue, "0x", "ipfs://x");
  });

  it("ClaimChallenged, ClaimProven with the bond won and fee", async () => {
    const f = await load();
    const { claim, id, outputs } = await submit(f);
    const t = (await now()) + 7n;
    await atTime(t);
    await expect(f.manager.connect(f.challenger).challenge(claim))
      .to.emit(f.manager, "ClaimChallenged").withArgs(id, f.challenger.address, MIN_CHALLENGER_BOND, t + PROOF_WINDOW);
    const fee = (MIN_CHALLENGER_BOND * PROTOCOL_FEE_BPS) / 10_000n;
    await expect(f.manager.connect(f.other).prove(claim, outputs, ZERO_PROOF))
      .to.emit(f.manager, "ClaimProven").withArgs(id, f.other.address, MIN_CHALLENGER_BOND - fee, fee);
  });

  it("ClaimProven unchallenged reports nothing won", async () => {
    const f = await load();
    const { claim, id, outputs } = await submit(f);
    await expect(f.manager.prove(claim, outputs, ZERO_PROOF)).to.emit(f.manager, "ClaimProven").withArgs(id, f.deployer.address, 0n, 0n);
  });

  it("ClaimFinalized", async () => {
    const f = await load();
    const { claim, id, outputs } = await submit(f);
    await networkHelpers.time.increase(CHALLENGE_WINDOW);
    await expect(f.manager.finalize(claim, outputs)).to.emit(f.manager, "ClaimFinalized").withArgs(id);
  });

  it("ClaimSlashed by deadline and by counter-proof", async () => {
    const f = await load();
    const reward = (MIN_PROVIDER_BOND * SLASH_REWARD_BPS) / 10_000n;
    const a = await submit(f);
    await f.manager.connect(f.challenger).challenge(a.claim);
    await networkHelpers.time.increase(PROOF_WINDOW);
    await expect(f.manager.slash(a.claim)).to.emit(f.manager, "ClaimSlashed").withArgs(a.id, f.challenger.address, reward, MIN_PROVIDER_BOND - reward, false);
    const b = await submit(f, { inputHash: 5n });
    await expect(counterProve(f, f.other, b.claim, sampleOutputs(6n)))
      .to.emit(f.manager, "ClaimSlashed").withArgs(b.id, f.other.address, reward, MIN_PROVIDER_BOND - reward, true);
    // Challenged in an earlier block, then counter-proven by another: the challenger found it first and is the
    // beneficiary.
    const c = await submit(f, { inputHash: 6n });
    await f.manager.connect(f.challenger).challenge(c.claim);
    await expect(counterProve(f, f.other, c.claim, sampleOutputs(6n)))
      .to.emit(f.manager, "ClaimSlashed").withArgs(c.id, f.challenger.address, reward, MIN_PROVIDER_BOND - reward, true);
  });

  it("Committed", async () => {
    const f = await load();
    const h = await f.manager.hashAnswer(1n, ZERO_HASH, 5n, ZERO_HASH);
    await expect(f.manager.connect(f.other).commit(h)).to.emit(f.manager, "Committed").withArgs(f.other.address, h);
    expect(await f.manager.commitments(f.other.address, h)).to.equal(BigInt(await networkHelpers.time.latestBlock()));
  });

  it("InferenceRequested, RequestClaimed, RequestFulfilled, RequestReopened, RequestRefunded", async () => {
    const f = await load();
    const expiry = (await now()) + 1000n;
    const params = await requestParams(f, { fee: 100n, expiry, callbackGasLimit: 1234, provider: f.provider.address, minBond: 7n });
    await expect(f.manager.connect(f.consumer).requestInference(params, "0x99", "ar://in"))
      .to.emit(f.manager, "InferenceRequested")
      .withArgs(1n, f.modelId, f.consumer.address, 777n, 100n, expiry, 1234, f.provider.address, 7n, "0x99", "ar://in");
    const bad = await answer(f, 1n, { outputs: sampleOutputs(2n) });
    await expect(bad.tx).to.emit(f.manager, "RequestClaimed").withArgs(1n, bad.id);
    await expect(bad.tx).to.emit(f.manager, "ClaimSubmitted").withArgs(
      bad.id, f.modelId, f.provider.address,
      [bad.claim.modelId, bad.claim.provider, bad.claim.inputHash, bad.claim.outputHash, bad.claim.bond, 1n], anyValue, bad.outputs,
    );
    await expect(bad.tx).to.not.emit(f.manager, "ClaimInput");
    await expect(counterProve(f, f.other, bad.claim, sampleOutputs())).to.emit(f.manager, "RequestReopened").withArgs(1n, bad.id);
    const good = await answer(f, 1n);
    await networkHelpers.time.increase(CHALLENGE_WINDOW);
    await expect(f.manager.finalize(good.claim, good.outputs)).to.emit(f.manager, "RequestFulfilled").withArgs(1n, good.id, good.claim.outputHash, 95n, 5n);
    await request(f, { inputHash: 1n, fee: 7n, ttl: 10n });
    await networkHelpers.time.increase(10);
    await expect(f.manager.refundRequest(2n)).to.emit(f.manager, "RequestRefunded").withArgs(2n, f.consumer.address, 7n);
  });
});

const ZERO_HASH = "0x" + "00".repeat(32);
