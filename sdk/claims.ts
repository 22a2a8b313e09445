// The dApp read/request API over the contracts: a model's registry entry (with its setup kind), a claim's state
// and time left, its submitted fields and outputs (from events), a model's claims as they arrive, request ->
// settled result, the commit-reveal steps (commit, then answer a request or counter-prove in a later
// block), a claim's random forced audit (read, draw, slash a missed one), and a request fulfilled from a leaf of a
// Finalized batch. Browser-safe.
import { erc20Abi, getAbiItem, parseEventLogs, zeroAddress, zeroHash, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient, type Account } from "viem";
import { batchManagerAbi, claimManagerAbi, modelRegistryAbi } from "./abi.ts";
import { auditStatusName, drawBatchAudit, type BatchStruct } from "./batch.ts";
import { simulateAndWrite } from "./client.ts";
import { addressOf, type Deployment } from "./deployments.ts";
import { encodeInputData, inputHashOf } from "./inputs.ts";
import { OzkError, RetryableError, isRetryable } from "./errors.ts";
import {
  ClaimStatus,
  RequestStatus,
  claimIdOf,
  claimStatusName,
  hashAnswer,
  hashCounterProof,
  setupKindName,
  type ClaimFields,
  type ModelEntry,
  type RequestParamsFields,
  type SetupKindName,
  type SolidityProof,
  type SubmittedClaim,
} from "./protocol.ts";
import { outputHash } from "./signals.ts";

/** What the read functions need: an RPC client and the deployment. */
export interface OzkReader {
  publicClient: PublicClient<Transport, Chain | undefined>;
  deployment: Deployment;
}

export interface ClaimState {
  claimId: Hex;
  status: number;
  statusName: string;
  /** Challenge window end while Submitted, proof deadline while Challenged; 0 once settled. */
  deadline: bigint;
  challenger: Address;
  /** Seconds until `deadline` at the latest block (0 when passed or settled). */
  secondsLeft: bigint;
  /** Finalized or Proven: the outputs stand. */
  settledValid: boolean;
  /** Any terminal state (Finalized, Proven, Slashed). */
  settled: boolean;
}

const claimsOf = (r: OzkReader): Address => addressOf(r.deployment, "claims");
type Wallet = WalletClient<Transport, Chain | undefined, Account>;

/** A registry entry with its setup kind by name ("unsafe-dev", "single-contributor", "ceremony"). */
export type ModelInfo = ModelEntry & { modelId: Hex; setupKindName: SetupKindName };

/** The registry entry of `modelId`: verifier and its pinned code hash, shapes, windows, bonds, setup kind. */
export async function getModelEntry(r: OzkReader, modelId: Hex): Promise<ModelInfo> {
  const entry = await r.publicClient.readContract({ address: addressOf(r.deployment, "registry"), abi: modelRegistryAbi, functionName: "getModel", args: [modelId] });
  return { ...entry, modelId, setupKindName: setupKindName(entry.setupKind) };
}
const claimSubmitted = getAbiItem({ abi: claimManagerAbi, name: "ClaimSubmitted" });
const claimInput = getAbiItem({ abi: claimManagerAbi, name: "ClaimInput" });
const inferenceRequested = getAbiItem({ abi: claimManagerAbi, name: "InferenceRequested" });
const requestFulfilledFromBatch = getAbiItem({ abi: claimManagerAbi, name: "RequestFulfilledFromBatch" });

/** Status, deadline and time left of a claim. An unknown claimId has status None. */
export async function getClaimState(r: OzkReader, claimId: Hex): Promise<ClaimState> {
  const [[status, deadline, challenger], block] = await Promise.all([
    r.publicClient.readContract({ address: claimsOf(r), abi: claimManagerAbi, functionName: "claimState", args: [claimId] }),
    r.publicClient.getBlock({ blockTag: "latest" }),
  ]);
  const settled = status === ClaimStatus.Finalized || status === ClaimStatus.Proven || status === ClaimStatus.Slashed;
  const live = status === ClaimStatus.Submitted || status === ClaimStatus.Challenged;
  return {
    claimId,
    status,
    statusName: claimStatusName(status),
    deadline,
    challenger,
    secondsLeft: live && deadline > block.timestamp ? deadline - block.timestamp : 0n,
    settledValid: status === ClaimStatus.Finalized || status === ClaimStatus.Proven,
    settled,
  };
}

