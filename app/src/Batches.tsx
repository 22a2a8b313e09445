// Batches of claims (BatchManager): each batch with its model, provider, size, bond, status, challenge deadline, audit,
// open leaf challenges and data URI; and a lookup of one claim of a batch (position + leaf) that says whether it is
// settled, read from the contract's isSettledLeaf.
import { useState } from "react";
import type { Hex } from "viem";
import type { BatchStruct } from "../../sdk/batch.ts";
import type { BatchView, ModelView, TokenView } from "./snapshot.ts";
import { AuditCell } from "./AuditCell.tsx";
import { Countdown } from "./Countdown.tsx";
import { argmax } from "./digits.ts";
import { short, tokens } from "./format.ts";
import { DATA_LIMITS, LeafLookupError, fetchBatchText, inertText, leafFromData, leafFromFields, leafInBatch, safeHttpUrl, type LeafProof } from "./leaf.ts";

const SLASH_REASON: Record<string, string> = {
  Unproven: "a challenged position was not proven in time",
  CounterProven: "a position was counter-proven",
  AuditUnanswered: "its audit went unanswered",
  AuditMissed: "its audit was never drawn",
};

/** A batch's dataURI: a link only when it is http(s), never followed with the page's referrer; else inert text. */
export function DataUri({ uri }: { uri: string }) {
  if (uri === "") return <span className="sub">none</span>;
  const url = safeHttpUrl(uri);
  const text = inertText(uri, 80);
  if (!url) return <span className="datauri" data-testid="datauri" title="not an http(s) URL: shown as text only"><code>{text}</code> <span className="sub">(not a link)</span></span>;
  return <a className="datauri" data-testid="datauri" href={url.href} target="_blank" rel="noopener noreferrer nofollow" referrerPolicy="no-referrer" title={inertText(uri, 2048)}>{text}</a>;
}

