// `npm run bench -- soak [--minutes N]`: a chaos soak of the whole system, not a test (it never runs in CI).
// An embedded chain (transactions mined at once, a block at least every second, timestamps following the clock, so a
// window lasts its configured seconds however busy the chain is), ozk deployed, the MNIST MLP registered with short
// windows, and as processes: an honest provider proving on a prover service (local fallback), a cheating provider (a
// share of its claims wrong), a challenger (re-executes every claim) and that prover service. For N minutes (30):
//   - a load generator posts distinct inputs to both providers' POST /infer (a target rate, held back while a
//     provider has too many accepted jobs not yet claimed on chain, so it runs at what the machine sustains);
//   - every daemon and the prover service is killed with SIGKILL at random and restarted after a random delay
//     (a process that exits on its own is restarted too, and counted);
//   - each daemon reaches the chain through its own JSON-RPC proxy that at random refuses connections (stops
//     listening), blackholes requests (accepts, never answers) for some seconds, and drops the answers to some
//     eth_sendRawTransaction calls after forwarding them (the transaction is sent, the sender never hears);
//   - a third account makes griefing challenges of honest claims, which the honest provider must prove.
// Then the chaos stops and windows pass (drain) until every accepted job is claimed and every claim settled.
// Everything is judged from the chain: jobs accepted vs claimed, honest claims slashed, the cheater's wrong claims
// left unslashed, griefing challenges answered, and the claims contract's solvency. Writes bench-results/soak.json,
// bench-results/soak.md and the soak section of docs/benchmarks.md; exits 1 when a goal is missed.
// Usage: npm run bench -- soak [--minutes 30] [--rate 120] [--seed 1] [--challenge-window 60] [--proof-window 90]
//        [--cheat-share 0.25] [--wrong-rate 0.3] [--max-backlog 100]   (or: npx tsx scripts/bench/soak.ts ...)
import { mulberry32 } from "../lib/random.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { createPublicClient, createWalletClient, erc20Abi, http, parseEventLogs, type Address, type Hex, type Log } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { claimManagerAbi } from "../../sdk/abi.ts";
import { hashVector } from "../../sdk/hash.ts";
import { ClaimStatus, claimStatusName, type ClaimFields } from "../../sdk/protocol.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { loadPackage } from "../../circuits/compiler/package.ts";
import { devKey, startLocalChain } from "../../runtime/localnet.ts";
import { spawnDaemon, type DaemonProcess } from "../../runtime/processes.ts";
import { deployerFor, deployOzk, mintDevTokens, registerPackage, saveDeployment } from "../../runtime/deploy.ts";
import { argValue, isMain, median, RESULTS, ROOT } from "./common.ts";

const PKG = join(ROOT, "models", "mnist-mlp");
const TOKEN = 10n ** 18n;
const BONDS = { minProviderBond: 10n * TOKEN, minChallengerBond: 5n * TOKEN };
const FUNDS = 10_000_000n * TOKEN;

export interface SoakOptions {
  minutes: number;
  /** Target /infer posts per minute over both providers. */
  rate: number;
  seed: number;
  challengeWindow: number;
  proofWindow: number;
  /** Share of posts that go to the cheating provider. */
  cheatShare: number;
  /** Share of the cheater's claims made with a wrong output. */
  wrongRate: number;
  /** Posts to a provider pause while it has this many accepted jobs not yet claimed on chain. */
  maxBacklog: number;
  /** Seconds between SIGKILLs of one process (uniform), and its downtime before the restart. */
  killEvery: [number, number];
  down: [number, number];
  /** Seconds between RPC fault episodes on one proxy, and an episode's length. */
  faultEvery: [number, number];
  faultFor: [number, number];
  /** Share of eth_sendRawTransaction answers dropped (the transaction is forwarded). */
  dropTxRate: number;
  /** Seconds between griefing challenges. */
  griefEvery: [number, number];
}

const DEFAULTS: SoakOptions = {
  minutes: 30,
  rate: 120,
  seed: 1,
  challengeWindow: 60,
  proofWindow: 90,
  cheatShare: 0.25,
  wrongRate: 0.3,
  maxBacklog: 100,
  killEvery: [30, 120],
  down: [1, 15],
  faultEvery: [15, 60],
  faultFor: [2, 10],
  dropTxRate: 0.05,
  griefEvery: [15, 45],
};

type Who = "honest" | "cheater";
type Stats = { median: number; p95: number; max: number; n: number };

export interface SoakResult {
  date: string;
  machine: { cpu: string; cores: number; memoryGB: number; load1AtStart: number };
  options: SoakOptions;
  workDir: string;
  seconds: { setup: number; chaos: number; drain: number; total: number };
  drainedCleanly: boolean;
  claims: { total: number; perMinute: number; honest: number; cheater: number; other: number; byStatus: Record<string, number> };
  jobs: Record<Who, { posted: number; accepted: number; rejected: number; rejectedBy: Record<string, number>; throttled: number; claimed: number; lost: number }>;
  /** Accepted jobs by the status GET /jobs/:id reports after the drain (a claimed job should say "claimed"). */
  jobStatus: Record<Who, Record<string, number>>;
  /** Time to an answer of those GET /jobs/:id polls (16 at a time; retries included), by provider. */
  jobPollMs: Record<Who, Stats>;
  acceptToClaimMs: Stats;
  honest: { claims: number; slashed: number; bondLost: string; challengedByChallenger: number };
  cheater: { claims: number; wrong: number; wrongSlashed: number; wrongNotSlashed: number; correctSlashed: number };
  griefing: { attempts: number; challenges: number; answered: number; slashed: number; open: number; sendFailed: number; answerLatencyMs: Stats };
  processes: Record<string, { kills: number; ownExits: number; exitCodes: string[]; errorLines: number; topErrors: Array<{ msg: string; count: number }> }>;
  rpcFaults: Record<string, ProxyStats>;
  solvency: { balance: string; liabilities: string; surplus: string; solvent: boolean; exact: boolean };
  goals: Array<{ goal: string; value: number | string; target: string; ok: boolean }>;
  ok: boolean;
}

