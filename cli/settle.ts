// Settling claims by hand, without the daemons: `ozk finalize`, `ozk slash`, `ozk prove-claim`, `ozk draw-audit`,
// `ozk slash-missed-audit` and `ozk withdraw`.
// Each reads the claim and the latest block first and refuses, with the reason and the seconds left by the
// chain's clock, what the contract would revert.
import type { Command } from "commander";
import { AUDIT_SEED_BLOCKS, AuditStatus, auditSeedGone } from "../sdk/batch.ts";
import { ClaimStatus, toSolidityProof } from "../sdk/protocol.ts";
import { FatalError } from "../sdk/errors.ts";
import { readClaims, sendClaims, settlementGas, tokenBalance } from "../runtime/chain.ts";
import { inputFromChain } from "../runtime/claim-input.ts";
import { proveOutputs } from "../runtime/models.ts";
import { checkedModel, connect, countdown, json, readClaim, tokenAmount, withChainOptions, type ChainOpts, type ClaimView } from "./chain.ts";

/** Blocks after a claim's seed block (submittedBlock + 1) whose hash the chain still returns. */
const SEED_BLOCKS = AUDIT_SEED_BLOCKS;

type AuditView = Pick<ClaimView, "claimId" | "status" | "statusName" | "deadline" | "now" | "head" | "audit">;

/** Whether the claim's audit was never drawn and can no longer be: a draw sent now (finalize draws too) lands in the
 *  next block at the earliest, which lacks the seed's hash from block submittedBlock + 258 on. */
function seedGone(v: AuditView): boolean {
  return v.audit.status === AuditStatus.Undrawn && auditSeedGone(v.audit.submittedBlock, v.head);
}

/** The first block in which slashMissedAudit takes an undrawn audit: its seed's hash is gone there. Judged at the
 *  latest block, where the command's transaction is simulated first. */
const missedFrom = (v: AuditView): bigint => v.audit.submittedBlock + 2n + SEED_BLOCKS;

/** Why a claim in `v`'s state cannot be finalized now, or undefined when it can. */
export function finalizeRefusal(v: AuditView): string | undefined {
  if (v.status === ClaimStatus.Challenged) {
    return `claim ${v.claimId} is Challenged: it settles by a proof (ozk prove-claim), or is slashed after its proof deadline (${countdown(v).text})`;
  }
  if (v.status !== ClaimStatus.Submitted) return `claim ${v.claimId} is already settled (${v.statusName}): nothing to finalize`;
  if (v.now < v.deadline) return `claim ${v.claimId}: its challenge window is still open, ${v.deadline - v.now} s left (chain time); finalize after that`;
  if (v.audit.status === AuditStatus.Selected) {
    return v.now < v.audit.deadline
      ? `claim ${v.claimId} was selected by its random audit: it cannot be finalized, only proven (ozk prove-claim) before its audit deadline, ${v.audit.deadline - v.now} s left (chain time)`
      : `claim ${v.claimId} was selected by its random audit and not proven by its audit deadline (${v.now - v.audit.deadline} s ago): it can only be slashed (ozk slash-missed-audit)`;
  }
  if (seedGone(v)) return `claim ${v.claimId}: its random audit was never drawn and its seed block ${v.audit.submittedBlock + 1n} is too old to draw from: it can only be slashed as a missed audit (ozk slash-missed-audit, from block ${missedFrom(v)})`;
  if (v.audit.status === AuditStatus.Undrawn && v.head <= v.audit.submittedBlock + 1n) return `claim ${v.claimId}: its audit draws from the block after block ${v.audit.submittedBlock + 1n}, which is not there yet; finalize once it is`;
  return undefined;
}

/** Why the audit of a claim in `v`'s state cannot be drawn now, or undefined when it can. */
export function drawAuditRefusal(v: AuditView): string | undefined {
  if (v.status !== ClaimStatus.Submitted && v.status !== ClaimStatus.Challenged) return `claim ${v.claimId} is already settled (${v.statusName}): no audit to draw`;
  if (v.audit.status !== AuditStatus.Undrawn) return `claim ${v.claimId}: its audit is ${v.audit.statusName}${v.audit.rateBps === 0 ? " (its model is not audited)" : ""}: nothing to draw`;
  if (v.head <= v.audit.submittedBlock + 1n) return `claim ${v.claimId}: its audit draws from the block after block ${v.audit.submittedBlock + 1n}, which is not there yet; draw once it is`;
  if (seedGone(v)) return `claim ${v.claimId}: its seed block ${v.audit.submittedBlock + 1n} is too old (a draw sent now would land after its hash is gone): the audit can no longer be drawn, only slashed as missed (ozk slash-missed-audit, from block ${missedFrom(v)})`;
  return undefined;
}

