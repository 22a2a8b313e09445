// Deploying ozk to any JSON-RPC chain and registering models: the bond token (a mintable development token when
// none is given), ModelRegistry, ClaimManager, BatchManager (batched claims and audits), each model's verifier, and the registry entry with an example proof
// and the package's setup kind (an unsafe-dev package only on the development chain unless allowed). The one
// deploy library: `ozk deploy` and `ozk model register`, the demo, the page's dev stack, tests and benchmarks.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  BaseError,
  createNonceManager,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  getAddress,
  http,
  keccak256,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getTransactionCount } from "viem/actions";
import { mockErc20MintAbi, modelRegistryAbi } from "../sdk/abi.ts";
import { simulateAndWrite } from "../sdk/client.ts";
import { parseDeployment, type Deployment } from "../sdk/deployments.ts";
import { deploymentFile } from "../sdk/node/deployments.ts";
import type { OzkError } from "../sdk/errors.ts";
import { DEV_CHAIN_ID, setupKindOf, supportedSetupKind, type SetupKind, type SetupKindName, type SetupRecordLike, type SolidityProof } from "../sdk/protocol.ts";
import { artifactHash, readManifest, type ModelManifest } from "../circuits/compiler/package.ts";
import { terminateSnarkjs } from "../prover/backends/snarkjs.ts";
import { compileVerifier } from "../prover/setup/verifier.ts";
import { findArtifact, loadArtifact, type Artifact } from "./artifacts.ts";
import { exampleProof } from "./models.ts";


/** The account that deploys and registers, with the clients it sends through. */
export interface Deployer {
  publicClient: PublicClient<Transport, Chain>;
  walletClient: WalletClient<Transport, Chain, Account>;
  account: Account;
}

/**
 * A deployer on the chain behind `transport`: `account` signs locally (a private key's account) or is an address
 * the node signs for (a development node's unlocked account). The chain id is asked of the node.
 */
export async function connectDeployer(transport: Transport, account: Account | Address): Promise<Deployer> {
  const probe = createPublicClient({ transport });
  const id = await probe.getChainId();
  const chain: Chain = { id, name: `chain-${id}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [] } } };
  const walletClient = createWalletClient({ chain, transport, account });
  // Receipts are polled for: every 100 ms rather than viem's 4 s default on a chain without a block time.
  return { publicClient: createPublicClient({ chain, transport, pollingInterval: 100 }), walletClient, account: walletClient.account };
}

/** A deployer from a JSON-RPC URL and a private key. Nonces are counted here too: the node may not have indexed
 *  the previous transaction when the next is built. */
export async function deployerFor(rpcUrl: string, key: Hex): Promise<Deployer> {
  const nonceManager = createNonceManager({
    source: { get: ({ address, client }) => getTransactionCount(client, { address, blockTag: "pending" }), set: () => undefined },
  });
  return connectDeployer(http(rpcUrl), privateKeyToAccount(key, { nonceManager }));
}

/** The name and arguments of a custom error in `err`'s revert data, decoded with `abi` (else undefined). */
function revertedWith(err: unknown, abi: Abi): string | undefined {
  let data: unknown;
  if (err instanceof BaseError) {
    err.walk((e) => {
      const d = (e as { data?: unknown }).data;
      if (typeof d === "string" && d.startsWith("0x") && d.length >= 10) data = d;
      return false;
    });
  }
  if (typeof data !== "string") return undefined;
  try {
    const decoded = decodeErrorResult({ abi, data: data as Hex });
    return `${decoded.errorName}(${(decoded.args ?? []).map(String).join(", ")})`;
  } catch {
    return undefined;
  }
}

/** Deploys a compiled contract (see loadArtifact) and returns its address; a constructor revert is named. */
async function deploy(d: Deployer, name: string, args: readonly unknown[] = []): Promise<Address> {
  return deployCompiled(d, name, loadArtifact(name), args);
}

/** Deploys contract `name` from its ABI and creation code; a constructor revert is named. */
async function deployCompiled(d: Deployer, name: string, { abi, bytecode }: Pick<Artifact, "abi" | "bytecode">, args: readonly unknown[] = []): Promise<Address> {
  let hash: Hex;
  try {
    hash = await d.walletClient.deployContract({ abi, bytecode, args: args as never });
  } catch (err) {
    const reason = revertedWith(err, abi);
    if (reason) throw new Error(`deploying ${name} failed: it reverted with ${reason}`, { cause: err });
    throw err;
  }
  const receipt = await d.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deploying ${name} failed (transaction ${hash})`);
  return getAddress(receipt.contractAddress);
}

