// An ozk instance on any JSON-RPC chain from a URL and a key: deploy (scripts/deploy.ts deployOzk), register
// model packages, mint development tokens. Used by the demo, the end-to-end tests and the `ozk` CLI.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Contract, JsonRpcProvider, NonceManager, Wallet, type Signer } from "ethers";
import type { Address, Hex } from "viem";
import { parseDeployment, type Deployment } from "../../sdk/deployments.ts";
import { artifactHash, readManifest } from "../../circuits/compiler/build.ts";
import { deployOzk, loadArtifact, registerModelSpec } from "../deploy.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function signer(rpcUrl: string, key: Hex): Signer {
  const provider = new JsonRpcProvider(rpcUrl, undefined, { batchMaxCount: 1, cacheTimeout: -1 });
  provider.pollingInterval = 100; // ethers waits for receipts by polling (4 s by default)
  // Nonces counted locally: the node may not have indexed the previous transaction when the next is built.
  return new NonceManager(new Wallet(key, provider));
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

/** Deploys registry + claims (+ a dev token) and returns the validated deployment record. */
export async function deployStack(o: DeployOptions): Promise<Deployment> {
  const d = await deployOzk(signer(o.rpcUrl, o.deployerKey), o);
  const deployment = parseDeployment({ ...d, network: o.network });
  if (o.out !== null) saveDeployment(deployment, o.out);
  return deployment;
}

export function saveDeployment(d: Deployment, out?: string): string {
  const file = out ?? join(root, "deployments", `${d.network ?? d.chainId}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(d, null, 2) + "\n");
  return file;
}

/** Mints development tokens (only the MockERC20 that deployStack deploys when no token is given can mint). */
export async function mintDevTokens(rpcUrl: string, key: Hex, d: Deployment, to: Address, amount: bigint): Promise<void> {
  const token = new Contract(d.addresses.token as string, loadArtifact("MockERC20").abi, signer(rpcUrl, key));
  await (await token.getFunction("mint")(to, amount)).wait();
}

export interface RegisterOptions {
  challengeWindow: number;
  proofWindow: number;
  minProviderBond: bigint;
  minChallengerBond: bigint;
  metadataURI?: string;
}

/**
 * Deploys a package's Solidity verifier (compiled from contracts/verifiers/) and registers the model with the
 * package manifest's shapes, bit widths and weights commitment. Records the modelId in `d.models`.
 */
export async function registerPackage(rpcUrl: string, key: Hex, d: Deployment, pkgDir: string, r: RegisterOptions): Promise<{ modelId: Hex; verifier: Address }> {
  const m = readManifest(pkgDir);
  if (!m.verifierContract) throw new Error(`${pkgDir}: the package has no verifier (build it with a powers-of-tau file)`);
  const out = await registerModelSpec(signer(rpcUrl, key), d.addresses.registry, {
    name: m.name,
    verifier: { artifact: m.verifierContract },
    weightsCommitment: BigInt(m.weightsCommitment),
    artifactHash: artifactHash(pkgDir),
    inputLength: m.inputLength,
    outputLength: m.outputLength,
    outputBits: m.outputBits,
    ...r,
    metadataURI: r.metadataURI ?? `ozk://models/${m.name}`,
  });
  const modelId = out.modelId.toLowerCase() as Hex;
  d.models[m.name] = modelId;
  return { modelId, verifier: out.verifier as Address };
}
