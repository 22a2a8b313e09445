// The challenger's idempotent step: follow claims from the chain (with a confirmation depth), re-execute
// sampled ones bit-exactly with the reference engine, dispute wrong ones inside the window (or counter-prove),
// slash after a missed proof deadline, slash claims whose random audit was missed (challenger/audit.ts), withdraw
// credits. It never challenges a claim the engine agrees with.
// A counter-proof is commit-reveal: the proof and its commitment are stored before the commit is sent, the
// commitment is looked up on chain before it is (re)sent, and the proof is revealed in a later block, even
// when someone challenged the claim meanwhile (the slash reward goes to whoever reveals).
import { keccak256, parseEventLogs, toHex, type Address, type Hex, type Log } from "viem";
import { claimManagerAbi } from "../sdk/abi.ts";
import { errorSummary } from "../sdk/errors.ts";
import { checkInputData } from "../sdk/inputs.ts";
import { ClaimStatus, claimStatusName, hashCounterProof, solidityProofOf, toSolidityProof, type ClaimFields } from "../sdk/protocol.ts";
import { ensureCommitted, ensureFreeStake, isolated, readClaims, readRegistry, sendClaims, withdrawCredits, type DaemonBase } from "../runtime/chain.ts";
import { runQuantized } from "../circuits/compiler/engine.ts";
import { proveOutputs } from "../runtime/models.ts";
import type { ChallengerConfig } from "./config.ts";
import { keepClaimAudits } from "./audit.ts";
import { batchWatchStep } from "./batch.ts";
import type { EventCursor } from "../sdk/node/cursor.ts";

export interface ChallengerContext extends DaemonBase {
  config: ChallengerConfig;
  /** BatchManager's event cursor (challenger/batch.ts), made on first use. */
  batchCursor?: EventCursor;
}

export type Verdict = "correct" | "wrong" | "missing-input" | "engine-error" | "skipped";

/** A claim of a watched model, as seen in its events, with what this bot concluded and did. */
export interface WatchedClaim {
  claimId: Hex;
  claim: { modelId: Hex; provider: Address; inputHash: string; outputHash: Hex; bond: string; requestId: string };
  outputs: string[];
  blockNumber: string;
  inputData?: Hex;
  verdict?: Verdict;
  reason?: string;
  /** The outputs the engine computes, when the claim was re-executed. */
  expected?: string[];
  status: "watching" | "done";
  outcome?: string;
  /** A counter-proof of `expected`, stored with its commitment before the commit is sent. */
  counterProof?: { outputs: string[]; proof: string[]; commitment: Hex };
  /** Set once a counter-proof is left unrevealed because another account challenged first (logged once). */
  leftToChallenger?: boolean;
  /** Set once the claim's audit can no longer be missed (challenger/audit.ts stops reading it). */
  auditSettled?: boolean;
}

const fields = (c: WatchedClaim["claim"]): ClaimFields => ({ ...c, inputHash: BigInt(c.inputHash), bond: BigInt(c.bond), requestId: BigInt(c.requestId) });

export async function step(ctx: ChallengerContext): Promise<void> {
  // Keep one challenger bond (of the dearest watched model) ready, so a dispute never waits on a stake tx.
  let bond = 0n;
  for (const modelId of ctx.models.keys()) {
    const [, b] = await readRegistry(ctx, "disputeParams", [modelId]);
    if (b > bond) bond = b;
  }
  await ensureFreeStake(ctx, bond, ctx.config.stakeTarget);
  await syncEvents(ctx);
  for (const [, claim] of ctx.store.entries<WatchedClaim>("claim/")) {
    if (ctx.signal.aborted) return;
    if (claim.status !== "watching") continue;
    const checked = claim.verdict ? claim : reexecute(ctx, claim);
    await isolated(ctx, { claimId: claim.claimId }, () => act(ctx, checked));
  }
  await keepClaimAudits(ctx);
  await batchWatchStep(ctx);
  await withdrawCredits(ctx);
}

