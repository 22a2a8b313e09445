// The random forced audit of a batch (and, with the same status names, of a single claim): not drawn, clear,
// selected (the position that must be proven and a countdown to its deadline), answered, or missed.
import { Countdown } from "./Countdown.tsx";

/**
 * The contract's audit statuses (Undrawn, Clear, Selected, Answered), plus Missed: nobody can answer it any more
 * (the selected position's deadline passed unproven, or it was never drawn while its seed was readable), whether or
 * not someone has sent the slash yet.
 */
export type AuditStatusName = "Undrawn" | "Clear" | "Selected" | "Answered" | "Missed";

export interface AuditView {
  status: AuditStatusName;
  /** The selected position (Selected, Answered, and Missed after a selection). */
  index?: number;
  /** When the selected position must be proven by (chain time, seconds). */
  deadline?: bigint;
}

const LABEL: Record<AuditStatusName, string> = {
  Undrawn: "not drawn",
  Clear: "clear",
  Selected: "selected",
  Answered: "answered",
  Missed: "missed",
};

const MEANING: Record<AuditStatusName, string> = {
  Undrawn: "the audit is not drawn yet: anyone may draw it from the block after submission on",
  Clear: "the audit did not select a position: nothing has to be proven",
  Selected: "the audit selected a position: the provider must prove it before the deadline, or lose the whole bond",
  Answered: "the selected position was proven",
  Missed: "the audit can no longer be answered: the whole bond goes to the treasury",
};

/** An audit status as a cell: the selected position when there is one, a countdown while it must be proven. */
export function AuditCell({ audit, chainTime, takenAt, rateBps }: { audit: AuditView; chainTime: bigint; takenAt: number; rateBps?: number }) {
  const at = audit.index !== undefined ? <> position <b data-testid="audit-index">{audit.index}</b></> : null;
  return (
    <span className={`audit audit-${audit.status}`} data-testid="audit" data-audit={audit.status} title={MEANING[audit.status]}>
      <span className={`status ${audit.status}`} data-testid="audit-status">{LABEL[audit.status]}</span>
      {audit.status === "Selected" || audit.status === "Answered" || audit.status === "Missed" ? at : null}
      {audit.status === "Selected" && audit.deadline !== undefined ? <> · proof <Countdown deadline={audit.deadline} chainTime={chainTime} takenAt={takenAt} /></> : null}
      {rateBps !== undefined ? <div className="sub">rate {(rateBps / 100).toLocaleString("en-US")}%</div> : null}
    </span>
  );
}