export function BatchTable({ batches, models, chainTime, takenAt, token, onLookup }: {
  batches: BatchView[];
  models: ModelView[];
  chainTime: bigint;
  takenAt: number;
  token?: TokenView;
  onLookup?: (batchId: Hex) => void;
}) {
  if (batches.length === 0) return <p className="empty">No batches yet.</p>;
  const nameOf = (id: string) => models.find((m) => m.modelId.toLowerCase() === id.toLowerCase())?.name ?? short(id);
  return (
    <table data-testid="batches">
      <thead><tr><th>batch</th><th>model</th><th>provider</th><th>size</th><th>bond</th><th>status</th><th>challenge window</th><th>audit</th><th>open challenges</th><th>data</th></tr></thead>
      <tbody>
        {batches.map((b) => {
          const open = b.challenges.filter((c) => c.statusName === "Challenged");
          const settledCount = b.challenges.length - open.length;
          return (
            <tr key={b.batchId} data-batch={b.batchId}>
              <td>
                <code title={b.batchId}>{short(b.batchId)}</code><div className="sub">block #{b.submittedBlock.toString()}</div>
                {onLookup ? <button type="button" data-testid="lookup-batch" onClick={() => onLookup(b.batchId)}>look up a claim</button> : null}
              </td>
              <td>{nameOf(b.batch.modelId)}</td>
              <td><code title={b.batch.provider}>{short(b.batch.provider, 4)}</code></td>
              <td data-testid="batch-size">{b.batch.size.toLocaleString("en-US")}</td>
              <td>{tokens(b.batch.bond, token)}</td>
              <td>
                <span className={`status ${b.statusName}`} data-testid="batch-status">{b.statusName}</span>
                {b.slash ? <div className="sub" data-testid="slash-reason">{SLASH_REASON[b.slash.reason] ?? b.slash.reason}{b.slash.reason === "Unproven" || b.slash.reason === "CounterProven" ? ` (position ${b.slash.index})` : ""}</div> : null}
              </td>
              <td>{b.statusName === "Submitted" ? <Countdown deadline={b.challengeDeadline} chainTime={chainTime} takenAt={takenAt} /> : "settled"}</td>
              <td><AuditCell audit={b.audit} chainTime={chainTime} takenAt={takenAt} rateBps={b.batch.auditRateBps} /></td>
              <td data-testid="open-challenges">
                {open.length === 0 ? <span className="sub">none</span> : (
                  <ul className="history">
                    {open.map((c) => (
                      <li key={c.index} title={`challenged by ${c.challenger}`}>
                        position <b>{c.index}</b> · {b.statusName === "Submitted" ? <>proof <Countdown deadline={c.proofDeadline} chainTime={chainTime} takenAt={takenAt} /></> : "batch settled"} <span className="sub">by {short(c.challenger, 4)}</span>
                      </li>
                    ))}
                  </ul>
                )}
                {settledCount > 0 ? <div className="sub">{settledCount} more challenged: {b.challenges.filter((c) => c.statusName !== "Challenged").map((c) => `${c.index} ${c.statusName.toLowerCase()}`).join(", ")}</div> : null}
              </td>
              <td><DataUri uri={b.dataURI} /></td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** What the lookup found: the leaf, whether it hashes into the batch, and the contract's verdict. */
interface LookupResult {
  batch: BatchView;
  leaf: LeafProof;
  inBatch: boolean;
  settled: boolean;
}

type Source = "uri" | "paste" | "fields";

/** Why a leaf is not settled, in words. */
function notSettledBecause(r: LookupResult): string {
  if (!r.inBatch) return `this leaf is not the batch's claim at position ${r.leaf.index}: the leaf and path do not lead to the batch's root`;
  if (r.batch.statusName === "Submitted") return "the leaf is in the batch, but the batch is not finalized yet: it can still be challenged";
  if (r.batch.statusName === "Slashed") return "the leaf is in the batch, but the batch was slashed: none of its claims is settled";
  return "the contract does not count this leaf as settled (an input hash outside the field has no proof)";
}

/**
 * Looks up one claim of a batch: the batch by id, a position, and the leaf from the batch's dataURI, from its data
 * pasted, or typed in (input hash, outputs, path). `check` asks the chain (BatchManager.isSettledLeaf).
 */
export function LeafLookup({ batches, batchId, onBatchId, check, fetchText = (uri) => fetchBatchText(uri) }: {
  batches: BatchView[];
  batchId: string;
  onBatchId: (id: string) => void;
  check: (batch: BatchStruct, leaf: LeafProof) => Promise<boolean>;
  fetchText?: (uri: string) => Promise<string>;
}) {
  const [index, setIndex] = useState("0");
  const [source, setSource] = useState<Source>("uri");
  const [pasted, setPasted] = useState("");
  const [fields, setFields] = useState({ inputHash: "", outputs: "", path: "" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [result, setResult] = useState<LookupResult>();

  const id = batchId.trim().toLowerCase();
  const batch = batches.find((b) => b.batchId.toLowerCase() === id);

  const lookUp = async () => {
    setBusy(true); setError(undefined); setResult(undefined);
    try {
      if (!/^0x[0-9a-f]{64}$/.test(id)) throw new LeafLookupError("batch id: 32 bytes of 0x-hex (the batch column's id; its button fills it in)");
      if (!batch) throw new LeafLookupError(`no batch ${short(id)} in this deployment's BatchManager`);
      if (!/^\d{1,8}$/.test(index.trim())) throw new LeafLookupError(`position "${inertText(index, 20)}" is not a whole number`);
      const i = Number(index.trim());
      let leaf: LeafProof;
      if (source === "fields") leaf = leafFromFields(fields, i, batch.batch.size);
      else leaf = leafFromData(source === "uri" ? await fetchText(batch.dataURI) : pasted, batch.batch, i);
      const inBatch = leafInBatch(batch.batch, leaf);
      const settled = await check(batch.batch, leaf);
      setResult({ batch, leaf, inBatch, settled });
    } catch (err) {
      setError(err instanceof LeafLookupError ? err.message : `reading the chain failed: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const field = (name: "inputHash" | "outputs", label: string, placeholder: string) => (
    <label>{label} <input type="text" data-testid={`leaf-${name}`} size={name === "inputHash" ? 40 : 60} maxLength={name === "inputHash" ? 100 : 1 << 20} placeholder={placeholder} value={fields[name]} onChange={(e) => setFields({ ...fields, [name]: e.target.value })} /></label>
  );
  const shown = result ? result.leaf.outputs.slice(0, 16).map(String).join(", ") + (result.leaf.outputs.length > 16 ? `, … (${result.leaf.outputs.length} in all)` : "") : "";

  return (
    <div className="lookup" data-testid="leaf-lookup">
      <p>
        <label>batch <input type="text" data-testid="lookup-id" size={70} placeholder="0x… batch id" value={batchId} onChange={(e) => onBatchId(e.target.value)} /></label>
        <label>position <input type="text" data-testid="lookup-index" size={6} value={index} onChange={(e) => setIndex(e.target.value)} /></label>
        {batch ? <span className="sub">of {batch.batch.size} · {batch.statusName}</span> : null}
      </p>
      <p>
        leaf from{" "}
        <label><input type="radio" name="leaf-source" data-testid="source-uri" checked={source === "uri"} onChange={() => setSource("uri")} /> the batch's data URI</label>
        <label><input type="radio" name="leaf-source" data-testid="source-paste" checked={source === "paste"} onChange={() => setSource("paste")} /> its data, pasted</label>
        <label><input type="radio" name="leaf-source" data-testid="source-fields" checked={source === "fields"} onChange={() => setSource("fields")} /> the leaf, typed in</label>
      </p>
      {source === "uri" ? <p className="sub">fetched as untrusted data: http(s) only, no redirects, at most {DATA_LIMITS.maxBytes / 1024 / 1024} MiB within {DATA_LIMITS.timeoutMs / 1000} s, and it must rebuild the batch's root (the provider's server must allow cross-origin reads; else paste its data)</p> : null}
      {source === "paste" ? <p><textarea data-testid="leaf-data" rows={4} cols={100} placeholder='{"size": …, "leaves": [{"index": 0, "inputHash": "…", "outputs": ["…"]}, …]}' value={pasted} onChange={(e) => setPasted(e.target.value.slice(0, DATA_LIMITS.maxBytes + 1))} /></p> : null}
      {source === "fields" ? (
        <p>
          {field("inputHash", "input hash", "decimal or 0x-hex")}<br />
          {field("outputs", "outputs", "comma-separated integers")}<br />
          <label>path <textarea data-testid="leaf-path" rows={3} cols={70} placeholder="siblings from the leaf up, 0x… 32 bytes each, one a line (none for a batch of one)" value={fields.path} onChange={(e) => setFields({ ...fields, path: e.target.value.slice(0, 4096) })} /></label>
        </p>
      ) : null}
      <button type="button" data-testid="lookup" disabled={busy} onClick={() => void lookUp()}>{busy ? "looking up…" : "is it settled?"}</button>
      {error ? <p className="bad" data-testid="lookup-error">{error}</p> : null}
      {result ? (
        <div data-testid="lookup-result" data-settled={result.settled ? "yes" : "no"}>
          <p>
            position {result.leaf.index} of batch <code title={result.batch.batchId}>{short(result.batch.batchId)}</code>: input hash <code title={result.leaf.inputHash.toString()}>{short(result.leaf.inputHash.toString(), 8)}</code>, outputs [{shown}]
            {result.leaf.outputs.length > 1 ? <> · class <b data-testid="lookup-class">{argmax(result.leaf.outputs)}</b></> : null}
          </p>
          {result.settled
            ? <p className="settled" data-testid="lookup-verdict"><b>settled</b> <span className="sub">the contract's isSettledLeaf: the batch is finalized and this is its claim at this position</span></p>
            : <p className="bad" data-testid="lookup-verdict"><b>not settled</b> <span className="sub">{notSettledBecause(result)}</span></p>}
        </div>
      ) : null}
    </div>
  );
}
