// What both daemons need of the chain: viem clients from an RPC URL and a key, the ozk contracts, the
// one transaction path (simulate, send, wait; retried on transport errors), and model packages by modelId.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import {
  createPublicClient,
  createWalletClient,
  erc20Abi,
  http,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type ContractFunctionReturnType,
  type Hash,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { batchManagerAbi, claimManagerAbi, modelRegistryAbi } from "../sdk/abi.ts";
import { simulateAndWrite } from "../sdk/client.ts";
import { addressOf, assertChainId, type Deployment } from "../sdk/deployments.ts";
import { ConfigError, errorSummary, isRetryable, type OzkError } from "../sdk/errors.ts";
import { EventCursor } from "../sdk/node/cursor.ts";
import { runDaemon, type DaemonHandle } from "../sdk/node/daemon.ts";
import { startServer, type OpsServer, type Route } from "../sdk/node/server.ts";
import { deploymentFile, loadDeployment } from "../sdk/node/deployments.ts";
import { DEFAULT_RPC_TIMEOUT_MS, FundsWatch, RpcWatch, daemonHealth, displayUrl, probeClient, rpcCall, type HealthSettings } from "../sdk/node/health.ts";
import { createLogger, type Logger } from "../sdk/node/logger.ts";
import { Metrics } from "../sdk/node/metrics.ts";
import { assertEntryMatches, loadModels, ModelFolder, type ServedModel } from "./models.ts";
import { DEV_CHAIN_ID, SetupKind, type ModelEntry } from "../sdk/protocol.ts";
import { openStore, type Store } from "../sdk/node/store.ts";
import { withRetry } from "../sdk/node/retry.ts";

