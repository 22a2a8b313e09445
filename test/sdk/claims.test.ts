// The dApp read/request API (sdk/claims.ts) against the real contracts on Hardhat's in-process chain, with the
// tiny fixture circuit registered behind its real Groth16 verifier: request an inference, commit to an answer and
// reveal it in a later block, watch the model's claims, read state and time left, finalize with the outputs, get
// the settled result; a wrong claim slashed by a committed, then revealed, counter-proof; and a request fulfilled
// from a leaf of a Finalized batch.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { network } from "hardhat";
import { createPublicClient, createWalletClient, custom, getAddress, keccak256, type Abi, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import { hardhat } from "viem/chains";
import { batchManagerAbi, claimManagerAbi, modelRegistryAbi } from "../../sdk/abi.ts";
import { batchId, batchLeaf, buildBatchTree, type BatchStruct } from "../../sdk/batch.ts";
import { parseDeployment, type Deployment } from "../../sdk/deployments.ts";
import {
  answerCommitment,
  answerRequest,
  commit,
  counterProofCommitment,
  counterProve,
  finalizeClaim,
  fulfillFromBatch,
  getClaimState,
  getCommitmentBlock,
  getModelEntry,
  getSubmittedClaim,
  getSubmittedBatch,
  isSettledBatchLeaf,
  requestInference,
  waitForSettledResult,
  watchModelClaims,
} from "../../sdk/claims.ts";
import { SetupKind, claimIdOf, randomSalt, type ClaimFields, type SolidityProof, type SubmittedClaim } from "../../sdk/protocol.ts";
import { checkInputData } from "../../sdk/inputs.ts";
import { outputHash } from "../../sdk/signals.ts";
import { loadArtifact } from "../../runtime/artifacts.ts";

const E18 = 10n ** 18n;
const CHALLENGE_WINDOW = 3600;
const MIN_PROVIDER_BOND = 100n * E18;
const fixture = JSON.parse(readFileSync("test/fixtures/verifier/fixture.json", "utf8")) as {
  weightsCommitment: string; artifactHash: Hex; inputLength: number; outputLength: number; outputBits: number;
  cases: Array<{ input: string[]; inputHash: string; outputs: string[]; proof: string[] }>;
};
const example = fixture.cases[0]!;
const proofOf = (c: { proof: string[] }) => c.proof.map(BigInt) as unknown as SolidityProof;

describe("sdk/claims", function () {
  this.timeout(120_000);
  let publicClient: PublicClient<Transport, Chain | undefined>;
  let request: (method: string, params?: unknown[]) => Promise<unknown>;
  let wallets: Record<"deployer" | "provider" | "consumer" | "counterProver", WalletClient<Transport, Chain | undefined, Account>>;
  let deployment: Deployment;
  let modelId: Hex;
  let verifier: Address;

  const send = async (hash: Promise<Hex>) => publicClient.waitForTransactionReceipt({ hash: await hash });
  const deploy = async (name: string, args: unknown[] = []): Promise<Address> => {
    const { abi, bytecode } = loadArtifact(name) as { abi: Abi; bytecode: Hex };
    return getAddress((await send(wallets.deployer.deployContract({ abi, bytecode, args, chain: null }))).contractAddress!);
  };

  before(async () => {
    const conn = await network.create();
    const provider = conn.provider as { request(a: { method: string; params?: unknown[] }): Promise<unknown> };
    request = (method, params = []) => provider.request({ method, params });
    const accounts = ((await request("eth_accounts")) as Address[]).map((a) => getAddress(a));
    const transport = custom(conn.provider);
    publicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 50 });
    const w = (i: number) => createWalletClient({ chain: hardhat, transport, account: accounts[i]! });
    wallets = { deployer: w(0), provider: w(1), consumer: w(2), counterProver: w(3) };

    const token = await deploy("MockERC20");
    const registry = await deploy("ModelRegistry");
    const batchManager = await deploy("BatchManager", [token, registry, accounts[0], 500, 5000, 0, 0n]);
    const claims = await deploy("ClaimManager", [token, registry, accounts[0], 500, 5000, batchManager]);
    verifier = await deploy("TinyModelVerifier");
    const params = {
      verifier, weightsCommitment: BigInt(fixture.weightsCommitment), artifactHash: fixture.artifactHash,
      inputLength: fixture.inputLength, outputLength: fixture.outputLength, outputBits: fixture.outputBits,
      challengeWindow: CHALLENGE_WINDOW, proofWindow: 7200, minProviderBond: MIN_PROVIDER_BOND, minChallengerBond: 10n * E18,
      setupKind: SetupKind.UnsafeDev, metadataURI: "repo://test/fixtures/verifier",
    };
    const exampleProof = { inputHash: BigInt(example.inputHash), outputs: example.outputs.map(BigInt), proof: proofOf(example) };
    await send(wallets.deployer.writeContract({ address: registry, abi: modelRegistryAbi, functionName: "registerModel", args: [params, exampleProof], chain: null }));
    modelId = await publicClient.readContract({ address: registry, abi: modelRegistryAbi, functionName: "computeModelId", args: [accounts[0]!, fixture.artifactHash] });
    const tokenAbi = loadArtifact("MockERC20").abi as Abi;
    for (const who of ["provider", "consumer", "counterProver"] as const) {
      const a = wallets[who].account.address;
      await send(wallets.deployer.writeContract({ address: token, abi: tokenAbi, functionName: "mint", args: [a, 10_000n * E18], chain: null }));
      await send(wallets[who].writeContract({ address: token, abi: tokenAbi, functionName: "approve", args: [claims, 10_000n * E18], chain: null }));
      await send(wallets[who].writeContract({ address: token, abi: tokenAbi, functionName: "approve", args: [batchManager, 10_000n * E18], chain: null }));
    }
    await send(wallets.provider.writeContract({ address: claims, abi: claimManagerAbi, functionName: "stake", args: [1_000n * E18], chain: null }));
    await send(wallets.provider.writeContract({ address: batchManager, abi: batchManagerAbi, functionName: "stake", args: [1_000n * E18], chain: null }));
    deployment = parseDeployment({ chainId: 31337, addresses: { registry, claims, batchManager, token }, deployBlock: 0, models: { fixture: modelId } });
  });

  it("reads the registry entry with its pinned verifier code hash and setup kind", async () => {
    const entry = await getModelEntry({ publicClient, deployment }, modelId);
    expect(entry.verifier).to.equal(verifier);
    expect(entry.verifierCodeHash).to.equal(keccak256((await publicClient.getCode({ address: verifier }))!));
    expect(entry).to.include({ setupKind: SetupKind.UnsafeDev, setupKindName: "unsafe-dev", outputLength: fixture.outputLength, outputBits: fixture.outputBits });
    expect(entry.weightsCommitment).to.equal(BigInt(fixture.weightsCommitment));
  });

  it("request -> commit -> answer in a later block -> watch -> state with time left -> finalize -> settled result", async () => {
    const reader = { publicClient, deployment };
    const seen: SubmittedClaim[] = [];
    const unwatch = watchModelClaims(reader, modelId, (c) => seen.push(c), { pollingIntervalMs: 50 });
    try {

    const values = example.input.map(BigInt);
    const now = (await publicClient.getBlock()).timestamp;
    const { requestId, inputHash } = await requestInference(reader, wallets.consumer, {
      modelName: "fixture", values, bits: 8, fee: 5n * E18, expiry: now + 10_000n, provider: wallets.provider.account.address, minBond: 120n * E18,
    });
    expect(requestId).to.be.greaterThan(0n);
    expect(inputHash).to.equal(BigInt(example.inputHash));
    const req = await publicClient.readContract({ address: deployment.addresses.claims, abi: claimManagerAbi, functionName: "getRequest", args: [requestId] });
    expect(req).to.include({ provider: wallets.provider.account.address, minBond: 120n * E18 });

    // The provider commits to its answer, then reveals it in a later block.
    const outputs = example.outputs.map(BigInt);
    const answer = { requestId, outputs, bond: 120n * E18, salt: randomSalt() };
    const { blockNumber } = await commit(reader, wallets.provider, answerCommitment(answer));
    expect(await getCommitmentBlock(reader, wallets.provider.account.address, answerCommitment(answer))).to.equal(blockNumber);
    await request("evm_mine");
    const { claimId, claim } = await answerRequest(reader, wallets.provider, answer);
    expect(claim).to.deep.equal({ modelId, provider: wallets.provider.account.address, inputHash, outputHash: outputHash(outputs), bond: 120n * E18, requestId });
    expect(claimId).to.equal(claimIdOf(claim));
    expect(await getCommitmentBlock(reader, wallets.provider.account.address, answerCommitment(answer))).to.equal(0n); // revealed

    const state = await getClaimState(reader, claimId);
    expect(state).to.include({ statusName: "Submitted", settled: false, settledValid: false });
    expect(state.secondsLeft > BigInt(CHALLENGE_WINDOW) - 5n && state.secondsLeft <= BigInt(CHALLENGE_WINDOW)).to.equal(true, String(state.secondsLeft));

    const submitted = await getSubmittedClaim(reader, claimId);
    expect(submitted!.outputs).to.deep.equal(outputs);
    expect(submitted!.claim.requestId).to.equal(requestId);
    expect(await getSubmittedClaim(reader, ("0x" + "00".repeat(32)) as Hex)).to.equal(undefined);

    // The request's input data, as a challenger reads it, matches the commitment.
    const [reqLog] = await publicClient.getContractEvents({ address: deployment.addresses.claims, abi: claimManagerAbi, eventName: "InferenceRequested", fromBlock: 0n });
    expect(checkInputData(reqLog!.args.inputData!, inputHash, { length: 4, bits: 8 }).values).to.deep.equal(values);

    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(seen.map((c) => c.claimId)).to.deep.equal([claimId]);

    const pending = waitForSettledResult(reader, requestId, { pollMs: 50, timeoutMs: 60_000 });
    await request("evm_increaseTime", [CHALLENGE_WINDOW + 1]);
    await request("evm_mine");
    expect((await getClaimState(reader, claimId)).secondsLeft).to.equal(0n);
    await finalizeClaim(reader, wallets.counterProver, claim, outputs);
    const result = await pending;
    expect(result).to.deep.equal({ requestId, claimId, outputs });
    expect(await getClaimState(reader, claimId)).to.include({ statusName: "Finalized", settled: true, settledValid: true, secondsLeft: 0n });
    } finally {
      unwatch();
    }
  });

  it("a wrong claim: a counter-proof committed, then revealed in a later block, slashes it and pays the revealer", async () => {
    const reader = { publicClient, deployment };
    const right = example.outputs.map(BigInt);
    const wrong = [...right];
    wrong[0] = wrong[0]! + 1n;
    const claim: ClaimFields = { modelId, provider: wallets.provider.account.address, inputHash: BigInt(example.inputHash), outputHash: outputHash(wrong), bond: MIN_PROVIDER_BOND, requestId: 0n };
    await send(wallets.provider.writeContract({ address: deployment.addresses.claims, abi: claimManagerAbi, functionName: "submitClaim", args: [modelId, claim.inputHash, wrong, claim.bond, "0x", ""], chain: null }));
    const claimId = claimIdOf(claim);
    expect((await getClaimState(reader, claimId)).statusName).to.equal("Submitted");

    const commitment = counterProofCommitment(claim, right, proofOf(example));
    await commit(reader, wallets.counterProver, commitment);
    await request("evm_mine");
    await counterProve(reader, wallets.counterProver, claim, right, proofOf(example));
    expect((await getClaimState(reader, claimId)).statusName).to.equal("Slashed");
    const [slash] = await publicClient.getContractEvents({ address: deployment.addresses.claims, abi: claimManagerAbi, eventName: "ClaimSlashed", args: { claimId }, fromBlock: 0n });
    expect(slash!.args).to.include({ beneficiary: wallets.counterProver.account.address, counterProven: true });
  });

  it("a request fulfilled from a leaf of a Finalized batch by a stranger: the settled result carries the batch and the outputs", async () => {
    const reader = { publicClient, deployment };
    const batches = deployment.addresses.batchManager!;
    const values = example.input.map(BigInt);
    const outputs = example.outputs.map(BigInt);
    const now = (await publicClient.getBlock()).timestamp;
    const { requestId, inputHash } = await requestInference(reader, wallets.consumer, { modelName: "fixture", values, bits: 8, fee: 3n * E18, expiry: now + 20_000n, provider: wallets.provider.account.address });
    // The request's input is the batch's second leaf.
    const leaves = [{ inputHash: 5n, outputs: outputs.map((o) => -o) }, { inputHash, outputs }];
    const tree = buildBatchTree(leaves.map((l, i) => batchLeaf(modelId, l.inputHash, l.outputs, i)));
    await send(wallets.provider.writeContract({ address: batches, abi: batchManagerAbi, functionName: "submitBatch", args: [modelId, tree.root, 2, MIN_PROVIDER_BOND, ""], chain: null }));
    const batch: BatchStruct = { modelId, provider: wallets.provider.account.address, root: tree.root, size: 2, bond: MIN_PROVIDER_BOND, auditRateBps: 0, auditFee: 0n };
    // The struct is read back from the batch id alone (what a provider's job reports).
    expect((await getSubmittedBatch(reader, batchId(batch)))?.batch).to.deep.equal(batch);
    expect(await getSubmittedBatch(reader, `0x${"ab".repeat(32)}`)).to.equal(undefined);
    const answer = { requestId, batch, index: 1, outputs, path: tree.path(1) };
    expect(await isSettledBatchLeaf(reader, batch, 1, inputHash, outputs, tree.path(1))).to.equal(false);
    // Not settled yet: the simulation refuses it with the contract's error, nothing is sent.
    let refused: unknown;
    await fulfillFromBatch(reader, wallets.counterProver, answer).catch((e: unknown) => { refused = e; });
    expect(String(refused)).to.contain("BatchLeafNotSettled");

    const pending = waitForSettledResult(reader, requestId, { pollMs: 50, timeoutMs: 60_000 });
    await request("evm_increaseTime", [CHALLENGE_WINDOW + 1]);
    await request("evm_mine");
    await send(wallets.counterProver.writeContract({ address: batches, abi: batchManagerAbi, functionName: "finalizeBatch", args: [batch], chain: null }));
    expect(await isSettledBatchLeaf(reader, batch, 1, inputHash, outputs, tree.path(1))).to.equal(true);
    expect(await isSettledBatchLeaf(reader, batch, 0, inputHash, outputs, tree.path(0))).to.equal(false);
    const before = await publicClient.readContract({ address: deployment.addresses.claims, abi: claimManagerAbi, functionName: "credits", args: [wallets.provider.account.address] });
    await fulfillFromBatch(reader, wallets.counterProver, answer);
    const id = batchId(batch);
    expect(await pending).to.deep.equal({ requestId, claimId: id, outputs, batch: { batchId: id, index: 1n } });
    const after = await publicClient.readContract({ address: deployment.addresses.claims, abi: claimManagerAbi, functionName: "credits", args: [wallets.provider.account.address] });
    expect(after - before).to.equal(3n * E18 - (3n * E18 * 500n) / 10_000n);
  });
});
