// The provider's idempotent step: read new requests and own claims from the chain, answer requests and
// client jobs with claims, prove challenged claims, finalize unchallenged ones, withdraw credits.
// Every action is recomputed from chain state first, so a kill -9 at any point and a restart converge:
// a claim is keyed by its id (a hash of its fields), known before it is sent and checked on chain.
// A request is answered by commit-reveal: the answer (outputs, bond, a random salt) and its commitment are
// stored before the commit is sent, the commitment is looked up on chain before it is (re)sent, and the
// answer is revealed in a later block. A restart therefore reveals the same answer and never commits to a
// second salt for one job.
import { keccak256, parseEventLogs, toHex, type Address, type Hex, type Log } from "viem";
import { claimManagerAbi } from "../sdk/abi.ts";
import { FatalError, errorSummary } from "../sdk/errors.ts";
import { checkInputData, encodeInputData } from "../sdk/inputs.ts";
import { hashVector } from "../sdk/hash.ts";
import { outputHash } from "../sdk/signals.ts";
import { ClaimStatus, RequestStatus, claimIdOf, claimStatusName, hashAnswer, randomSalt, type ClaimFields } from "../sdk/protocol.ts";
import { ensureCommitted, ensureFreeStake, isolated, readClaims, readRegistry, sendClaims, settlementGas, withdrawCredits, type DaemonBase } from "../runtime/chain.ts";
import { runQuantized } from "../circuits/compiler/engine.ts";
import type { RemoteProver } from "../runtime/models.ts";
import { answerChallenge, type ProofTasks } from "./proving.ts";
import { clientJobId, inputKey } from "./keys.ts";
import type { ProviderConfig } from "./config.ts";

export interface ProviderContext extends DaemonBase {
  config: ProviderConfig;
  /** Set when config.prover names a prover service: challenged claims are proved there (job id = claim id). */
  remoteProver?: RemoteProver;
  /** Proofs of challenged claims running next to the step loop (provider/proving.ts). */
  proofs?: ProofTasks;
  /** Set once the store was rebuilt from the chain in this process (provider/recover.ts). */
  recovered?: boolean;
}

/**
 * The answer to a request, fixed before its commitment is sent: commitment = hashAnswer(requestId,
 * outputHash(outputs), bond, salt). The salt stays secret until answerRequest reveals it.
 */
export interface Answer {
  outputs: string[];
  bond: string;
  salt: Hex;
  commitment: Hex;
}

/** A unit of work: an on-chain request or a client's input, answered by one claim. */
export interface Job {
  jobId: string;
  modelId: Hex;
  bits: number;
  values: string[];
  inputHash: string;
  requestId: string;
  /** pending: to claim (a request: to commit, then reveal once the commitment is a block old). */
  status: "pending" | "claimed" | "refused" | "failed";
  reason?: string;
  claimId?: Hex;
  outputs?: string[];
  /** A request's answer, stored before its commitment is sent (kept across restarts and resubmissions). */
  answer?: Answer;
}

/** A claim of this provider, followed until it settles. */
export interface OwnClaim {
  claimId: Hex;
  claim: { modelId: Hex; provider: Address; inputHash: string; outputHash: Hex; bond: string; requestId: string };
  outputs: string[];
  jobId?: string;
  status: "live" | "settled" | "unprovable";
  outcome?: string;
}

const fields = (c: OwnClaim["claim"]): ClaimFields => ({
  ...c,
  inputHash: BigInt(c.inputHash),
  bond: BigInt(c.bond),
  requestId: BigInt(c.requestId),
});

