// Read-only views: models with setup kind, fidelity and circuit size, claims with status/bond/countdown/history, providers.
import { SETUP_KIND_MEANING, type SetupKindName } from "../../sdk/protocol.ts";
import type { ClaimView, ModelView, ProviderView, TokenView } from "./snapshot.ts";
import { AuditCell } from "./AuditCell.tsx";
import { Countdown } from "./Countdown.tsx";
import { argmax } from "./digits.ts";
import { duration, short, tokens } from "./format.ts";

const pct = (x?: number) => (x === undefined ? "–" : `${(100 * x).toFixed(2)}%`);

const SETUP_LABEL: Record<SetupKindName, string> = {
  "unsafe-dev": "unsafe dev setup",
  "single-contributor": "single-contributor setup",
  ceremony: "ceremony setup",
};

/** The model's setup kind as a badge: red for the dev setup, whose proofs anyone can forge. */
export function SetupBadge({ kind }: { kind: SetupKindName }) {
  return <span className={`badge setup-${kind}`} data-testid="setup-kind" title={SETUP_KIND_MEANING[kind]}>{SETUP_LABEL[kind]}</span>;
}

export function ModelTable({ models, token }: { models: ModelView[]; token?: TokenView }) {
  if (models.length === 0) return <p className="empty">No models registered.</p>;
  return (
    <table data-testid="models">
      <thead><tr><th>model</th><th>id</th><th>constraints</th><th>held-out accuracy (float / quantized)</th><th>top-1 agreement</th><th>windows</th><th>bonds (provider / challenger)</th></tr></thead>
      <tbody>
        {models.map((m) => (
          <tr key={m.modelId}>
            <td><b>{m.name}</b>{m.deprecated ? " (deprecated)" : ""} <SetupBadge kind={m.setupKind} /><div className="sub">{m.pkg?.training?.architecture ?? ""}</div></td>
            <td><code title={m.modelId}>{short(m.modelId)}</code><div className="sub" title={`verifier code hash, pinned at registration: ${m.verifierCodeHash}`}>verifier {short(m.verifierCodeHash)}</div></td>
            <td data-testid="constraints">{m.pkg ? m.pkg.manifest.constraints.toLocaleString("en-US") : "–"}</td>
            <td>
              {pct(m.pkg?.fidelity?.floatAccuracy ?? m.pkg?.training?.heldOutAccuracy?.onnxruntime)} / {pct(m.pkg?.fidelity?.quantizedAccuracy)}
              {m.pkg?.fidelity?.samples ?? m.pkg?.training?.data?.heldOut ? <div className="sub">on {(m.pkg?.fidelity?.samples ?? m.pkg?.training?.data?.heldOut)!.toLocaleString("en-US")} held-out digits</div> : null}
            </td>
            <td data-testid="agreement">{pct(m.pkg?.fidelity?.agreement)}</td>
            <td>{duration(m.challengeWindow)} challenge / {duration(m.proofWindow)} proof</td>
            <td>{tokens(m.minProviderBond, token)} / {tokens(m.minChallengerBond, token)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * What a claim's output is worth to a reader: claimed (still open to challenge, not to be relied on), settled
 * (finalized unchallenged, or proven) or void (slashed: the output was never shown right).
 */
export function settlement(statusName: string): "claimed" | "settled" | "void" {
  if (statusName === "Finalized" || statusName === "Proven") return "settled";
  if (statusName === "Slashed") return "void";
  return "claimed";
}

/** The claimed class (argmax of the logits) and whether it is settled. */
function ClassCell({ c }: { c: ClaimView }) {
  const value = c.outputs.length > 1 ? argmax(c.outputs).toString() : (c.outputs[0]?.toString() ?? "");
  const state = settlement(c.statusName);
  return (
    <span className={`class ${state}`} data-testid="claim-class" title={state === "claimed" ? "claimed, not settled: it can still be challenged" : state === "void" ? "the claim was slashed: this output was never shown right" : "settled"}>
      {state === "void" ? <s>{value}</s> : <b>{value}</b>} <span className="sub">{state}</span>
    </span>
  );
}

export function ClaimTable({ claims, models, chainTime, takenAt, token }: { claims: ClaimView[]; models: ModelView[]; chainTime: bigint; takenAt: number; token?: TokenView }) {
  if (claims.length === 0) return <p className="empty">No claims yet.</p>;
  const nameOf = (id: string) => models.find((m) => m.modelId.toLowerCase() === id.toLowerCase())?.name ?? short(id);
  return (
    <table data-testid="claims">
      <thead><tr><th>claim</th><th>model</th><th>provider</th><th>class</th><th>status</th><th>bond</th><th>deadline</th><th>audit</th><th>history</th></tr></thead>
      <tbody>
        {claims.map((c) => {
          const live = c.statusName === "Submitted" || c.statusName === "Challenged";
          return (
            <tr key={c.claimId} data-claim={c.claimId}>
              <td><code title={c.claimId}>{short(c.claimId)}</code>{c.requestId > 0n ? <div className="sub">request #{c.requestId.toString()}</div> : null}</td>
              <td>{nameOf(c.modelId)}</td>
              <td><code title={c.provider}>{short(c.provider, 4)}</code></td>
              <td><ClassCell c={c} /></td>
              <td><span className={`status ${c.statusName}`} data-testid="claim-status">{c.statusName}</span></td>
              <td>{tokens(c.bond, token)}</td>
              <td>{live ? <>{c.statusName === "Challenged" ? "proof " : "challenge "}<Countdown deadline={c.deadline} chainTime={chainTime} takenAt={takenAt} /></> : "settled"}</td>
              <td>{c.audit ? <AuditCell audit={c.audit} chainTime={chainTime} takenAt={takenAt} rateBps={c.auditRateBps} /> : <span className="sub" data-testid="audit" data-audit="none" title="the model was not audited when this claim was made">none</span>}</td>
              <td><ol className="history">{c.history.map((h, i) => <li key={i} title={h.detail}><b>{h.kind}</b> <span className="sub">#{h.block.toString()} {h.kind === "Challenged" || h.kind === "Slashed" || h.kind === "Proven" || h.kind.startsWith("Audit") ? h.detail.replace(/0x[0-9a-fA-F]{40}/g, (a) => short(a, 4)) : ""}</span></li>)}</ol></td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function ProviderTable({ providers, token }: { providers: ProviderView[]; token?: TokenView }) {
  if (providers.length === 0) return <p className="empty">Nobody has staked yet.</p>;
  return (
    <table data-testid="providers">
      <thead>
        <tr><th rowSpan={2}>account</th><th rowSpan={2}>free stake</th><th colSpan={4}>as provider</th><th colSpan={3}>as challenger</th></tr>
        <tr><th>claims</th><th>live</th><th>slashed</th><th>bonds lost</th><th>challenges</th><th>lost to a proof</th><th>bonds lost</th></tr>
      </thead>
      <tbody>
        {providers.map((p) => (
          <tr key={p.account}>
            <td><code title={p.account}>{short(p.account, 4)}</code></td>
            <td>{tokens(p.freeStake, token)}</td>
            <td>{p.claims}</td>
            <td>{p.live}</td>
            <td className={p.slashed ? "bad" : ""}>{p.slashed}</td>
            <td>{tokens(p.slashedAmount, token)}</td>
            <td>{p.challenges ?? 0}</td>
            <td className={p.challengesLost ? "bad" : ""}>{p.challengesLost ?? 0}</td>
            <td>{tokens(p.challengeBondLost ?? 0n, token)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
