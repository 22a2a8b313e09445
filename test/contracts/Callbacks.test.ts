// Consumer callbacks on settlement: delivered with the requested gas, and never able to block settlement
// (reverting, gas-burning, return-bombing and re-entering consumers).
import { expect } from "chai";
import {
  CHALLENGE_WINDOW, MIN_PROVIDER_BOND, PROTOCOL_FEE_BPS, RequestStatus, ZERO_PROOF, answer, deployFixture, ethers,
  networkHelpers, now, request, type Fixture, loadFixture,
} from "./helpers.ts";

const FEE = 10n ** 18n;
const GAS = 200_000;
const load = () => loadFixture(deployFixture);

async function consumerRequest(f: Fixture, name: string, extra: unknown[] = [], gas = GAS) {
  const consumer = await ethers.deployContract(name, [await f.manager.getAddress(), ...extra]);
  await f.token.mint(await consumer.getAddress(), FEE);
  await (consumer as unknown as { request: (...a: unknown[]) => Promise<unknown> }).request(f.modelId, 777n, FEE, (await now()) + 10_000n, gas);
  const requestId = await f.manager.requestCount();
  const s = await answer(f, requestId);
  await networkHelpers.time.increase(CHALLENGE_WINDOW);
  return { consumer, requestId, ...s };
}

async function expectFulfilled(f: Fixture, requestId: bigint): Promise<void> {
  expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Fulfilled);
  expect(await f.manager.credits(f.provider.address)).to.equal(FEE - (FEE * PROTOCOL_FEE_BPS) / 10_000n);
}