export interface Chainable {
  publicClient: PublicClient<Transport, Chain | undefined>;
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  account: Account;
  deployment: Deployment;
  logger: Logger;
  signal?: AbortSignal;
  /** When set, ensureFreeStake reports here whether one bond is covered (logged once per change, on /healthz). */
  funds?: FundsWatch;
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

export const claimsAddress = (c: Chainable) => addressOf(c.deployment, "claims");
export const registryAddress = (c: Chainable) => addressOf(c.deployment, "registry");
/** BatchManager (Merkle-batched claims and audits); a deployment made before it has none (a ConfigError naming it). */
export const batchesAddress = (c: Chainable) => addressOf(c.deployment, "batchManager");

type ClaimsAbi = typeof claimManagerAbi;
type RegistryAbi = typeof modelRegistryAbi;
/** A state-changing function of the claims contract, and its arguments as the generated ABI types them. */
export type ClaimsWriteName = ContractFunctionName<ClaimsAbi, "nonpayable">;
export type ClaimsWriteArgs<fn extends ClaimsWriteName> = ContractFunctionArgs<ClaimsAbi, "nonpayable", fn>;
type ClaimsReadName = ContractFunctionName<ClaimsAbi, "view" | "pure">;
type RegistryReadName = ContractFunctionName<RegistryAbi, "view" | "pure">;
type BatchesAbi = typeof batchManagerAbi;
export type BatchesWriteName = ContractFunctionName<BatchesAbi, "nonpayable">;
type BatchesReadName = ContractFunctionName<BatchesAbi, "view" | "pure">;

/** Simulate + send + wait on the claims contract, retrying transport errors (a revert is final). */
export async function sendClaims<fn extends ClaimsWriteName>(c: Chainable, functionName: fn, args: ClaimsWriteArgs<fn>, opts: { gas?: bigint } = {}): Promise<Hash> {
  const { hash } = await withRetry(
    // The cast keeps viem's deep generics from exploding; the signature above is fully typed.
    () => simulateAndWrite(c.publicClient, c.walletClient, { address: claimsAddress(c), abi: claimManagerAbi, functionName, args, ...(opts.gas === undefined ? {} : { gas: opts.gas }) } as never),
    { retries: 4, signal: c.signal, onRetry: (err, attempt, delayMs) => c.logger.warn({ err: String(err), attempt, delayMs, functionName }, "retrying transaction") },
  );
  return hash;
}

/** A view of the claims contract, typed from the generated ABI; transport errors are retried. */
export async function readClaims<fn extends ClaimsReadName>(
  c: Chainable,
  functionName: fn,
  args: ContractFunctionArgs<ClaimsAbi, "view" | "pure", fn>,
): Promise<ContractFunctionReturnType<ClaimsAbi, "view" | "pure", fn>> {
  return withRetry(
    () => c.publicClient.readContract({ address: claimsAddress(c), abi: claimManagerAbi, functionName, args } as never) as Promise<ContractFunctionReturnType<ClaimsAbi, "view" | "pure", fn>>,
    { retries: 4, signal: c.signal },
  );
}

/** Simulate + send + wait on BatchManager, retrying transport errors (a revert is final). */
export async function sendBatches<fn extends BatchesWriteName>(c: Chainable, functionName: fn, args: ContractFunctionArgs<BatchesAbi, "nonpayable", fn>, opts: { gas?: bigint } = {}): Promise<Hash> {
  const { hash } = await withRetry(
    () => simulateAndWrite(c.publicClient, c.walletClient, { address: batchesAddress(c), abi: batchManagerAbi, functionName, args, ...(opts.gas === undefined ? {} : { gas: opts.gas }) } as never),
    { retries: 4, signal: c.signal, onRetry: (err, attempt, delayMs) => c.logger.warn({ err: String(err), attempt, delayMs, functionName }, "retrying transaction") },
  );
  return hash;
}

/** A view of BatchManager, typed from the generated ABI; transport errors are retried. */
export async function readBatches<fn extends BatchesReadName>(
  c: Chainable,
  functionName: fn,
  args: ContractFunctionArgs<BatchesAbi, "view" | "pure", fn>,
): Promise<ContractFunctionReturnType<BatchesAbi, "view" | "pure", fn>> {
  return withRetry(
    () => c.publicClient.readContract({ address: batchesAddress(c), abi: batchManagerAbi, functionName, args } as never) as Promise<ContractFunctionReturnType<BatchesAbi, "view" | "pure", fn>>,
    { retries: 4, signal: c.signal },
  );
}

/**
 * Makes sure the account's free stake in BatchManager (its own books, apart from ClaimManager's) is at least
 * `need`, staking up to `topUpTo` from the token balance (approving BatchManager first). Returns the free stake.
 * Idempotent: read from the chain each time.
 */
export async function ensureBatchStake(c: Chainable, need: bigint, topUpTo = need): Promise<bigint> {
  const free = await readBatches(c, "freeStake", [c.account.address]);
  if (free >= need) return free;
  const balance = await tokenBalance(c);
  const want = (topUpTo > need ? topUpTo : need) - free;
  const amount = want <= balance ? want : balance;
  if (free + amount < need) {
    c.logger.error({ free, balance, need }, "not enough tokens to stake in BatchManager");
    return free;
  }
  const token = addressOf(c.deployment, "token");
  const spender = batchesAddress(c);
  const allowance = await c.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "allowance", args: [c.account.address, spender] });
  if (allowance < amount) {
    await withRetry(() => simulateAndWrite(c.publicClient, c.walletClient, { address: token, abi: erc20Abi, functionName: "approve", args: [spender, amount] }), { retries: 4 });
  }
  await sendBatches(c, "stake", [amount]);
  c.logger.info({ staked: amount, free: free + amount }, "staked in BatchManager");
  return free + amount;
}

/** Withdraws the account's BatchManager credits (audit fees). Returns the amount. */
export async function withdrawBatchCredits(c: Chainable): Promise<bigint> {
  const credit = await readBatches(c, "credits", [c.account.address]);
  if (credit === 0n) return 0n;
  await sendBatches(c, "withdraw", [credit]);
  c.logger.info({ amount: credit }, "withdrew BatchManager credits");
  return credit;
}

