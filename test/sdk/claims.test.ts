// The dApp read/request API (sdk/claims.ts) against the real contracts on Hardhat's in-process chain (the
// contract tests' fixture): request an inference, watch the model's claims, read state and time left, and
// get the settled result.
import { expect } from "chai";
import { createPublicClient, createWalletClient, custom, type Address, type Hex } from "viem";
import { hardhat } from "viem/chains";
import { deployFixture, ethers, networkHelpers, sampleOutputs, CHALLENGE_WINDOW, MIN_PROVIDER_BOND, E18 } from "../contracts/helpers.ts";
import { parseDeployment } from "../../sdk/deployments.ts";
import { getClaimState, getSubmittedClaim, requestInference, waitForSettledResult, watchModelClaims } from "../../sdk/claims.ts";
import { claimIdOf, type SubmittedClaim } from "../../sdk/protocol.ts";
import { checkInputData } from "../../sdk/inputs.ts";
import { outputHash } from "../../sdk/signals.ts";

describe("sdk/claims", function () {
  this.timeout(120_000);

  it("request -> claim -> watch -> state with time left -> finalize -> settled result", async () => {
    const f = await deployFixture();
    const transport = custom({ request: ({ method, params }: { method: string; params?: unknown[] }) => ethers.provider.send(method, params ?? []) });
    const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 50 });
    const consumerWallet = createWalletClient({ chain: hardhat, transport, account: f.consumer.address as Address });
    const deployment = parseDeployment({
      chainId: 31337,
      addresses: { registry: await f.registry.getAddress(), claims: await f.manager.getAddress(), token: await f.token.getAddress() },
      deployBlock: 0,
      models: { fixture: f.modelId },
    });
    const reader = { publicClient, deployment };

    const seen: SubmittedClaim[] = [];
    const unwatch = watchModelClaims(reader, f.modelId as Hex, (c) => seen.push(c), { pollingIntervalMs: 50 });

    const values = [1n, -2n, 3n, -4n];
    const expiry = BigInt(await networkHelpers.time.latest()) + 10_000n;
    const { requestId, inputHash } = await requestInference(reader, consumerWallet, { modelName: "fixture", values, bits: 8, fee: 5n * E18, expiry });
    expect(requestId).to.be.greaterThan(0n);

    const outputs = sampleOutputs(3n);
    await (await f.manager.connect(f.provider).submitClaim(f.modelId, inputHash, outputs, MIN_PROVIDER_BOND, requestId, "0x", "")).wait();
    const claim = { modelId: f.modelId as Hex, provider: f.provider.address as Address, inputHash, outputHash: outputHash(outputs), bond: MIN_PROVIDER_BOND, requestId };
    const claimId = claimIdOf(claim);

    const state = await getClaimState(reader, claimId);
    expect(state).to.include({ statusName: "Submitted", settled: false, settledValid: false });
    expect(state.secondsLeft > CHALLENGE_WINDOW - 5n && state.secondsLeft <= CHALLENGE_WINDOW).to.equal(true, String(state.secondsLeft));

    const submitted = await getSubmittedClaim(reader, claimId);
    expect(submitted!.outputs).to.deep.equal(outputs);
    expect(submitted!.claim.requestId).to.equal(requestId);
    expect(await getSubmittedClaim(reader, ("0x" + "00".repeat(32)) as Hex)).to.equal(undefined);

    // The request's input data, as a challenger reads it, matches the commitment.
    const [reqLog] = await publicClient.getContractEvents({ address: deployment.addresses.claims, abi: (await import("../../sdk/abi.ts")).claimManagerAbi, eventName: "InferenceRequested", fromBlock: 0n });
    expect(checkInputData(reqLog!.args.inputData!, inputHash, { length: 4, bits: 8 }).values).to.deep.equal(values);

    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    unwatch();
    expect(seen.map((c) => c.claimId)).to.deep.equal([claimId]);

    const pending = waitForSettledResult(reader, requestId, { pollMs: 50, timeoutMs: 60_000 });
    await networkHelpers.time.increase(Number(CHALLENGE_WINDOW) + 1);
    expect((await getClaimState(reader, claimId)).secondsLeft).to.equal(0n);
    await (await f.manager.connect(f.other).finalize(claim)).wait();
    const result = await pending;
    expect(result).to.deep.equal({ requestId, claimId, outputs });
    expect(await getClaimState(reader, claimId)).to.include({ statusName: "Finalized", settled: true, settledValid: true, secondsLeft: 0n });
  });
});