async function syncEvents(ctx: ChallengerContext): Promise<void> {
  for (;;) {
    const batch = await ctx.cursor.poll();
    if (!batch) return;
    if (batch.rewind) {
      // Claims first seen in orphaned blocks are re-derived from the chain: forget those not acted upon.
      for (const [key, c] of ctx.store.entries<WatchedClaim>("claim/")) {
        if (BigInt(c.blockNumber) >= batch.rewind.fromBlock) ctx.store.delete(key);
      }
      ctx.logger.warn({ ...batch.rewind }, "reorg: forgot claims from orphaned blocks");
    }
    const logs = parseEventLogs({ abi: claimManagerAbi, logs: batch.logs as Log[], strict: true });
    ctx.store.transaction(() => {
      for (const log of logs) {
        if (log.eventName === "ClaimSubmitted") {
          const a = log.args;
          const modelId = a.modelId.toLowerCase() as Hex;
          if (!ctx.models.has(modelId) || ctx.store.get(`claim/${a.claimId}`)) continue;
          ctx.store.set(`claim/${a.claimId}`, {
            claimId: a.claimId,
            claim: { ...a.claim, modelId, inputHash: a.claim.inputHash.toString(), bond: a.claim.bond.toString(), requestId: a.claim.requestId.toString() },
            outputs: a.outputs.map(String),
            blockNumber: String(log.blockNumber),
            status: "watching",
          } satisfies WatchedClaim);
          ctx.metrics.counter("claims_seen_total", "Claims of watched models seen").inc();
        } else if (log.eventName === "ClaimInput") {
          const c = ctx.store.get<WatchedClaim>(`claim/${log.args.claimId}`);
          if (c && !c.verdict) ctx.store.set(`claim/${c.claimId}`, { ...c, inputData: log.args.inputData } satisfies WatchedClaim);
        } else if (log.eventName === "InferenceRequested") {
          ctx.store.set(`request/${log.args.requestId}`, { inputData: log.args.inputData, inputURI: log.args.inputURI, fee: log.args.fee.toString() });
        }
      }
      ctx.cursor.commit(batch);
    });
    if (batch.logs.length === 0 && !batch.rewind) return;
  }
}

/**
 * The sampling seed: the configured one, else a random one made on first start and kept in the store, so a
 * restart draws the same claims and nobody outside can tell which claims this bot skips.
 */
export function samplingSeed(ctx: Pick<ChallengerContext, "config" | "store">): string {
  if (ctx.config.sampling.seed) return ctx.config.sampling.seed;
  let seed = ctx.store.get<string>("meta/sampling-seed");
  if (!seed) {
    seed = toHex(crypto.getRandomValues(new Uint8Array(32)));
    ctx.store.set("meta/sampling-seed", seed);
  }
  return seed;
}

/** A uniform draw in [0, 1) from the claim id and the seed. */
export function samplingDraw(claimId: Hex, seed: string): number {
  return Number(BigInt(keccak256(toHex(`${claimId}:${seed}`))) % 1_000_000n) / 1_000_000;
}

/** Same draw after a restart. Policy `value` counts what a lie could be worth: the bond plus the request's fee. */
export function sampled(ctx: Pick<ChallengerContext, "config" | "store">, c: WatchedClaim): boolean {
  const s = ctx.config.sampling;
  if (s.policy === "all") return true;
  if (s.policy === "value") {
    const request = c.claim.requestId !== "0" ? ctx.store.get<{ fee?: string }>(`request/${c.claim.requestId}`) : undefined;
    if (BigInt(c.claim.bond) + BigInt(request?.fee ?? 0) >= s.valueThreshold) return true;
  }
  return samplingDraw(c.claimId, samplingSeed(ctx)) < s.probability;
}

