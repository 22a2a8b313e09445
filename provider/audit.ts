// The random audits of the provider's own single claims (ClaimManager.drawAudit): when the step draws one. The
// seed of a claim's audit is the hash of the block after the claim's; the chain keeps the last 256 block hashes, so
// the draw must land by block submittedBlock + 257, or the claim is slashed as a missed audit.
import { AUDIT_SEED_BLOCKS, AuditStatus, auditSeedGone } from "../sdk/batch.ts";

/** Blocks after its claim's block in which an audit can be drawn (blockhash keeps 256). */
export const SEED_BLOCKS = AUDIT_SEED_BLOCKS;
/** From this many blocks after its claim the draw is logged as late (an error past SEED_BLOCKS). */
export const LATE_DRAW_BLOCKS = 192n;

/**
 * What to do about an audit, with `head` the latest block (a transaction sent now lands in head + 1 or later):
 * "none" (clear, answered or already drawn), "wait" (the seed block is not the head's parent yet: one block of margin
 * over the contract's rule, as for batches, so a lagging node's head cannot put the draw into the seed block),
 * "draw", "late" (draw, and log it as an error: few blocks left), "gone" (never drawn and no longer drawable).
 */
export function drawDue(audit: { status: number; submittedBlock: bigint }, head: bigint): "none" | "wait" | "draw" | "late" | "gone" {
  if (audit.status !== AuditStatus.Undrawn) return "none";
  if (head <= audit.submittedBlock + 1n) return "wait";
  if (auditSeedGone(audit.submittedBlock, head)) return "gone";
  return head - audit.submittedBlock >= LATE_DRAW_BLOCKS ? "late" : "draw";
}