export async function step(ctx: ProviderContext): Promise<void> {
  await ensureFreeStake(ctx, await bondNeeded(ctx), ctx.config.stakeTarget);
  await syncEvents(ctx);
  for (const [, job] of ctx.store.entries<Job>("job/")) {
    if (ctx.signal.aborted) return;
    if (job.status === "pending") await isolated(ctx, { jobId: job.jobId }, () => submitJob(ctx, job));
  }
  for (const [, claim] of ctx.store.entries<OwnClaim>("claim/")) {
    if (ctx.signal.aborted) return;
    // An unprovable claim is still followed: it settles (slashed) or, after a reorg, vanishes and is resubmitted.
    if (claim.status !== "settled") await isolated(ctx, { claimId: claim.claimId }, () => followClaim(ctx, claim));
  }
  await withdrawCredits(ctx);
}

/** The largest bond one claim of a served model needs. */
async function bondNeeded(ctx: ProviderContext): Promise<bigint> {
  let need = 0n;
  for (const modelId of ctx.models.keys()) {
    const b = await bondFor(ctx, modelId);
    if (b > need) need = b;
  }
  return need;
}

async function bondFor(ctx: ProviderContext, modelId: Hex): Promise<bigint> {
  const [, , , , minBond] = await readRegistry(ctx, "claimParams", [modelId]);
  return ctx.config.bond > minBond ? ctx.config.bond : minBond;
}

/** Adds a job for a client's quantized input (HTTP API). Idempotent per (model, input, tag). */
export function addJob(ctx: Pick<ProviderContext, "store" | "models">, modelId: Hex, values: bigint[], tag = ""): Job {
  const model = ctx.models.get(modelId);
  if (!model) throw new FatalError(`model ${modelId} is not served here`);
  const bits = model.pkg.manifest.inputBits;
  const inputHash = hashVector(values, bits);
  const jobId = clientJobId(modelId, inputHash, tag);
  const existing = ctx.store.get<Job>(`job/${jobId}`);
  if (existing) return existing;
  const job: Job = { jobId, modelId, bits, values: values.map(String), inputHash: inputHash.toString(), requestId: "0", status: "pending" };
  ctx.store.set(`job/${jobId}`, job);
  return job;
}

async function syncEvents(ctx: ProviderContext): Promise<void> {
  for (;;) {
    const batch = await ctx.cursor.poll();
    if (!batch) return;
    if (batch.rewind) ctx.logger.warn({ ...batch.rewind }, "reorg: re-reading events; claims are re-checked on chain");
    const logs = parseEventLogs({ abi: claimManagerAbi, logs: batch.logs as Log[], strict: true });
    ctx.store.transaction(() => {
      for (const log of logs) {
        if (log.eventName === "InferenceRequested") onRequest(ctx, log.args);
        if (log.eventName === "ClaimSubmitted") onClaimSubmitted(ctx, log.args);
      }
      ctx.cursor.commit(batch);
    });
    if (batch.logs.length === 0 && !batch.rewind) return;
  }
}

function onRequest(
  ctx: ProviderContext,
  a: { requestId: bigint; modelId: Hex; inputHash: bigint; inputData: Hex; inputURI: string },
): void {
  if (!ctx.config.answerRequests) return;
  const modelId = a.modelId.toLowerCase() as Hex;
  const model = ctx.models.get(modelId);
  if (!model) return;
  const jobId = `req-${a.requestId}`;
  if (ctx.store.get(`job/${jobId}`)) return;
  const m = model.pkg.manifest;
  let job: Job = { jobId, modelId, bits: m.inputBits, values: [], inputHash: a.inputHash.toString(), requestId: a.requestId.toString(), status: "pending" };
  try {
    if (a.inputData === "0x") throw new Error(a.inputURI ? `input only by URI (${a.inputURI}), which this provider does not fetch` : "the request carries no input data");
    const input = checkInputData(a.inputData, a.inputHash, { length: m.inputLength, bits: m.inputBits });
    job = { ...job, values: input.values.map(String) };
  } catch (err) {
    job = { ...job, status: "refused", reason: errorSummary(err) };
    ctx.logger.warn({ requestId: a.requestId, reason: job.reason }, "request refused");
    ctx.metrics.counter("requests_refused_total", "Requests refused for bad input").inc();
  }
  ctx.store.set(`job/${jobId}`, job);
}