/** Chain ids of local development chains (Hardhat, Anvil and Geth dev mode). */
const LOCAL_CHAIN_IDS = new Set([31337, 1337]);

/** Seconds a claim can be challenged and seconds to prove once challenged. */
export interface Windows {
  challengeWindow: number;
  proofWindow: number;
}

/**
 * Default challenge and proof windows in seconds. Public networks get windows sized like established optimistic
 * systems: OP Succinct's 7 days to challenge and 1 day to prove (well above UMA's 2-hour minimum liveness), so a
 * watcher has time to notice, re-execute and get a challenge included even under congestion or censorship, and a
 * provider has time to prove a large model. Short windows (1 hour, 2 hours) only on a local development chain.
 */
export function defaultWindows(chainId: number | bigint): Windows {
  return LOCAL_CHAIN_IDS.has(Number(chainId))
    ? { challengeWindow: 3600, proofWindow: 7200 }
    : { challengeWindow: 7 * 86_400, proofWindow: 86_400 };
}

/** A verifier compiled here (a package's Verifier.sol, see packageVerifier): its contract name and code. */
export interface CompiledContract {
  contract: string;
  abi: Abi;
  bytecode: Hex;
}

/** A model to register. `verifier` is an address, the name of a Hardhat-compiled contract to deploy, or a contract
 *  compiled here. */
export interface ModelSpec extends Partial<Windows> {
  name: string;
  verifier: Address | { artifact: string } | CompiledContract;
  weightsCommitment: bigint;
  artifactHash: Hex;
  inputLength: number;
  outputLength: number;
  outputBits: number;
  minProviderBond?: bigint; // default 100e18
  minChallengerBond?: bigint; // default 10e18
  /** How the Groth16 key was made (IModelRegistry SetupKind): 0 UnsafeDev, 1 SingleContributor, 2 Ceremony. */
  setupKind: SetupKind;
  /** One valid proof: registration checks that the verifier accepts it under the entry's shape. */
  example: { inputHash: bigint; outputs: readonly bigint[]; proof: SolidityProof };
  metadataURI?: string;
}

export interface DeployOptions {
  /** Name of the deployment (deployments/<network>.json). */
  network: string;
  /** Existing ERC20 bond token. Default: a fresh MockERC20 (anyone can mint; development only). */
  token?: Address;
  /** Receives protocol fees and slash remainders. Default: the deployer. */
  treasury?: Address;
  /** Default 500 (5%): share of request fees and lost challenger bonds paid to the treasury. */
  protocolFeeBps?: number;
  /** Default 5000 (50%, the most allowed): share of a slashed provider bond paid to the counter-prover or challenger. */
  slashRewardBps?: number;
  /** Default 100 (1%): BatchManager's audit rate of a model the treasury set no policy for (basis points); the
   *  ClaimManager reads the same policy for single claims. */
  auditRateBps?: number;
  /** Default 0: BatchManager's audit fee (bond token units, paid from its audit pool, or from the ClaimManager's for a
   *  single claim) of a model without a policy. */
  auditFee?: bigint;
  /** Models to register, owned by the deployer. */
  models?: ModelSpec[];
  /** Mint mock tokens (only when `token` is not given). */
  mint?: { to: Address; amount: bigint }[];
  /** Logs each step. */
  log?: (line: string) => void;
}