/** A view of the registry, typed from the generated ABI; transport errors are retried. */
export async function readRegistry<fn extends RegistryReadName>(
  c: Chainable,
  functionName: fn,
  args: ContractFunctionArgs<RegistryAbi, "view" | "pure", fn>,
): Promise<ContractFunctionReturnType<RegistryAbi, "view" | "pure", fn>> {
  return withRetry(
    () => c.publicClient.readContract({ address: registryAddress(c), abi: modelRegistryAbi, functionName, args } as never) as Promise<ContractFunctionReturnType<RegistryAbi, "view" | "pure", fn>>,
    { retries: 4, signal: c.signal },
  );
}

/** The registry entry of `modelId` (throws when the registry does not know it). */
export async function readModelEntry(c: Chainable, modelId: Hex): Promise<ModelEntry> {
  return { ...(await readRegistry(c, "getModel", [modelId])) };
}

/**
 * Checks every served model's registry entry against its package (verifier code hash, weights commitment,
 * output shape, setup kind): a FatalError naming the field and both values stops the daemon before it stakes,
 * claims or challenges on a model that is not the one it runs.
 */
export async function checkModelEntries(c: Chainable, models: Map<Hex, ServedModel>, allowUnsafeSetup = false): Promise<void> {
  for (const model of models.values()) {
    const entry = await readModelEntry(c, model.modelId);
    assertEntryMatches(model, entry);
    if (entry.setupKind === SetupKind.UnsafeDev && c.deployment.chainId !== DEV_CHAIN_ID && !allowUnsafeSetup) {
      throw new ConfigError(
        `${model.name}: its registry entry declares an unsafe-dev setup on chain ${c.deployment.chainId}: the key's toxic waste is public, so anyone ` +
          `can forge a counter-proof against an honest claim and take its bond. Serve only models with a sound setup here, or set ` +
          `allowUnsafeSetup: true if this chain holds nothing of value.`,
        [`setupKind: unsafe-dev on chain ${c.deployment.chainId}`],
      );
    }
    c.logger.info({ model: model.name, modelId: model.modelId }, "registry entry matches the package");
  }
}

/** Gas of a settlement (prove or finalize) without a consumer callback, with room to spare: a proof's
 *  verification is about 300k gas with a few public signals, finalize about 80k. */
const SETTLEMENT_GAS = { prove: 1_500_000n, finalize: 400_000n } as const;

/**
 * An explicit gas limit for settling `claim` when it answers a request with a consumer callback, else undefined
 * (the node estimates). The contract requires the callback's full gas (limit + limit/63 + reserve) to be left when
 * it calls the consumer, and a callback that burns all of it makes some nodes' gas estimation fail although the
 * transaction succeeds: a consumer must not be able to stop an honest provider from settling (and so get it slashed).
 */
export async function settlementGas(c: Chainable, kind: keyof typeof SETTLEMENT_GAS, claim: { requestId: bigint }): Promise<bigint | undefined> {
  if (claim.requestId === 0n) return undefined;
  const request = await readClaims(c, "getRequest", [claim.requestId]);
  const cb = BigInt(request.callbackGasLimit);
  if (cb === 0n) return undefined;
  return SETTLEMENT_GAS[kind] + cb + cb / 63n + 100_000n;
}

/** The block in which this daemon's account committed to `commitment` (0n: never, or already revealed). */
export async function commitmentBlock(c: Chainable, commitment: Hex): Promise<bigint> {
  return readClaims(c, "commitments", [c.account.address, commitment]);
}

/**
 * Makes sure `commitment` is on chain for this account, committing it when it is not, and says whether it can be
 * revealed now: only in a block after the one that recorded it. Idempotent: a commitment already on chain is not
 * sent again (committing again would move it to a later block).
 */