// ------------------------------------------------------------------ small helpers

function parseOptions(argv: string[]): SoakOptions {
  const num = (name: string, d: number): number => {
    const v = argValue(argv, name);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a non-negative number, got "${v}"`);
    return n;
  };
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log("usage: npm run bench -- soak [--minutes 30] [--rate 120] [--seed 1] [--challenge-window 60] [--proof-window 90] [--cheat-share 0.25] [--wrong-rate 0.3] [--max-backlog 100]");
    process.exit(0);
  }
  return {
    ...DEFAULTS,
    minutes: num("--minutes", DEFAULTS.minutes),
    rate: num("--rate", DEFAULTS.rate),
    seed: num("--seed", DEFAULTS.seed),
    challengeWindow: num("--challenge-window", DEFAULTS.challengeWindow),
    proofWindow: num("--proof-window", DEFAULTS.proofWindow),
    cheatShare: num("--cheat-share", DEFAULTS.cheatShare),
    wrongRate: num("--wrong-rate", DEFAULTS.wrongRate),
    maxBacklog: num("--max-backlog", DEFAULTS.maxBacklog),
  };
}

const rng = mulberry32;

const between = (rand: () => number, [lo, hi]: [number, number]): number => lo + (hi - lo) * rand();

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}

function stats(xs: number[]): Stats {
  if (!xs.length) return { median: NaN, p95: NaN, max: NaN, n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  return { median: median(s), p95: s[Math.min(s.length - 1, Math.floor(0.95 * s.length))]!, max: s[s.length - 1]!, n: s.length };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const t0 = performance.now();
const clock = () => `${((performance.now() - t0) / 1000).toFixed(0).padStart(5)} s`;
const say = (line: string) => console.log(`[soak ${clock()}] ${line}`);

// ------------------------------------------------------------------ processes: kill -9, restart, own exits

interface Running {
  proc: ChildProcess;
}

/** One process under chaos: killed with SIGKILL on purpose, restarted; an exit on its own is counted and restarted. */
class Supervised<P extends Running> {
  kills = 0;
  ownExits = 0;
  exitCodes: string[] = [];
  private killing = false;
  private stopped = false;

  constructor(
    readonly name: string,
    readonly logFile: string,
    public current: P,
    private readonly again: (prev: P) => P,
  ) {
    this.watch();
  }

  get running(): boolean {
    return this.current.proc.exitCode === null && this.current.proc.signalCode === null;
  }

  private watch(): void {
    const p = this.current.proc;
    p.once("exit", (code, signal) => {
      if (this.killing || this.stopped || p !== this.current.proc) return;
      this.ownExits++;
      this.exitCodes.push(String(code ?? signal));
      say(`${this.name} exited on its own (${code ?? signal}); restarting in 2 s`);
      setTimeout(() => this.ensureUp(), 2000);
    });
  }

  ensureUp(): void {
    if (this.stopped || this.running) return;
    this.current = this.again(this.current);
    this.watch();
  }

  async kill9(): Promise<void> {
    if (!this.running) return;
    this.killing = true;
    const p = this.current.proc;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
    this.killing = false;
    this.kills++;
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    if (!this.running) return;
    const p = this.current.proc;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }
}

const proverChildren = new Set<ChildProcess>();
process.on("exit", () => proverChildren.forEach((p) => p.exitCode === null && p.signalCode === null && p.kill("SIGKILL")));

/** `ozk prover serve` as a process on a fixed port with a SQLite job store, output appended to its log. */
function spawnProver(work: string, port: number): Running {
  const logFile = join(work, "prover.log");
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "cli", "ozk.ts"), "prover", "serve", "--port", String(port), "--db", join(work, "prover.db"), "--models", join(ROOT, "models"), "--workers", "1"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } },
  );
  proverChildren.add(proc);
  proc.once("exit", () => proverChildren.delete(proc));
  const out = createWriteStream(logFile, { flags: "a" });
  proc.stdout!.pipe(out);
  proc.stderr!.pipe(out);
  return { proc };
}

// ------------------------------------------------------------------ the JSON-RPC chaos proxy

export interface ProxyStats {
  forwarded: number;
  refusals: number;
  refusedSeconds: number;
  blackholes: number;
  blackholedSeconds: number;
  blackholedRequests: number;
  droppedTxAnswers: number;
  upstreamErrors: number;
}

/**
 * A daemon's way to the chain. Between episodes it forwards; `refuse` stops listening (connections are refused)
 * and cuts the open ones; `blackhole` accepts requests and never answers them (cut when the episode ends); with
 * `dropTxRate`, that share of eth_sendRawTransaction calls is forwarded and its answer thrown away.
 */
class ChaosProxy {
  readonly stats: ProxyStats = { forwarded: 0, refusals: 0, refusedSeconds: 0, blackholes: 0, blackholedSeconds: 0, blackholedRequests: 0, droppedTxAnswers: 0, upstreamErrors: 0 };
  dropTxRate = 0;
  private server: Server | undefined;
  private port = 0;
  private holding = false;
  private busy = false;
  private readonly held = new Set<ServerResponse>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly target: URL;

  constructor(
    readonly name: string,
    target: string,
    private readonly rand: () => number,
  ) {
    this.target = new URL(target);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(this.port, "127.0.0.1", () => (server.off("error", reject), resolve()));
        });
        break;
      } catch (err) {
        if (attempt > 50) throw err;
        await sleep(100);
      }
    }
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (this.holding) {
        this.held.add(res);
        this.stats.blackholedRequests++;
        return;
      }
      const body = Buffer.concat(chunks);
      const drop = this.dropTxRate > 0 && body.includes("eth_sendRawTransaction") && this.rand() < this.dropTxRate;
      const up = httpRequest(
        { host: this.target.hostname, port: this.target.port, path: this.target.pathname, method: "POST", agent: this.agent, headers: { "content-type": "application/json" } },
        (ur) => {
          const out: Buffer[] = [];
          ur.on("data", (c: Buffer) => out.push(c));
          ur.on("end", () => {
            if (drop) {
              this.stats.droppedTxAnswers++;
              req.socket.destroy();
              return;
            }
            this.stats.forwarded++;
            if (!res.destroyed) res.writeHead(ur.statusCode ?? 502, { "content-type": "application/json" }).end(Buffer.concat(out));
          });
        },
      );
      up.on("error", () => {
        this.stats.upstreamErrors++;
        if (!res.headersSent && !res.destroyed) res.writeHead(502).end();
      });
      up.end(body);
    });
  }

  /** Stops listening for `ms` (a connection is refused), cutting the connections open now. */
  async refuse(ms: number, signal: AbortSignal): Promise<void> {
    if (this.busy || !this.server) return;
    this.busy = true;
    this.stats.refusals++;
    const t = performance.now();
    const s = this.server;
    this.server = undefined;
    const closed = new Promise<void>((r) => s.close(() => r()));
    s.closeAllConnections();
    await closed;
    await sleep(ms, signal);
    await this.listen();
    this.stats.refusedSeconds += (performance.now() - t) / 1000;
    this.busy = false;
  }

  /** Accepts and never answers for `ms`; the held requests are cut at the end. */
  async blackhole(ms: number, signal: AbortSignal): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.stats.blackholes++;
    const t = performance.now();
    this.holding = true;
    await sleep(ms, signal);
    this.holding = false;
    this.held.forEach((res) => res.socket?.destroy());
    this.held.clear();
    this.stats.blackholedSeconds += (performance.now() - t) / 1000;
    this.busy = false;
  }

  async close(): Promise<void> {
    this.holding = false;
    this.held.forEach((res) => res.socket?.destroy());
    const s = this.server;
    this.server = undefined;
    this.agent.destroy();
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

// ------------------------------------------------------------------ what the chain says

interface SeenClaim {
  claimId: Hex;
  provider: Address;
  claim: ClaimFields;
  outputs: bigint[];
  challengeDeadline: bigint;
  seenAt: number;
  status: number;
  challenges: Array<{ challenger: Address; bond: bigint }>;
  provenAt?: number;
  slashBeneficiary?: Address;
}

// ------------------------------------------------------------------ the soak

export async function soak(argv: string[]): Promise<SoakResult> {
  const o = parseOptions(argv);
  const rand = rng(o.seed);
  const load1AtStart = Math.round(loadavg()[0]! * 100) / 100;
  const work = join(ROOT, ".ozk", "soak");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  say(`${o.minutes} min of chaos, target ${o.rate} posts/min (seed ${o.seed}); windows ${o.challengeWindow} s challenge / ${o.proofWindow} s proof; logs in ${work}`);

  // Chain, contracts, model, funds.
  // Chain time follows the clock however many transactions are mined (else windows would pass faster than configured).
  const chain = await startLocalChain({ sameTimestamp: true });
  const keys = { deployer: devKey(0), honest: devKey(1), cheater: devKey(2), challenger: devKey(3), griefer: devKey(5) };
  const addr = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, privateKeyToAccount(v).address])) as Record<keyof typeof keys, Address>;
  const deployer = await deployerFor(chain.url, keys.deployer);
  const deployment = await deployOzk(deployer, { network: "soak" });
  await registerPackage(deployer, deployment, PKG, { challengeWindow: o.challengeWindow, proofWindow: o.proofWindow, ...BONDS });
  const deploymentFile = saveDeployment(deployment, join(work, "deployment.json"));
  for (const who of ["honest", "cheater", "challenger", "griefer"] as const) await mintDevTokens(deployer, deployment, addr[who], FUNDS);
  const pc = createPublicClient({ transport: http(chain.url), pollingInterval: 200 });
  const claims = { address: deployment.addresses.claims, abi: claimManagerAbi } as const;
  const token = deployment.addresses.token;
  const pkg = loadPackage(PKG);
  const bits = pkg.manifest.inputBits;

  // One chaos proxy per daemon, the prover service on a fixed port (the honest provider's config names it).
  const proxies = { honest: new ChaosProxy("honest", chain.url, rng(o.seed + 11)), cheater: new ChaosProxy("cheater", chain.url, rng(o.seed + 12)), challenger: new ChaosProxy("challenger", chain.url, rng(o.seed + 13)) };
  for (const p of Object.values(proxies)) await p.listen();
  const ports = { prover: await freePort(), honest: await freePort(), cheater: await freePort(), challenger: await freePort() };
  const common = { deployment: deploymentFile, models: [{ package: PKG }], intervalMs: 500, logLevel: "info" };
  const procs = {
    prover: new Supervised("prover", join(work, "prover.log"), spawnProver(work, ports.prover), () => spawnProver(work, ports.prover)),
    honest: supervise(spawnDaemon("provider", "honest", work, {
      ...common, rpcUrl: proxies.honest.url, port: ports.honest, privateKey: keys.honest, stakeTarget: String(100_000n * TOKEN),
      prover: { url: `http://127.0.0.1:${ports.prover}`, timeoutMs: Math.round((o.proofWindow * 1000) / 3), fallbackLocal: true },
    })),
    cheater: supervise(spawnDaemon("provider", "cheater", work, {
      ...common, rpcUrl: proxies.cheater.url, port: ports.cheater, privateKey: keys.cheater, stakeTarget: String(100_000n * TOKEN),
      answerRequests: false, faults: { wrongOutputRate: o.wrongRate },
    })),
    challenger: supervise(spawnDaemon("challenger", "challenger", work, {
      ...common, rpcUrl: proxies.challenger.url, port: ports.challenger, privateKey: keys.challenger, stakeTarget: String(10_000n * TOKEN), sampling: { policy: "all" },
    })),
  };
  const all = Object.values(procs) as Array<Supervised<Running>>;
  const shutdown = async () => {
    await Promise.all(all.map((p) => p.shutdown()));
    await Promise.all(Object.values(proxies).map((p) => p.close()));
    await chain.close();
  };

  try {
    // The griefer stakes bonds for its challenges up front, straight to the chain (it is part of the harness).
    const griefer = createWalletClient({ account: privateKeyToAccount(keys.griefer), transport: http(chain.url), chain: undefined });
    const griefStake = 1_000n * BONDS.minChallengerBond;
    await pc.waitForTransactionReceipt({ hash: await griefer.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [claims.address, griefStake], chain: null }) });
    await pc.waitForTransactionReceipt({ hash: await griefer.writeContract({ ...claims, functionName: "stake", args: [griefStake], chain: null }) });

    const ready = async (url: string) => (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.status === 200;
    const deadline = Date.now() + 180_000;
    for (;;) {
      const up = await Promise.all([ready(`http://127.0.0.1:${ports.prover}`), ready(`http://127.0.0.1:${ports.honest}`), ready(`http://127.0.0.1:${ports.cheater}`), ready(`http://127.0.0.1:${ports.challenger}`)]);
      const staked = await Promise.all([addr.honest, addr.cheater, addr.challenger].map((a) => pc.readContract({ ...claims, functionName: "freeStake", args: [a] })));
      if (up.every(Boolean) && staked.every((s) => s >= BONDS.minProviderBond)) break;
      if (Date.now() > deadline) throw new Error(`processes not ready after 180 s (healthy ${JSON.stringify(up)}, staked ${staked.join(", ")}); logs in ${work}`);
      await sleep(500);
    }
    const setupSeconds = (performance.now() - t0) / 1000;
    say(`set up in ${setupSeconds.toFixed(0)} s: chain ${chain.url}, daemons and prover service healthy and staked; chaos starts`);

    // ---- chain watcher: every claims event, from the deploy on
    const seen = new Map<Hex, SeenClaim>();
    const byInput = new Map<string, Hex>(); // `${provider}:${inputHash}` -> claimId
    const accounts = new Set<Address>([addr.honest, addr.cheater, addr.challenger, addr.griefer, privateKeyToAccount(keys.deployer).address]);
    let fromBlock = 0n;
    let claimsDuringChaos = 0;
    let chaosOn = true;
    const watch = async () => {
      const head = await pc.getBlockNumber();
      if (head < fromBlock) return;
      const logs = await pc.getLogs({ address: claims.address, fromBlock, toBlock: head });
      fromBlock = head + 1n;
      const now = performance.now();
      for (const l of parseEventLogs({ abi: claimManagerAbi, logs: logs as Log[] })) {
        const a = l.args as Record<string, unknown>;
        for (const k of ["account", "provider", "challenger", "prover", "beneficiary"]) if (typeof a[k] === "string") accounts.add(a[k] as Address);
        const id = a.claimId as Hex | undefined;
        const c = id ? seen.get(id) : undefined;
        switch (l.eventName) {
          case "ClaimSubmitted": {
            const claim = a.claim as ClaimFields;
            seen.set(id!, { claimId: id!, provider: claim.provider, claim, outputs: [...(a.outputs as readonly bigint[])], challengeDeadline: a.challengeDeadline as bigint, seenAt: now, status: ClaimStatus.Submitted, challenges: [] });
            byInput.set(`${claim.provider.toLowerCase()}:${claim.inputHash}`, id!);
            if (chaosOn) claimsDuringChaos++;
            break;
          }
          case "ClaimChallenged":
            if (c) {
              c.status = ClaimStatus.Challenged;
              c.challenges.push({ challenger: a.challenger as Address, bond: a.bond as bigint });
            }
            break;
          case "ClaimProven":
            if (c) {
              c.status = ClaimStatus.Proven;
              c.provenAt = now;
            }
            break;
          case "ClaimFinalized":
            if (c) c.status = ClaimStatus.Finalized;
            break;
          case "ClaimSlashed":
            if (c) {
              c.status = ClaimStatus.Slashed;
              c.slashBeneficiary = a.beneficiary as Address;
            }
            break;
        }
      }
    };
    let stopWatching = false;
    const watcher = (async () => {
      for (;;) {
        await watch().catch((err: unknown) => say(`watcher: ${String(err).slice(0, 200)}`));
        if (stopWatching) return;
        await sleep(1000);
      }
    })();

    // ---- load: distinct inputs (held-out digits with a counter written into three corner pixels, which are 0 in MNIST)
    const images = heldOutSample(200).images.map((im) => quantizeInput(pkg.quant, im));
    const inputOf = (k: number): bigint[] => {
      const x = [...images[k % images.length]!];
      x[0] = BigInt(k % 128);
      x[1] = BigInt(Math.floor(k / 128) % 128);
      x[2] = BigInt(Math.floor(k / 16384) % 128);
      return x;
    };
    interface Posted { k: number; who: Who; inputHash: bigint; acceptedAt: number; jobId: string }
    const posted: Posted[] = [];
    const jobs = Object.fromEntries((["honest", "cheater"] as const).map((w) => [w, { posted: 0, accepted: 0, rejected: 0, rejectedBy: {} as Record<string, number>, throttled: 0, claimed: 0, lost: 0 }])) as SoakResult["jobs"];
    const backlog = (who: Who) => {
      const a = addr[who].toLowerCase();
      return posted.filter((p) => p.who === who && !byInput.has(`${a}:${p.inputHash}`)).length;
    };
    const chaos = new AbortController();
    const signal = chaos.signal;
    let k = 0;
    const inflight = new Set<Promise<void>>();
    const post = async (who: Who, n: number) => {
      const values = inputOf(n);
      const inputHash = hashVector(values, bits);
      jobs[who].posted++;
      const reject = (why: string) => {
        jobs[who].rejected++;
        jobs[who].rejectedBy[why] = (jobs[who].rejectedBy[why] ?? 0) + 1;
      };
      try {
        const res = await fetch(`http://127.0.0.1:${ports[who]}/infer`, {
          method: "POST", headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(10_000),
          body: JSON.stringify({ model: pkg.manifest.name, quantized: values.map(String), tag: `soak-${n}` }),
        });
        const body = (await res.json().catch(() => ({}))) as { jobId?: string };
        if (res.status === 202) {
          jobs[who].accepted++;
          posted.push({ k: n, who, inputHash, acceptedAt: performance.now(), jobId: String(body.jobId) });
        } else reject(`HTTP ${res.status}`);
      } catch (err) {
        const e = err as { name?: string; cause?: { code?: string } };
        reject(e.name === "TimeoutError" ? "timeout" : (e.cause?.code ?? e.name ?? "error"));
      }
    };
    const loader = (async () => {
      const gap = 60_000 / Math.max(o.rate, 0.001);
      let next = performance.now();
      let lastBacklogCheck = 0;
      const backlogs: Record<Who, number> = { honest: 0, cheater: 0 };
      while (!signal.aborted) {
        next += gap;
        await sleep(Math.max(0, next - performance.now()), signal);
        if (signal.aborted) break;
        const who: Who = rand() < o.cheatShare ? "cheater" : "honest";
        if (performance.now() - lastBacklogCheck > 1000) {
          backlogs.honest = backlog("honest");
          backlogs.cheater = backlog("cheater");
          lastBacklogCheck = performance.now();
        }
        if (backlogs[who] >= o.maxBacklog) {
          jobs[who].throttled++;
          continue;
        }
        backlogs[who]++;
        const p = post(who, k++);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size > 32) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    })();

    // ---- kill -9 and restart, per process
    const killers = all.map(async (p, i) => {
      const r = rng(o.seed * 100 + i);
      for (;;) {
        await sleep(between(r, o.killEvery) * 1000, signal);
        if (signal.aborted) return;
        await p.kill9();
        const down = between(r, o.down);
        say(`kill -9 ${p.name} (#${p.kills}); restart in ${down.toFixed(1)} s`);
        await sleep(down * 1000, signal);
        p.ensureUp();
      }
    });

    // ---- RPC faults, per proxy
    for (const p of Object.values(proxies)) p.dropTxRate = o.dropTxRate;
    const faulters = Object.values(proxies).map(async (p, i) => {
      const r = rng(o.seed * 1000 + i);
      for (;;) {
        await sleep(between(r, o.faultEvery) * 1000, signal);
        if (signal.aborted) return;
        const ms = between(r, o.faultFor) * 1000;
        if (r() < 0.5) await p.refuse(ms, signal);
        else await p.blackhole(ms, signal);
      }
    });

    // ---- griefing challenges of honest claims, straight to the chain
    const griefing = { attempts: 0, challenges: 0, sendFailed: 0, ids: new Map<Hex, number>() };
    const griefer_ = (async () => {
      const r = rng(o.seed + 7);
      for (;;) {
        await sleep(between(r, o.griefEvery) * 1000, signal);
        if (signal.aborted) return;
        const now = (await pc.getBlock()).timestamp;
        const open = [...seen.values()].filter((c) => c.provider === addr.honest && c.status === ClaimStatus.Submitted && c.challengeDeadline > now + 15n);
        if (!open.length) continue;
        const target = open[Math.floor(r() * open.length)]!;
        griefing.attempts++;
        try {
          const hash = await griefer.writeContract({ ...claims, functionName: "challenge", args: [target.claim], chain: null });
          const receipt = await pc.waitForTransactionReceipt({ hash });
          if (receipt.status !== "success") throw new Error("reverted");
          griefing.challenges++;
          griefing.ids.set(target.claimId, performance.now());
        } catch (err) {
          griefing.sendFailed++;
          say(`griefing challenge of ${target.claimId.slice(0, 10)} failed: ${String(err).split("\n")[0]!.slice(0, 160)}`);
        }
      }
    })();

    // ---- progress, then stop the chaos
    const chaosStart = performance.now();
    const progress = setInterval(() => {
      const kills = all.map((p) => `${p.name} ${p.kills}${p.ownExits ? `+${p.ownExits}` : ""}`).join(", ");
      const faults = Object.values(proxies).map((p) => p.stats.refusals + p.stats.blackholes + p.stats.droppedTxAnswers).reduce((a, b) => a + b, 0);
      say(`${seen.size} claims on chain; accepted ${jobs.honest.accepted}/${jobs.cheater.accepted} (honest/cheater), rejected ${jobs.honest.rejected}/${jobs.cheater.rejected}, throttled ${jobs.honest.throttled}/${jobs.cheater.throttled}; kills ${kills}; RPC faults ${faults}; griefing ${griefing.challenges}`);
    }, 30_000);
    await sleep(o.minutes * 60_000);
    chaos.abort();
    chaosOn = false;
    const chaosSeconds = (performance.now() - chaosStart) / 1000;
    await Promise.all([loader, griefer_, ...killers, ...faulters]);
    for (const p of Object.values(proxies)) p.dropTxRate = 0;
    all.forEach((p) => p.ensureUp());
    say(`chaos over after ${chaosSeconds.toFixed(0)} s; draining (every process up, no RPC faults) until every accepted job is claimed and every claim settled`);

    // ---- drain
    const drainStart = performance.now();
    const windows = (o.challengeWindow + o.proofWindow) * 1000;
    let lastNew = performance.now();
    let lastCount = seen.size;
    let drainedCleanly = false;
    for (;;) {
      await sleep(5000);
      if (seen.size !== lastCount) {
        lastCount = seen.size;
        lastNew = performance.now();
      }
      const unclaimed = posted.filter((p) => !byInput.has(`${addr[p.who].toLowerCase()}:${p.inputHash}`)).length;
      const open = [...seen.values()].filter((c) => c.status === ClaimStatus.Submitted || c.status === ClaimStatus.Challenged).length;
      if (unclaimed === 0 && open === 0) {
        drainedCleanly = true;
        break;
      }
      const waited = performance.now() - drainStart;
      if (waited > windows + 120_000 && performance.now() - lastNew > windows + 60_000) break;
      if (waited > 3 * windows + 600_000) break;
      if (Math.round(waited / 1000) % 30 < 5) say(`draining: ${unclaimed} accepted jobs not claimed yet, ${open} claims open`);
    }
    clearInterval(progress);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    // What a client polling GET /jobs/:id is told about each accepted job at the end.
    // A poll not answered in 10 s is tried twice more before the job counts as unreachable; the time to an answer is
    // kept, so a slow provider shows there rather than as a dead one.
    const jobStatus: Record<Who, Record<string, number>> = { honest: {}, cheater: {} };
    const pollMs: Record<Who, number[]> = { honest: [], cheater: [] };
    for (let i = 0; i < posted.length; i += 16) {
      await Promise.all(posted.slice(i, i + 16).map(async (p) => {
        const asked = performance.now();
        let res: Response | undefined;
        for (let attempt = 0; attempt < 3 && !res; attempt++) {
          if (attempt > 0) await sleep(1000);
          res = await fetch(`http://127.0.0.1:${ports[p.who]}/jobs/${encodeURIComponent(p.jobId)}`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
        }
        if (res) pollMs[p.who].push(performance.now() - asked);
        const job = res ? ((await res.json().catch(() => ({}))) as { status?: string; claimId?: string }) : {};
        const key = !res ? "unreachable" : res.status !== 200 ? `HTTP ${res.status}` : `${job.status ?? "?"}${job.status === "claimed" && !job.claimId ? " (no claimId)" : ""}`;
        jobStatus[p.who][key] = (jobStatus[p.who][key] ?? 0) + 1;
      }));
    }
    stopWatching = true;
    await watcher;
    await watch();

    // ---- judge from the chain
    for (const c of seen.values()) {
      const [s] = await pc.readContract({ ...claims, functionName: "claimState", args: [c.claimId] });
      c.status = s;
    }
    const byStatus: Record<string, number> = {};
    for (const c of seen.values()) byStatus[claimStatusName(c.status)] = (byStatus[claimStatusName(c.status)] ?? 0) + 1;
    const mine = (a: Address) => [...seen.values()].filter((c) => c.provider.toLowerCase() === a.toLowerCase());
    const honestClaims = mine(addr.honest);
    const cheaterClaims = mine(addr.cheater);
    const latencies: number[] = [];
    for (const p of posted) {
      const id = byInput.get(`${addr[p.who].toLowerCase()}:${p.inputHash}`);
      if (id) {
        jobs[p.who].claimed++;
        latencies.push(Math.max(0, seen.get(id)!.seenAt - p.acceptedAt));
      } else jobs[p.who].lost++;
    }
    const honestSlashed = honestClaims.filter((c) => c.status === ClaimStatus.Slashed);
    const values = new Map(posted.map((p) => [p.inputHash, p.k]));
    let wrong = 0;
    let wrongSlashed = 0;
    let correctSlashed = 0;
    for (const c of cheaterClaims) {
      const kk = values.get(c.claim.inputHash);
      if (kk === undefined) continue;
      const right = runQuantized(pkg.quant, inputOf(kk)).outputs;
      const isWrong = right.length !== c.outputs.length || right.some((v, i) => v !== c.outputs[i]);
      if (isWrong) {
        wrong++;
        if (c.status === ClaimStatus.Slashed) wrongSlashed++;
      } else if (c.status === ClaimStatus.Slashed) correctSlashed++;
    }
    const griefIds = [...griefing.ids.keys()];
    const answered = griefIds.filter((id) => seen.get(id)?.status === ClaimStatus.Proven);
    const answerLatency = answered.map((id) => seen.get(id)!.provenAt! - griefing.ids.get(id)!).filter((x) => Number.isFinite(x));

    // Solvency: the claims contract holds at least every free stake and credit, the bonds of open claims, the
    // challenger bonds of challenged ones and the fees of open requests.
    accounts.add(await pc.readContract({ ...claims, functionName: "treasury" }));
    let liabilities = 0n;
    for (const a of accounts) {
      liabilities += await pc.readContract({ ...claims, functionName: "freeStake", args: [a] });
      liabilities += await pc.readContract({ ...claims, functionName: "credits", args: [a] });
    }
    for (const c of seen.values()) {
      if (c.status === ClaimStatus.Submitted) liabilities += c.claim.bond;
      if (c.status === ClaimStatus.Challenged) liabilities += c.claim.bond + (c.challenges.at(-1)?.bond ?? 0n);
    }
    const requestCount = await pc.readContract({ ...claims, functionName: "requestCount" });
    for (let r = 1n; r <= requestCount; r++) {
      const req = await pc.readContract({ ...claims, functionName: "getRequest", args: [r] });
      if (req.status === 1 || req.status === 2) liabilities += req.fee;
    }
    const balance = await pc.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [claims.address] });

    const processes: SoakResult["processes"] = {};
    for (const p of all) processes[p.name] = { kills: p.kills, ownExits: p.ownExits, exitCodes: p.exitCodes, ...logErrors(p.logFile) };
    const rpcFaults = Object.fromEntries(Object.entries(proxies).map(([n, p]) => [n, { ...p.stats, refusedSeconds: Math.round(p.stats.refusedSeconds), blackholedSeconds: Math.round(p.stats.blackholedSeconds) }]));
    const lost = jobs.honest.lost + jobs.cheater.lost;
    const open = honestClaims.concat(cheaterClaims).filter((c) => c.status === ClaimStatus.Submitted || c.status === ClaimStatus.Challenged).length;
    const notReportedClaimed = (["honest", "cheater"] as const).reduce((n, w) => n + Object.entries(jobStatus[w]).filter(([k]) => k !== "claimed").reduce((a, [, v]) => a + v, 0), 0);
    const challengedByChallenger = honestClaims.filter((c) => c.challenges.some((x) => x.challenger === addr.challenger)).length;
    const goals: SoakResult["goals"] = [
      { goal: "accepted jobs not claimed on chain (jobs lost)", value: lost, target: "0", ok: lost === 0 },
      { goal: "accepted jobs GET /jobs/:id does not report claimed", value: notReportedClaimed, target: "0", ok: notReportedClaimed === 0 },
      { goal: "honest claims slashed", value: honestSlashed.length, target: "0", ok: honestSlashed.length === 0 },
      { goal: "honest bond lost (tokens)", value: fmtToken(honestSlashed.reduce((s, c) => s + c.claim.bond, 0n)), target: "0", ok: honestSlashed.length === 0 },
      { goal: "cheater's wrong claims not slashed", value: wrong - wrongSlashed, target: "0", ok: wrong === wrongSlashed },
      { goal: "griefing challenges not answered with a proof", value: griefIds.length - answered.length, target: "0", ok: answered.length === griefIds.length },
      { goal: "honest claims challenged by the challenger daemon", value: challengedByChallenger, target: "0", ok: challengedByChallenger === 0 },
      { goal: "claims still open after the drain", value: open, target: "0", ok: open === 0 },
      { goal: "claims contract solvent (balance >= liabilities)", value: balance >= liabilities ? "yes" : `short ${fmtToken(liabilities - balance)}`, target: "yes", ok: balance >= liabilities },
    ];
    const result: SoakResult = {
      date: new Date().toISOString(),
      machine: { cpu: cpuModel(), cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30), load1AtStart },
      options: o,
      workDir: work,
      seconds: { setup: Math.round(setupSeconds), chaos: Math.round(chaosSeconds), drain: Math.round(drainSeconds), total: Math.round((performance.now() - t0) / 1000) },
      drainedCleanly,
      claims: { total: seen.size, perMinute: claimsDuringChaos / (chaosSeconds / 60), honest: honestClaims.length, cheater: cheaterClaims.length, other: seen.size - honestClaims.length - cheaterClaims.length, byStatus },
      jobs,
      jobStatus,
      jobPollMs: { honest: stats(pollMs.honest), cheater: stats(pollMs.cheater) },
      acceptToClaimMs: stats(latencies),
      honest: { claims: honestClaims.length, slashed: honestSlashed.length, bondLost: honestSlashed.reduce((s, c) => s + c.claim.bond, 0n).toString(), challengedByChallenger },
      cheater: { claims: cheaterClaims.length, wrong, wrongSlashed, wrongNotSlashed: wrong - wrongSlashed, correctSlashed },
      griefing: { attempts: griefing.attempts, challenges: griefing.challenges, answered: answered.length, slashed: griefIds.filter((id) => seen.get(id)?.status === ClaimStatus.Slashed).length, open: griefIds.filter((id) => [ClaimStatus.Submitted, ClaimStatus.Challenged].includes(seen.get(id)?.status as 1 | 2)).length, sendFailed: griefing.sendFailed, answerLatencyMs: stats(answerLatency) },
      processes,
      rpcFaults,
      solvency: { balance: balance.toString(), liabilities: liabilities.toString(), surplus: (balance - liabilities).toString(), solvent: balance >= liabilities, exact: balance === liabilities },
      goals,
      ok: goals.every((g) => g.ok),
    };
    return result;
  } finally {
    await shutdown();
  }
}

