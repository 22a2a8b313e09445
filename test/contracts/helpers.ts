// Shared fixture for the contract tests: token, registry, claim manager, a mock-verifier model and staked actors.
import { network } from "hardhat";
import { AbiCoder, keccak256, type ContractTransactionResponse, type Signer } from "ethers";
import { expect } from "chai";
import { outputHash } from "../../sdk/signals.ts";
import fixtureJson from "../fixtures/verifier/fixture.json" with { type: "json" };

export const { ethers, networkHelpers } = await network.create();

/**
 * `networkHelpers.loadFixture`, with the chain's clock resumed where the fixture left it. Reverting to a snapshot
 * restores the blocks and the time offset but not the wall clock: the next block is stamped with the time of day, so
 * when slow tests ran since the fixture was first built, it lands hours after the fixture's last block, and every
 * "latest block + N" a test computes (a request expiry, a batch deadline) has already passed when its transaction mines.
 */
export async function loadFixture<T>(fixture: () => Promise<T>): Promise<T> {
  const loaded = await networkHelpers.loadFixture(fixture);
  await networkHelpers.time.setNextBlockTimestamp((await networkHelpers.time.latest()) + 1);
  return loaded;
}

export const fixture = fixtureJson;
export const E18 = 10n ** 18n;
export const PROTOCOL_FEE_BPS = 500n;
export const SLASH_REWARD_BPS = 5000n;
export const CHALLENGE_WINDOW = 3600n;
export const PROOF_WINDOW = 7200n;
export const MIN_PROVIDER_BOND = 100n * E18;
export const MIN_CHALLENGER_BOND = 10n * E18;
export const OUTPUT_LENGTH = 10;
export const OUTPUT_BITS = 24;
export const STAKE = 1_000n * E18;
/** IModelRegistry SetupKind: every fixture here is made from a development powers of tau. */
export const SETUP_UNSAFE_DEV = 0;

export enum ClaimStatus {
  None,
  Submitted,
  Challenged,
  Proven,
  Finalized,
  Slashed,
}
export enum RequestStatus {
  None,
  Open,
  Claimed,
  Fulfilled,
  Refunded,
}

export interface ClaimStruct {
  modelId: string;
  provider: string;
  inputHash: bigint;
  outputHash: string;
  bond: bigint;
  requestId: bigint;
}

export type Proof = [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
export const ZERO_PROOF: Proof = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n];

/** A registration example for the mock verifier (which says yes): any outputs of the right length. */
export function mockExample(outputLength = OUTPUT_LENGTH) {
  return { inputHash: 1n, outputs: Array.from({ length: outputLength }, () => 0n), proof: ZERO_PROOF };
}

/** A real fixture's first case as a registration example. */
export function fixtureExample(fx: { cases: { inputHash: string; outputs: string[]; proof: string[] }[] }) {
  const c = fx.cases[0]!;
  return { inputHash: BigInt(c.inputHash), outputs: c.outputs.map(BigInt), proof: c.proof.map(BigInt) as Proof };
}

export function claimId(c: ClaimStruct): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["tuple(bytes32,address,uint256,bytes32,uint256,uint256)"],
      [[c.modelId, c.provider, c.inputHash, c.outputHash, c.bond, c.requestId]],
    ),
  );
}

export function sampleOutputs(seed = 1n): bigint[] {
  return Array.from({ length: OUTPUT_LENGTH }, (_, i) => ((BigInt(i) * 7919n + seed * 104729n) % 1_000_000n) - 500_000n);
}

export function modelParams(verifier: string, overrides: Record<string, unknown> = {}) {
  return {
    verifier,
    weightsCommitment: 12345n,
    artifactHash: keccak256("0x01"),
    inputLength: 4,
    outputLength: OUTPUT_LENGTH,
    outputBits: OUTPUT_BITS,
    challengeWindow: CHALLENGE_WINDOW,
    proofWindow: PROOF_WINDOW,
    minProviderBond: MIN_PROVIDER_BOND,
    minChallengerBond: MIN_CHALLENGER_BOND,
    setupKind: SETUP_UNSAFE_DEV,
    metadataURI: "ipfs://model",
    ...overrides,
  };
}

/** Fresh deployment with a mock-verifier model; provider, challenger, other and consumer hold staked tokens. The
 *  ClaimManager has no BatchManager. */
export function deployFixture() {
  return deployFixtureWith({});
}

/**
 * deployFixture, and with `batchManager` a BatchManager with that default audit policy deployed first and wired into
 * the ClaimManager (as runtime/deploy.ts does).
 */