/** A deployment record as deployOzk returns it: with the bond token, and each registered model's verifier under
 *  `verifier:<name>`. */
export type OzkDeployment = Deployment & { addresses: { token: Address; [role: string]: Address } };

/**
 * Deploys the bond token (unless given), the registry, the batch contract and the claims contract (wired to the batch
 * contract), and registers `models`. Returns
 * the validated deployment record; nothing is written to disk (see saveDeployment).
 */
export async function deployOzk(d: Deployer, o: DeployOptions): Promise<OzkDeployment> {
  const log = o.log ?? (() => undefined);
  const deployBlock = Number(await d.publicClient.getBlockNumber({ cacheTime: 0 })) + 1;
  let token: Address;
  if (o.token) {
    token = o.token;
  } else {
    token = await deploy(d, "MockERC20");
    log(`MockERC20 bond token: ${token}`);
    for (const { to, amount } of o.mint ?? []) await mint(d, token, to, amount);
  }
  const registry = await deploy(d, "ModelRegistry");
  log(`ModelRegistry: ${registry}`);
  // The BatchManager first: the ClaimManager takes its address (requests can be fulfilled from its Finalized batches).
  const batchManager = await deploy(d, "BatchManager", [
    token, registry, o.treasury ?? d.account.address, o.protocolFeeBps ?? 500, o.slashRewardBps ?? 5000, o.auditRateBps ?? 100, o.auditFee ?? 0n,
  ]);
  log(`BatchManager: ${batchManager}`);
  const claims = await deploy(d, "ClaimManager", [
    token, registry, o.treasury ?? d.account.address, o.protocolFeeBps ?? 500, o.slashRewardBps ?? 5000, batchManager,
  ]);
  log(`ClaimManager: ${claims}`);
  const addresses: Record<string, Address> = { registry, claims, batchManager, token };
  const models: Record<string, Hex> = {};
  for (const m of o.models ?? []) {
    const r = await registerModelSpec(d, registry, m, log);
    addresses[`verifier:${m.name}`] = r.verifier;
    models[m.name] = r.modelId;
  }
  return parseDeployment({ network: o.network, chainId: d.publicClient.chain.id, addresses, deployBlock, models }) as OzkDeployment;
}

/** Writes a deployment record to `file` (default deployments/<network>.json in the current directory, where
 *  loadDeployment looks by default); returns the path. */
export function saveDeployment(d: Deployment, file?: string): string {
  const path = file ?? deploymentFile(`${d.network ?? d.chainId}`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(d, null, 2) + "\n");
  return path;
}

async function mint(d: Deployer, token: Address, to: Address, amount: bigint): Promise<void> {
  await simulateAndWrite(d.publicClient, d.walletClient, { address: token, abi: mockErc20MintAbi, functionName: "mint", args: [to, amount] });
}

/** Mints development tokens: only the MockERC20 that deployOzk deploys when no token is given can mint. */
export async function mintDevTokens(d: Deployer, deployment: Deployment, to: Address, amount: bigint): Promise<void> {
  if (!deployment.addresses.token) throw new Error("the deployment has no token");
  await mint(d, deployment.addresses.token, to, amount);
}

/**
 * Registers one model (deploying its verifier when given as an artifact name) in the registry at `registry`,
 * owned by the deployer. Windows default per chain (defaultWindows). Returns the modelId and the verifier address.
 */