/** Why a claim in `v`'s state cannot be slashed for a missed audit now, or undefined when it can. */
export function slashMissedAuditRefusal(v: AuditView): string | undefined {
  if (v.status === ClaimStatus.Challenged) return `claim ${v.claimId} is Challenged: it settles by its challenge (ozk prove-claim, or ozk slash after its proof deadline), not by its audit`;
  if (v.status !== ClaimStatus.Submitted) return `claim ${v.claimId} is already settled (${v.statusName}): nothing to slash`;
  if (v.audit.status === AuditStatus.Selected) {
    return v.now < v.audit.deadline ? `claim ${v.claimId}: its audit deadline has not passed, ${v.audit.deadline - v.now} s left (chain time); the provider may still prove it` : undefined;
  }
  if (v.audit.status === AuditStatus.Undrawn) {
    if (v.head >= missedFrom(v)) return undefined;
    return `claim ${v.claimId}: its audit ${seedGone(v) ? "can no longer be drawn" : "can still be drawn (ozk draw-audit)"}; it is missed from block ${missedFrom(v)} on (latest block ${v.head})`;
  }
  return `claim ${v.claimId}: its audit is ${v.audit.statusName}: not missed`;
}

/** Why a claim in `v`'s state cannot be slashed now, or undefined when it can. */
export function slashRefusal(v: Pick<ClaimView, "claimId" | "status" | "statusName" | "deadline" | "now">): string | undefined {
  if (v.status === ClaimStatus.Submitted) return `claim ${v.claimId} was not challenged: only a challenged claim whose proof deadline passed can be slashed (${countdown(v).text})`;
  if (v.status !== ClaimStatus.Challenged) return `claim ${v.claimId} is already settled (${v.statusName}): nothing to slash`;
  if (v.now < v.deadline) return `claim ${v.claimId}: its proof deadline has not passed, ${v.deadline - v.now} s left (chain time); the provider may still prove it`;
  return undefined;
}

/** Why a claim in `v`'s state cannot be proven now, or undefined when it can. */
export function proveRefusal(v: AuditView): string | undefined {
  if (v.status === ClaimStatus.Challenged && v.now >= v.deadline) return `claim ${v.claimId}: its proof deadline passed ${v.now - v.deadline} s ago (chain time); it can only be slashed now`;
  if (v.status !== ClaimStatus.Submitted && v.status !== ClaimStatus.Challenged) return `claim ${v.claimId} is already settled (${v.statusName}): nothing to prove`;
  if (v.status === ClaimStatus.Submitted && v.audit.status === AuditStatus.Selected && v.now >= v.audit.deadline) {
    return `claim ${v.claimId}: its audit deadline passed ${v.now - v.audit.deadline} s ago (chain time); it can only be slashed as a missed audit now (ozk slash-missed-audit)`;
  }
  return undefined;
}