describe("ClaimManager consumer callbacks", () => {
  it("a well-behaved consumer hears requestId, claimId, the outputs, provider and bond with its full gas limit", async () => {
    const f = await load();
    const { consumer, requestId, claim, id, outputs } = await consumerRequest(f, "RecordingConsumer");
    await expect(f.manager.finalize(claim, outputs))
      .to.emit(f.manager, "ConsumerCallback").withArgs(requestId, await consumer.getAddress(), true);
    const c = consumer as unknown as Record<string, () => Promise<unknown>>;
    expect(await c.calls!()).to.equal(1n);
    expect(await c.lastRequestId!()).to.equal(requestId);
    expect(await c.lastClaimId!()).to.equal(id);
    expect(await c.lastOutputHash!()).to.equal(claim.outputHash);
    expect(await c.lastOutputCount!()).to.equal(BigInt(outputs.length));
    expect(await c.lastProvider!()).to.equal(f.provider.address);
    expect(await c.lastBond!()).to.equal(MIN_PROVIDER_BOND);
    // It measured gasleft() at entry: close to the limit (minus the call's own few hundred gas).
    const seen = (await c.gasSeen!()) as bigint;
    expect(seen).to.be.greaterThan(BigInt(GAS) - 2_000n);
    expect(seen).to.be.lessThanOrEqual(BigInt(GAS));
    await expectFulfilled(f, requestId);
  });

  it("a proof settlement calls back too", async () => {
    const f = await load();
    const { consumer, requestId, claim, outputs } = await consumerRequest(f, "RecordingConsumer");
    await expect(f.manager.prove(claim, outputs, ZERO_PROOF))
      .to.emit(f.manager, "ConsumerCallback").withArgs(requestId, await consumer.getAddress(), true);
  });

  it("a reverting consumer does not block settlement", async () => {
    const f = await load();
    const { consumer, requestId, claim, outputs } = await consumerRequest(f, "RevertingConsumer");
    await expect(f.manager.finalize(claim, outputs))
      .to.emit(f.manager, "ConsumerCallback").withArgs(requestId, await consumer.getAddress(), false);
    await expectFulfilled(f, requestId);
  });

  it("a gas-burning consumer burns only its own limit", async () => {
    const f = await load();
    const { requestId, claim, outputs } = await consumerRequest(f, "GasBurningConsumer");
    const tx = await f.manager.finalize(claim, outputs);
    const receipt = await tx.wait();
    await expect(tx).to.emit(f.manager, "ConsumerCallback").withArgs(requestId, (await f.manager.getRequest(requestId)).consumer, false);
    expect(receipt!.gasUsed).to.be.lessThan(BigInt(GAS) + 120_000n);
    await expectFulfilled(f, requestId);
  });

  for (const revertWithBomb of [false, true]) {
    it(`a return-data bomb (${revertWithBomb ? "revert" : "return"}) is never copied`, async () => {
      const f = await load();
      const { requestId, claim, outputs } = await consumerRequest(f, "ReturnBombConsumer", [revertWithBomb], 1_000_000);
      const tx = await f.manager.finalize(claim, outputs);
      const receipt = await tx.wait();
      // The consumer pays ~100k to expand its own memory to 200 kB; copying that into the manager's memory
      // would cost as much again. The measured total without a copy is ~190k.
      expect(receipt!.gasUsed).to.be.lessThan(230_000n);
      await expect(tx).to.emit(f.manager, "ConsumerCallback");
      await expectFulfilled(f, requestId);
    });
  }

  it("a consumer that re-enters (withdraw, or replay finalize) is stopped by the guard; settlement goes on", async () => {
    const f = await load();
    for (const payload of ["withdraw", "finalize"] as const) {
      const consumer = await ethers.deployContract("ReentrantConsumer", [await f.manager.getAddress()]);
      await f.token.mint(await consumer.getAddress(), FEE);
      await consumer.request(f.modelId, 777n, FEE, (await now()) + 10_000n, GAS);
      const requestId = await f.manager.requestCount();
      const s = await answer(f, requestId, { provider: payload === "withdraw" ? f.provider : f.other });
      await consumer.setPayload(
        payload === "withdraw"
          ? f.manager.interface.encodeFunctionData("withdraw", [1n])
          : f.manager.interface.encodeFunctionData("finalize", [s.claim, s.outputs]),
      );
      await networkHelpers.time.increase(CHALLENGE_WINDOW);
      await expect(f.manager.finalize(s.claim, s.outputs))
        .to.emit(f.manager, "ConsumerCallback").withArgs(requestId, await consumer.getAddress(), false);
      expect(await consumer.reentered()).to.equal(false);
      expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Fulfilled);
    }
  });

  it("too little gas for the callback reverts the whole settlement (the sender retries with more)", async () => {
    const f = await load();
    const { requestId, claim, outputs } = await consumerRequest(f, "RecordingConsumer", [], 500_000);
    await expect(f.manager.finalize(claim, outputs, { gasLimit: 400_000 })).to.be.revertedWithCustomError(f.manager, "InsufficientGasForCallback");
    expect((await f.manager.getRequest(requestId)).status).to.equal(RequestStatus.Claimed);
    await expect(f.manager.finalize(claim, outputs, { gasLimit: 700_000 })).to.emit(f.manager, "ConsumerCallback");
  });

  it("with the least gas that settles at all, a consumer needing its whole limit still gets all of it (63/64 rule)", async () => {
    // The EVM forwards at most 63/64 of the gas left. If the pre-call check asked only for gasLimit + reserve,
    // a settler could pick a transaction gas limit that passes the check while the consumer receives about
    // gasLimit - gasLimit/64 + reserve: with a 1M limit, ~5k short, and a consumer that needs its whole limit
    // would fail while settlement goes on. Search the smallest transaction gas that settles, settle with exactly
    // that, and check what the consumer saw.
    const f = await load();
    const limit = 1_000_000;
    const { consumer, requestId, claim, outputs } = await consumerRequest(f, "FullGasConsumer", [], limit);
    const settles = async (gas: bigint): Promise<boolean> =>
      f.manager.finalize.staticCall(claim, outputs, { gasLimit: gas }).then(() => true, () => false);
    let lo = 100_000n; // fails
    let hi = 3_000_000n; // settles
    expect(await settles(lo)).to.equal(false);
    expect(await settles(hi)).to.equal(true);
    while (hi - lo > 1n) {
      const mid = (lo + hi) / 2n;
      if (await settles(mid)) hi = mid;
      else lo = mid;
    }
    // One gas less fails for lack of gas for the callback, not for some other reason.
    await expect(f.manager.finalize(claim, outputs, { gasLimit: lo })).to.be.revertedWithCustomError(f.manager, "InsufficientGasForCallback");
    await expect(f.manager.finalize(claim, outputs, { gasLimit: hi }))
      .to.emit(f.manager, "ConsumerCallback").withArgs(requestId, await consumer.getAddress(), true);
    // gasleft() at the consumer's first statement: the limit less its own dispatch and argument decoding.
    const seen = (await (consumer as unknown as { gasSeen: () => Promise<bigint> }).gasSeen());
    expect(seen).to.be.greaterThan(BigInt(limit) - 2_000n);
    expect(seen).to.be.lessThanOrEqual(BigInt(limit));
  });

  it("finalize must be given the claimed outputs (the consumer receives them)", async () => {
    const f = await load();
    const { claim, outputs } = await consumerRequest(f, "RecordingConsumer");
    const forged = outputs.map((v, i) => (i === 0 ? v + 1n : v));
    await expect(f.manager.finalize(claim, forged))
      .to.be.revertedWithCustomError(f.manager, "OutputsMismatch").withArgs(await f.manager.hashClaim(claim), claim.outputHash);
  });

  it("an EOA consumer with a callback limit just gets a successful no-op call", async () => {
    const f = await load();
    const requestId = await request(f, { fee: FEE, callbackGasLimit: 50_000 });
    const { claim, outputs } = await answer(f, requestId);
    await networkHelpers.time.increase(CHALLENGE_WINDOW);
    await expect(f.manager.finalize(claim, outputs)).to.emit(f.manager, "ConsumerCallback").withArgs(requestId, f.consumer.address, true);
  });

  it("a consumer can check settled outputs with isSettledOutput", async () => {
    const f = await load();
    const { claim, outputs } = await consumerRequest(f, "RecordingConsumer");
    expect(await f.manager.isSettledOutput(claim, outputs)).to.equal(false);
    await f.manager.finalize(claim, outputs);
    expect(await f.manager.isSettledOutput(claim, outputs)).to.equal(true);
  });
});