export async function deployFixtureWith(opts: { batchManager?: { auditRateBps: number; auditFee: bigint } }) {
  const [deployer, provider, challenger, other, consumer, treasury, modelOwner] = await ethers.getSigners();
  const token = await ethers.deployContract("MockERC20");
  const registry = await ethers.deployContract("ModelRegistry");
  const batchManager = opts.batchManager
    ? await ethers.deployContract("BatchManager", [
      await token.getAddress(), await registry.getAddress(), treasury!.address, PROTOCOL_FEE_BPS, SLASH_REWARD_BPS,
      opts.batchManager.auditRateBps, opts.batchManager.auditFee,
    ])
    : undefined;
  const manager = await ethers.deployContract("ClaimManager", [
    await token.getAddress(),
    await registry.getAddress(),
    treasury!.address,
    PROTOCOL_FEE_BPS,
    SLASH_REWARD_BPS,
    batchManager ? await batchManager.getAddress() : ethers.ZeroAddress,
  ]);
  const verifier = await ethers.deployContract("MockVerifier");
  const tx = await registry.connect(modelOwner!).registerModel(modelParams(await verifier.getAddress()), mockExample());
  await tx.wait();
  const modelId = await registry.computeModelId(modelOwner!.address, keccak256("0x01"));
  for (const s of [provider!, challenger!, other!, consumer!]) {
    await token.mint(s.address, 10n * STAKE);
    await token.connect(s).approve(await manager.getAddress(), ethers.MaxUint256);
  }
  for (const s of [provider!, challenger!, other!]) await manager.connect(s).stake(STAKE);
  return {
    deployer: deployer!, provider: provider!, challenger: challenger!, other: other!, consumer: consumer!,
    treasury: treasury!, modelOwner: modelOwner!, token, registry, manager, verifier, modelId, batchManager,
  };
}
export type Fixture = Awaited<ReturnType<typeof deployFixture>>;

/** Submits a plain claim (no request) from `provider` and returns the struct that later calls pass back. */
export async function submit(
  f: Fixture,
  opts: { outputs?: bigint[]; inputHash?: bigint; bond?: bigint; provider?: Fixture["provider"] } = {},
): Promise<{ claim: ClaimStruct; id: string; outputs: bigint[]; tx: ContractTransactionResponse }> {
  const provider = opts.provider ?? f.provider;
  const outputs = opts.outputs ?? sampleOutputs();
  const claim: ClaimStruct = {
    modelId: f.modelId,
    provider: provider.address,
    inputHash: opts.inputHash ?? 777n,
    outputHash: outputHash(outputs),
    bond: opts.bond ?? MIN_PROVIDER_BOND,
    requestId: 0n,
  };
  const tx = await f.manager.connect(provider).submitClaim(claim.modelId, claim.inputHash, outputs, claim.bond, "0x", "");
  return { claim, id: claimId(claim), outputs, tx };
}

/** A request's parameters with defaults: open to every provider, the model's minimum bond, no callback. */
export async function requestParams(
  f: Fixture,
  opts: { modelId?: string; inputHash?: bigint; fee?: bigint; expiry?: bigint; ttl?: bigint; callbackGasLimit?: number; provider?: string; minBond?: bigint } = {},
) {
  return {
    modelId: opts.modelId ?? f.modelId,
    inputHash: opts.inputHash ?? 777n,
    fee: opts.fee ?? E18,
    expiry: opts.expiry ?? (await now()) + (opts.ttl ?? 10_000n),
    callbackGasLimit: opts.callbackGasLimit ?? 0,
    provider: opts.provider ?? "0x0000000000000000000000000000000000000000",
    minBond: opts.minBond ?? 0n,
  };
}

/** `consumer` requests an inference; returns the request id. */
export async function request(
  f: Fixture,
  opts: Parameters<typeof requestParams>[1] & { consumer?: Fixture["consumer"]; inputData?: string; inputURI?: string } = {},
): Promise<bigint> {
  const consumer = opts.consumer ?? f.consumer;
  await f.manager.connect(consumer).requestInference(await requestParams(f, opts), opts.inputData ?? "0x", opts.inputURI ?? "");
  return f.manager.requestCount();
}

export const SALT = keccak256("0x5a17");

/**
 * Answers request `requestId` the only way there is: commit to hashAnswer in one block, answerRequest in the next
 * (each automined transaction is its own block). The claim is on the request's model and input.
 */
export async function answer(
  f: Fixture,
  requestId: bigint,
  opts: { outputs?: bigint[]; bond?: bigint; provider?: Fixture["provider"]; salt?: string } = {},
): Promise<{ claim: ClaimStruct; id: string; outputs: bigint[]; tx: ContractTransactionResponse }> {
  const provider = opts.provider ?? f.provider;
  const outputs = opts.outputs ?? sampleOutputs();
  const bond = opts.bond ?? MIN_PROVIDER_BOND;
  const salt = opts.salt ?? SALT;
  const req = await f.manager.getRequest(requestId);
  await f.manager.connect(provider).commit(await f.manager.hashAnswer(requestId, outputHash(outputs), bond, salt));
  const tx = await f.manager.connect(provider).answerRequest(requestId, outputs, bond, salt);
  const claim: ClaimStruct = {
    modelId: req.modelId, provider: provider.address, inputHash: req.inputHash, outputHash: outputHash(outputs), bond, requestId,
  };
  return { claim, id: claimId(claim), outputs, tx };
}