function onClaimSubmitted(
  ctx: ProviderContext,
  a: { claimId: Hex; provider: Address; claim: ClaimFields; outputs: readonly bigint[] },
): void {
  if (a.provider.toLowerCase() !== ctx.account.address.toLowerCase()) return;
  if (ctx.store.get(`claim/${a.claimId}`)) return;
  // A claim the store does not know (store lost, or killed between send and record): adopt it.
  ctx.store.set(`claim/${a.claimId}`, {
    claimId: a.claimId,
    claim: { ...a.claim, inputHash: a.claim.inputHash.toString(), bond: a.claim.bond.toString(), requestId: a.claim.requestId.toString() },
    outputs: a.outputs.map(String),
    status: "live",
  } satisfies OwnClaim);
  ctx.logger.info({ claimId: a.claimId }, "adopted own claim from chain");
}

/** Deterministic per job, so a restart makes the same (possibly faulty) claim and never a second one. */
function injectFault(ctx: ProviderContext, jobId: string, outputs: bigint[]): bigint[] {
  const rate = ctx.config.faults.wrongOutputRate;
  if (rate === 0) return outputs;
  const draw = Number(BigInt(keccak256(toHex(jobId))) % 1_000_000n) / 1_000_000;
  if (draw >= rate) return outputs;
  ctx.logger.warn({ jobId }, "FAULT INJECTION: claiming a wrong output");
  // Swap the top output with the next one: for a classifier, a confidently wrong class.
  const top = outputs.reduce((best, v, i) => (v > outputs[best]! ? i : best), 0);
  const other = (top + 1) % outputs.length;
  const lie = [...outputs];
  [lie[top], lie[other]] = [outputs[other]!, outputs[top]!];
  if (outputs.length === 1) lie[0] = outputs[0]! + 1n;
  return lie;
}

async function submitJob(ctx: ProviderContext, job: Job): Promise<void> {
  if (job.requestId !== "0") return answerJob(ctx, job);
  const model = ctx.models.get(job.modelId)!;
  const values = job.values.map(BigInt);
  const outputs = injectFault(ctx, job.jobId, runQuantized(model.pkg.quant, values).outputs);
  const claim: ClaimFields = {
    modelId: job.modelId,
    provider: ctx.account.address,
    inputHash: BigInt(job.inputHash),
    outputHash: outputHash(outputs),
    bond: await bondFor(ctx, job.modelId),
    requestId: 0n,
  };
  const claimId = recordClaim(ctx, job, claim, outputs);
  const [status] = await readClaims(ctx, "claimState", [claimId]);
  if (status !== ClaimStatus.None) {
    ctx.logger.warn({ claimId }, "claim already on chain (restart): not resending");
    return;
  }
  // Own jobs carry their input in calldata so challengers can re-execute (a request published its own).
  const sent = await sendOrFail(ctx, job, claimId, () => sendClaims(ctx, "submitClaim", [job.modelId, claim.inputHash, outputs, claim.bond, encodeInputData(values, job.bits), ""]));
  if (!sent) return;
  ctx.metrics.counter("claims_submitted_total", "Claims submitted").inc();
  ctx.logger.info({ claimId, jobId: job.jobId, outputs }, "claim submitted");
}

/** Records the claim before it is sent: if we die after the send, the next step sees it on chain and does not resend. */
function recordClaim(ctx: ProviderContext, job: Job, claim: ClaimFields, outputs: readonly bigint[]): Hex {
  const claimId = claimIdOf(claim);
  const own: OwnClaim = {
    claimId,
    claim: { ...claim, inputHash: claim.inputHash.toString(), bond: claim.bond.toString(), requestId: claim.requestId.toString() },
    outputs: outputs.map(String),
    jobId: job.jobId,
    status: "live",
  };
  ctx.store.transaction(() => {
    ctx.store.set(inputKey(job.modelId, job.inputHash), { bits: job.bits, values: job.values });
    ctx.store.set(`claim/${claimId}`, own);
    ctx.store.set(`job/${job.jobId}`, { ...job, status: "claimed", claimId, outputs: own.outputs } satisfies Job);
  });
  return claimId;
}