export async function registerModelSpec(d: Deployer, registry: Address, m: ModelSpec, log: (line: string) => void = () => undefined): Promise<{ modelId: Hex; verifier: Address }> {
  const owner = d.account.address;
  const read = { address: registry, abi: modelRegistryAbi } as const;
  // One entry per owner and package: say so before deploying a verifier that could never be registered.
  const expectedId = await d.publicClient.readContract({ ...read, functionName: "computeModelId", args: [owner, m.artifactHash] });
  if (await d.publicClient.readContract({ ...read, functionName: "exists", args: [expectedId] })) {
    throw new Error(
      `${m.name} is already registered by ${owner} as model ${expectedId} (the registry keeps one entry per owner ` +
        `and package, and entries never change): use that model id, or deprecate it and register a rebuilt package`,
    );
  }
  let verifier: Address;
  if (typeof m.verifier === "string") {
    verifier = m.verifier;
  } else if ("artifact" in m.verifier) {
    verifier = await deploy(d, m.verifier.artifact);
    log(`${m.verifier.artifact} (verifier of ${m.name}): ${verifier}`);
  } else {
    verifier = await deployCompiled(d, m.verifier.contract, m.verifier);
    log(`${m.verifier.contract} (verifier of ${m.name}, compiled from the package's Verifier.sol): ${verifier}`);
  }
  const windows = defaultWindows(d.publicClient.chain.id);
  const params = {
    verifier,
    weightsCommitment: m.weightsCommitment,
    artifactHash: m.artifactHash,
    inputLength: m.inputLength,
    outputLength: m.outputLength,
    outputBits: m.outputBits,
    challengeWindow: m.challengeWindow ?? windows.challengeWindow,
    proofWindow: m.proofWindow ?? windows.proofWindow,
    minProviderBond: m.minProviderBond ?? 10n ** 20n,
    minChallengerBond: m.minChallengerBond ?? 10n ** 19n,
    setupKind: m.setupKind,
    metadataURI: m.metadataURI ?? "",
  };
  try {
    await simulateAndWrite(d.publicClient, d.walletClient, { ...read, functionName: "registerModel", args: [params, m.example] });
  } catch (err) {
    // Name the registry's custom error (InvalidExampleProof, VerifierHasNoCode, ...) instead of its raw bytes.
    const reason = (err as OzkError).meta?.reason;
    if (typeof reason === "string") throw new Error(`registering ${m.name} failed: the registry reverted with ${reason}`, { cause: err });
    throw err;
  }
  const modelId = await d.publicClient.readContract({ ...read, functionName: "computeModelId", args: [owner, m.artifactHash] });
  log(`model ${m.name}: ${modelId}`);
  return { modelId, verifier };
}

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
 * A package's own Verifier.sol compiled with the repository's solc settings (solc.config.ts, the solc npm package:
 * no Hardhat build, no artifacts/ entry needed). Its runtime code must hash to the manifest's verifierCodeHash, the
 * hash the registry will pin and the daemons check; a package without one is refused. A Hardhat artifact of the
 * same name whose runtime code has that very hash is used as it is (same code, no compile).
 */
export function packageVerifier(pkgDir: string, m: ModelManifest = readManifest(pkgDir)): CompiledContract {
  if (!m.verifierContract) throw new Error(`${pkgDir}: the package has no verifier (build it with a powers-of-tau file)`);
  if (!m.verifierCodeHash) throw new Error(`${pkgDir}: the manifest records no verifierCodeHash (a package built before it was recorded): rebuild it with ozk model build`);
  // A Hardhat artifact of the same contract with the same runtime code (the shipped packages') saves the compile.
  const built = findArtifact(m.verifierContract);
  if (built) {
    const a = JSON.parse(readFileSync(built, "utf8")) as Artifact;
    if (a.deployedBytecode && keccak256(a.deployedBytecode).toLowerCase() === m.verifierCodeHash.toLowerCase()) return { contract: m.verifierContract, abi: a.abi, bytecode: a.bytecode };
  }
  const file = join(pkgDir, m.artifacts.verifier ?? "Verifier.sol");
  let source: string;
  try {
    source = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`${pkgDir}: cannot read the package's verifier ${file}: ${(err as Error).message}`, { cause: err });
  }
  const compiled = compileVerifier(source, m.verifierContract);
  const codeHash = keccak256(compiled.deployedBytecode);
  if (codeHash.toLowerCase() !== m.verifierCodeHash.toLowerCase()) {
    throw new Error(
      `${pkgDir}: ${file} compiles to runtime code with hash ${codeHash}, but the manifest records verifierCodeHash ${m.verifierCodeHash}: ` +
        `the verifier was edited after the build, or built with other solc settings; rebuild the package`,
    );
  }
  return { contract: m.verifierContract, abi: compiled.abi as Abi, bytecode: compiled.bytecode };
}

