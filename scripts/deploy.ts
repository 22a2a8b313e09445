// Deploys ozk (bond token if none given, ModelRegistry, ClaimManager, optional models with their verifiers) to any
// ethers Signer, and writes deployments/<network>.json {network, chainId, addresses, deployBlock, models}.
// CLI: npx hardhat run scripts/deploy.ts [--network localhost]   (env: OZK_TOKEN, OZK_TREASURY, OZK_NO_FIXTURE_MODEL=1;
// the unsafe-dev fixture model is registered on the local development chain only)
// Library: import { deployOzk, writeDeployment } from "./scripts/deploy.ts".
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ContractFactory, Contract, type Signer, type InterfaceAbi } from "ethers";
import { DEV_CHAIN_ID } from "../sdk/protocol.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** A model to register at deployment. `verifier` is an address, or the name of a compiled contract to deploy. */
export interface OzkModelSpec {
  name: string;
  verifier: string | { artifact: string };
  weightsCommitment: bigint;
  artifactHash: string;
  inputLength: number;
  outputLength: number;
  outputBits: number;
  challengeWindow?: number; // seconds, default defaultWindows(chainId).challengeWindow
  proofWindow?: number; // seconds, default defaultWindows(chainId).proofWindow
  minProviderBond?: bigint; // default 100e18
  minChallengerBond?: bigint; // default 10e18
  /** How the Groth16 key was made (IModelRegistry SetupKind): 0 UnsafeDev, 1 SingleContributor, 2 Ceremony. */
  setupKind: 0 | 1 | 2;
  /** One valid proof: registration checks that the verifier accepts it under the entry's shape. */
  example: { inputHash: bigint; outputs: bigint[]; proof: bigint[] };
  metadataURI?: string;
}

export interface DeployOzkOptions {
  /** Existing ERC20 bond token. Default: a fresh MockERC20 (anyone can mint; development only). */
  token?: string;
  /** Receives protocol fees and slash remainders. Default: the deployer. */
  treasury?: string;
  /** Default 500 (5%): share of request fees and lost challenger bonds paid to the treasury. */
  protocolFeeBps?: number;
  /** Default 5000 (50%, the most allowed): share of a slashed provider bond paid to the counter-prover or challenger. */
  slashRewardBps?: number;
  /** Models to register, owned by the deployer. */
  models?: OzkModelSpec[];
  /** Mint mock tokens (only when `token` is not given). */
  mint?: { to: string; amount: bigint }[];
  /** Logs each step. */
  log?: (line: string) => void;
}

/** Chain ids of local development chains (Hardhat, Anvil and Geth dev mode). */
const LOCAL_CHAIN_IDS = new Set([31337n, 1337n]);

/**
 * Default challenge and proof windows in seconds. Public networks get windows sized like established optimistic
 * systems: OP Succinct's 7 days to challenge and 1 day to prove (well above UMA's 2-hour minimum liveness), so a
 * watcher has time to notice, re-execute and get a challenge included even under congestion or censorship, and a
 * provider has time to prove a large model. Short windows (1 hour, 2 hours) only on a local development chain.
 */
export function defaultWindows(chainId: bigint): { challengeWindow: number; proofWindow: number } {
  return LOCAL_CHAIN_IDS.has(chainId)
    ? { challengeWindow: 3600, proofWindow: 7200 }
    : { challengeWindow: 7 * 86_400, proofWindow: 86_400 };
}

/** Shape of deployments/<network>.json (validated on read by sdk/deployments.ts). */
export interface OzkDeployment {
  network: string;
  chainId: number;
  addresses: { registry: string; claims: string; token: string; [role: string]: string };
  deployBlock: number;
  models: Record<string, string>;
}

interface Artifact {
  abi: InterfaceAbi;
  bytecode: string;
}