export function register(program: Command): void {
  withChainOptions(
    program
      .command("finalize")
      .summary("settle a claim after its challenge window")
      .description("settle a Submitted claim whose challenge window has passed (anyone may send it); an answered request's fee goes to the provider's credits")
      .argument("<claimId>"),
  ).action(async (claimId: string, o: ChainOpts) => {
    const c = connect(o);
    const v = await readClaim(c, claimId);
    const refusal = finalizeRefusal(v);
    if (refusal) throw new Error(refusal);
    const tx = await sendClaims(c, "finalize", [v.claim, v.outputs], { gas: await settlementGas(c, "finalize", v.claim) });
    console.log(json({ claimId: v.claimId, status: "Finalized", tx }));
  });

  withChainOptions(
    program
      .command("slash")
      .summary("slash a challenged claim after its missed proof deadline")
      .description(
        "slash a Challenged claim whose proof deadline has passed (anyone may send it): the challenger gets its bond back and the slash reward " +
          "(to its free stake), the rest of the provider's bond goes to the treasury",
      )
      .argument("<claimId>"),
  ).action(async (claimId: string, o: ChainOpts) => {
    const c = connect(o);
    const v = await readClaim(c, claimId);
    const refusal = slashRefusal(v);
    if (refusal) throw new Error(refusal);
    const tx = await sendClaims(c, "slash", [v.claim]);
    console.log(json({ claimId: v.claimId, status: "Slashed", challenger: v.challenger, tx }));
  });

  withChainOptions(
    program
      .command("draw-audit")
      .summary("draw the random audit of a claim")
      .description(
        "draw a live claim's random audit from the hash of the block after its block (anyone may send it; the result is the same whoever does): " +
          "a selected claim must be proven before its audit deadline and cannot be finalized; an audit not drawn within 256 blocks is missed",
      )
      .argument("<claimId>"),
  ).action(async (claimId: string, o: ChainOpts) => {
    const c = connect(o);
    const v = await readClaim(c, claimId);
    const refusal = drawAuditRefusal(v);
    if (refusal) throw new Error(refusal);
    const tx = await sendClaims(c, "drawAudit", [v.claim]);
    const after = await readClaim(c, v.claimId);
    console.log(json({ claimId: v.claimId, audit: after.audit.statusName, ...(after.audit.status === AuditStatus.Selected ? { auditDeadline: after.audit.deadline } : {}), tx }));
  });

  withChainOptions(
    program
      .command("slash-missed-audit")
      .summary("slash a claim whose random audit was missed")
      .description(
        "slash a Submitted claim whose audit selected it and that was not proven by its audit deadline, or whose audit was never drawn while its seed was readable " +
          "(anyone may send it): the whole bond goes to the treasury, nobody is rewarded",
      )
      .argument("<claimId>"),
  ).action(async (claimId: string, o: ChainOpts) => {
    const c = connect(o);
    const v = await readClaim(c, claimId);
    const refusal = slashMissedAuditRefusal(v);
    if (refusal) throw new Error(refusal);
    const tx = await sendClaims(c, "slashMissedAudit", [v.claim]);
    console.log(json({ claimId: v.claimId, status: "Slashed", reason: v.audit.status === AuditStatus.Selected ? "AuditUnanswered" : "AuditMissed", tx }));
  });

  withChainOptions(
    program
      .command("prove-claim")
      .summary("prove a live claim from its on-chain input and send the proof")
      .description(
        "prove a live claim (Challenged before its proof deadline, or Submitted) and send the proof: reads the claim and its input from the chain " +
          "(its ClaimInput, or the answered request's input), proves with the package (native prover when built, else snarkjs) and sends prove; " +
          "a challenged claim proven wins the provider the challenger's bond",
      )
      .argument("<claimId>")
      .requiredOption("--package <dir>", "the model package of the claim's model, e.g. models/mnist-mlp"),
  ).action(async (claimId: string, o: ChainOpts & { package: string }) => {
    const c = connect(o);
    const v = await readClaim(c, claimId);
    const refusal = proveRefusal(v);
    if (refusal) throw new Error(refusal);
    const model = await checkedModel(c, o.package);
    if (model.modelId.toLowerCase() !== v.claim.modelId.toLowerCase()) {
      throw new Error(`--package ${o.package} is model ${model.name} (${model.modelId}), but claim ${v.claimId} is on model ${v.modelName ?? v.claim.modelId}`);
    }
    const m = model.pkg.manifest;
    const input = await inputFromChain(c, { inputLength: m.inputLength, inputBits: m.inputBits }, v.claimId, v.claim, {
      fromBlock: BigInt(c.deployment.deployBlock),
      at: { blockNumber: v.blockNumber },
    });
    if (!input.values) throw new Error(`claim ${v.claimId}: no usable input on chain (${input.source}): ${input.problem}`);
    let proved;
    try {
      proved = await proveOutputs(model, input.values, v.outputs, c.logger);
    } catch (err) {
      if (err instanceof FatalError) {
        throw new Error(`claim ${v.claimId}: its outputs are not what ${model.name} computes on its input, so no proof exists (after the proof deadline anyone can slash it)`);
      }
      throw err;
    }
    // Read again: the deadline may have passed while proving.
    const now = await readClaim(c, v.claimId);
    const late = proveRefusal(now);
    if (late) throw new Error(late);
    const tx = await sendClaims(c, "prove", [v.claim, proved.outputs, toSolidityProof(proved.proof)], { gas: await settlementGas(c, "prove", v.claim) });
    console.log(json({ claimId: v.claimId, status: "Proven", input: input.source, backend: proved.backend, proveMs: proved.ms, tx }));
    // The prover's worker threads would keep the process alive.
    process.exit(0);
  });

  withChainOptions(
    program
      .command("withdraw")
      .summary("move credits and free stake back to the account's tokens")
      .description(
        "move the account's tokens out of the claims contract: credits (request fees, refunds; `withdraw`) first, then free stake (`unstake`). " +
          "Without an amount, all of both. Bonds locked in live claims are not free stake until those claims settle",
      )
      .argument("[amount]", "base units, 1 token = 10^18 (default: all credits and all free stake)")
      .option("--credits-only", "only credits, no stake")
      .option("--stake-only", "only free stake, no credits"),
  ).action(async (amount: string | undefined, o: ChainOpts & { creditsOnly?: boolean; stakeOnly?: boolean }) => {
    if (o.creditsOnly && o.stakeOnly) throw new Error("--credits-only and --stake-only exclude each other");
    const c = connect(o);
    const me = c.account.address;
    const [credits, free] = await Promise.all([readClaims(c, "credits", [me]), readClaims(c, "freeStake", [me])]);
    const fromCredits = o.stakeOnly ? 0n : credits;
    const fromStake = o.creditsOnly ? 0n : free;
    const available = fromCredits + fromStake;
    const want = amount === undefined ? available : tokenAmount("withdraw", amount);
    const which = o.creditsOnly ? "credits" : o.stakeOnly ? "free stake" : "credits and free stake";
    if (want === 0n) throw new Error(`${me} has nothing to withdraw: credits ${credits}, free stake ${free}${amount === undefined ? "" : " (asked for 0)"}`);
    if (want > available) throw new Error(`withdraw ${want}: ${me} has only ${available} in ${which} (credits ${credits}, free stake ${free})`);
    const credit = want < fromCredits ? want : fromCredits;
    const stake = want - credit;
    const txs: string[] = [];
    if (credit > 0n) txs.push(await sendClaims(c, "withdraw", [credit]));
    if (stake > 0n) txs.push(await sendClaims(c, "unstake", [stake]));
    console.log(json({ account: me, credits: credit, stake, total: want, balance: await tokenBalance(c), txs }));
  });
}
