// The page: models, the digit request panel, live claims and providers, refreshed from the chain every second.
import { useEffect, useState } from "react";
import { usePublicClient } from "wagmi";
import type { PublicClient } from "viem";
import type { Deployment } from "../../sdk/deployments.ts";
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
  const model = s?.models.find((m) => m.pkg && m.pkg.manifest.inputLength === 784) ?? s?.models[0];
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
      <section><h2>Models</h2>{s ? <ModelTable models={s.models} /> : <p className="empty">loading…</p>}</section>
      <section>
        <h2>Ask a model: draw a digit</h2>
        <RequestPanel deployment={deployment} model={model} snapshot={s} />
        {deployment.chainId === 31337 ? (
          <p className="sub">local chain: <button type="button" data-testid="skip" onClick={() => void skip((model?.challengeWindow ?? 600) + 1)}>skip the challenge window</button></p>
        ) : null}
      </section>
      <section><h2>Claims</h2>{s ? <ClaimTable claims={s.claims} models={s.models} chainTime={s.chainTime} takenAt={snap!.at} /> : null}</section>
      <section><h2>Providers and challengers</h2>{s ? <ProviderTable providers={s.providers} /> : null}</section>
    </main>
  );
}
