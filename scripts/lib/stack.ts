// An ozk instance on any JSON-RPC chain from a URL and a key: deploy (scripts/deploy.ts deployOzk), register
// model packages (with an example proof and the package's setup kind; an unsafe-dev package only on the development
// chain unless allowed), mint development tokens. Used by the demo, the end-to-end tests and the `ozk` CLI.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Contract, JsonRpcProvider, NonceManager, Wallet, type Signer } from "ethers";
import type { Address, Hex } from "viem";
import { parseDeployment, type Deployment } from "../../sdk/deployments.ts";
import { DEV_CHAIN_ID, setupKindOf, supportedSetupKind, type SetupKindName, type SetupRecordLike } from "../../sdk/protocol.ts";
import { exampleProof } from "../../runtime/models.ts";
import { terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import { artifactHash, readManifest, type ModelManifest } from "../../circuits/compiler/package.ts";
import { defaultWindows, deployOzk, loadArtifact, registerModelSpec } from "../deploy.ts";

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

export { DEV_CHAIN_ID };

/** Seconds a claim can be challenged and seconds to prove once challenged. */
export type Windows = ReturnType<typeof defaultWindows>;

export interface RegisterOptions extends Partial<Windows> {
  minProviderBond: bigint;
  minChallengerBond: bigint;
  metadataURI?: string;
  /** Register this verifier instead of deploying the package's (tests: a proxy in front of the real one). */
  verifier?: Address;
  /** Register an unsafe-dev package on a chain other than the development chain. */
  allowUnsafeSetup?: boolean;
  log?: (line: string) => void;
}

/** The setup kind a package can be registered with: its manifest's `setup.kind`, lowered to what the setup record
 *  supports (`supportedSetupKind`): a key from a known insecure powers of tau is unsafe-dev whatever the manifest says. */
export function packageSetupKind(m: ModelManifest): SetupKindName {
  return supportedSetupKind((m as unknown as { setup?: SetupRecordLike | null }).setup);
}

/**
 * Refuses an unsafe-dev package on any chain but the development chain, unless allowed: its Groth16 toxic waste
 * is public, so anyone can forge a proof of any output and win every dispute on the model.
 */
export function assertSetupAllowed(name: string, kind: SetupKindName, chainId: number, allowUnsafeSetup = false): void {
  if (kind !== "unsafe-dev" || chainId === DEV_CHAIN_ID || allowUnsafeSetup) return;
  throw new Error(
    `${name}: refusing to register an unsafe-dev package on chain ${chainId}: its Groth16 setup is the development one, whose toxic waste is public, ` +
      `so anyone can forge proofs of any output and win every dispute on this model. Rebuild it with a real powers of tau and a secret ` +
      `phase-2 contribution (or a ceremony), or pass --allow-unsafe-setup if this chain holds nothing of value.`,
  );
}

/**
 * Deploys a package's Solidity verifier (compiled from contracts/verifiers/) and registers the model with the
 * package manifest's shapes, bit widths, weights commitment and setup kind, and an example proof made here (the
 * model on an all-zero input) that the registry checks against the entry. Windows default per chain
 * (defaultWindows). Records the modelId in `d.models`. An unsafe-dev package is refused off the development chain
 * unless `allowUnsafeSetup` (assertSetupAllowed).
 */
export async function registerPackage(rpcUrl: string, key: Hex, d: Deployment, pkgDir: string, r: RegisterOptions): Promise<{ modelId: Hex; verifier: Address; setupKind: SetupKindName } & Windows> {
  const log = r.log ?? (() => undefined);
  const m = readManifest(pkgDir);
  if (!m.verifierContract) throw new Error(`${pkgDir}: the package has no verifier (build it with a powers-of-tau file)`);
  const s = signer(rpcUrl, key);
  const chainId = Number((await s.provider!.getNetwork()).chainId);
  const setupKind = packageSetupKind(m);
  assertSetupAllowed(m.name, setupKind, chainId, r.allowUnsafeSetup);
  // Short windows on a local chain, 7 days / 1 day elsewhere (scripts/deploy.ts defaultWindows), unless given.
  const windows = { ...defaultWindows(BigInt(chainId)), ...definedWindows(r) };
  let example;
  try {
    example = await exampleProof(pkgDir);
  } finally {
    // Proving and checking the proof start snarkjs's worker threads, which would keep this process alive.
    await terminateSnarkjs();
  }
  log(`example proof of ${m.name} (all-zero input) made with ${example.backend} in ${example.ms} ms`);
  const out = await registerModelSpec(s, d.addresses.registry, {
    name: m.name,
    verifier: r.verifier ?? { artifact: m.verifierContract },
    weightsCommitment: BigInt(m.weightsCommitment),
    artifactHash: artifactHash(pkgDir),
    inputLength: m.inputLength,
    outputLength: m.outputLength,
    outputBits: m.outputBits,
    ...windows,
    minProviderBond: r.minProviderBond,
    minChallengerBond: r.minChallengerBond,
    setupKind: setupKindOf(setupKind),
    example: { inputHash: example.inputHash, outputs: example.outputs, proof: [...example.proof] },
    metadataURI: r.metadataURI ?? `ozk://models/${m.name}`,
  }, log);
  const modelId = out.modelId.toLowerCase() as Hex;
  log(`${m.name}: ${setupKind} setup`);
  d.models[m.name] = modelId;
  return { modelId, verifier: out.verifier as Address, setupKind, ...windows };
}

function definedWindows(r: Partial<Windows>): Partial<Windows> {
  const out: Partial<Windows> = {};
  if (r.challengeWindow !== undefined) out.challengeWindow = r.challengeWindow;
  if (r.proofWindow !== undefined) out.proofWindow = r.proofWindow;
  return out;
}
