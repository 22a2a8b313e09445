// Rebuilding the provider's state from the chain. Everything a challenged claim needs to be proven is public: the
// claim and its outputs (ClaimSubmitted), and its input (ClaimInput of the same transaction, or the answered
// request's InferenceRequested). A provider whose store was lost, or restored from an old copy, reads them back
// at start, checks each input against the claim's commitment and the model's shape before trusting it, and
// recreates its claim, input and job rows; a challenged claim whose input is still missing is looked up again.
// Inputs are keyed by modelId and inputHash: inputHash alone does not fix the input (it does not bind the input's
// length), so a stranger's claim on the same hash, or data that does not match, cannot stand in for the real input.
import type { Address, Hex } from "viem";
import { RetryableError } from "../sdk/errors.ts";
import { verifyInput } from "../sdk/inputs.ts";
import { ClaimStatus, type ClaimFields } from "../sdk/protocol.ts";
import { readClaims } from "../runtime/chain.ts";
import { claimsLogs, inputFromChain as chainInput, type ChainInput } from "../runtime/claim-input.ts";
import type { ServedModel } from "../runtime/models.ts";
import { clientJobId, inputKey } from "./keys.ts";
import type { Job, OwnClaim, ProviderContext } from "./step.ts";

/** A quantized input as the store keeps it. */
export interface StoredInput {
  bits: number;
  values: string[];
}

/** Whether a stored input is one of `model`'s inputs (width and length) and hashes to `inputHash`. */
function fits(model: ServedModel, input: StoredInput, inputHash: bigint): boolean {
  const m = model.pkg.manifest;
  if (input.bits !== m.inputBits || input.values.length !== m.inputLength) return false;
  try {
    return verifyInput(input.values.map(BigInt), input.bits, inputHash);
  } catch {
    return false; // a value that is not an integer
  }
}

/**
 * The stored input of a claim on `modelId` with `inputHash`, checked against both before it is returned (also the
 * rows older versions kept under inputHash alone). Undefined when the model is not served or no row checks out.
 */
export function storedInput(ctx: Pick<ProviderContext, "store" | "models">, modelId: Hex, inputHash: string | bigint): bigint[] | undefined {
  const model = ctx.models.get(modelId.toLowerCase() as Hex);
  if (!model) return undefined;
  for (const key of [inputKey(modelId, inputHash), `input/${BigInt(inputHash)}`]) {
    const row = ctx.store.get<StoredInput>(key);
    if (row && fits(model, row, BigInt(inputHash))) return row.values.map(BigInt);
  }
  return undefined;
}

/** First block the rebuild reads: recovery.fromBlock, else the deployment's block. */
export function recoveryStartBlock(ctx: ProviderContext): bigint {
  const from = ctx.config.recovery?.fromBlock;
  return BigInt(from ?? ctx.deployment.deployBlock);
}

/** A claim's input read back from the chain and checked (runtime/claim-input.ts), searched from recovery.fromBlock. */
export function inputFromChain(
  ctx: ProviderContext,
  model: ServedModel,
  claimId: Hex,
  claim: Pick<ClaimFields, "modelId" | "inputHash" | "requestId">,
  at?: { blockNumber: bigint; transactionHash?: Hex },
): Promise<ChainInput> {
  const m = model.pkg.manifest;
  return chainInput(ctx, { inputLength: m.inputLength, inputBits: m.inputBits }, claimId, claim, {
    fromBlock: recoveryStartBlock(ctx),
    blockRange: ctx.config.recovery?.blockRange,
    at,
  });
}

/**
 * The input of one of this provider's claims: from the store when a row checks out, else read back from the chain
 * and stored (logged). Undefined, with an error logged, when neither has it.
 */
export async function claimInput(ctx: ProviderContext, own: OwnClaim): Promise<bigint[] | undefined> {
  const modelId = own.claim.modelId.toLowerCase() as Hex;
  const stored = storedInput(ctx, modelId, own.claim.inputHash);
  if (stored) return stored;
  const model = ctx.models.get(modelId);
  if (!model) return undefined;
  const claim = { modelId, inputHash: BigInt(own.claim.inputHash), requestId: BigInt(own.claim.requestId) };
  const found = await inputFromChain(ctx, model, own.claimId, claim);
  if (!found.values) {
    ctx.logger.error({ claimId: own.claimId, source: found.source, reason: found.problem }, found.rejected ? "claim input on chain does not match the claim: not used" : "claim input not found on chain");
    return undefined;
  }
  ctx.store.set(inputKey(modelId, claim.inputHash), { bits: model.pkg.manifest.inputBits, values: found.values.map(String) } satisfies StoredInput);
  ctx.logger.warn({ claimId: own.claimId, source: found.source }, "claim input missing from the store: read back from the chain");
  return found.values;
}

export interface RebuildReport {
  fromBlock: bigint;
  toBlock: bigint;
  /** Claims of this provider found in the range. */
  claims: number;
  /** Of those, still Submitted or Challenged. */
  live: number;
  /** Claim rows recreated (the store did not have them). */
  restored: number;
  /** Inputs read back from the chain and stored. */
  inputs: number;
  /** Live claims on a served model without a usable input (none published, or data that does not check out). */
  missing: number;
  /** Of those, data that was there but does not match its claim. */
  rejected: number;
  ms: number;
}

const markKey = (account: Address): string => `recovery/${account.toLowerCase()}`;

/** RPC reads of the rebuild in flight at once. */
const READS_AT_ONCE = 8;

