// Deploys an ozk instance with viem from Hardhat's artifacts and registers model packages: used by the
// demo, the end-to-end tests and `ozk deploy` / `ozk model register`. Writes deployments/<network>.json.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createPublicClient,
  createWalletClient,
  http,
  parseEventLogs,
  type Abi,
  type Address,
  type Chain,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { modelRegistryAbi } from "../../sdk/abi.ts";
import { parseDeployment, type Deployment } from "../../sdk/deployments.ts";
import { artifactHash, readManifest } from "../../circuits/compiler/build.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

/** A compiled contract from artifacts/ (run `hardhat build` first). */
export function artifact(sourcePath: string, name: string): Artifact {
  const file = join(root, "artifacts", sourcePath, `${name}.json`);
  if (!existsSync(file)) throw new Error(`no artifact ${file}: run \`npx hardhat build\` first`);
  return JSON.parse(readFileSync(file, "utf8")) as Artifact;
}

function clients(rpcUrl: string, key: Hex, chainId: number) {
  const chain: Chain = {
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  };
  const transport = http(rpcUrl, { retryCount: 3 });
  const account = privateKeyToAccount(key);
  return {
    account,
    publicClient: createPublicClient({ chain, transport, pollingInterval: 100 }),
    walletClient: createWalletClient({ chain, transport, account }),
  };
}

type Clients = ReturnType<typeof clients>;

async function deploy(c: Clients, a: Artifact, args: readonly unknown[] = []): Promise<{ address: Address; block: bigint }> {
  const hash = await c.walletClient.deployContract({ abi: a.abi, bytecode: a.bytecode, args } as never);
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new Error("deployment produced no contract");
  return { address: receipt.contractAddress, block: receipt.blockNumber };
}

async function write(c: Clients, address: Address, abi: Abi, functionName: string, args: readonly unknown[]) {
  const { request, result } = await c.publicClient.simulateContract({ address, abi, functionName, args, account: c.account } as never);
  const hash = await c.walletClient.writeContract(request as never);
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
  return { receipt, result: result as unknown };
}

export interface DeployOptions {
  rpcUrl: string;
  deployerKey: Hex;
  network: string;
  /** Bond token; omitted: a mintable development token is deployed (local chains only). */
  token?: Address;
  treasury?: Address;
  protocolFeeBps?: number;
  slashRewardBps?: number;
  /** Where to write the deployment (default deployments/<network>.json; null: don't write). */
  out?: string | null;
}

/** Deploys registry + claims (+ a dev token) and returns the deployment record. */
export async function deployStack(o: DeployOptions): Promise<Deployment> {
  const probe = createPublicClient({ transport: http(o.rpcUrl) });
  const chainId = await probe.getChainId();
  const c = clients(o.rpcUrl, o.deployerKey, chainId);
  let first: bigint | undefined;
  const note = (b: bigint) => (first = first === undefined || b < first ? b : first);
  let token = o.token;
  if (!token) {
    const t = await deploy(c, artifact("contracts/mocks/MockERC20.sol", "MockERC20"));
    token = t.address;
    note(t.block);
  }
  const registry = await deploy(c, artifact("contracts/ModelRegistry.sol", "ModelRegistry"));
  note(registry.block);
  const claims = await deploy(c, artifact("contracts/ClaimManager.sol", "ClaimManager"), [
    token,
    registry.address,
    o.treasury ?? c.account.address,
    o.protocolFeeBps ?? 500,
    o.slashRewardBps ?? 5000,
  ]);
  const deployment = parseDeployment({
    network: o.network,
    chainId,
    addresses: { registry: registry.address, claims: claims.address, token },
    deployBlock: Number(first ?? 0n),
    models: {},
  });
  if (o.out !== null) saveDeployment(deployment, o.out);
  return deployment;
}

export function deploymentPath(network: string): string {
  return join(root, "deployments", `${network}.json`);
}

export function saveDeployment(d: Deployment, out?: string): string {
  const file = out ?? deploymentPath(d.network ?? String(d.chainId));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(d, null, 2) + "\n");
  return file;
}

/** Mints development tokens (the dev token deployed by deployStack only). */
export async function mintDevTokens(rpcUrl: string, key: Hex, d: Deployment, to: Address, amount: bigint): Promise<void> {
  const c = clients(rpcUrl, key, d.chainId);
  await write(c, d.addresses.token as Address, artifact("contracts/mocks/MockERC20.sol", "MockERC20").abi, "mint", [to, amount]);
}

export interface RegisterOptions {
  challengeWindow: number;
  proofWindow: number;
  minProviderBond: bigint;
  minChallengerBond: bigint;
  metadataURI?: string;
}

/**
 * Deploys a package's Solidity verifier (compiled from contracts/verifiers/) and registers the model.
 * Returns the on-chain modelId and records it in the deployment under the package's name.
 */
export async function registerPackage(rpcUrl: string, key: Hex, d: Deployment, pkgDir: string, r: RegisterOptions): Promise<{ modelId: Hex; verifier: Address }> {
  const m = readManifest(pkgDir);
  if (!m.verifierContract) throw new Error(`${pkgDir}: the package has no verifier (build it with a powers-of-tau file)`);
  const c = clients(rpcUrl, key, d.chainId);
  const verifier = await deploy(c, artifact(`contracts/verifiers/${m.verifierContract}.sol`, m.verifierContract));
  const { receipt } = await write(c, d.addresses.registry as Address, modelRegistryAbi as Abi, "registerModel", [
    {
      verifier: verifier.address,
      weightsCommitment: BigInt(m.weightsCommitment),
      artifactHash: artifactHash(pkgDir),
      inputLength: m.inputLength,
      outputLength: m.outputLength,
      outputBits: m.outputBits,
      challengeWindow: r.challengeWindow,
      proofWindow: r.proofWindow,
      minProviderBond: r.minProviderBond,
      minChallengerBond: r.minChallengerBond,
      metadataURI: r.metadataURI ?? `ozk://models/${m.name}`,
    },
  ]);
  const [event] = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: "ModelRegistered" });
  if (!event) throw new Error("registerModel emitted no ModelRegistered");
  const modelId = event.args.modelId.toLowerCase() as Hex;
  d.models[m.name] = modelId;
  return { modelId, verifier: verifier.address };
}