/** ABI and bytecode of a compiled contract (run `npx hardhat build` first). `name` or "path/File.sol:Name". */
export function loadArtifact(name: string): Artifact {
  const [file, contract] = name.includes(":") ? name.split(":") as [string, string] : [undefined, name];
  const candidates = file
    ? [join(root, "artifacts", file, `${contract}.json`)]
    : [
        join(root, "artifacts/contracts", `${contract}.sol`, `${contract}.json`),
        join(root, "artifacts/contracts/mocks", `${contract}.sol`, `${contract}.json`),
        join(root, "artifacts/contracts/fixtures", `${contract}.sol`, `${contract}.json`),
        join(root, "artifacts/contracts/verifiers", `${contract}.sol`, `${contract}.json`),
      ];
  for (const path of candidates) {
    try {
      return JSON.parse(readFileSync(path, "utf8")) as Artifact;
    } catch {
      // try the next location
    }
  }
  throw new Error(`no artifact for ${name} (looked in ${candidates.join(", ")}): run \`npx hardhat build\``);
}

async function deploy(signer: Signer, name: string, args: unknown[] = []): Promise<Contract> {
  const { abi, bytecode } = loadArtifact(name);
  const contract = await new ContractFactory(abi, bytecode, signer).deploy(...args);
  await contract.waitForDeployment();
  return contract as Contract;
}

/**
 * Deploys everything to the chain behind `signer` and registers `models`. Returns the deployment description;
 * nothing is written to disk (see writeDeployment).
 */
export async function deployOzk(signer: Signer, options: DeployOzkOptions = {}): Promise<OzkDeployment> {
  const log = options.log ?? (() => undefined);
  const provider = signer.provider;
  if (!provider) throw new Error("deployOzk: the signer needs a provider");
  const deployer = await signer.getAddress();
  const { chainId } = await provider.getNetwork();
  const deployBlock = (await provider.getBlockNumber()) + 1;

  let token: string;
  if (options.token) {
    token = options.token;
  } else {
    const mock = await deploy(signer, "MockERC20");
    token = await mock.getAddress();
    log(`MockERC20 bond token: ${token}`);
    for (const { to, amount } of options.mint ?? []) await (await mock.getFunction("mint")(to, amount)).wait();
  }
  const registry = await deploy(signer, "ModelRegistry");
  const registryAddress = await registry.getAddress();
  log(`ModelRegistry: ${registryAddress}`);
  const claims = await deploy(signer, "ClaimManager", [
    token,
    registryAddress,
    options.treasury ?? deployer,
    options.protocolFeeBps ?? 500,
    options.slashRewardBps ?? 5000,
  ]);
  const claimsAddress = await claims.getAddress();
  log(`ClaimManager: ${claimsAddress}`);

  const addresses: OzkDeployment["addresses"] = { registry: registryAddress, claims: claimsAddress, token };
  const models: Record<string, string> = {};
  for (const m of options.models ?? []) {
    const r = await registerModelSpec(signer, registryAddress, m, log);
    addresses[`verifier:${m.name}`] = r.verifier;
    models[m.name] = r.modelId;
  }
  return { network: "", chainId: Number(chainId), addresses, deployBlock, models };
}

/**
 * Registers one model (deploying its verifier when given as an artifact name) in the registry at
 * `registryAddress`, owned by `signer`. Returns the modelId and the verifier address.
 */