/** Sends a claim; a revert (FatalError) forgets the recorded claim, fails the job with the reason and returns false. */
async function sendOrFail(ctx: ProviderContext, job: Job, claimId: Hex, send: () => Promise<unknown>): Promise<boolean> {
  try {
    await send();
    return true;
  } catch (err) {
    if (!(err instanceof FatalError)) throw err;
    ctx.store.transaction(() => {
      ctx.store.delete(`claim/${claimId}`);
      ctx.store.set(`job/${job.jobId}`, { ...job, status: "failed", reason: errorSummary(err) } satisfies Job);
    });
    ctx.logger.error({ jobId: job.jobId, err: errorSummary(err) }, "claim rejected");
    return false;
  }
}

/** Marks a job failed for a reason known before anything was sent. */
function failJob(ctx: ProviderContext, job: Job, reason: string): void {
  ctx.store.set(`job/${job.jobId}`, { ...job, status: "failed", reason } satisfies Job);
  ctx.logger.info({ jobId: job.jobId, requestId: job.requestId, reason }, "request not answerable");
}

/**
 * Why the provider's request policy refuses a request, or undefined when it is worth answering: a fee below
 * `minFee`, a required bond above `maxBond` (0: above the provider's own bond for the model), or a callback above
 * `maxCallbackGas` (the provider supplies that gas when it settles).
 */
export function requestRefusal(
  policy: ProviderContext["config"]["requestPolicy"] | undefined,
  req: { fee: bigint; minBond: bigint; callbackGasLimit: number | bigint },
  ownBond: bigint,
): string | undefined {
  const p = policy ?? { minFee: 0n, maxBond: 0n, maxCallbackGas: 500_000 };
  const maxBond = p.maxBond === 0n ? ownBond : p.maxBond;
  if (req.fee < p.minFee) return `request fee ${req.fee} is below requestPolicy.minFee ${p.minFee}`;
  if (req.minBond > maxBond) return `request requires a bond of ${req.minBond}, above requestPolicy.maxBond ${maxBond}`;
  if (BigInt(req.callbackGasLimit) > BigInt(p.maxCallbackGas)) return `request callback gas ${req.callbackGasLimit} is above requestPolicy.maxCallbackGas ${p.maxCallbackGas}`;
  return undefined;
}

/**
 * Answers a request in two steps, one per call when the chain has not moved on: commit to hashAnswer(requestId,
 * outputHash, bond, salt), then, in a later block, answerRequest reveals it. The answer is stored before the
 * commit is sent; a restart finds it and the commitment on chain, and goes on where it stopped.
 */
