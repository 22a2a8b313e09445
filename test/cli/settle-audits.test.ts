// `ozk finalize`, `ozk prove-claim`, `ozk draw-audit` and `ozk slash-missed-audit` refuse, with one line naming the
// reason, what ClaimManager would revert because of a claim's random audit: finalizing a selected claim (AuditPending)
// or one whose undrawn audit's seed is gone (AuditSeedGone), proving a selected claim past its audit deadline, drawing
// too early or too late, slashing an audit that is not missed. Each boundary is checked at the latest block, where the
// command's transaction is simulated.
import { expect } from "chai";
import type { Hex } from "viem";
import { drawAuditRefusal, finalizeRefusal, proveRefusal, slashMissedAuditRefusal } from "../../cli/settle.ts";
import { AuditStatus } from "../../sdk/batch.ts";
import { ClaimStatus } from "../../sdk/protocol.ts";

const NAMES = ["Undrawn", "Clear", "Selected", "Answered"];
const view = (o: { status?: number; audit: number; now?: bigint; head?: bigint; rateBps?: number }) => ({
  claimId: `0x${"ab".repeat(32)}` as Hex,
  status: o.status ?? ClaimStatus.Submitted,
  statusName: "Submitted",
  deadline: 10_000n, // the challenge window's end
  now: o.now ?? 10_000n,
  head: o.head ?? 200n,
  audit: { status: o.audit, statusName: NAMES[o.audit]!, submittedBlock: 100n, rateBps: o.rateBps ?? 100, fee: 0n, deadline: 17_200n },
});

describe("cli: settling audited claims by hand", () => {
  it("finalize: refused while selected (prove it) and after the audit deadline (slash it), and once an undrawn audit's seed is gone; allowed when clear, answered or still drawable inline", () => {
    expect(finalizeRefusal(view({ audit: AuditStatus.Selected }))).to.match(/selected by its random audit: it cannot be finalized, only proven \(ozk prove-claim\) before its audit deadline, 7200 s left/);
    expect(finalizeRefusal(view({ audit: AuditStatus.Selected, now: 17_200n }))).to.match(/not proven by its audit deadline \(0 s ago\): it can only be slashed \(ozk slash-missed-audit\)/);
    // The seed is block 101: blockhash(101) is gone from block 358 on, and a transaction sent at head h lands in h + 1.
    expect(finalizeRefusal(view({ audit: AuditStatus.Undrawn, head: 356n }))).to.equal(undefined);
    expect(finalizeRefusal(view({ audit: AuditStatus.Undrawn, head: 357n }))).to.match(/never drawn and its seed block 101 is too old to draw from: .*from block 358/);
    expect(finalizeRefusal(view({ audit: AuditStatus.Undrawn, head: 101n }))).to.match(/not there yet/);
    for (const audit of [AuditStatus.Clear, AuditStatus.Answered]) expect(finalizeRefusal(view({ audit }))).to.equal(undefined);
    expect(finalizeRefusal(view({ audit: AuditStatus.Selected, now: 9_999n })), "the window first").to.match(/challenge window is still open, 1 s left/);
  });

  it("prove-claim: a selected claim until 1 s before its audit deadline, not at it", () => {
    expect(proveRefusal(view({ audit: AuditStatus.Selected, now: 17_199n }))).to.equal(undefined);
    expect(proveRefusal(view({ audit: AuditStatus.Selected, now: 17_200n }))).to.match(/audit deadline passed 0 s ago .* slashed as a missed audit/);
    expect(proveRefusal(view({ audit: AuditStatus.Undrawn, now: 10n ** 9n })), "a proof shows a never-drawn claim true").to.equal(undefined);
  });

  it("draw-audit: from the block after the seed block while the draw still lands within 256 blocks of the seed; never for a drawn or unaudited claim", () => {
    expect(drawAuditRefusal(view({ audit: AuditStatus.Undrawn, head: 101n }))).to.match(/not there yet/);
    expect(drawAuditRefusal(view({ audit: AuditStatus.Undrawn, head: 102n }))).to.equal(undefined);
    expect(drawAuditRefusal(view({ audit: AuditStatus.Undrawn, head: 356n }))).to.equal(undefined);
    expect(drawAuditRefusal(view({ audit: AuditStatus.Undrawn, head: 357n }))).to.match(/can no longer be drawn, only slashed as missed \(ozk slash-missed-audit, from block 358\)/);
    expect(drawAuditRefusal(view({ audit: AuditStatus.Clear, rateBps: 0 }))).to.match(/its audit is Clear \(its model is not audited\): nothing to draw/);
    expect(drawAuditRefusal(view({ audit: AuditStatus.Selected }))).to.match(/its audit is Selected: nothing to draw/);
    expect(drawAuditRefusal(view({ audit: AuditStatus.Undrawn, status: ClaimStatus.Proven }))).to.match(/already settled/);
  });

  it("slash-missed-audit: a selected claim from its audit deadline, an undrawn one once its seed is gone; never a challenged, clear or answered one", () => {
    expect(slashMissedAuditRefusal(view({ audit: AuditStatus.Selected, now: 17_199n }))).to.match(/audit deadline has not passed, 1 s left/);
    expect(slashMissedAuditRefusal(view({ audit: AuditStatus.Selected, now: 17_200n }))).to.equal(undefined);
    expect(slashMissedAuditRefusal(view({ audit: AuditStatus.Undrawn, head: 356n }))).to.match(/can still be drawn \(ozk draw-audit\); it is missed from block 358 on/);
    expect(slashMissedAuditRefusal(view({ audit: AuditStatus.Undrawn, head: 357n }))).to.match(/can no longer be drawn; it is missed from block 358 on \(latest block 357\)/);
    expect(slashMissedAuditRefusal(view({ audit: AuditStatus.Undrawn, head: 358n }))).to.equal(undefined);
    expect(slashMissedAuditRefusal(view({ audit: AuditStatus.Selected, now: 10n ** 9n, status: ClaimStatus.Challenged }))).to.match(/settles by its challenge/);
    for (const audit of [AuditStatus.Clear, AuditStatus.Answered]) expect(slashMissedAuditRefusal(view({ audit, now: 10n ** 9n, head: 10n ** 6n }))).to.match(/not missed/);
  });
});