function toSubmitted(log: { args: { claimId: Hex; claim: ClaimFields; challengeDeadline: bigint; outputs: readonly bigint[] }; blockNumber: bigint | null }): SubmittedClaim {
  return {
    claimId: log.args.claimId,
    claim: { ...log.args.claim },
    outputs: [...log.args.outputs],
    challengeDeadline: log.args.challengeDeadline,
    blockNumber: log.blockNumber ?? 0n,
  };
}

/** The claim's fields and full outputs from its ClaimSubmitted event, and its input data if it was published. */
export async function getSubmittedClaim(r: OzkReader, claimId: Hex): Promise<(SubmittedClaim & { inputData?: Hex; inputURI?: string }) | undefined> {
  const fromBlock = BigInt(r.deployment.deployBlock);
  const [submitted, inputs] = await Promise.all([
    r.publicClient.getLogs({ address: claimsOf(r), event: claimSubmitted, args: { claimId }, fromBlock, toBlock: "latest" }),
    r.publicClient.getLogs({ address: claimsOf(r), event: claimInput, args: { claimId }, fromBlock, toBlock: "latest" }),
  ]);
  const log = submitted[0];
  if (!log) return undefined;
  const input = inputs[0];
  return { ...toSubmitted(log as never), inputData: input?.args.inputData, inputURI: input?.args.inputURI };
}

/**
 * Calls `onClaim` for each new claim of `modelId` (polling the chain). Returns the unwatch function.
 * For history, read ClaimSubmitted logs from the deployment's deployBlock.
 */
export function watchModelClaims(r: OzkReader, modelId: Hex, onClaim: (c: SubmittedClaim) => void, options: { pollingIntervalMs?: number; onError?: (err: Error) => void } = {}): () => void {
  return r.publicClient.watchContractEvent({
    address: claimsOf(r),
    abi: claimManagerAbi,
    eventName: "ClaimSubmitted",
    args: { modelId },
    pollingInterval: options.pollingIntervalMs,
    onError: options.onError,
    onLogs: (logs) => {
      for (const log of logs) onClaim(toSubmitted(log as never));
    },
  });
}

export interface RequestParams {
  modelName?: string;
  modelId?: Hex;
  /** Quantized input (signed, `bits` wide): hashed for inputHash and published as input data. */
  values: readonly bigint[];
  bits: number;
  fee: bigint;
  /** Unix seconds until which a provider may answer. */
  expiry: bigint;
  /** Gas for the consumer callback (0: none; the caller must then read the result itself). */
  callbackGasLimit?: number;
  /** The only provider allowed to answer (default: anyone). */
  provider?: Address;
  /** Least bond an answer must lock (default 0: the model's minimum). */
  minBond?: bigint;
  inputURI?: string;
}

/**
 * Requests an inference: approves the fee to the claim contract when the allowance is short, then sends
 * requestInference with the encoded input. Returns the request id.
 */
export async function requestInference(
  r: OzkReader,
  walletClient: Wallet,
  p: RequestParams,
): Promise<{ requestId: bigint; inputHash: bigint; hash: Hex }> {
  const modelId = p.modelId ?? (p.modelName ? r.deployment.models[p.modelName] : undefined);
  if (!modelId) throw new OzkError(`unknown model: give modelId or a modelName in the deployment`, { docsPath: "sdk.md#requests" });
  const claims = claimsOf(r);
  const token = addressOf(r.deployment, "token");
  const allowance = await r.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "allowance", args: [walletClient.account.address, claims] });
  if (allowance < p.fee) await simulateAndWrite(r.publicClient, walletClient, { address: token, abi: erc20Abi, functionName: "approve", args: [claims, p.fee] });
  const inputHash = inputHashOf(p.values, p.bits);
  const params: RequestParamsFields = {
    modelId,
    inputHash,
    fee: p.fee,
    expiry: p.expiry,
    callbackGasLimit: p.callbackGasLimit ?? 0,
    provider: p.provider ?? zeroAddress,
    minBond: p.minBond ?? 0n,
  };
  const { hash, receipt } = await simulateAndWrite(r.publicClient, walletClient, {
    address: claims,
    abi: claimManagerAbi,
    functionName: "requestInference",
    args: [params, encodeInputData(p.values, p.bits), p.inputURI ?? ""],
  });
  const [event] = parseEventLogs({ abi: [inferenceRequested], logs: receipt.logs, eventName: "InferenceRequested" });
  if (!event) throw new OzkError("requestInference succeeded but emitted no InferenceRequested event", { meta: { hash } });
  return { requestId: event.args.requestId, inputHash, hash };
}