/** Re-executes a claim (pure, no chain calls) and stores the verdict. */
export function reexecute(ctx: Pick<ChallengerContext, "config" | "store" | "models" | "metrics" | "logger">, c: WatchedClaim): WatchedClaim {
  let out: WatchedClaim;
  if (!sampled(ctx, c)) {
    out = { ...c, verdict: "skipped", status: "done", outcome: "not sampled" };
  } else {
    const model = ctx.models.get(c.claim.modelId)!;
    const m = model.pkg.manifest;
    const data = inputDataOf(ctx, c);
    try {
      if (!data || data === "0x") throw new Error("the claim's input data was not published");
      const input = checkInputData(data, BigInt(c.claim.inputHash), { length: m.inputLength, bits: m.inputBits });
      let expected: string[];
      try {
        expected = runQuantized(model.pkg.quant, input.values).outputs.map(String);
      } catch (err) {
        // the input is there but the engine failed on it: not a missing input (whose policy may be to let it pass
        // quietly), and no ground to challenge on either; it is an alert about the package
        throw Object.assign(new Error(`the engine failed on the claim's input: ${errorSummary(err)}`), { engine: true });
      }
      const wrong = expected.length !== c.outputs.length || expected.some((v, i) => v !== c.outputs[i]);
      out = { ...c, verdict: wrong ? "wrong" : "correct", expected };
      ctx.metrics.counter("claims_checked_total", "Claims re-executed, by verdict", ["verdict"] as const).inc({ verdict: out.verdict! });
      if (wrong) ctx.logger.warn({ claimId: c.claimId, claimed: c.outputs, expected }, "WRONG claim found");
      else ctx.logger.info({ claimId: c.claimId }, "claim re-executed: correct");
    } catch (err) {
      const engine = (err as { engine?: boolean }).engine === true;
      out = { ...c, verdict: engine ? "engine-error" : "missing-input", reason: errorSummary(err) };
      ctx.metrics.counter("claims_checked_total", "Claims re-executed, by verdict", ["verdict"] as const).inc({ verdict: out.verdict! });
      if (engine) ctx.logger.error({ claimId: c.claimId, reason: out.reason }, "ENGINE ERROR re-executing a claim: the model package is broken; the claim is not challenged");
      else ctx.logger.warn({ claimId: c.claimId, reason: out.reason, policy: ctx.config.missingInput }, "claim input unavailable");
    }
    if (out.verdict === "engine-error") out = { ...out, status: "done", outcome: "engine error (not challenged)" };
    if (out.verdict === "correct" || (out.verdict === "missing-input" && ctx.config.missingInput === "report")) {
      out = { ...out, status: "done", outcome: out.verdict };
    }
  }
  ctx.store.set(`claim/${c.claimId}`, out);
  return out;
}

