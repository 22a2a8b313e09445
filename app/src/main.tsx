// Entry: fetch the served deployment and model packages, set up wagmi (HTTP to the chain through /rpc, a mock
// connector holding the local chain's test account), render the page.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { WagmiProvider, createConfig, http, mock } from "wagmi";
import { defineChain, type Address } from "viem";
import { parseDeployment } from "../../sdk/deployments.ts";
import type { PackageInfo } from "./snapshot.ts";
import { App } from "./App.tsx";

async function getJson<T>(path: string): Promise<T | undefined> {
  const res = await fetch(path);
  return res.ok ? ((await res.json()) as T) : undefined;
}

async function start(): Promise<void> {
  const root = createRoot(document.getElementById("root")!);
  const raw = await getJson<Record<string, unknown>>("/deployment.json");
  if (!raw) {
    root.render(<p>No /deployment.json served: start the page with <code>npm run ozk -- dev</code>.</p>);
    return;
  }
  const deployment = parseDeployment(raw, "/deployment.json");
  const rpcUrl = typeof raw.rpcUrl === "string" ? new URL(raw.rpcUrl, location.href).href : new URL("/rpc", location.href).href;
  const packages: Record<string, PackageInfo> = {};
  for (const name of Object.keys(deployment.models)) {
    const manifest = await getJson<PackageInfo["manifest"]>(`/models/${name}/manifest.json`);
    if (manifest) {
      packages[name] = {
        manifest,
        training: await getJson<PackageInfo["training"]>(`/models/${name}/training.json`),
        fidelity: await getJson<PackageInfo["fidelity"]>(`/models/${name}/fidelity.json`),
      };
    }
  }
  const chain = defineChain({
    id: deployment.chainId, name: `ozk ${deployment.network ?? "local"}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } },
  });
  const testAccount = typeof raw.testAccount === "string" ? (raw.testAccount as Address) : undefined;
  const config = createConfig({
    chains: [chain],
    transports: { [chain.id]: http(rpcUrl) },
    // The local chain signs for its own dev accounts (eth_sendTransaction), like a browser wallet would.
    connectors: testAccount ? [mock({ accounts: [testAccount] })] : [],
    pollingInterval: 500,
  });
  root.render(
    <StrictMode>
      <WagmiProvider config={config}>
        <QueryClientProvider client={new QueryClient()}>
          <App deployment={deployment} packages={packages} />
        </QueryClientProvider>
      </WagmiProvider>
    </StrictMode>,
  );
}

void start();
