// Draw a digit, send it as requestInference from the connected test account, then follow the request until its
// answering claim settles and show the settled class.
import { useState } from "react";
import { useAccount, useConnect, usePublicClient, useReadContract, useWalletClient } from "wagmi";
import { erc20Abi, type Address, type Hex, type PublicClient } from "viem";
import { requestInference } from "../../sdk/claims.ts";
import type { Deployment } from "../../sdk/deployments.ts";
import type { ModelView, Snapshot } from "./snapshot.ts";
import { DigitPad } from "./DigitPad.tsx";
import { argmax, quantizePixels } from "./digits.ts";
import { short, tokens } from "./format.ts";

const FEE = 10n * 10n ** 18n;
const REQUEST_STATUS = ["None", "Open", "Claimed", "Fulfilled", "Refunded"];

export function RequestPanel({ deployment, model, snapshot }: { deployment: Deployment; model?: ModelView; snapshot?: Snapshot }) {
  const { address, isConnected } = useAccount();
  const { connectors, connect } = useConnect();
  const publicClient = usePublicClient();
  const { data: walletClient } = useWalletClient();
  const balance = useReadContract({ address: deployment.addresses.token as Address, abi: erc20Abi, functionName: "balanceOf", args: [address!], query: { enabled: !!address && !!deployment.addresses.token, refetchInterval: 2000 } });
  const [frame, setFrame] = useState<Float32Array | null>(null);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string>();
  const [mine, setMine] = useState<{ requestId: bigint; hash: Hex }>();

  const manifest = model?.pkg?.manifest;
  const send = async () => {
    if (!frame || !manifest || !walletClient || !publicClient || !snapshot || !model) return;
    setSending(true); setError(undefined);
    try {
      const values = quantizePixels(manifest, frame);
      const r = await requestInference({ publicClient: publicClient as PublicClient, deployment }, walletClient as never, {
        modelId: model.modelId, values, bits: manifest.inputBits, fee: FEE, expiry: snapshot.chainTime + 3600n,
      });
      setMine({ requestId: r.requestId, hash: r.hash });
    } catch (err) {
      setError(err instanceof Error ? err.message.split("\n")[0] : String(err));
    } finally {
      setSending(false);
    }
  };

  const request = mine && snapshot?.requests.find((r) => r.requestId === mine.requestId);
  const claim = request && BigInt(request.claimId) !== 0n ? snapshot?.claims.find((c) => c.claimId.toLowerCase() === request.claimId.toLowerCase()) : undefined;
  const settled = request?.status === 3 && claim ? argmax(claim.outputs) : undefined;

  return (
    <div className="request">
      <DigitPad onFrame={setFrame} />
      <div className="request-side">
        {isConnected ? (
          <p>account <code data-testid="account">{short(address!, 4)}</code> · {balance.data !== undefined ? tokens(balance.data, snapshot?.token ?? { symbol: "tokens", decimals: 18 }) : "…"}</p>
        ) : (
          <p><button type="button" data-testid="connect" onClick={() => connectors[0] && connect({ connector: connectors[0] })}>connect test account</button> <span className="sub">reading needs no wallet</span></p>
        )}
        <button type="button" data-testid="send" disabled={!isConnected || !frame || !model || sending} onClick={() => void send()}>
          {sending ? "sending…" : `request classification from ${model?.name ?? "…"} (fee ${tokens(FEE, snapshot?.token)})`}
        </button>
        {error ? <p className="bad" data-testid="error">{error}</p> : null}
        {mine ? (
          <div className="tracker" data-testid="tracker">
            <p>request <b>#{mine.requestId.toString()}</b> <span className="sub">tx {short(mine.hash)}</span></p>
            <p>request: <b data-testid="request-status">{request ? REQUEST_STATUS[request.status] : "…"}</b>
              {claim ? <> · claim {short(claim.claimId)}: <b data-testid="my-claim-status">{claim.statusName}</b> (class {argmax(claim.outputs)} claimed{request?.status === 3 ? ", settled" : ", not settled yet"})</> : " · waiting for a provider"}</p>
            {settled !== undefined ? <p className="settled">settled class: <b data-testid="settled-class">{settled}</b></p> : null}
          </div>
        ) : null}
      </div>
    </div>
  );
}
