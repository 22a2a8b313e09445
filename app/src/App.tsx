// The page: models, the digit request panel, live claims, batches (with their audits and a lookup of one claim of a
// batch) and providers, refreshed from the chain every second.
import { useEffect, useState } from "react";
import { usePublicClient } from "wagmi";
import type { PublicClient } from "viem";
import type { Deployment } from "../../sdk/deployments.ts";
import { isSettledBatchLeaf } from "../../sdk/claims.ts";
import type { BatchStruct } from "../../sdk/batch.ts";
import { BatchTable, LeafLookup } from "./Batches.tsx";
import type { LeafProof } from "./leaf.ts";
import { readSnapshot, type PackageInfo, type Snapshot } from "./snapshot.ts";
import { RequestPanel } from "./RequestPanel.tsx";
import { ClaimTable, ModelTable, ProviderTable } from "./Tables.tsx";

export function App({ deployment, packages, pollMs = 1000 }: { deployment: Deployment; packages: Record<string, PackageInfo>; pollMs?: number }) {
  const pc = usePublicClient() as PublicClient | undefined;
  const [snap, setSnap] = useState<{ s: Snapshot; at: number }>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!pc) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const s = await readSnapshot(pc, deployment, packages);
        if (!stop) { setSnap({ s, at: Date.now() }); setError(undefined); }
      } catch (err) {
        if (!stop) setError(err instanceof Error ? err.message.split("\n")[0] : String(err));
      }
      if (!stop) timer = setTimeout(() => void poll(), pollMs);
    };
    void poll();
    return () => { stop = true; clearTimeout(timer); };
  }, [pc, deployment, packages, pollMs]);

  const s = snap?.s;
  const [picked, setPicked] = useState<string>();
  const [lookupId, setLookupId] = useState("");
  const checkLeaf = async (batch: BatchStruct, leaf: LeafProof) => {
    if (!pc) throw new Error("not connected to the chain");
    return isSettledBatchLeaf({ publicClient: pc, deployment }, batch, leaf.index, leaf.inputHash, leaf.outputs, leaf.path);
  };
  // The digit pad draws 28x28 images: models whose package takes one can be asked here.
  const drawable = (s?.models ?? []).filter((m) => !m.deprecated && m.pkg?.manifest.inputLength === 784);
  const model = drawable.find((m) => m.modelId === picked) ?? drawable[0];
  const skip = async (seconds: number) => {
    // Local development chains only (Hardhat/Anvil): move time forward so windows pass.
    await pc?.request({ method: "evm_increaseTime" as never, params: [seconds] as never });
    await pc?.request({ method: "evm_mine" as never, params: [] as never });
  };

  return (
    <main>
      <header>
        <h1>ozk <span className="sub">optimistic zkML</span></h1>
        <p className="sub" data-testid="chain">
          chain {deployment.chainId}{s ? <> · block #{s.blockNumber.toString()} · chain time {new Date(Number(s.chainTime) * 1000).toISOString().replace(".000Z", "Z")}</> : " · connecting…"}
          {error ? <span className="bad"> · {error}</span> : null}
        </p>
      </header>
      <section><h2>Models</h2>{s ? <ModelTable models={s.models} token={s.token} /> : <p className="empty">loading…</p>}</section>
      <section>
        <h2>Ask a model: draw a digit</h2>
        {s ? (
          <p>
            model{" "}
            <select data-testid="model-select" value={model?.modelId ?? ""} onChange={(e) => setPicked(e.target.value)} disabled={drawable.length === 0}>
              {drawable.map((m) => <option key={m.modelId} value={m.modelId}>{m.name}</option>)}
            </select>
            {drawable.length === 0 ? <span className="sub"> no registered model takes a 28x28 image (or the page has no package for it)</span> : null}
            {s.models.length > drawable.length ? <span className="sub"> · {s.models.length - drawable.length} other model(s) not drawable here</span> : null}
          </p>
        ) : null}
        <RequestPanel deployment={deployment} model={model} snapshot={s} />
        {deployment.chainId === 31337 ? (
          <p className="sub">local chain: <button type="button" data-testid="skip" onClick={() => void skip((model?.challengeWindow ?? 600) + 1)}>skip the challenge window</button></p>
        ) : null}
      </section>
      <section><h2>Claims</h2>{s ? <ClaimTable claims={s.claims} models={s.models} chainTime={s.chainTime} takenAt={snap!.at} token={s.token} /> : null}</section>
      <section>
        <h2>Batches</h2>
        {s && !s.hasBatches ? <p className="empty">This deployment has no BatchManager.</p> : null}
        {s?.hasBatches ? (
          <>
            <BatchTable batches={s.batches} models={s.models} chainTime={s.chainTime} takenAt={snap!.at} token={s.token} onLookup={(id) => setLookupId(id)} />
            <h3>Is a claim of a batch settled?</h3>
            <LeafLookup batches={s.batches} batchId={lookupId} onBatchId={setLookupId} check={checkLeaf} />
          </>
        ) : null}
      </section>
      <section><h2>Providers and challengers</h2>{s ? <ProviderTable providers={s.providers} token={s.token} /> : null}</section>
    </main>
  );
}