/**
 * Deploys a package's Solidity verifier (its own Verifier.sol compiled here: packageVerifier) and registers the model with the
 * package manifest's shapes, bit widths, weights commitment and setup kind, and an example proof made here (the
 * model on an all-zero input) that the registry checks against the entry. Windows default per chain
 * (defaultWindows). Records the modelId in `d.models`. An unsafe-dev package is refused off the development chain
 * unless `allowUnsafeSetup` (assertSetupAllowed).
 */
export async function registerPackage(d: Deployer, deployment: Deployment, pkgDir: string, r: RegisterOptions): Promise<{ modelId: Hex; verifier: Address; setupKind: SetupKindName } & Windows> {
  const log = r.log ?? (() => undefined);
  const m = readManifest(pkgDir);
  if (!m.verifierContract) throw new Error(`${pkgDir}: the package has no verifier (build it with a powers-of-tau file)`);
  const chainId = d.publicClient.chain.id;
  const setupKind = packageSetupKind(m);
  assertSetupAllowed(m.name, setupKind, chainId, r.allowUnsafeSetup);
  const verifier = r.verifier ?? packageVerifier(pkgDir, m);
  const windows = { ...defaultWindows(chainId), ...definedWindows(r) };
  let example;
  try {
    example = await exampleProof(pkgDir);
  } finally {
    // Proving and checking the proof start snarkjs's worker threads, which would keep this process alive.
    await terminateSnarkjs();
  }
  log(`example proof of ${m.name} (all-zero input) made with ${example.backend} in ${example.ms} ms`);
  const out = await registerModelSpec(d, deployment.addresses.registry, {
    name: m.name,
    verifier,
    weightsCommitment: BigInt(m.weightsCommitment),
    artifactHash: artifactHash(pkgDir) as Hex,
    inputLength: m.inputLength,
    outputLength: m.outputLength,
    outputBits: m.outputBits,
    ...windows,
    minProviderBond: r.minProviderBond,
    minChallengerBond: r.minChallengerBond,
    setupKind: setupKindOf(setupKind),
    example: { inputHash: example.inputHash, outputs: example.outputs, proof: example.proof },
    metadataURI: r.metadataURI ?? `ozk://models/${m.name}`,
  }, log);
  const modelId = out.modelId.toLowerCase() as Hex;
  if (!r.verifier) {
    // The registry pinned the deployed code's hash: it must be the one the manifest records (and the daemons check).
    const entry = await d.publicClient.readContract({ address: deployment.addresses.registry, abi: modelRegistryAbi, functionName: "getModel", args: [modelId] });
    if (entry.verifierCodeHash.toLowerCase() !== m.verifierCodeHash!.toLowerCase()) {
      throw new Error(`${m.name}: the registry pinned verifier code hash ${entry.verifierCodeHash}, not the manifest's ${m.verifierCodeHash}`);
    }
    log(`${m.name}: verifier code hash ${entry.verifierCodeHash} pinned, as the manifest records`);
  }
  log(`${m.name}: ${setupKind} setup`);
  deployment.models[m.name] = modelId;
  return { modelId, verifier: out.verifier, setupKind, ...windows };
}

function definedWindows(r: Partial<Windows>): Partial<Windows> {
  const out: Partial<Windows> = {};
  if (r.challengeWindow !== undefined) out.challengeWindow = r.challengeWindow;
  if (r.proofWindow !== undefined) out.proofWindow = r.proofWindow;
  return out;
}