export async function ensureCommitted(c: Chainable, commitment: Hex): Promise<{ committedAt: bigint; revealable: boolean; sent: boolean }> {
  let committedAt = await commitmentBlock(c, commitment);
  let sent = false;
  if (committedAt === 0n) {
    await sendClaims(c, "commit", [commitment]);
    committedAt = await commitmentBlock(c, commitment);
    sent = true;
  }
  const head = await c.publicClient.getBlockNumber({ cacheTime: 0 });
  return { committedAt, revealable: committedAt !== 0n && head > committedAt, sent };
}

/** Makes sure the daemon's free stake is at least `need`, staking from its token balance (approving first). */
export async function ensureFreeStake(c: Chainable, need: bigint, topUpTo: bigint): Promise<bigint> {
  const free = await readClaims(c, "freeStake", [c.account.address]);
  if (free >= need) {
    c.funds?.report(c.logger, { need, free, account: c.account.address });
    return free;
  }
  const balance = await tokenBalance(c);
  const amount = (topUpTo > need ? topUpTo : need) - free;
  const stake = amount <= balance ? amount : balance;
  if (free + stake < need) {
    if (c.funds) c.funds.report(c.logger, { need, free, balance, account: c.account.address });
    else c.logger.error({ free, balance, need }, "not enough tokens to stake the bond");
    return free;
  }
  await stakeTokens(c, stake);
  c.logger.info({ staked: stake, free: free + stake }, "staked");
  c.funds?.report(c.logger, { need, free: free + stake, account: c.account.address });
  return free + stake;
}

/** Stakes `amount` of the account's tokens, approving the claims contract first when its allowance is short. */
export async function stakeTokens(c: Chainable, amount: bigint): Promise<void> {
  const token = addressOf(c.deployment, "token");
  const allowance = await c.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "allowance", args: [c.account.address, claimsAddress(c)] });
  if (allowance < amount) {
    await withRetry(() => simulateAndWrite(c.publicClient, c.walletClient, { address: token, abi: erc20Abi, functionName: "approve", args: [claimsAddress(c), amount] }), { retries: 4 });
  }
  await sendClaims(c, "stake", [amount]);
}

/** The account's token balance. */
export async function tokenBalance(c: Chainable): Promise<bigint> {
  return c.publicClient.readContract({ address: addressOf(c.deployment, "token"), abi: erc20Abi, functionName: "balanceOf", args: [c.account.address] });
}

/** Whether the account has sent transactions the chain has not mined yet (its pending nonce is ahead of its mined one). */
export async function hasPendingTransactions(c: Chainable): Promise<boolean> {
  const [pending, mined] = await Promise.all([
    c.publicClient.getTransactionCount({ address: c.account.address, blockTag: "pending" }),
    c.publicClient.getTransactionCount({ address: c.account.address, blockTag: "latest" }),
  ]);
  return pending > mined;
}

/** Withdraws every credit the account has (fees, refunds). Returns the amount. */
export async function withdrawCredits(c: Chainable): Promise<bigint> {
  const credit = await readClaims(c, "credits", [c.account.address]);
  if (credit === 0n) return 0n;
  await sendClaims(c, "withdraw", [credit]);
  c.logger.info({ amount: credit }, "withdrew credits");
  return credit;
}

/**
 * Checks, with a timeout on every call, that the RPC answers, is on the deployment's chain, and that each of
 * the deployment's contract addresses holds code: a deployment file from another chain, or from a chain that
 * was reset, fails here with the address and the file named instead of running with every call reverting.
 */