/** Drives a disputed claim (verdict wrong, or missing input under the challenge policy) to settlement. */
async function act(ctx: ChallengerContext, c: WatchedClaim): Promise<void> {
  if (c.status !== "watching") return;
  const [status, deadline, challenger] = await readClaims(ctx, "claimState", [c.claimId]);
  const now = (await ctx.publicClient.getBlock()).timestamp;
  const claim = fields(c.claim);
  const mine = challenger.toLowerCase() === ctx.account.address.toLowerCase();
  const counterProving = ctx.config.counterProve && c.verdict === "wrong" && c.expected !== undefined;
  switch (status) {
    case ClaimStatus.None:
      ctx.logger.warn({ claimId: c.claimId }, "claim not on chain (reorged away?): dropping");
      ctx.store.delete(`claim/${c.claimId}`);
      return;
    case ClaimStatus.Submitted: {
      if (now + 1n >= deadline) return; // window closing: finalize is the provider's business
      if (counterProving) {
        const revealed = await counterProve(ctx, c, claim);
        // Not revealable yet and the window about to close: challenge, so the claim stays open for the reveal.
        if (revealed || deadline - now > BigInt(ctx.config.counterProveMarginSeconds)) return;
        ctx.logger.warn({ claimId: c.claimId, secondsLeft: deadline - now }, "challenge window closing before the counter-proof can be revealed: challenging first");
      }
      const [, bond] = await readRegistry(ctx, "disputeParams", [c.claim.modelId]);
      await ensureFreeStake(ctx, bond, ctx.config.stakeTarget);
      await sendClaims(ctx, "challenge", [claim]);
      ctx.metrics.counter("challenges_total", "Challenges sent").inc();
      ctx.logger.warn({ claimId: c.claimId, bond }, "challenged");
      return;
    }
    case ClaimStatus.Challenged:
      // Our own challenge (made because the reveal could not land in the window): reveal, it settles the claim now
      // and pays us. Someone else's earlier challenge keeps the reward whoever reveals, so revealing would only
      // spend gas: leave the claim to its proof deadline.
      if (now < deadline && mine && (counterProving || c.counterProof)) {
        await counterProve(ctx, c, claim);
        return;
      }
      if (now < deadline && !mine && c.counterProof && !c.leftToChallenger) {
        ctx.store.set(`claim/${c.claimId}`, { ...c, leftToChallenger: true } satisfies WatchedClaim);
        ctx.logger.info({ claimId: c.claimId, challenger }, "challenged first by another account: the reward is theirs, not revealing the counter-proof");
      }
      if (now + 1n >= deadline) {
        await sendClaims(ctx, "slash", [claim]);
        ctx.logger.warn({ claimId: c.claimId, challenger, mine }, "proof deadline missed: slashed");
      }
      return;
    default: {
      const outcome = claimStatusName(status);
      ctx.store.set(`claim/${c.claimId}`, { ...c, status: "done", outcome } satisfies WatchedClaim);
      ctx.metrics.counter("disputes_settled_total", "Disputed claims settled, by outcome", ["outcome"] as const).inc({ outcome });
      ctx.logger.info({ claimId: c.claimId, outcome }, "dispute settled");
    }
  }
}

/**
 * Settles a wrong claim with a proof of the right outputs, in two steps, one per call when the chain has not moved
 * on: commit to hashCounterProof(claimId, outputs, proof), then, in a later block, counterProve reveals it. The
 * proof is made once and stored with its commitment before the commit is sent, so a restart reveals the same one.
 * Returns whether it was revealed.
 */
async function counterProve(ctx: ChallengerContext, c: WatchedClaim, claim: ClaimFields): Promise<boolean> {
  let cp = c.counterProof;
  if (!cp) {
    const model = ctx.models.get(c.claim.modelId)!;
    const input = checkInputData(inputDataOf(ctx, c)!, claim.inputHash);
    const proved = await proveOutputs(model, input.values, c.expected!.map(BigInt), ctx.logger);
    const proof = toSolidityProof(proved.proof);
    cp = { outputs: proved.outputs.map(String), proof: proof.map(String), commitment: hashCounterProof(c.claimId, proved.outputs, proof) };
    ctx.store.set(`claim/${c.claimId}`, { ...c, counterProof: cp } satisfies WatchedClaim);
    ctx.logger.info({ claimId: c.claimId, backend: proved.backend }, "counter-proof made: committing");
  }
  const { committedAt, revealable, sent } = await ensureCommitted(ctx, cp.commitment);
  if (!revealable) {
    if (sent) ctx.logger.info({ claimId: c.claimId, committedAt }, `counter-proof committed in block ${committedAt}: the reveal waits for a later block (a chain that mines only on transactions needs one: docs/daemons.md)`);
    else ctx.logger.debug({ claimId: c.claimId, committedAt }, "counter-proof committed: revealing in a later block");
    return false;
  }
  await sendClaims(ctx, "counterProve", [claim, cp.outputs.map(BigInt), solidityProofOf(cp.proof)]);
  ctx.metrics.counter("counter_proofs_total", "Counter-proofs revealed").inc();
  ctx.logger.warn({ claimId: c.claimId, committedAt }, "counter-proved a wrong claim");
  return true;
}

/** The input data of a claim: published with it, or with the request it answers. */
function inputDataOf(ctx: Pick<ChallengerContext, "store">, c: WatchedClaim): Hex | undefined {
  return c.inputData ?? (c.claim.requestId !== "0" ? ctx.store.get<{ inputData: Hex }>(`request/${c.claim.requestId}`)?.inputData : undefined);
}