function supervise(d: DaemonProcess): Supervised<DaemonProcess> {
  return new Supervised(d.name, d.logFile, d, (prev) => prev.restart());
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown CPU";
  } catch {
    return cpus()[0]?.model ?? "unknown CPU";
  }
}

const fmtToken = (v: bigint): string => (Number(v) / 1e18).toLocaleString("en-US", { maximumFractionDigits: 2 });

/** Error-level lines (pino level >= 50) in a log, and the most frequent messages (with their error's first words). */
function logErrors(file: string): { errorLines: number; topErrors: Array<{ msg: string; count: number }> } {
  if (!existsSync(file)) return { errorLines: 0, topErrors: [] };
  const counts = new Map<string, number>();
  let n = 0;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    let e: { level?: number; msg?: string; err?: unknown; reason?: unknown };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    if ((e.level ?? 0) < 50) continue;
    n++;
    const err = e.err ?? e.reason;
    const detail = typeof err === "string" ? err : err && typeof err === "object" && "message" in err ? String((err as { message: unknown }).message) : "";
    const key = `${e.msg ?? "?"}${detail ? `: ${detail.replace(/0x[0-9a-f]{8,}/gi, "0x…").replace(/\d{4,}/g, "N").slice(0, 140)}` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const topErrors = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([msg, count]) => ({ msg, count }));
  return { errorLines: n, topErrors };
}

// ------------------------------------------------------------------ report

const fmtCounts = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(", ") || "–";
const ms = (v: number) => (Number.isNaN(v) ? "–" : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);

export function soakMarkdown(r: SoakResult): string {
  const j = r.jobs;
  const o = r.options;
  const f = Object.values(r.rpcFaults);
  const sum = (k: keyof ProxyStats) => f.reduce((s, x) => s + x[k], 0);
  const lines = [
    `### Chaos soak (${r.date.slice(0, 16).replace("T", " ")} UTC, ${o.minutes} min of chaos + ${r.seconds.drain} s drain, load average ${r.machine.load1AtStart} at start)`,
    "",
    `\`npm run bench -- soak --minutes ${o.minutes}\` (\`scripts/bench/soak.ts\`): embedded chain (transactions mined at once, a block at least every second, block timestamps following the clock), MNIST MLP registered with a ${o.challengeWindow} s challenge and ${o.proofWindow} s proof window; an honest provider proving on a prover service (local fallback), a cheating provider (${Math.round(o.wrongRate * 100)}% of its claims wrong), a challenger (every claim) and the prover service, each a process. Load: target ${o.rate} posts/min to \`POST /infer\` (${Math.round(o.cheatShare * 100)}% to the cheater), held back while a provider has ${o.maxBacklog} accepted jobs unclaimed. Chaos: every process killed with SIGKILL every ${o.killEvery.join("–")} s and restarted after ${o.down.join("–")} s; each daemon's JSON-RPC proxy refuses connections or blackholes requests for ${o.faultFor.join("–")} s every ${o.faultEvery.join("–")} s and drops ${Math.round(o.dropTxRate * 100)}% of \`eth_sendRawTransaction\` answers; a third account challenges an honest claim every ${o.griefEvery.join("–")} s. Machine: ${r.machine.cpu}, ${r.machine.cores} cores. Judged from the chain after the drain${r.drainedCleanly ? " (every accepted job claimed, every claim settled)" : " (**the drain timed out**)"}.`,
    "",
    "| figure | value |",
    "|---|---:|",
    `| claims on chain per minute (chaos period) | ${r.claims.perMinute.toFixed(1)} |`,
    `| claims on chain (honest / cheater) | ${r.claims.total} (${r.claims.honest} / ${r.claims.cheater}) |`,
    `| claims by final status | ${Object.entries(r.claims.byStatus).map(([k, v]) => `${k} ${v}`).join(", ")} |`,
    `| jobs posted / accepted / claimed / lost, honest | ${j.honest.posted} / ${j.honest.accepted} / ${j.honest.claimed} / ${j.honest.lost} |`,
    `| jobs posted / accepted / claimed / lost, cheater | ${j.cheater.posted} / ${j.cheater.accepted} / ${j.cheater.claimed} / ${j.cheater.lost} |`,
    `| posts refused (daemon down or busy), honest / cheater | ${j.honest.rejected} / ${j.cheater.rejected} (${fmtCounts(j.honest.rejectedBy)} / ${fmtCounts(j.cheater.rejectedBy)}) |`,
    `| GET /jobs/:id after the drain, honest / cheater | ${fmtCounts(r.jobStatus.honest)} / ${fmtCounts(r.jobStatus.cheater)} |`,
    `| GET /jobs/:id time to answer, median / max, honest / cheater | ${ms(r.jobPollMs.honest.median)} / ${ms(r.jobPollMs.honest.max)} / ${ms(r.jobPollMs.cheater.median)} / ${ms(r.jobPollMs.cheater.max)} |`,
    `| posts held back (backlog), honest / cheater | ${j.honest.throttled} / ${j.cheater.throttled} |`,
    `| accepted → claim on chain, median / p95 / max | ${ms(r.acceptToClaimMs.median)} / ${ms(r.acceptToClaimMs.p95)} / ${ms(r.acceptToClaimMs.max)} |`,
    `| honest claims slashed / honest bond lost | ${r.honest.slashed} / ${fmtToken(BigInt(r.honest.bondLost))} |`,
    `| cheater's wrong claims / slashed / not slashed | ${r.cheater.wrong} / ${r.cheater.wrongSlashed} / ${r.cheater.wrongNotSlashed} |`,
    `| griefing challenges made / answered with a proof / slashed / open | ${r.griefing.challenges} / ${r.griefing.answered} / ${r.griefing.slashed} / ${r.griefing.open} (answer latency median ${ms(r.griefing.answerLatencyMs.median)}, max ${ms(r.griefing.answerLatencyMs.max)}) |`,
    `| kills (SIGKILL) | ${Object.entries(r.processes).map(([n, p]) => `${n} ${p.kills}`).join(", ")} |`,
    `| exits on their own (restarted) | ${Object.entries(r.processes).map(([n, p]) => `${n} ${p.ownExits}`).join(", ")} |`,
    `| RPC faults injected | ${sum("refusals")} refusals (${sum("refusedSeconds")} s), ${sum("blackholes")} blackholes (${sum("blackholedSeconds")} s, ${sum("blackholedRequests")} requests), ${sum("droppedTxAnswers")} dropped tx answers |`,
    `| solvency: token balance / liabilities | ${fmtToken(BigInt(r.solvency.balance))} / ${fmtToken(BigInt(r.solvency.liabilities))} (${r.solvency.exact ? "equal" : `surplus ${fmtToken(BigInt(r.solvency.surplus))}`}) |`,
    "",
    "| goal | value | target | met |",
    "|---|---:|---:|:---:|",
    ...r.goals.map((g) => `| ${g.goal} | ${g.value} | ${g.target} | ${g.ok ? "yes" : "**no**"} |`),
  ];
  const errs = Object.entries(r.processes).filter(([, p]) => p.topErrors.length);
  if (errs.length) {
    lines.push("", "Most frequent error-level log lines per process:", "");
    for (const [n, p] of errs) lines.push(`- ${n} (${p.errorLines}): ${p.topErrors.map((e) => `${e.count}× ${e.msg.replace(/\|/g, "/")}`).join("; ")}`);
  }
  return lines.join("\n");
}