export interface SettledResult {
  requestId: bigint;
  /** The claim that settled it, or the batchId when a batch leaf fulfilled it (as the consumer callback gets it). */
  claimId: Hex;
  outputs: bigint[];
  /** Set when the request was fulfilled from a leaf of a Finalized batch (fulfillFromBatch). */
  batch?: { batchId: Hex; index: bigint };
}

/**
 * Waits until request `requestId` is Fulfilled (its answering claim settled valid, or a leaf of a Finalized batch
 * answered it) and returns the outputs. A Refunded request (expired unanswered) throws. Transient RPC errors are
 * retried until the timeout.
 */
export async function waitForSettledResult(r: OzkReader, requestId: bigint, options: { pollMs?: number; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<SettledResult> {
  const deadline = Date.now() + (options.timeoutMs ?? 3_600_000);
  const claims = claimsOf(r);
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const req = await r.publicClient.readContract({ address: claims, abi: claimManagerAbi, functionName: "getRequest", args: [requestId] });
      if (req.status === RequestStatus.Refunded) throw new OzkError(`request ${requestId} expired unanswered and was refunded`);
      if (req.status === RequestStatus.None) throw new OzkError(`no request ${requestId}`);
      if (req.status === RequestStatus.Fulfilled && req.claimId === zeroHash) {
        const [log] = await r.publicClient.getLogs({ address: claims, event: requestFulfilledFromBatch, args: { requestId }, fromBlock: BigInt(r.deployment.deployBlock), toBlock: "latest" });
        if (!log) throw new RetryableError(`request ${requestId} was fulfilled from a batch but its RequestFulfilledFromBatch event is not readable yet`);
        return { requestId, claimId: log.args.batchId!, outputs: [...log.args.outputs!], batch: { batchId: log.args.batchId!, index: log.args.index! } };
      }
      if (req.status === RequestStatus.Fulfilled) {
        const submitted = await getSubmittedClaim(r, req.claimId);
        if (!submitted) throw new RetryableError(`claim ${req.claimId} of request ${requestId} has no ClaimSubmitted event yet`);
        return { requestId, claimId: req.claimId, outputs: submitted.outputs };
      }
    } catch (err) {
      if (!isRetryable(err) || Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new RetryableError(`request ${requestId} not settled after ${options.timeoutMs ?? 3_600_000} ms`);
    await new Promise((res) => setTimeout(res, options.pollMs ?? 2000));
  }
}

/** The block in which `account` committed to `commitment` (0n: never, or already revealed). */
export async function getCommitmentBlock(r: OzkReader, account: Address, commitment: Hex): Promise<bigint> {
  return r.publicClient.readContract({ address: claimsOf(r), abi: claimManagerAbi, functionName: "commitments", args: [account, commitment] });
}

/**
 * Sends commit(commitment) (see hashAnswer and hashCounterProof) and returns the block that recorded it: the
 * reveal is accepted only in a later block. Keep what the commitment hides (the salt, the proof) until then.
 */
export async function commit(r: OzkReader, walletClient: Wallet, commitment: Hex): Promise<{ blockNumber: bigint; hash: Hex }> {
  const { hash, receipt } = await simulateAndWrite(r.publicClient, walletClient, { address: claimsOf(r), abi: claimManagerAbi, functionName: "commit", args: [commitment] });
  return { blockNumber: receipt.blockNumber, hash };
}

/** An answer to a request, committed to by hashAnswer(requestId, outputHash(outputs), bond, salt). */
export interface RequestAnswer {
  requestId: bigint;
  outputs: readonly bigint[];
  bond: bigint;
  /** 32 secret random bytes (randomSalt()). */
  salt: Hex;
}

/** The commitment of an answer, as answerRequest will check it. */
export function answerCommitment(a: RequestAnswer): Hex {
  return hashAnswer(a.requestId, outputHash(a.outputs), a.bond, a.salt);
}

/**
 * Reveals a committed answer (answerRequest) and returns the claim it makes. The commitment must have been
 * recorded in an earlier block by the same account.
 */
export async function answerRequest(r: OzkReader, walletClient: Wallet, a: RequestAnswer): Promise<{ claimId: Hex; claim: ClaimFields; hash: Hex }> {
  const req = await r.publicClient.readContract({ address: claimsOf(r), abi: claimManagerAbi, functionName: "getRequest", args: [a.requestId] });
  const { hash } = await simulateAndWrite(r.publicClient, walletClient, {
    address: claimsOf(r),
    abi: claimManagerAbi,
    functionName: "answerRequest",
    args: [a.requestId, [...a.outputs], a.bond, a.salt],
  });
  const claim: ClaimFields = { modelId: req.modelId, provider: walletClient.account.address, inputHash: req.inputHash, outputHash: outputHash(a.outputs), bond: a.bond, requestId: a.requestId };
  return { claimId: claimIdOf(claim), claim, hash };
}

/** The commitment of a counter-proof, as counterProve will check it. */
export function counterProofCommitment(claim: ClaimFields, outputs: readonly bigint[], proof: SolidityProof): Hex {
  return hashCounterProof(claimIdOf(claim), outputs, proof);
}

/** Reveals a committed counter-proof (counterProve): slashes the claim and pays the reward to the sender. */
export async function counterProve(r: OzkReader, walletClient: Wallet, claim: ClaimFields, outputs: readonly bigint[], proof: SolidityProof): Promise<{ hash: Hex }> {
  const { hash } = await simulateAndWrite(r.publicClient, walletClient, { address: claimsOf(r), abi: claimManagerAbi, functionName: "counterProve", args: [claim, [...outputs], proof] });
  return { hash };
}

/** A claim's random forced audit (ClaimManager.auditOf; `status` is an `AuditStatus` of sdk/batch.ts). A claim
 *  submitted under audit rate 0 reads Clear, zeros. */
export interface ClaimAudit {
  status: number;
  statusName: string;
  /** Block that included the claim; the seed is the hash of the block after it. */
  submittedBlock: bigint;
  rateBps: number;
  /** Paid from the ClaimManager's audit pool (capped by it) when the selected claim is proven. */
  fee: bigint;
  /** A selected claim must be proven before this time (challenge window end + proof window). */
  deadline: bigint;
}

/** The audit of a claim. */
export async function getClaimAudit(r: OzkReader, claimId: Hex): Promise<ClaimAudit> {
  const [status, submittedBlock, rateBps, fee, deadline] = await r.publicClient.readContract({ address: claimsOf(r), abi: claimManagerAbi, functionName: "auditOf", args: [claimId] });
  return { status, statusName: auditStatusName(status), submittedBlock, rateBps, fee, deadline };
}

/**
 * The audit draw of a claim from its seed (the hash of the block after the one that included the claim), as the
 * contract computes it: r = keccak256(abi.encode(seed, claimId)); selected iff r % 10000 < rateBps.
 */
export function drawClaimAudit(seed: Hex, claimId: Hex, rateBps: number): boolean {
  return drawBatchAudit(seed, claimId, rateBps, 1).selected;
}

/** Draws a claim's audit (drawAudit): anyone, from block submittedBlock + 2 until the seed is 256 blocks old. */
export async function drawClaimAuditOnChain(r: OzkReader, walletClient: Wallet, claim: ClaimFields): Promise<{ hash: Hex }> {
  const { hash } = await simulateAndWrite(r.publicClient, walletClient, { address: claimsOf(r), abi: claimManagerAbi, functionName: "drawAudit", args: [claim] });
  return { hash };
}

/** Slashes a claim whose audit was missed (slashMissedAudit): the whole bond to the treasury. Anyone may send it. */
export async function slashMissedClaimAudit(r: OzkReader, walletClient: Wallet, claim: ClaimFields): Promise<{ hash: Hex }> {
  const { hash } = await simulateAndWrite(r.publicClient, walletClient, { address: claimsOf(r), abi: claimManagerAbi, functionName: "slashMissedAudit", args: [claim] });
  return { hash };
}

/** Settles an unchallenged claim after its window; `outputs` are the claimed ones (from its ClaimSubmitted event). */
export async function finalizeClaim(r: OzkReader, walletClient: Wallet, claim: ClaimFields, outputs: readonly bigint[]): Promise<{ hash: Hex }> {
  const { hash } = await simulateAndWrite(r.publicClient, walletClient, { address: claimsOf(r), abi: claimManagerAbi, functionName: "finalize", args: [claim, [...outputs]] });
  return { hash };
}

/**
 * A batch as its BatchSubmitted event announced it (the struct every BatchManager call and isSettledBatchLeaf take,
 * its dataURI and block), from the batch id a provider's job reports; undefined when no such batch was submitted.
 */
export async function getSubmittedBatch(r: OzkReader, batchId: Hex): Promise<{ batch: BatchStruct; dataURI: string; blockNumber: bigint } | undefined> {
  const logs = await r.publicClient.getContractEvents({
    address: addressOf(r.deployment, "batchManager"),
    abi: batchManagerAbi,
    eventName: "BatchSubmitted",
    args: { batchId },
    fromBlock: BigInt(r.deployment.deployBlock),
    toBlock: "latest",
    strict: true,
  });
  const log = logs[0];
  if (!log) return undefined;
  const b = log.args.batch;
  return { batch: { ...b, size: Number(b.size), auditRateBps: Number(b.auditRateBps) }, dataURI: log.args.dataURI, blockNumber: log.blockNumber };
}

/**
 * True iff `batch` is Finalized in the deployment's BatchManager and (inputHash, outputs) is its leaf at `index`
 * under `path` (BatchManager.isSettledLeaf): what a consumer reads to rely on one claim of a batch, and what
 * fulfillFromBatch checks with the request's input hash.
 */
export async function isSettledBatchLeaf(
  r: OzkReader,
  batch: BatchStruct,
  index: number,
  inputHash: bigint,
  outputs: readonly bigint[],
  path: readonly Hex[],
): Promise<boolean> {
  return r.publicClient.readContract({
    address: addressOf(r.deployment, "batchManager"),
    abi: batchManagerAbi,
    functionName: "isSettledLeaf",
    args: [batch, BigInt(index), inputHash, [...outputs], [...path]],
  });
}

/** A leaf of a Finalized batch offered as the answer to a request. */
export interface BatchAnswer {
  requestId: bigint;
  /** The batch as its BatchSubmitted event gives it. */
  batch: BatchStruct;
  index: number;
  /** The leaf's outputs (the leaf's input must be the request's inputHash). */
  outputs: readonly bigint[];
  /** buildBatchTree(leaves).path(index) */
  path: readonly Hex[];
}

/**
 * Fulfils an Open request from a leaf of a Finalized batch (fulfillFromBatch). Anyone may send it: the fee goes to
 * the batch's provider, so no commitment is needed. Simulated first, so a refused leaf throws the contract's error
 * (BatchLeafNotSettled, BatchModelMismatch, ProviderNotAllowed, BondBelowMinimum, ...) before anything is sent.
 */
export async function fulfillFromBatch(r: OzkReader, walletClient: Wallet, a: BatchAnswer): Promise<{ hash: Hex }> {
  const { hash } = await simulateAndWrite(r.publicClient, walletClient, {
    address: claimsOf(r),
    abi: claimManagerAbi,
    functionName: "fulfillFromBatch",
    args: [a.requestId, a.batch, BigInt(a.index), [...a.outputs], [...a.path]],
  });
  return { hash };
}
