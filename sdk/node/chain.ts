// What both daemons need of the chain: viem clients from an RPC URL and a key, the ozk contracts, the
// one transaction path (simulate, send, wait; retried on transport errors), and model packages by modelId.
import {
  createPublicClient,
  createWalletClient,
  http,
  type Account,
  type Chain,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { claimManagerAbi, modelRegistryAbi } from "../abi.ts";
import { simulateAndWrite } from "../client.ts";
import { addressOf, type Deployment } from "../deployments.ts";
import { ConfigError, errorSummary, isRetryable } from "../errors.ts";
import { EventCursor } from "./cursor.ts";
import { runDaemon, type DaemonHandle } from "./daemon.ts";
import { startServer, type OpsServer, type Route } from "./server.ts";
import { loadDeployment } from "./deployments.ts";
import { createLogger, type Logger } from "./logger.ts";
import { Metrics } from "./metrics.ts";
import { loadModels, type ServedModel } from "./models.ts";
import { openStore, type Store } from "./store.ts";
import { withRetry } from "./retry.ts";

export const erc20Abi = [
  { type: "function", name: "balanceOf", stateMutability: "view", inputs: [{ name: "a", type: "address" }], outputs: [{ type: "uint256" }] },
  { type: "function", name: "allowance", stateMutability: "view", inputs: [{ name: "o", type: "address" }, { name: "s", type: "address" }], outputs: [{ type: "uint256" }] },
  { type: "function", name: "approve", stateMutability: "nonpayable", inputs: [{ name: "s", type: "address" }, { name: "v", type: "uint256" }], outputs: [{ type: "bool" }] },
] as const;

export interface Chainable {
  publicClient: PublicClient<Transport, Chain | undefined>;
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  account: Account;
  deployment: Deployment;
  logger: Logger;
  signal?: AbortSignal;
}

/** viem clients for a daemon. The chain id comes from the deployment; the RPC must agree (checked at start). */
export function chainClients(rpcUrl: string, privateKey: Hex, deployment: Deployment): Pick<Chainable, "publicClient" | "walletClient" | "account"> {
  const chain: Chain = {
    id: deployment.chainId,
    name: deployment.network ?? `chain-${deployment.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  };
  // viem retries transport failures itself (429, 5xx, timeouts) with backoff.
  const transport = http(rpcUrl, { retryCount: 4, retryDelay: 250, timeout: 30_000 });
  const account = privateKeyToAccount(privateKey);
  return {
    account,
    publicClient: createPublicClient({ chain, transport, pollingInterval: 250 }),
    walletClient: createWalletClient({ chain, transport, account }),
  };
}

export async function checkChainId(c: Chainable): Promise<void> {
  const id = await c.publicClient.getChainId();
  if (id !== c.deployment.chainId) {
    throw new ConfigError(`the RPC is on chain ${id}, the deployment on chain ${c.deployment.chainId}`, [`chainId: ${id} != ${c.deployment.chainId}`]);
  }
}

export const claimsAddress = (c: Chainable) => addressOf(c.deployment, "claims");
export const registryAddress = (c: Chainable) => addressOf(c.deployment, "registry");

type ClaimsWrite = Parameters<typeof simulateAndWrite<typeof claimManagerAbi, never>>[2];

/** Simulate + send + wait on the claims contract, retrying transport errors (a revert is final). */
export async function sendClaims(c: Chainable, functionName: string, args: readonly unknown[]): Promise<Hash> {
  const { hash } = await withRetry(
    () => simulateAndWrite(c.publicClient, c.walletClient, { address: claimsAddress(c), abi: claimManagerAbi, functionName, args } as unknown as ClaimsWrite),
    { retries: 4, signal: c.signal, onRetry: (err, attempt, delayMs) => c.logger.warn({ err: String(err), attempt, delayMs, functionName }, "retrying transaction") },
  );
  return hash;
}

export async function readClaims<T>(c: Chainable, functionName: string, args: readonly unknown[] = []): Promise<T> {
  return withRetry(
    () => c.publicClient.readContract({ address: claimsAddress(c), abi: claimManagerAbi, functionName, args } as never) as Promise<T>,
    { retries: 4, signal: c.signal },
  );
}

export async function readRegistry<T>(c: Chainable, functionName: string, args: readonly unknown[] = []): Promise<T> {
  return withRetry(
    () => c.publicClient.readContract({ address: registryAddress(c), abi: modelRegistryAbi, functionName, args } as never) as Promise<T>,
    { retries: 4, signal: c.signal },
  );
}

/** Makes sure the daemon's free stake is at least `need`, staking from its token balance (approving first). */
export async function ensureFreeStake(c: Chainable, need: bigint, topUpTo: bigint): Promise<bigint> {
  const free = await readClaims<bigint>(c, "freeStake", [c.account.address]);
  if (free >= need) return free;
  const token = addressOf(c.deployment, "token");
  const balance = await c.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [c.account.address] });
  const amount = (topUpTo > need ? topUpTo : need) - free;
  const stake = amount <= balance ? amount : balance;
  if (free + stake < need) {
    c.logger.error({ free, balance, need }, "not enough tokens to stake the bond");
    return free;
  }
  const allowance = await c.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "allowance", args: [c.account.address, claimsAddress(c)] });
  if (allowance < stake) {
    await withRetry(() => simulateAndWrite(c.publicClient, c.walletClient, { address: token, abi: erc20Abi, functionName: "approve", args: [claimsAddress(c), stake] }), { retries: 4 });
  }
  await sendClaims(c, "stake", [stake]);
  c.logger.info({ staked: stake, free: free + stake }, "staked");
  return free + stake;
}

/** Withdraws every credit the account has (fees, refunds). Returns the amount. */
export async function withdrawCredits(c: Chainable): Promise<bigint> {
  const credit = await readClaims<bigint>(c, "credits", [c.account.address]);
  if (credit === 0n) return 0n;
  await sendClaims(c, "withdraw", [credit]);
  c.logger.info({ amount: credit }, "withdrew credits");
  return credit;
}

/** What every ozk daemon's context holds; the daemon adds its config. */
export interface DaemonBase extends Chainable {
  store: Store;
  cursor: EventCursor;
  models: Map<Hex, ServedModel>;
  metrics: Metrics;
  signal: AbortSignal;
}

/** Builds a daemon's base context from the fields both daemons' configs share. */
export async function createDaemonBase(
  name: string,
  config: { rpcUrl: string; privateKey: string; deployment: string; store: string; confirmations: number; logLevel: string; models: ReadonlyArray<{ package: string; modelId?: string }> },
  logger?: Logger,
): Promise<DaemonBase> {
  const log = logger ?? createLogger({ name, level: config.logLevel as never });
  const deployment = loadDeployment(config.deployment);
  const clients = chainClients(config.rpcUrl, config.privateKey as Hex, deployment);
  const base = { ...clients, deployment, logger: log };
  await checkChainId(base);
  const models = loadModels(config.models, deployment);
  const store = openStore(config.store);
  return {
    ...base,
    store,
    cursor: new EventCursor({
      client: clients.publicClient as never,
      store,
      key: `${name}/claims`,
      fromBlock: BigInt(deployment.deployBlock),
      confirmations: config.confirmations,
      address: claimsAddress(base),
      logger: log,
    }),
    models,
    metrics: new Metrics({ prefix: `ozk_${name}_`, defaultLabels: { service: name } }),
    signal: new AbortController().signal,
  };
}

/**
 * Runs one job's or claim's action so that its failure does not stop the others. A revert (FatalError from
 * simulation, e.g. someone settled the claim first) is logged as a warning: the next step re-reads the chain.
 * Transport errors propagate, so the run loop backs off.
 */
export async function isolated(ctx: { logger: Logger }, about: Record<string, unknown>, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (isRetryable(err)) throw err;
    ctx.logger.warn({ ...about, err: errorSummary(err) }, "action failed; retrying next step");
  }
}


export interface RunningDaemon<C extends DaemonBase> {
  ctx: C;
  daemon: DaemonHandle;
  server: OpsServer;
  stop(): Promise<void>;
}

/** Runs a daemon's step loop with its ops server (/healthz, /metrics and the daemon's own routes). */
export async function startDaemonService<C extends DaemonBase>(
  name: string,
  ctx: C,
  step: (ctx: C) => Promise<void>,
  o: { intervalMs: number; port: number; routes?: Route[]; handleSignals?: boolean },
): Promise<RunningDaemon<C>> {
  const daemon = runDaemon({ name, context: ctx, step, intervalMs: o.intervalMs, metrics: ctx.metrics, handleSignals: o.handleSignals });
  const server = await startServer({ port: o.port, metrics: ctx.metrics, logger: ctx.logger, health: () => daemon.health(), routes: o.routes });
  ctx.logger.info({ url: server.url, models: [...ctx.models.values()].map((m) => m.name), account: ctx.account.address }, `${name} listening`);
  return {
    ctx,
    daemon,
    server,
    async stop() {
      await daemon.stop("stop");
      await server.close();
      ctx.store.close();
    },
  };
}
