// The daemons' start-up entry check refuses a model whose registry entry declares an unsafe-dev setup on any chain
// but the local development chain, unless the config says allowUnsafeSetup: the development toxic waste is public,
// so anyone could forge a counter-proof against the daemon's honest claims.
import { expect } from "chai";
import type { Hex } from "viem";
import { checkModelEntries } from "../../runtime/chain.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { expectedEntry, loadModels } from "../../runtime/models.ts";
import { DEV_CHAIN_ID, SetupKind, type ModelEntry } from "../../sdk/protocol.ts";

const MODEL_ID = `0x${"ab".repeat(32)}` as Hex;
const SEPOLIA = 11155111;

/** A chain whose registry answers getModel with the package's own entry (so only the setup kind can stop it). */
function chainWith(chainId: number, models: ReturnType<typeof loadModels>) {
  const served = [...models.values()][0]!;
  const e = expectedEntry(served.pkg);
  const entry: ModelEntry = {
    verifier: `0x${"11".repeat(20)}`, challengeWindow: 600, outputLength: e.outputLength, outputBits: e.outputBits, deprecated: false,
    owner: `0x${"22".repeat(20)}`, proofWindow: 1800, inputLength: served.pkg.manifest.inputLength, setupKind: SetupKind.UnsafeDev,
    minProviderBond: 1n, minChallengerBond: 1n, weightsCommitment: e.weightsCommitment, verifierCodeHash: e.verifierCodeHash,
    artifactHash: e.artifactHash, metadataURI: "",
  };
  const deployment = { network: "t", chainId, deployBlock: 0, addresses: { registry: `0x${"44".repeat(20)}`, claims: `0x${"55".repeat(20)}`, token: `0x${"66".repeat(20)}` }, models: {} };
  return {
    deployment,
    logger: createSpyLogger().logger,
    publicClient: { readContract: async () => entry },
  } as never;
}

describe("daemon entry check: unsafe-dev setups", () => {
  const deployment = { network: "t", chainId: SEPOLIA, deployBlock: 0, addresses: {}, models: {} } as never;
  const models = loadModels([{ package: "models/mnist-mlp", modelId: MODEL_ID }], deployment);

  it("refuses an unsafe-dev entry off the development chain, naming the chain and the way out", async () => {
    const err = await checkModelEntries(chainWith(SEPOLIA, models), models).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/mnist-mlp: its registry entry declares an unsafe-dev setup on chain 11155111: .*allowUnsafeSetup: true/);
  });

  it("twins: accepted on the development chain, and off it when the config allows it", async () => {
    await checkModelEntries(chainWith(DEV_CHAIN_ID, models), models);
    await checkModelEntries(chainWith(SEPOLIA, models), models, true);
  });
});