async function answerJob(ctx: ProviderContext, job: Job): Promise<void> {
  const requestId = BigInt(job.requestId);
  const req = await readClaims(ctx, "getRequest", [requestId]);
  const now = (await ctx.publicClient.getBlock()).timestamp;
  if (req.status !== RequestStatus.Open) return failJob(ctx, job, "request is no longer open");
  if (now + 1n >= req.expiry) return failJob(ctx, job, "request is expired");
  const me = ctx.account.address.toLowerCase();
  if (BigInt(req.provider) !== 0n && req.provider.toLowerCase() !== me) return failJob(ctx, job, `request names another provider (${req.provider})`);
  let answer = job.answer;
  if (!answer) {
    const modelBond = await bondFor(ctx, job.modelId);
    const refused = requestRefusal(ctx.config.requestPolicy, req, modelBond);
    if (refused) return failJob(ctx, job, refused);
    const model = ctx.models.get(job.modelId)!;
    const outputs = injectFault(ctx, job.jobId, runQuantized(model.pkg.quant, job.values.map(BigInt)).outputs);
    const bond = req.minBond > modelBond ? req.minBond : modelBond;
    await ensureFreeStake(ctx, bond, ctx.config.stakeTarget);
    const salt = randomSalt();
    answer = { outputs: outputs.map(String), bond: bond.toString(), salt, commitment: hashAnswer(requestId, outputHash(outputs), bond, salt) };
    // Stored before the commit is sent: a restart commits (or finds committed) this answer, never a second salt.
    ctx.store.set(`job/${job.jobId}`, { ...job, answer } satisfies Job);
    job = { ...job, answer };
  }
  const { committedAt, revealable, sent } = await ensureCommitted(ctx, answer.commitment);
  if (!revealable) {
    if (sent) ctx.logger.info({ jobId: job.jobId, requestId, committedAt }, `answer committed in block ${committedAt}: the reveal waits for a later block (a chain that mines only on transactions needs one: docs/daemons.md)`);
    else ctx.logger.debug({ jobId: job.jobId, requestId, committedAt }, "answer committed: revealing in a later block");
    return;
  }
  const outputs = answer.outputs.map(BigInt);
  const claim: ClaimFields = {
    modelId: job.modelId,
    provider: ctx.account.address,
    inputHash: BigInt(job.inputHash),
    outputHash: outputHash(outputs),
    bond: BigInt(answer.bond),
    requestId,
  };
  const claimId = recordClaim(ctx, job, claim, outputs);
  const [status] = await readClaims(ctx, "claimState", [claimId]);
  if (status !== ClaimStatus.None) {
    ctx.logger.warn({ claimId }, "answer already on chain (restart): not resending");
    return;
  }
  if (!(await sendOrFail(ctx, job, claimId, () => sendClaims(ctx, "answerRequest", [requestId, outputs, claim.bond, answer.salt])))) return;
  ctx.metrics.counter("claims_submitted_total", "Claims submitted").inc();
  ctx.logger.info({ claimId, jobId: job.jobId, requestId, outputs, committedAt }, "request answered");
}

async function followClaim(ctx: ProviderContext, own: OwnClaim): Promise<void> {
  const [status, deadline] = await readClaims(ctx, "claimState", [own.claimId]);
  const now = (await ctx.publicClient.getBlock()).timestamp;
  const claim = fields(own.claim);
  switch (status) {
    case ClaimStatus.None:
      // Sent but not mined (or orphaned by a reorg): the job resends it.
      if (own.jobId) {
        const job = ctx.store.get<Job>(`job/${own.jobId}`);
        if (job && job.status === "claimed") {
          ctx.store.transaction(() => {
            ctx.store.delete(`claim/${own.claimId}`);
            ctx.store.set(`job/${job.jobId}`, { ...job, status: "pending" } satisfies Job);
          });
          ctx.logger.warn({ claimId: own.claimId }, "claim not on chain: resubmitting");
        }
      }
      return;
    case ClaimStatus.Submitted:
      if (now + 1n >= deadline) {
        await sendClaims(ctx, "finalize", [claim, own.outputs.map(BigInt)], { gas: await settlementGas(ctx, "finalize", claim) });
        ctx.logger.info({ claimId: own.claimId }, "claim finalized");
      }
      return;
    case ClaimStatus.Challenged:
      if (now >= deadline || own.status === "unprovable") return; // the challenger slashes
      // The proof runs next to the step loop; a later step sends it (provider/proving.ts).
      return answerChallenge(ctx, own, deadline, now);
    default: {
      const outcome = claimStatusName(status);
      ctx.store.set(`claim/${own.claimId}`, { ...own, status: "settled", outcome } satisfies OwnClaim);
      ctx.metrics.counter("claims_settled_total", "Own claims settled, by outcome", ["outcome"] as const).inc({ outcome });
      (outcome === "Slashed" ? ctx.logger.error.bind(ctx.logger) : ctx.logger.info.bind(ctx.logger))({ claimId: own.claimId, outcome }, "claim settled");
    }
  }
}