/** `fn` over `items`, at most `limit` at a time; results in the order of `items`. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Reads this provider's claims (ClaimSubmitted by its account) from recovery.fromBlock (default: the deployment's
 * block; after a first rebuild, from the block the last one reached) to head and makes sure every live one has its
 * claim row, its input (read back and checked, see inputFromChain) and a job row, so a challenge is answered
 * with a proof and /jobs answers for it. Idempotent; rows the store has are kept.
 */
export async function rebuildFromChain(ctx: ProviderContext): Promise<RebuildReport> {
  const t0 = performance.now();
  const start = recoveryStartBlock(ctx);
  const mark = ctx.store.get<{ scannedTo: string }>(markKey(ctx.account.address));
  const fromBlock = mark && BigInt(mark.scannedTo) + 1n > start ? BigInt(mark.scannedTo) + 1n : start;
  const toBlock = await ctx.publicClient.getBlockNumber({ cacheTime: 0 });
  const report: RebuildReport = { fromBlock, toBlock, claims: 0, live: 0, restored: 0, inputs: 0, missing: 0, rejected: 0, ms: 0 };
  const me = ctx.account.address.toLowerCase();
  const logs = (await claimsLogs(ctx, "ClaimSubmitted", { provider: ctx.account.address }, fromBlock, toBlock, { blockRange: ctx.config.recovery?.blockRange })).filter(
    (l) => l.args.claim.provider.toLowerCase() === me,
  );
  // Reads (claim state, input) run a few at a time; the rows are written in chain order.
  const found = await mapLimit(logs, READS_AT_ONCE, async (log) => {
    if (ctx.signal.aborted) throw new RetryableError("provider stopping");
    const { claimId, claim } = log.args;
    const [status] = await readClaims(ctx, "claimState", [claimId]);
    const live = status === ClaimStatus.Submitted || status === ClaimStatus.Challenged;
    const model = ctx.models.get(claim.modelId.toLowerCase() as Hex);
    if (!live || !model || storedInput(ctx, claim.modelId, claim.inputHash)) return { log, live };
    return { log, live, input: await inputFromChain(ctx, model, claimId, claim, { blockNumber: log.blockNumber!, transactionHash: log.transactionHash ?? undefined }) };
  });
  // One transaction: a crash leaves the store as it was, and the rebuild runs again.
  ctx.store.transaction(() => {
    for (const { log, live, input } of found) {
      report.claims++;
      if (live) restoreClaim(ctx, log.args, input, report);
    }
    ctx.store.set(markKey(ctx.account.address), { scannedTo: toBlock.toString() });
  });
  report.ms = Math.round(performance.now() - t0);
  const level = report.restored > 0 || report.missing > 0 ? "warn" : "info";
  ctx.logger[level]({ ...report, fromBlock: String(fromBlock), toBlock: String(toBlock) }, "provider state rebuilt from the chain");
  return report;
}

/** Writes the rows of one live claim the rebuild found: its input (when it checks out), its job and its claim. */
function restoreClaim(
  ctx: ProviderContext,
  args: { claimId: Hex; claim: ClaimFields; outputs: readonly bigint[] },
  input: ChainInput | undefined,
  report: RebuildReport,
): void {
  const { claimId, claim, outputs } = args;
  report.live++;
  const modelId = claim.modelId.toLowerCase() as Hex;
  const model = ctx.models.get(modelId);
  // Read again: an earlier claim on the same model and input may have brought it in this run.
  let values = storedInput(ctx, modelId, claim.inputHash);
  if (model && !values && input) {
    if (input.values) {
      values = input.values;
      ctx.store.set(inputKey(modelId, claim.inputHash), { bits: model.pkg.manifest.inputBits, values: values.map(String) } satisfies StoredInput);
      report.inputs++;
    } else {
      report.missing++;
      if (input.rejected) report.rejected++;
      ctx.logger.warn({ claimId, source: input.source, reason: input.problem }, input.rejected ? "claim input on chain does not match the claim: not used" : "claim input not found on chain");
    }
  }
  const requestId = claim.requestId;
  let jobId = requestId !== 0n ? `req-${requestId}` : undefined;
  if (values && model) {
    // The job that made the claim: a request's, or a client's (recreated under the job id of the same input without
    // a tag, which is what a client asking again for that input finds).
    jobId ??= clientJobId(modelId, claim.inputHash);
    const job = ctx.store.get<Job>(`job/${jobId}`);
    if (!job || job.status !== "claimed" || !job.claimId) {
      ctx.store.set(`job/${jobId}`, {
        jobId,
        modelId,
        bits: model.pkg.manifest.inputBits,
        values: values.map(String),
        inputHash: claim.inputHash.toString(),
        requestId: requestId.toString(),
        status: "claimed",
        claimId,
        outputs: outputs.map(String),
      } satisfies Job);
    }
  }
  if (ctx.store.get(`claim/${claimId}`)) return;
  ctx.store.set(`claim/${claimId}`, {
    claimId,
    claim: { ...claim, modelId, inputHash: claim.inputHash.toString(), bond: claim.bond.toString(), requestId: requestId.toString() },
    outputs: outputs.map(String),
    ...(jobId ? { jobId } : {}),
    status: "live",
  } satisfies OwnClaim);
  report.restored++;
}

/** Runs the rebuild once per process, before the first step acts (a failure is retried at the next step). */
export async function recoverOnce(ctx: ProviderContext): Promise<void> {
  if (ctx.recovered) return;
  await rebuildFromChain(ctx);
  ctx.recovered = true;
}
