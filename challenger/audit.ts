// The challenger's keeper of single-claim audits: a claim of a watched model whose random audit was missed (selected
// and unproven at its audit deadline, or never drawn while its seed was readable) is slashed with
// ClaimManager.slashMissedAudit, sampled or not, exactly as challenger/batch.ts does for batches. The whole bond goes
// to the treasury: this bot earns nothing and pays the gas; it keeps audits binding when nobody else watches.
import { AuditStatus } from "../sdk/batch.ts";
import { ClaimStatus, type ClaimFields } from "../sdk/protocol.ts";
import { isolated, readClaims, sendClaims } from "../runtime/chain.ts";
import type { ChallengerContext, WatchedClaim } from "./step.ts";

/** Blocks after its claim's block in which an audit can be drawn (blockhash keeps 256). */
const SEED_BLOCKS = 256n;

/**
 * Whether a claim's audit is missed, as slashMissedAudit decides it in the latest block (time `now`, block `head`):
 * a selected audit unproven at its deadline (the claim's challenge window end + proof window, as
 * ClaimManager.auditOf reports it), or an undrawn one whose seed block (the one after the claim's) is no longer among
 * the 256 the chain keeps. Judged at the latest block, not the next: the send is simulated there first (an eth_call
 * runs with the latest block's number and time), so a slash that only the next block would allow is refused by the
 * simulation and costs an RPC round trip for nothing. Undefined while not missed.
 */
export function missedClaimAudit(
  audit: { status: number; submittedBlock: bigint; deadline: bigint },
  chain: { now: bigint; head: bigint },
): "AuditUnanswered" | "AuditMissed" | undefined {
  if (audit.status === AuditStatus.Selected) return chain.now >= audit.deadline ? "AuditUnanswered" : undefined;
  if (audit.status === AuditStatus.Undrawn) return chain.head > audit.submittedBlock + 1n + SEED_BLOCKS ? "AuditMissed" : undefined;
  return undefined;
}

/** Runs the keeper over every watched claim whose audit may still be missed. */
export async function keepClaimAudits(ctx: ChallengerContext): Promise<void> {
  if (!ctx.config.slashMissedAudits) return;
  for (const [key, c] of ctx.store.entries<WatchedClaim>("claim/")) {
    if (ctx.signal.aborted) return;
    if (c.auditSettled) continue;
    await isolated(ctx, { claimId: c.claimId }, () => keepClaimAudit(ctx, key, c));
  }
}

const fields = (c: WatchedClaim["claim"]): ClaimFields => ({ ...c, inputHash: BigInt(c.inputHash), bond: BigInt(c.bond), requestId: BigInt(c.requestId) });

/**
 * Slashes `c` with slashMissedAudit once its audit is missed; marks it done for the keeper once it cannot be: the
 * claim left Submitted (a Challenged claim settles by its challenge), or its audit is clear (no audit at all, or
 * not selected) or answered.
 */
async function keepClaimAudit(ctx: ChallengerContext, key: string, c: WatchedClaim): Promise<void> {
  const [status] = await readClaims(ctx, "claimState", [c.claimId]);
  if (status === ClaimStatus.None) return; // not on chain yet, or reorged away (the cursor forgets it)
  const [audit, submittedBlock, , , deadline] = await readClaims(ctx, "auditOf", [c.claimId]);
  if (status !== ClaimStatus.Submitted || audit === AuditStatus.Clear || audit === AuditStatus.Answered) {
    ctx.store.set(key, { ...ctx.store.get<WatchedClaim>(key)!, auditSettled: true } satisfies WatchedClaim);
    return;
  }
  const head = await ctx.publicClient.getBlockNumber({ cacheTime: 0 });
  const now = (await ctx.publicClient.getBlock()).timestamp;
  const reason = missedClaimAudit({ status: audit, submittedBlock, deadline }, { now, head });
  if (!reason) return;
  await sendClaims(ctx, "slashMissedAudit", [fields(c.claim)]);
  ctx.store.set(key, { ...ctx.store.get<WatchedClaim>(key)!, auditSettled: true } satisfies WatchedClaim);
  ctx.metrics.counter("claim_missed_audits_slashed_total", "Claims slashed for a missed audit, by reason", ["reason"] as const).inc({ reason });
  ctx.logger.warn({ claimId: c.claimId, provider: c.claim.provider, reason, bond: c.claim.bond }, "claim audit missed: slashed to the treasury");
}
