// A hostile consumer against the provider daemon: its callback burns all of the (largest) callback gas it asked
// for. Hardhat's chain refuses to estimate gas for a transaction in which an inner call runs out of gas, although
// the contract tolerates it; a daemon that let the node estimate could not send prove() for such an answer, and a
// challenge of its honest claim would slash it. The daemon's `step` runs in process against the Hardhat network.
import { expect } from "chai";
import { createPublicClient, createWalletClient, custom, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { requestRefusal, step, type ProviderContext } from "../../provider/step.ts";
import { openStore } from "../../sdk/node/store.ts";
import { EventCursor } from "../../sdk/node/cursor.ts";
import { createLogger } from "../../sdk/node/logger.ts";
import { Metrics } from "../../sdk/node/metrics.ts";
import { FundsWatch } from "../../sdk/node/health.ts";
import { loadPackage } from "../../circuits/compiler/package.ts";
import { encodeInputData } from "../../sdk/inputs.ts";
import { hashVector } from "../../sdk/hash.ts";
import { ClaimStatus, RequestStatus, deployFixture, ethers, mockExample, modelParams, networkHelpers, now, loadFixture } from "../contracts/helpers.ts";

// Hardhat's default account #1 (the fixture's `provider`).
const PROVIDER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as Hex;

describe("provider daemon against hostile requests", function () {
  this.timeout(300_000);

  it("a challenged answer to a request whose callback burns its gas is still proven: the daemon sets the gas itself", async () => {
    const f = await loadFixture(deployFixture);
    const pkg = loadPackage(resolve("models/mnist-mlp"));
    const m = pkg.manifest;
    // The mnist-mlp shape, registered with the mock verifier (the daemon's real proof is checked by the mock as yes).
    const artifact = ethers.keccak256("0x6d6c70");
    await f.registry.connect(f.modelOwner).registerModel(
      modelParams(await f.verifier.getAddress(), { artifactHash: artifact, inputLength: m.inputLength, outputLength: m.outputLength, outputBits: m.outputBits, weightsCommitment: BigInt(m.weightsCommitment) }),
      mockExample(m.outputLength),
    );
    const modelId = (await f.registry.computeModelId(f.modelOwner.address, artifact)).toLowerCase() as Hex;
    const chainId = Number((await ethers.provider.getNetwork()).chainId);
    const deployBlock = await ethers.provider.getBlockNumber();
    const deployment = {
      network: "hardhat", chainId, deployBlock,
      addresses: { registry: await f.registry.getAddress(), claims: await f.manager.getAddress(), token: await f.token.getAddress() },
      models: { "mnist-mlp": modelId },
    } as never;
    const transport = custom({ request: ({ method, params }: { method: string; params?: unknown[] }) => ethers.provider.send(method, (params as unknown[]) ?? []) });
    const chain = { id: chainId, name: "hardhat", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: ["http://unused"] } } };
    const account = privateKeyToAccount(PROVIDER_KEY);
    expect(account.address).to.equal(f.provider.address);
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
    const walletClient = createWalletClient({ chain, transport, account });
    const logger = createLogger({ name: "provider", level: "silent" });
    const store = openStore(join(mkdtempSync(join(tmpdir(), "ozk-griefing-")), "provider.sqlite"));
    const ctx: ProviderContext = {
      publicClient: publicClient as never, walletClient: walletClient as never, account, deployment, logger,
      rpcUrl: "http://unused", funds: new FundsWatch(), store,
      cursor: new EventCursor({ client: publicClient as never, store, key: "provider/claims", fromBlock: BigInt(deployBlock), confirmations: 0, address: (await f.manager.getAddress()) as Hex, logger }),
      models: new Map([[modelId, { modelId, name: "mnist-mlp", pkg }]]),
      metrics: new Metrics({ prefix: "ozk_provider_", defaultLabels: { service: "provider" } }),
      signal: new AbortController().signal,
      // This operator accepts the largest callback (the default policy would refuse it, see the test below).
      config: { bond: 0n, stakeTarget: 0n, answerRequests: true, requestPolicy: { minFee: 0n, maxBond: 0n, maxCallbackGas: 1_000_000 }, faults: { wrongOutputRate: 0 } } as never,
    };

    const values = Array.from({ length: m.inputLength }, (_, i) => BigInt((i * 5) % 128));
    const consumer = await ethers.deployContract("GriefingConsumer", [await f.manager.getAddress()]);
    await f.token.mint(await consumer.getAddress(), 10n);
    await consumer.request(modelId, hashVector(values, m.inputBits), (await now()) + 10_000n, encodeInputData(values, m.inputBits));
    for (let i = 0; i < 6 && (await f.manager.getRequest(1n)).status !== BigInt(RequestStatus.Claimed); i++) {
      await step(ctx);
      await networkHelpers.mine();
    }
    const claimId = (await f.manager.getRequest(1n)).claimId;
    const submitted = (await f.manager.queryFilter(f.manager.filters.ClaimSubmitted(claimId)))[0]!.args.claim;
    const claim = { modelId: submitted[0], provider: submitted[1], inputHash: submitted[2], outputHash: submitted[3], bond: submitted[4], requestId: submitted[5] };
    await f.manager.connect(f.challenger).challenge(claim);
    for (let i = 0; i < 4 && (await f.manager.claimState(claimId))[0] === BigInt(ClaimStatus.Challenged); i++) {
      await step(ctx);
      await ctx.proofs?.settled(); // the proof runs next to the step loop; the next step sends it
      await networkHelpers.mine();
    }
    expect((await f.manager.claimState(claimId))[0]).to.equal(ClaimStatus.Proven);
    const [callback] = await f.manager.queryFilter(f.manager.filters.ConsumerCallback(1n));
    expect(callback!.args.success).to.equal(false); // the consumer burned its gas; settlement went through anyway
    store.close();
  });

  it("the default request policy refuses what a stranger could use to lock the stake or burn settlement gas", () => {
    const policy = { minFee: 0n, maxBond: 0n, maxCallbackGas: 500_000 };
    const own = 100n;
    expect(requestRefusal(policy, { fee: 1n, minBond: 0n, callbackGasLimit: 0 }, own)).to.equal(undefined);
    expect(requestRefusal(policy, { fee: 1n, minBond: own, callbackGasLimit: 500_000 }, own)).to.equal(undefined);
    // A 1-wei request asking for more bond than the provider posts for its own claims (the whole stake, say).
    expect(requestRefusal(policy, { fee: 1n, minBond: own + 1n, callbackGasLimit: 0 }, own)).to.match(/requires a bond of 101, above requestPolicy.maxBond 100/);
    expect(requestRefusal(policy, { fee: 1n, minBond: 0n, callbackGasLimit: 1_000_000 }, own)).to.match(/callback gas 1000000 is above requestPolicy.maxCallbackGas 500000/);
    expect(requestRefusal({ ...policy, minFee: 10n }, { fee: 9n, minBond: 0n, callbackGasLimit: 0 }, own)).to.match(/fee 9 is below requestPolicy.minFee 10/);
    // An operator who raises the bound answers it.
    expect(requestRefusal({ ...policy, maxBond: 1000n }, { fee: 1n, minBond: 500n, callbackGasLimit: 0 }, own)).to.equal(undefined);
  });
});
