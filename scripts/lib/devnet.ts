// A development net for end-to-end runs: an embedded chain served over JSON-RPC, ozk deployed with the MNIST MLP
// registered, funded actors, daemons as processes, and chain readers. Used by the load benchmark and the
// end-to-end tests (test/e2e/harness.ts adds fault injection and assertions on top).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createPublicClient, createWalletClient, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { claimManagerAbi } from "../../sdk/abi.ts";
import type { Deployment } from "../../sdk/deployments.ts";
import type { ClaimFields } from "../../sdk/protocol.ts";
import { loadPackage, type LoadedPackage } from "../../circuits/compiler/package.ts";
import { deployerFor, deployOzk, mintDevTokens, registerPackage, saveDeployment } from "../../runtime/deploy.ts";
import { devKey, startLocalChain, type LocalChain } from "../../runtime/localnet.ts";
import { spawnDaemon, type DaemonProcess } from "../../runtime/processes.ts";

export const PKG = resolve("models/mnist-mlp");
export const TOKEN = 10n ** 18n;
export const WINDOWS = { challengeWindow: 600, proofWindow: 1800 };
export const BONDS = { minProviderBond: 100n * TOKEN, minChallengerBond: 50n * TOKEN };

export interface Net {
  chain: LocalChain;
  work: string;
  deployment: Deployment;
  deploymentFile: string;
  modelId: Hex;
  pkg: LoadedPackage;
  keys: { deployer: Hex; honest: Hex; cheater: Hex; challenger: Hex; consumer: Hex };
  addr: Record<"deployer" | "honest" | "cheater" | "challenger" | "consumer", Address>;
  pc: ReturnType<typeof createPublicClient>;
  claims: { address: Address; abi: typeof claimManagerAbi };
  daemons: DaemonProcess[];
  close(): Promise<void>;
}

export async function startNet(label: string): Promise<Net> {
  const work = mkdtempSync(join(tmpdir(), `ozk-e2e-${label}-`));
  mkdirSync(work, { recursive: true });
  const chain = await startLocalChain();
  const keys = { deployer: devKey(0), honest: devKey(1), cheater: devKey(2), challenger: devKey(3), consumer: devKey(4) };
  const addr = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, privateKeyToAccount(v).address])) as Net["addr"];
  const deployer = await deployerFor(chain.url, keys.deployer);
  // No audits unless a test sets the model's policy (BatchManager.setAuditPolicy, which single claims read too): at the
  // default 1% a claim now and then would be selected and proven instead of finalized, and a test waiting for one
  // outcome would fail at random.
  const deployment = await deployOzk(deployer, { network: "e2e", auditRateBps: 0 });
  const { modelId } = await registerPackage(deployer, deployment, PKG, { ...WINDOWS, ...BONDS });
  const deploymentFile = saveDeployment(deployment, join(work, "deployment.json"));
  for (const who of ["honest", "cheater", "challenger", "consumer"] as const) {
    await mintDevTokens(deployer, deployment, addr[who], 10_000n * TOKEN);
  }
  const pc = createPublicClient({ transport: http(chain.url), pollingInterval: 100 });
  const net: Net = {
    chain,
    work,
    deployment,
    deploymentFile,
    modelId,
    pkg: loadPackage(PKG),
    keys,
    addr,
    pc,
    claims: { address: deployment.addresses.claims, abi: claimManagerAbi },
    daemons: [],
    async close() {
      await Promise.all(net.daemons.map((d) => d.stop(true)));
      await chain.close();
      rmSync(work, { recursive: true, force: true }); // stores, configs and logs of this net only
    },
  };
  return net;
}

type Role = "honest" | "cheater" | "challenger";

/** Starts a daemon for an actor; `rpcUrl` lets a test put a fault proxy in between. */
export function daemon(net: Net, who: Role, extra: Record<string, unknown> = {}): DaemonProcess {
  const role = who === "challenger" ? "challenger" : "provider";
  const base = {
    rpcUrl: net.chain.url,
    deployment: net.deploymentFile,
    models: [{ package: PKG }],
    intervalMs: 200,
    privateKey: net.keys[who],
    stakeTarget: String(500n * TOKEN),
    logLevel: "debug",
    ...(who === "cheater" ? { faults: { wrongOutputRate: 1 }, answerRequests: false } : {}),
  };
  const d = spawnDaemon(role, who, net.work, { ...base, ...extra });
  net.daemons.push(d);
  return d;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export async function submittedClaim(net: Net, claimId: Hex): Promise<{ claim: ClaimFields; outputs: readonly bigint[] }> {
  const logs = await net.pc.getContractEvents({ ...net.claims, eventName: "ClaimSubmitted", args: { claimId }, fromBlock: 0n, strict: true });
  const a = logs[0]!.args;
  return { claim: a.claim, outputs: a.outputs };
}

export function wallet(net: Net, who: keyof Net["keys"]) {
  return createWalletClient({ account: privateKeyToAccount(net.keys[who]), transport: http(net.chain.url), chain: undefined });
}

export async function freeStake(net: Net, who: Address): Promise<bigint> {
  return net.pc.readContract({ ...net.claims, functionName: "freeStake", args: [who] });
}