const BEGIN = "<!-- soak:begin -->";
const END = "<!-- soak:end -->";

function writeSoakDocs(file: string, body: string): void {
  const block = `${BEGIN}\n${body}\n${END}`;
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  writeFileSync(file, a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.replace(/\n*$/, "\n\n")}${block}\n`);
}

/** Runs the soak, writes its results and exits: 0 when every goal is met, 1 when one is missed, 2 on an error. */
export async function soakMain(argv: string[]): Promise<never> {
  try {
    const r = await soak(argv);
    const md = soakMarkdown(r);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "soak.json"), JSON.stringify(r, null, 2) + "\n");
    writeFileSync(join(RESULTS, "soak.md"), md + "\n");
    writeSoakDocs(join(ROOT, "docs", "benchmarks.md"), md);
    console.log(`\n${md}\n`);
    console.log(`soak: wrote bench-results/soak.json, bench-results/soak.md and docs/benchmarks.md (between ${BEGIN} and ${END}); logs in ${r.workDir}`);
    if (!r.ok) console.error(`soak: goals missed: ${r.goals.filter((g) => !g.ok).map((g) => g.goal).join("; ")}`);
    process.exit(r.ok ? 0 : 1);
  } catch (err) {
    console.error(err);
    process.exit(2);
  }
}

if (isMain(import.meta.url)) void soakMain(process.argv.slice(2));
