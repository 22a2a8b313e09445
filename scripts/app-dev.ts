// `npx tsx scripts/app-dev.ts [--port 5173] [--no-build]`: the web page against a fresh local demo chain.
// Starts the embedded chain, deploys ozk, registers mnist-mlp, funds the page's test account, runs an honest
// provider and a challenger as processes, builds the page and serves it with /deployment.json and an /rpc proxy.
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { privateKeyToAccount } from "viem/accounts";
import type { Deployment } from "../sdk/deployments.ts";
import { buildApp, serveApp, type AppServer } from "../app/serve.ts";
import { devKey, startLocalChain, type LocalChain } from "./lib/localnet.ts";
import { spawnDaemon, type DaemonProcess } from "./lib/processes.ts";
import { deployerFor, deployOzk, mintDevTokens, registerPackage, saveDeployment } from "../runtime/deploy.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PKG = join(root, "models", "mnist-mlp");
const TOKEN = 10n ** 18n;
/** Dev account the page's wallet uses (the demo's "consumer"). */
export const APP_ACCOUNT_INDEX = 4;

export interface AppStack {
  chain: LocalChain;
  deployment: Deployment;
  server: AppServer;
  daemons: DaemonProcess[];
  work: string;
  close(): Promise<void>;
}

export async function startAppStack(o: { port?: number; build?: boolean; challengeWindow?: number; proofWindow?: number; work?: string } = {}): Promise<AppStack> {
  const work = o.work ?? join(root, ".ozk", "app-dev");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const chain = await startLocalChain();
  const keys = { deployer: devKey(0), honest: devKey(1), challenger: devKey(3), app: devKey(APP_ACCOUNT_INDEX) };
  const deployer = await deployerFor(chain.url, keys.deployer);
  const deployment = await deployOzk(deployer, { network: "app-dev", protocolFeeBps: 500, slashRewardBps: 5000 });
  await registerPackage(deployer, deployment, PKG, {
    challengeWindow: o.challengeWindow ?? 120, proofWindow: o.proofWindow ?? 600,
    minProviderBond: 100n * TOKEN, minChallengerBond: 50n * TOKEN,
  });
  const deploymentFile = saveDeployment(deployment, join(work, "deployment.json"));
  const testAccount = privateKeyToAccount(keys.app).address;
  for (const k of [keys.honest, keys.challenger, keys.app]) {
    await mintDevTokens(deployer, deployment, privateKeyToAccount(k).address, 10_000n * TOKEN);
  }
  const common = { rpcUrl: chain.url, deployment: deploymentFile, models: [{ package: PKG }], intervalMs: 300 };
  const daemons = [
    spawnDaemon("provider", "honest", work, { ...common, privateKey: keys.honest, stakeTarget: String(1000n * TOKEN) }),
    spawnDaemon("challenger", "challenger", work, { ...common, privateKey: keys.challenger, stakeTarget: String(500n * TOKEN), sampling: { policy: "all" } }),
  ];
  if (o.build !== false) buildApp();
  const server = await serveApp({ rpcUrl: chain.url, deployment, testAccount, port: o.port });
  return {
    chain, deployment, server, daemons, work,
    async close() {
      await server.close();
      await Promise.all(daemons.map((d) => d.stop()));
      await chain.close();
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const portAt = args.indexOf("--port");
  const port = portAt >= 0 ? Number(args[portAt + 1]) : 5173;
  const stack = await startAppStack({ port, build: !args.includes("--no-build") });
  console.log(`ozk page: ${stack.server.url}`);
  console.log(`chain ${stack.chain.url}; honest provider + challenger running (logs: ${stack.work}/*.log); Ctrl-C stops`);
  const stop = () => void stack.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`app-dev failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