/** Commits to a counter-proof from `sender` (one block), then reveals it with counterProve (the next block). */
export async function counterProve(
  f: { manager: Fixture["manager"] },
  sender: Signer,
  claim: ClaimStruct,
  outputs: bigint[],
  proof: Proof = ZERO_PROOF,
): Promise<ContractTransactionResponse> {
  const m = f.manager.connect(sender);
  await m.commit(await m.hashCounterProof(claimId(claim), outputs, proof));
  return m.counterProve(claim, outputs, proof);
}

export async function now(): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest());
}

/** Sets the next block's timestamp to exactly `t`. */
export async function atTime(t: bigint): Promise<void> {
  await networkHelpers.time.setNextBlockTimestamp(t);
}

/** Checks the solvency invariant over the given accounts, live claims/requests and the audit pool. */
export async function expectSolvent(
  f: Fixture,
  claims: ClaimStruct[] = [],
  requestIds: bigint[] = [],
): Promise<void> {
  const accounts = [f.provider, f.challenger, f.other, f.consumer, f.treasury, f.deployer, f.modelOwner].map((s) => s.address);
  let sum = await f.manager.auditPool();
  for (const a of accounts) sum += (await f.manager.freeStake(a)) + (await f.manager.credits(a));
  for (const c of claims) {
    const [status] = await f.manager.claimState(claimId(c));
    if (status === BigInt(ClaimStatus.Submitted)) sum += c.bond;
    if (status === BigInt(ClaimStatus.Challenged)) sum += c.bond + MIN_CHALLENGER_BOND;
  }
  for (const r of requestIds) {
    const req = await f.manager.getRequest(r);
    if (req.status === BigInt(RequestStatus.Open) || req.status === BigInt(RequestStatus.Claimed)) sum += req.fee;
  }
  expect(await f.token.balanceOf(await f.manager.getAddress())).to.equal(sum);
}

import wideFixtureJson from "../fixtures/verifier/wide/fixture.json" with { type: "json" };

/** The second real fixture: 5 outputs of 124 bits, two per public signal (3 packed signals). */
export const wideFixture = wideFixtureJson;

export interface RealCase { inputHash: bigint; outputs: bigint[]; proof: Proof; publicSignals: bigint[] }

export function realCases(fx: typeof fixtureJson | typeof wideFixtureJson): RealCase[] {
  return fx.cases.map((c) => ({
    inputHash: BigInt(c.inputHash),
    outputs: c.outputs.map(BigInt),
    proof: c.proof.map(BigInt) as Proof,
    publicSignals: c.publicSignals.map(BigInt),
  }));
}

/**
 * A deployment with a real fixture verifier (TinyModelVerifier or WideModelVerifier), its model registered with the
 * fixture's first proof as the example; provider, challenger and other hold staked tokens.
 */
export async function deployReal(which: "tiny" | "wide" = "tiny") {
  const fx = which === "tiny" ? fixture : wideFixture;
  const [deployer, provider, challenger, other, treasury, owner, consumer] = await ethers.getSigners();
  const token = await ethers.deployContract("MockERC20");
  const registry = await ethers.deployContract("ModelRegistry");
  const manager = await ethers.deployContract("ClaimManager", [token, registry, treasury!.address, 500, 5000, ethers.ZeroAddress]);
  const verifier = await ethers.deployContract(which === "tiny" ? "TinyModelVerifier" : "WideModelVerifier");
  const params = {
    verifier: await verifier.getAddress(),
    weightsCommitment: BigInt(fx.weightsCommitment),
    artifactHash: fx.artifactHash,
    inputLength: fx.inputLength,
    outputLength: fx.outputLength,
    outputBits: fx.outputBits,
    challengeWindow: 3600,
    proofWindow: 7200,
    minProviderBond: 100n * E18,
    minChallengerBond: 10n * E18,
    setupKind: SETUP_UNSAFE_DEV,
    metadataURI: "",
  };
  await registry.connect(owner!).registerModel(params, fixtureExample(fx));
  const modelId = await registry.computeModelId(owner!.address, fx.artifactHash);
  for (const s of [provider!, challenger!, other!, consumer!]) {
    await token.mint(s.address, 10n * STAKE);
    await token.connect(s).approve(await manager.getAddress(), ethers.MaxUint256);
    await manager.connect(s).stake(STAKE);
  }
  return {
    deployer: deployer!, provider: provider!, challenger: challenger!, other: other!, treasury: treasury!, owner: owner!,
    consumer: consumer!, token, registry, manager, verifier, modelId, params, cases: realCases(fx), fx,
  };
}
export type RealFixture = Awaited<ReturnType<typeof deployReal>>;

/** `provider` submits a plain claim on the real model. */
export async function realClaim(f: RealFixture, inputHash: bigint, outputs: bigint[], provider = f.provider): Promise<ClaimStruct> {
  await f.manager.connect(provider).submitClaim(f.modelId, inputHash, outputs, 100n * E18, "0x", "");
  return { modelId: f.modelId, provider: provider.address, inputHash, outputHash: outputHash(outputs), bond: 100n * E18, requestId: 0n };
}