export async function checkDeploymentOnChain(rpcUrl: string, deployment: Deployment, file: string, timeoutMs = DEFAULT_RPC_TIMEOUT_MS): Promise<void> {
  const client = probeClient(rpcUrl, timeoutMs);
  // A quick transient failure (a 503, a dropped connection) is tried again a few times; a call that timed out
  // is not: the node had its chance, and the operator should hear about it now rather than minutes later.
  const call = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    withRetry(() => rpcCall(rpcUrl, what, timeoutMs, fn), {
      retries: 3,
      baseDelayMs: 250,
      shouldRetry: (err) => !(err as OzkError).meta?.timedOut && isRetryable((err as OzkError).cause),
    });
  const id = await call("eth_chainId", () => client.getChainId());
  assertChainId(id, deployment, { rpc: displayUrl(rpcUrl), file });
  for (const [role, address] of Object.entries(deployment.addresses as Record<string, Address>)) {
    const code = await call(`eth_getCode(${address})`, () => client.getCode({ address }));
    if (code === undefined || code === "0x") {
      throw new ConfigError(
        `the deployment ${file} names ${address} as its ${role} contract, but that address holds no code on chain ${id} (RPC ${displayUrl(rpcUrl)})`,
        [`addresses.${role}: no contract code at ${address}; wrong deployment file, or the chain was reset since the deploy`],
        { docsPath: "sdk.md#deployments" },
      );
    }
  }
}

/** What every ozk daemon's context holds; the daemon adds its config. */
export interface DaemonBase extends Chainable {
  /** The JSON-RPC endpoint, for the liveness probe. */
  rpcUrl: string;
  funds: FundsWatch;
  store: Store;
  cursor: EventCursor;
  models: Map<Hex, ServedModel>;
  /** The folder of packages served as they are registered (config modelsDir), rescanned before each step. */
  modelFolder?: ModelFolder;
  metrics: Metrics;
  signal: AbortSignal;
}

/**
 * A key that holds no native currency cannot send a single transaction: not a claim, a stake, a challenge or a
 * proof. That is a wrong or unfunded `privateKey`, so it is a config error (exit code 2) naming the account, not a
 * daemon that looks healthy while every action fails. (A key short of bond tokens is different: funds may arrive
 * while it runs, so it is warned about once and shown on /healthz, and jobs wait for stake.)
 */
export async function checkGasFunds(c: Pick<Chainable, "publicClient" | "account">, timeoutMs = DEFAULT_RPC_TIMEOUT_MS): Promise<void> {
  const url = (c.publicClient.transport as { url?: string }).url ?? "the RPC";
  const balance = await rpcCall(url, "eth_getBalance", timeoutMs, () => c.publicClient.getBalance({ address: c.account.address }));
  if (balance === 0n) {
    throw new ConfigError(
      `privateKey: account ${c.account.address} holds no native currency to pay gas: fund it, or configure the right key`,
      [`privateKey: account ${c.account.address} has a balance of 0`],
      { docsPath: "daemons.md#start-up-checks" },
    );
  }
}