export async function registerModelSpec(
  signer: Signer,
  registryAddress: string,
  m: OzkModelSpec,
  log: (line: string) => void = () => undefined,
): Promise<{ modelId: string; verifier: string }> {
  const registry = new Contract(registryAddress, loadArtifact("ModelRegistry").abi, signer);
  // One entry per owner and package: say so before deploying a verifier that could never be registered.
  const expectedId = (await registry.getFunction("computeModelId")(await signer.getAddress(), m.artifactHash)) as string;
  if ((await registry.getFunction("exists")(expectedId)) as boolean) {
    throw new Error(
      `${m.name} is already registered by ${await signer.getAddress()} as model ${expectedId} (the registry keeps one entry per owner ` +
        `and package, and entries never change): use that model id, or deprecate it and register a rebuilt package`,
    );
  }
  let verifier: string;
  if (typeof m.verifier === "string") {
    verifier = m.verifier;
  } else {
    verifier = await (await deploy(signer, m.verifier.artifact)).getAddress();
    log(`${m.verifier.artifact} (verifier of ${m.name}): ${verifier}`);
  }
  const windows = defaultWindows((await signer.provider!.getNetwork()).chainId);
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
    await (await registry.getFunction("registerModel")(params, m.example)).wait();
  } catch (err) {
    // Name the registry's custom error (InvalidExampleProof, VerifierHasNoCode, ...) instead of its raw bytes.
    const data = (err as { data?: string; info?: { error?: { data?: string } } }).data ?? (err as { info?: { error?: { data?: string } } }).info?.error?.data;
    const parsed = typeof data === "string" && data.length >= 10 ? registry.interface.parseError(data) : null;
    if (parsed) throw new Error(`registering ${m.name} failed: the registry reverted with ${parsed.name}(${parsed.args.map(String).join(", ")})`, { cause: err });
    throw err;
  }
  const modelId = (await registry.getFunction("computeModelId")(await signer.getAddress(), m.artifactHash)) as string;
  log(`model ${m.name}: ${modelId}`);
  return { modelId, verifier };
}

/**
 * The tiny circuit of test/fixtures/verifier, registered under the name "tiny-fixture" with its first proof as the
 * registration example. Its key comes from a development powers of tau: SetupKind UnsafeDev.
 */
export function tinyFixtureModel(): OzkModelSpec {
  const f = JSON.parse(readFileSync(join(root, "test/fixtures/verifier/fixture.json"), "utf8")) as {
    weightsCommitment: string; artifactHash: string; inputLength: number; outputLength: number; outputBits: number;
    cases: { inputHash: string; outputs: string[]; proof: string[] }[];
  };
  const example = f.cases[0]!;
  return {
    name: "tiny-fixture",
    verifier: { artifact: "TinyModelVerifier" },
    weightsCommitment: BigInt(f.weightsCommitment),
    artifactHash: f.artifactHash,
    inputLength: f.inputLength,
    outputLength: f.outputLength,
    outputBits: f.outputBits,
    setupKind: 0,
    example: { inputHash: BigInt(example.inputHash), outputs: example.outputs.map(BigInt), proof: example.proof.map(BigInt) },
    metadataURI: "repo://test/fixtures/verifier",
  };
}

/** Writes deployments/<network>.json (or into `dir`); returns the path. */
export function writeDeployment(network: string, deployment: OzkDeployment, dir = join(root, "deployments")): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${network}.json`);
  writeFileSync(path, JSON.stringify({ ...deployment, network }, null, 2) + "\n");
  return path;
}

async function main(): Promise<void> {
  const { network } = await import("hardhat");
  const connection = await network.create();
  const [signer] = await connection.ethers.getSigners();
  // The fixture model's key is unsafe-dev (public toxic waste): registered on the local development chain only.
  const local = Number((await signer!.provider!.getNetwork()).chainId) === DEV_CHAIN_ID;
  const deployment = await deployOzk(signer!, {
    token: process.env.OZK_TOKEN,
    treasury: process.env.OZK_TREASURY,
    models: process.env.OZK_NO_FIXTURE_MODEL || !local ? [] : [tinyFixtureModel()],
    log: (line) => console.log(line),
  });
  const path = writeDeployment(connection.networkName, deployment);
  console.log(`wrote ${path}`);
}

// Runs as a CLI when it is the script given to `hardhat run` or to tsx, not when imported.
const self = fileURLToPath(import.meta.url);
if (process.argv.slice(1, 4).some((a) => a === self || a.endsWith("scripts/deploy.ts"))) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
