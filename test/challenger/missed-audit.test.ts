// The challenger's missed-audit rule (challenger/batch.ts missedAudit), against BatchManager.slashMissedAudit's: a
// selected audit is missed from its deadline (challengeDeadline + proofWindow) on, an undrawn one once its seed block
// has left the 256 whose hash the chain keeps; a clear or answered audit never is. Sent a block early, the
// transaction reverts (AuditNotMissed); never sent, a cheater's batch goes unpunished when nobody else slashes it.
import { expect } from "chai";
import { challengerConfigSchema } from "../../challenger/config.ts";
import { missedAudit } from "../../challenger/batch.ts";

const Undrawn = 0;
const Clear = 1;
const Selected = 2;
const Answered = 3;
const proofWindow = 1800n;
const state = (audit: number) => ({ audit, challengeDeadline: 10_600n, submittedBlock: 100n });

describe("challenger: missed audits", () => {
  it("a selected audit is missed when the next block's time reaches challengeDeadline + proofWindow, not a second before", () => {
    const deadline = 10_600n + proofWindow;
    expect(missedAudit(state(Selected), proofWindow, { now: deadline - 2n, head: 5000n })).to.equal(undefined);
    expect(missedAudit(state(Selected), proofWindow, { now: deadline - 1n, head: 5000n })).to.equal("AuditUnanswered");
    expect(missedAudit(state(Selected), proofWindow, { now: deadline + 1000n, head: 5000n })).to.equal("AuditUnanswered");
  });

  it("an undrawn audit is missed once the next block no longer has its seed block's hash (256 blocks), not a block before", () => {
    // The seed is block submittedBlock + 1 = 101; blockhash(101) is 0 from block 101 + 257 = 358 on.
    expect(missedAudit(state(Undrawn), proofWindow, { now: 0n, head: 356n })).to.equal(undefined);
    expect(missedAudit(state(Undrawn), proofWindow, { now: 0n, head: 357n })).to.equal("AuditMissed");
    expect(missedAudit(state(Undrawn), proofWindow, { now: 10n ** 9n, head: 102n }), "time alone does not miss a draw").to.equal(undefined);
  });

  it("a clear or answered audit is never missed", () => {
    for (const audit of [Clear, Answered]) expect(missedAudit(state(audit), proofWindow, { now: 10n ** 9n, head: 10n ** 6n })).to.equal(undefined);
  });

  it("the keeper is on by default and can be turned off", () => {
    const base = { rpcUrl: "http://127.0.0.1:8545", privateKey: `0x${"11".repeat(32)}`, deployment: "d.json", models: [{ package: "m" }] };
    expect(challengerConfigSchema.parse(base).slashMissedAudits).to.equal(true);
    expect(challengerConfigSchema.parse({ ...base, slashMissedAudits: false }).slashMissedAudits).to.equal(false);
  });
});
