// A chain for the daemons' audit tests: Hardhat's in-process chain with the real ClaimManager wired to a BatchManager
// whose default policy audits every claim, a mock-verifier model, a staked provider, and the daemon context pieces
// (clients, store, logger, metrics) that the provider's and the challenger's audit code reads.
import { network } from "hardhat";
import { createPublicClient, createWalletClient, custom, getAddress, keccak256, type Abi, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import { hardhat } from "viem/chains";
import { claimManagerAbi, modelRegistryAbi } from "../sdk/abi.ts";
import { parseDeployment, type Deployment } from "../sdk/deployments.ts";
import { claimIdOf, type ClaimFields } from "../sdk/protocol.ts";
import { outputHash } from "../sdk/signals.ts";
import { createSpyLogger } from "../sdk/node/logger.ts";
import { Metrics } from "../sdk/node/metrics.ts";
import { Store } from "../sdk/node/store.ts";
import { loadArtifact } from "../runtime/artifacts.ts";

const E18 = 10n ** 18n;
export const BOND = 100n * E18;
export const CHALLENGE_WINDOW = 3600n;
export const PROOF_WINDOW = 7200n;
const OUTPUTS = 10;

export interface AuditChain {
  publicClient: PublicClient<Transport, Chain | undefined>;
  wallets: Record<"deployer" | "provider" | "keeper", WalletClient<Transport, Chain | undefined, Account>>;
  deployment: Deployment;
  modelId: Hex;
  treasury: Address;
  rpc: (method: string, params?: unknown[]) => Promise<unknown>;
  /** The provider submits a claim on input `inputHash`; returns its fields and id. */
  submit(inputHash: bigint): Promise<{ claim: ClaimFields; claimId: Hex; outputs: bigint[]; blockNumber: bigint }>;
  /** Mines `n` empty blocks. */
  mine(n: number): Promise<void>;
  /** Moves the next block's time to `t` and mines it. */
  mineAt(t: bigint): Promise<void>;
  /** A daemon context for `who` (a fresh store, a spy logger, metrics). */
  context(who: "provider" | "keeper"): ReturnType<typeof createSpyLogger> & {
    ctx: { publicClient: AuditChain["publicClient"]; walletClient: AuditChain["wallets"]["provider"]; account: Account; deployment: Deployment; logger: ReturnType<typeof createSpyLogger>["logger"]; store: Store; metrics: Metrics; signal: AbortSignal };
  };
}

/** Deploys the contracts and stakes the provider; every claim of the model is audited (rate 10000). */
export async function auditChain(): Promise<AuditChain> {
  const conn = await network.create();
  const provider = conn.provider as { request(a: { method: string; params?: unknown[] }): Promise<unknown> };
  const rpc = (method: string, params: unknown[] = []) => provider.request({ method, params });
  const accounts = ((await rpc("eth_accounts")) as Address[]).map((a) => getAddress(a));
  const transport = custom(conn.provider);
  const publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 50 });
  const w = (i: number) => createWalletClient({ chain: hardhat, transport, account: accounts[i]! });
  const wallets = { deployer: w(0), provider: w(1), keeper: w(2) };
  const send = async (hash: Promise<Hex>) => publicClient.waitForTransactionReceipt({ hash: await hash });
  const deploy = async (name: string, args: unknown[] = []): Promise<Address> => {
    const { abi, bytecode } = loadArtifact(name) as { abi: Abi; bytecode: Hex };
    return getAddress((await send(wallets.deployer.deployContract({ abi, bytecode, args, chain: null }))).contractAddress!);
  };
  const treasury = accounts[5]!;
  const token = await deploy("MockERC20");
  const registry = await deploy("ModelRegistry");
  const batchManager = await deploy("BatchManager", [token, registry, treasury, 500, 5000, 10_000, E18]);
  const claims = await deploy("ClaimManager", [token, registry, treasury, 500, 5000, batchManager]);
  const verifier = await deploy("MockVerifier");
  const artifactHash = keccak256("0x01");
  const params = {
    verifier, weightsCommitment: 1n, artifactHash, inputLength: 4, outputLength: OUTPUTS, outputBits: 24,
    challengeWindow: Number(CHALLENGE_WINDOW), proofWindow: Number(PROOF_WINDOW), minProviderBond: BOND, minChallengerBond: 10n * E18,
    setupKind: 0, metadataURI: "",
  };
  const example = { inputHash: 1n, outputs: Array.from({ length: OUTPUTS }, () => 0n), proof: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n] as const };
  await send(wallets.deployer.writeContract({ address: registry, abi: modelRegistryAbi, functionName: "registerModel", args: [params, example], chain: null }));
  const modelId = await publicClient.readContract({ address: registry, abi: modelRegistryAbi, functionName: "computeModelId", args: [accounts[0]!, artifactHash] });
  const tokenAbi = loadArtifact("MockERC20").abi as Abi;
  const who = wallets.provider.account.address;
  await send(wallets.deployer.writeContract({ address: token, abi: tokenAbi, functionName: "mint", args: [who, 10_000n * E18], chain: null }));
  await send(wallets.provider.writeContract({ address: token, abi: tokenAbi, functionName: "approve", args: [claims, 10_000n * E18], chain: null }));
  await send(wallets.provider.writeContract({ address: claims, abi: claimManagerAbi, functionName: "stake", args: [1_000n * E18], chain: null }));
  const deployment = parseDeployment({ chainId: 31337, addresses: { registry, claims, batchManager, token }, deployBlock: 0, models: { mock: modelId } });

  return {
    publicClient, wallets, deployment, modelId, treasury, rpc,
    async submit(inputHash) {
      const outputs = Array.from({ length: OUTPUTS }, (_, i) => BigInt(i) - 3n);
      const receipt = await send(wallets.provider.writeContract({ address: claims, abi: claimManagerAbi, functionName: "submitClaim", args: [modelId, inputHash, outputs, BOND, "0x", ""], chain: null }));
      const claim: ClaimFields = { modelId, provider: who, inputHash, outputHash: outputHash(outputs), bond: BOND, requestId: 0n };
      return { claim, claimId: claimIdOf(claim), outputs, blockNumber: receipt.blockNumber };
    },
    async mine(n) {
      await rpc("hardhat_mine", [`0x${n.toString(16)}`]);
    },
    async mineAt(t) {
      await rpc("evm_setNextBlockTimestamp", [Number(t)]);
      await rpc("evm_mine");
    },
    context(role) {
      const spy = createSpyLogger(role);
      const wallet = wallets[role];
      return {
        ...spy,
        ctx: {
          publicClient, walletClient: wallet, account: wallet.account, deployment, logger: spy.logger, store: new Store(":memory:"),
          metrics: new Metrics({ prefix: "test_", processMetrics: false }), signal: new AbortController().signal,
        },
      };
    },
  };
}