/** Builds a daemon's base context from the fields both daemons' configs share. */
export async function createDaemonBase(
  name: string,
  config: {
    rpcUrl: string;
    privateKey: string;
    deployment: string;
    store: string;
    confirmations: number;
    logLevel: string;
    models?: ReadonlyArray<{ package: string; modelId?: string }>;
    modelsDir?: string;
    modelsRescanMs?: number;
    health?: HealthSettings;
    allowUnsafeSetup?: boolean;
  },
  logger?: Logger,
): Promise<DaemonBase> {
  const log = logger ?? createLogger({ name, level: config.logLevel as never });
  const file = deploymentFile(config.deployment);
  const deployment = loadDeployment(config.deployment);
  // The packages first: a config error is reported as one (exit code 2) even while the RPC is down.
  if (!config.models?.length && !config.modelsDir) {
    throw new ConfigError("models: give at least one model package, or a modelsDir to serve packages from", ["models: missing (and no modelsDir)"], { docsPath: "daemons.md#configuration" });
  }
  if (config.modelsDir && !(existsSync(config.modelsDir) && statSync(config.modelsDir).isDirectory())) {
    throw new ConfigError(`modelsDir: ${resolve(config.modelsDir)} is not a folder`, [`modelsDir: no folder ${resolve(config.modelsDir)}`], { docsPath: "daemons.md#configuration" });
  }
  const models = loadModels(config.models ?? [], deployment);
  const timeoutMs = config.health?.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  log.info({ rpc: displayUrl(config.rpcUrl), deployment: file, timeoutMs }, `${name}: checking the chain and the deployment`);
  await checkDeploymentOnChain(config.rpcUrl, deployment, file, timeoutMs);
  const clients = chainClients(config.rpcUrl, config.privateKey as Hex, deployment);
  const base = { ...clients, deployment, logger: log };
  await checkGasFunds(base, timeoutMs);
  await checkModelEntries(base, models, config.allowUnsafeSetup ?? false);
  let modelFolder: ModelFolder | undefined;
  if (config.modelsDir) {
    modelFolder = new ModelFolder(config.modelsDir, {
      rescanMs: config.modelsRescanMs ?? 5000,
      deployment: file,
      logger: log,
      check: (m) => checkModelEntries(base, new Map([[m.modelId, m]]), config.allowUnsafeSetup ?? false),
    });
    log.info({ modelsDir: modelFolder.dir, rescanMs: config.modelsRescanMs ?? 5000 }, "serving the model packages of modelsDir as they are registered");
    await modelFolder.scan(models);
  }
  const store = openStore(config.store);
  return {
    ...base,
    rpcUrl: config.rpcUrl,
    funds: new FundsWatch(),
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
    ...(modelFolder ? { modelFolder } : {}),
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
  /** The RPC liveness probe behind /healthz. */
  rpc: RpcWatch;
  stop(): Promise<void>;
}

/**
 * Runs a daemon's step loop with its ops server (/healthz, /metrics and the daemon's own routes) and the RPC
 * liveness probe. /healthz is 503 with the reason while the loop is stale, the RPC does not answer, or the
 * account cannot cover one bond.
 */
export async function startDaemonService<C extends DaemonBase>(
  name: string,
  ctx: C,
  step: (ctx: C) => Promise<void>,
  o: { intervalMs: number; port: number; routes?: Route[]; handleSignals?: boolean; health?: HealthSettings; http?: { requestTimeoutMs?: number; maxBodyBytes?: number } },
): Promise<RunningDaemon<C>> {
  const h = o.health ?? {};
  const rpc = new RpcWatch({ url: ctx.rpcUrl, logger: ctx.logger, timeoutMs: h.rpcTimeoutMs, intervalMs: h.probeIntervalMs });
  rpc.start();
  // A folder of packages is rescanned (when due) before each step; the scan logs and never throws.
  const folder = ctx.modelFolder;
  const scanned = folder
    ? async (c: C): Promise<void> => {
        await folder.rescanIfDue(c.models);
        await step(c);
      }
    : step;
  const daemon = runDaemon({ name, context: ctx, step: scanned, intervalMs: o.intervalMs, metrics: ctx.metrics, handleSignals: o.handleSignals, staleAfterMs: h.staleAfterMs });
  ctx.metrics.gauge("rpc_up", "1 while the RPC answers the liveness probe", [], (g) => g.set(rpc.state().reachable ? 1 : 0));
  let server: OpsServer;
  try {
    server = await startServer({
      port: o.port,
      metrics: ctx.metrics,
      logger: ctx.logger,
      health: () => daemonHealth({ loop: daemon.health(), rpc: rpc.state(), funds: ctx.funds.state() }),
      routes: o.routes,
      ...o.http,
    });
  } catch (err) {
    // The port is taken (or similar): stop what was started, so the process can exit with the error.
    await daemon.stop("server failed to start");
    await rpc.stop();
    throw err;
  }
  // The probe ends with the loop, however the loop ends (stop, signal, fatal error).
  daemon.done.then(() => rpc.stop(), () => rpc.stop());
  ctx.logger.info({ url: server.url, models: [...ctx.models.values()].map((m) => m.name), account: ctx.account.address }, `${name} listening`);
  return {
    ctx,
    daemon,
    server,
    rpc,
    async stop() {
      await daemon.stop("stop");
      await rpc.stop();
      await server.close();
      ctx.store.close();
    },
  };
}
