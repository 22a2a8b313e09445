// `ozk dev`: a working local ozk in one command (a chain that mines a block every second, funded dev accounts,
// the contracts, the shipped models registered, a provider and a challenger, the page), and `ozk faucet`: dev
// tokens and gas for any address on a development deployment.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { erc20Abi, formatEther, formatUnits, getAddress, isAddress, parseEther, parseUnits, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { claimManagerAbi, mockErc20MintAbi } from "../sdk/abi.ts";
import { simulateAndWrite } from "../sdk/client.ts";
import { assertChainId, type Deployment } from "../sdk/deployments.ts";
import { ConfigError } from "../sdk/errors.ts";
import { deploymentFile, loadDeployment } from "../sdk/node/deployments.ts";
import { readManifest } from "../circuits/compiler/package.ts";
import { heldOutSample } from "../circuits/data/mnist.ts";
import { findArtifact } from "../runtime/artifacts.ts";
import { deployerFor, deployOzk, registerPackage, saveDeployment, type Deployer } from "../runtime/deploy.ts";
import { DEV_MNEMONIC, devKey, startLocalChain, type LocalChain } from "../runtime/localnet.ts";
import { APP_BUILDS, APP_DIST, buildApp, serveApp, type AppServer } from "../runtime/page-server.ts";
import { spawnDaemon, type DaemonProcess } from "../runtime/processes.ts";
import { guardedFolders, guardedReason } from "../sdk/node/folders.ts";
import { isCompiledModule, packageRootUrl } from "../sdk/package-root.ts";
import { userDir, userPath } from "./paths.ts";

const root = fileURLToPath(packageRootUrl(import.meta.url, 1));
/** Running from an installed package (the compiled dist/) rather than from a clone: its files are not the user's to
 *  write into, so the work folder and deployment names are the user's folder's, and commands are `npx ozk`. */
const installed = isCompiledModule(import.meta.url);
const OZK = installed ? "npx ozk" : "npm run ozk --";
const TOKEN = 10n ** 18n;
/** Chain ids of local development chains (Hardhat, Anvil, Geth dev mode): the only ones a faucet serves. */
const DEV_CHAINS = new Set([31337, 1337]);

/** The dev accounts `ozk dev` uses, by index in the development mnemonic. */
const ROLES = [
  { index: 0, role: "deployer (owns the contracts and models)" },
  { index: 1, role: "provider daemon" },
  { index: 2, role: "spare: yours to try commands with" },
  { index: 3, role: "challenger daemon" },
  { index: 4, role: "the page's wallet" },
] as const;
const PROVIDER = 1;
const SPARE = 2;
const CHALLENGER = 3;
const PAGE = 4;


/** A deployment argument: a .json path (against the user's folder) or a name in the repository's deployments/ (from
 *  an installed package, in deployments/ of the user's folder). */
function deploymentPathOf(arg: string): string {
  return arg.endsWith(".json") ? userPath(arg) : deploymentFile(arg, installed ? userPath("deployments") : join(root, "deployments"));
}

function integer(flag: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${flag} wants an integer of at least ${min}, got ${v}`, [`${flag}: ${v}`]);
  return n;
}

/** A token amount in whole tokens ("10000", "2.5"), as base units of an 18-decimal token. */
function tokenAmount(what: string, v: string): bigint {
  if (!/^\d+(\.\d{1,18})?$/.test(v)) throw new ConfigError(`${what} wants a positive number of tokens (e.g. 10000 or 2.5), got ${v}`, [`${what}: ${v}`]);
  const n = parseUnits(v, 18);
  if (n === 0n) throw new ConfigError(`${what} must be more than 0`, [`${what}: ${v}`]);
  return n;
}

/** One JSON-RPC call; `error` is the node's error message when it answered with one. */
async function rpc(url: string, method: string, params: unknown[] = []): Promise<{ result?: unknown; error?: string }> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  } catch (err) {
    throw new Error(`no JSON-RPC node answers at ${url} (${(err as Error).message}): start one, or leave out --rpc to use the embedded chain`, { cause: err });
  }
  const body = (await res.json().catch(() => ({ error: { message: `HTTP ${res.status}` } }))) as { result?: unknown; error?: { message?: string } };
  return body.error ? { error: body.error.message ?? "error" } : { result: body.result };
}

/** Switches a node to mine a block every `ms` (besides on each transaction); false when it does not support it. */
async function setIntervalMining(url: string, ms: number): Promise<{ ok: boolean; error?: string }> {
  const r = await rpc(url, "evm_setIntervalMining", [ms]);
  return r.error ? { ok: false, error: r.error } : { ok: true };
}

/** Sets an account's ETH balance on a development node (Hardhat's or Anvil's method); false when neither answers. */
async function setBalance(url: string, address: Address, wei: bigint): Promise<boolean> {
  for (const method of ["hardhat_setBalance", "anvil_setBalance"]) {
    if (!(await rpc(url, method, [address, toHex(wei)])).error) return true;
  }
  return false;
}

/**
 * Refuses unless `deployment`'s token is a development token on a development chain: a local chain id, and a
 * token whose `mint` anyone may call (the MockERC20 that `ozk deploy` makes when given no token).
 */
async function assertDevToken(d: Deployer, deployment: Deployment, to: Address, amount: bigint): Promise<Address> {
  const chainId = d.publicClient.chain.id;
  const token = deployment.addresses.token;
  const only = "faucets exist only for dev tokens: the mintable MockERC20 that `ozk deploy` (or `ozk dev`) deploys when given no --token, on a local chain";
  if (!DEV_CHAINS.has(chainId)) throw new Error(`chain ${chainId} is not a local development chain (${[...DEV_CHAINS].join(" or ")}); ${only}`);
  if (!token) throw new Error(`the deployment has no token address; ${only}`);
  try {
    await d.publicClient.simulateContract({ account: d.account, address: token, abi: mockErc20MintAbi, functionName: "mint", args: [to, amount] });
  } catch {
    throw new Error(`the deployment's token ${token} cannot be minted (no mint(address,uint256) anyone may call); ${only}`);
  }
  return token;
}

/** Mints `amount` dev tokens to `to` (after assertDevToken). */
async function mintTo(d: Deployer, token: Address, to: Address, amount: bigint): Promise<void> {
  await simulateAndWrite(d.publicClient, d.walletClient, { address: token, abi: mockErc20MintAbi, functionName: "mint", args: [to, amount] });
}

/** Shipped model packages (models/<name>/) that can be registered: a verifier contract compiled in artifacts/ and
 *  the proving key the example proof needs. The others, with the reason. */
function shippedModels(): { ready: { name: string; dir: string }[]; skipped: string[] } {
  const ready: { name: string; dir: string }[] = [];
  const skipped: string[] = [];
  const base = join(root, "models");
  for (const name of readdirSync(base).sort()) {
    const dir = join(base, name);
    if (!existsSync(join(dir, "manifest.json"))) continue;
    const m = readManifest(dir);
    const files = m.artifacts as unknown as Record<string, string | undefined>;
    const missing = ["zkey", "r1cs"].map((k) => files[k] ?? `circuit.${k}`).filter((f) => !existsSync(join(dir, f)));
    if (!m.verifierContract) skipped.push(`${m.name}: the package has no verifier (build it with a powers-of-tau file)`);
    else if (missing.length) skipped.push(`${m.name}: ${missing.join(", ")} not built (${OZK} model build models/${name} --ptau <file.ptau>)`);
    else if (!findArtifact(m.verifierContract)) skipped.push(`${m.name}: ${m.verifierContract} is not compiled (npx hardhat build)`);
    else ready.push({ name: m.name, dir });
  }
  return { ready, skipped };
}

/** The file that marks a work folder as ozk dev's own: the only kind of non-empty folder it empties. */
const WORK_MARKER = ".ozk-dev";

/**
 * Refuses a work folder that ozk dev must not empty (it is emptied at each start: its stores belong to the last run's
 * chain): home, the working directory, the package root or a folder holding one of them, and any non-empty folder
 * without the marker ozk dev writes into the folders it makes. The repository's own .ozk/dev is always ozk's; the
 * default of an installed package (.ozk/dev in the user's folder) needs the marker like any other.
 */
function checkWorkFolder(work: string, isDefault: boolean): void {
  const refuse = (why: string) => {
    throw new ConfigError(`refusing --work ${work}: ${why}; ozk dev empties its work folder at each start: give a new or empty folder, or one an earlier ozk dev made`, [`--work: ${work}`]);
  };
  const guarded = guardedReason(work, guardedFolders([{ path: userDir(), what: "the folder the command was run from" }]));
  if (guarded) refuse(guarded);
  if (!existsSync(work) || isDefault) return;
  if (!statSync(work).isDirectory()) refuse("it is not a folder");
  if (readdirSync(work).length > 0 && !existsSync(join(work, WORK_MARKER))) refuse(`it is not empty and has no ${WORK_MARKER} file (the mark of a folder ozk dev made)`);
}

interface DevOptions {
  rpc?: string;
  deployment?: string;
  chainPort: string;
  port: string;
  blockTime: string;
  challengeWindow: string;
  proofWindow: string;
  work?: string;
  page: boolean;
  build: boolean;
  daemons: boolean;
  providerPort: string;
  challengerPort: string;
}

/** What `ozk dev` started, as printed and as written to <work>/dev.json. */
interface DevInfo {
  rpcUrl: string;
  chainId: number;
  embeddedChain: boolean;
  intervalMining: string;
  deploymentFile: string;
  addresses: Record<string, string>;
  models: Record<string, string>;
  accounts: { index: number; role: string; address: Address; privateKey: Hex }[];
  pageUrl?: string;
  daemons: { role: string; url: string; pid: number; config: string; log: string }[];
  work: string;
}

async function dev(o: DevOptions): Promise<void> {
  const blockTimeMs = integer("--block-time", o.blockTime, 1);
  const challengeWindow = integer("--challenge-window", o.challengeWindow, 1);
  const proofWindow = integer("--proof-window", o.proofWindow, 1);
  const pagePort = integer("--port", o.port, 0);
  const chainPort = integer("--chain-port", o.chainPort, 0);
  const providerPort = integer("--provider-port", o.providerPort, 0);
  const challengerPort = integer("--challenger-port", o.challengerPort, 0);
  const defaultWork = installed ? userPath(join(".ozk", "dev")) : join(root, ".ozk", "dev");
  const work = o.work ? userPath(o.work) : defaultWork;
  checkWorkFolder(work, work === join(root, ".ozk", "dev"));
  // A deployment file given from the work folder (the last run's) survives the emptying.
  const given = o.deployment ? deploymentPathOf(o.deployment) : undefined;
  const givenText = given && existsSync(given) ? readFileSync(given, "utf8") : undefined;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, WORK_MARKER), "made by ozk dev, which empties this folder at each start\n");
  if (given && givenText !== undefined && given.startsWith(work + sep)) writeFileSync(given, givenText);
  const say = (line: string) => console.log(line);

  // Everything started so far, stopped in reverse on Ctrl-C or on a failure.
  let chain: LocalChain | undefined;
  let server: AppServer | undefined;
  const daemons: DaemonProcess[] = [];
  let stopping = false;
  const keepAlive = setInterval(() => undefined, 60_000);
  const stopAll = async (): Promise<void> => {
    clearInterval(keepAlive);
    await server?.close().catch(() => undefined);
    await Promise.all(daemons.map((d) => d.stop().catch(() => undefined)));
    await chain?.close().catch(() => undefined);
  };
  const onSignal = (signal: string) => {
    if (stopping) {
      console.log(`${signal} again: killing the daemons`);
      process.exit(130); // runtime/processes.ts kills the children on exit
    }
    stopping = true;
    console.log(`\n${signal}: stopping the page, the daemons${chain ? " and the chain" : ""}…`);
    void stopAll().then(() => {
      console.log("ozk dev stopped");
      process.exit(0);
    });
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  try {
    // The chain: one that mines a block every blockTimeMs, so chain time (which the contracts and the daemons go
    // by) moves even when nobody sends a transaction, and claims finalize after their window.
    let rpcUrl: string;
    let intervalMining: string;
    if (o.rpc) {
      rpcUrl = o.rpc;
      const mining = await setIntervalMining(rpcUrl, blockTimeMs);
      if (mining.ok) {
        intervalMining = `a block every ${blockTimeMs} ms (set on the node with evm_setIntervalMining; it stays on after ozk dev stops)`;
      } else {
        intervalMining = "unknown: the node refused evm_setIntervalMining";
        console.warn(
          `WARNING: ${rpcUrl} does not answer evm_setIntervalMining (${mining.error}). If it mines only when a transaction ` +
            "arrives (npx hardhat node does by default), its chain time stands still, so no challenge window ever ends and " +
            "no claim finalizes. Give the node a block time (anvil --block-time 1; Hardhat: networks.<name>.mining.interval), " +
            "or leave out --rpc to use ozk's embedded chain.",
        );
      }
    } else {
      say(`starting the embedded chain (Hardhat EDR) on port ${chainPort}…`);
      chain = await startLocalChain({ port: chainPort, blockTimeMs }).catch((err: Error) => {
        // Most often a node the user started already: attaching to it is what they want.
        if (/already in use/.test(err.message)) throw new Error(`${err.message}; or attach to the node there with --rpc http://127.0.0.1:${chainPort}`, { cause: err });
        throw err;
      });
      rpcUrl = chain.url;
      intervalMining = `a block every ${blockTimeMs} ms, and one per transaction`;
    }

    const deployer = await deployerFor(rpcUrl, devKey(0));
    const chainId = deployer.publicClient.chain.id;
    const accounts = ROLES.map((r) => {
      const privateKey = devKey(r.index);
      return { ...r, address: privateKeyToAccount(privateKey).address, privateKey };
    });

    // ETH for gas: a development node funds the mnemonic's accounts already; top up any that is short.
    for (const a of accounts) {
      const balance = await deployer.publicClient.getBalance({ address: a.address });
      if (balance >= parseEther("100")) continue;
      if (!(await setBalance(rpcUrl, a.address, parseEther("10000")))) {
        if (balance === 0n) throw new Error(`dev account ${a.index} (${a.address}) has no ETH and ${rpcUrl} cannot set balances: fund it, or use a development node`);
        console.warn(`WARNING: dev account ${a.index} holds only ${formatEther(balance)} ETH and ${rpcUrl} cannot set balances`);
      }
    }

    // The contracts: deployed here, or the given deployment after checking that it is on this chain.
    let deployment: Deployment;
    let deploymentPath: string;
    const served: { name: string; dir: string }[] = [];
    if (given) {
      deploymentPath = given;
      deployment = loadDeployment(deploymentPath);
      assertChainId(chainId, deployment, { rpc: rpcUrl, file: deploymentPath });
      for (const [role, address] of Object.entries(deployment.addresses)) {
        const code = await deployer.publicClient.getCode({ address: address as Address });
        if (!code || code === "0x") {
          throw new Error(`${deploymentPath}: no contract at ${role} ${address} on ${rpcUrl} (a deployment of another run of this chain?): deploy again, or leave out --deployment`);
        }
      }
      const { ready } = shippedModels();
      for (const m of ready) if (deployment.models[m.name]) served.push(m);
      const unserved = Object.keys(deployment.models).filter((n) => !served.some((m) => m.name === n));
      say(`using ${deploymentPath}: models ${Object.keys(deployment.models).join(", ") || "(none)"}${unserved.length ? ` (no package here for ${unserved.join(", ")}: the daemons skip them)` : ""}`);
    } else {
      say("deploying the contracts (bond token: a mintable dev token)…");
      deployment = await deployOzk(deployer, { network: "dev" });
      const { ready, skipped } = shippedModels();
      for (const s of skipped) say(`not registering ${s}`);
      for (const m of ready) {
        say(`registering ${m.name} (example proof, challenge window ${challengeWindow} s, proof window ${proofWindow} s)…`);
        await registerPackage(deployer, deployment, m.dir, { challengeWindow, proofWindow, minProviderBond: 100n * TOKEN, minChallengerBond: 50n * TOKEN });
        served.push(m);
      }
      deploymentPath = saveDeployment(deployment, join(work, "deployment.json"));
    }

    // Bond tokens for every dev account but the deployer (when the token is the dev token).
    let tokensNote = "10,000 minted to each of accounts 1-4";
    try {
      const token = await assertDevToken(deployer, deployment, accounts[1]!.address, 10_000n * TOKEN);
      for (const a of accounts.slice(1)) await mintTo(deployer, token, a.address, 10_000n * TOKEN);
    } catch (err) {
      tokensNote = `none minted: ${(err as Error).message}`;
      console.warn(`WARNING: the dev accounts get no bond tokens (${(err as Error).message})`);
    }

    // An example input of each served model, for the commands printed at the end: a held-out MNIST 7 for a model
    // of 28x28 images, else zeros.
    for (const m of served) {
      const length = readManifest(m.dir).inputLength;
      let input = new Array<number>(length).fill(0);
      if (length === 784) {
        const held = heldOutSample(10);
        input = Array.from(held.images[held.labels.indexOf(7)]!, (v) => Math.round(v * 1000) / 1000);
      }
      writeFileSync(join(work, `${m.name}.input.json`), JSON.stringify(input));
      writeFileSync(join(work, `${m.name}.infer.json`), JSON.stringify({ model: m.name, input }));
    }
    // Packages of your own: copied here once registered, both daemons serve them without a restart.
    const modelsDir = join(work, "models");
    mkdirSync(modelsDir, { recursive: true });

    // The daemons, as child processes with their configs, logs and stores in the work folder.
    const daemonInfo: DevInfo["daemons"] = [];
    if (o.daemons) {
      const common = { rpcUrl, deployment: deploymentPath, ...(served.length ? { models: served.map((m) => ({ package: m.dir })) } : {}), modelsDir, intervalMs: 300 };
      daemons.push(spawnDaemon("provider", "provider", work, { ...common, privateKey: devKey(PROVIDER), port: providerPort, stakeTarget: String(1000n * TOKEN) }));
      daemons.push(spawnDaemon("challenger", "challenger", work, { ...common, privateKey: devKey(CHALLENGER), port: challengerPort, stakeTarget: String(500n * TOKEN), sampling: { policy: "all" } }));
      say(`starting a provider and a challenger (logs in ${work})…`);
      for (const d of daemons) {
        const url = await d.url();
        daemonInfo.push({ role: d.role, url, pid: d.proc.pid!, config: d.configFile, log: d.logFile });
        d.proc.once("exit", (code, signal) => {
          if (!stopping) console.error(`${d.role} exited (${signal ?? code}); its log: ${d.logFile}`);
        });
      }
      // Ready means the provider can take a job: it has staked (needs the tokens above).
      const claims = deployment.addresses.claims;
      const provider = accounts[PROVIDER]!.address;
      const until = Date.now() + 60_000;
      while ((await deployer.publicClient.readContract({ address: claims, abi: claimManagerAbi, functionName: "freeStake", args: [provider] })) === 0n) {
        if (Date.now() > until) {
          console.warn(`WARNING: the provider has not staked after 60 s (has it bond tokens? see ${daemons[0]!.logFile})`);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }

    // The page, built by Vite (a child process) and served with /deployment.json and the /rpc proxy.
    if (o.page) {
      // The installed package serves the page it ships (built by npm run build:package): --no-build is implied.
      if (!APP_BUILDS && !existsSync(join(APP_DIST, "index.html"))) throw new Error(`${APP_DIST} has no index.html: this ozk package was built without its page; run with --no-page`);
      if (APP_BUILDS && (o.build || !existsSync(join(APP_DIST, "index.html")))) {
        say("building the page (vite)…");
        buildApp();
      }
      server = await serveApp({
        rpcUrl, deployment, port: pagePort, testAccount: accounts[PAGE]!.address,
        packages: Object.fromEntries(served.map((m) => [m.name, m.dir])),
      });
    }

    const info: DevInfo = {
      rpcUrl, chainId, embeddedChain: !!chain, intervalMining, deploymentFile: deploymentPath,
      addresses: deployment.addresses, models: deployment.models,
      accounts: accounts.map((a) => ({ index: a.index, role: a.role, address: a.address, privateKey: a.privateKey })),
      pageUrl: server?.url, daemons: daemonInfo, work,
    };
    writeFileSync(join(work, "dev.json"), JSON.stringify(info, null, 2) + "\n");
    printSummary(info, served, tokensNote);
  } catch (err) {
    stopping = true;
    await stopAll();
    throw err;
  }
}

function printSummary(i: DevInfo, served: { name: string; dir: string }[], tokensNote: string): void {
  const L: string[] = [];
  const pad = (s: string) => (s.length < 14 ? s.padEnd(14) : `${s} `); // a label of 14+ characters (`  batchManager`) keeps a space before its value
  L.push("", "ozk dev: a local ozk", "");
  L.push(`${pad("RPC")}${i.rpcUrl}  (chain id ${i.chainId}${i.embeddedChain ? ", embedded chain" : ""})`);
  L.push(`${pad("mining")}${i.intervalMining}`);
  L.push(`${pad("deployment")}${i.deploymentFile}`);
  for (const [role, a] of Object.entries(i.addresses)) L.push(`${pad(`  ${role}`)}${a}`);
  for (const [name, id] of Object.entries(i.models)) L.push(`${pad(`  model`)}${name} ${id}`);
  L.push("", `dev accounts: PUBLIC development keys (mnemonic "${DEV_MNEMONIC}"): never send them anything of value`);
  L.push(`  bond tokens: ${tokensNote}`);
  for (const a of i.accounts) L.push(`  ${a.index} ${a.address} ${a.privateKey}  ${a.role}`);
  L.push("");
  if (i.pageUrl) L.push(`${pad("page")}${i.pageUrl}  (serves /deployment.json, proxies /rpc)`);
  for (const d of i.daemons) L.push(`${pad(d.role)}${d.url}  (pid ${d.pid}, log ${d.log}, config ${d.config})`);
  L.push(`${pad("work folder")}${i.work}  (dev.json: all of the above)`);
  L.push(`${pad("own models")}${join(i.work, "models")}  (copy a package here after \`ozk model register\`: both daemons serve it, no restart)`);
  const chain = `--rpc ${i.rpcUrl} --deployment ${i.deploymentFile}`;
  const spare = i.accounts.find((a) => a.index === SPARE)!;
  const provider = i.daemons.find((d) => d.role === "provider");
  const m = served[0];
  L.push("", "try:");
  if (provider && m) {
    L.push(`  curl -s -X POST ${provider.url}/infer -H 'content-type: application/json' -d @${join(i.work, `${m.name}.infer.json`)}   # a job; then GET ${provider.url}/jobs/<jobId>`);
  }
  if (m) {
    L.push(`  ${OZK} request ${m.dir} ${join(i.work, `${m.name}.input.json`)} --fee 10000000000000000000 ${chain} --key ${spare.privateKey}`);
  }
  L.push(`  ${OZK} status <claimId> ${chain}`);
  L.push(`  ${OZK} faucet <address> ${chain}   # 10,000 dev tokens and 10 ETH`);
  L.push("", "ozk dev ready; Ctrl-C stops everything");
  console.log(L.join("\n"));
}

async function faucet(address: string, amount: string, o: { rpc: string; deployment: string; key?: string; eth: string }): Promise<void> {
  if (!isAddress(address)) throw new ConfigError(`not an address: ${address}`, [`address: ${address}`]);
  const to = getAddress(address);
  const tokens = tokenAmount("amount", amount);
  const eth = o.eth === "0" ? 0n : tokenAmount("--eth", o.eth);
  const deployment = loadDeployment(deploymentPathOf(o.deployment));
  const d = await deployerFor(o.rpc, (o.key ?? process.env.OZK_PRIVATE_KEY ?? devKey(0)) as Hex);
  assertChainId(d.publicClient.chain.id, deployment, { rpc: o.rpc });
  const token = await assertDevToken(d, deployment, to, tokens);
  await mintTo(d, token, to, tokens);
  const balance = await d.publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [to] });
  console.log(`minted ${formatUnits(tokens, 18)} dev tokens to ${to} (balance ${formatUnits(balance, 18)})`);
  if (eth > 0n) {
    const before = await d.publicClient.getBalance({ address: to });
    if (await setBalance(o.rpc, to, before + eth)) {
      console.log(`gave ${formatEther(eth)} ETH for gas (balance ${formatEther(before + eth)})`);
    } else {
      const hash = await d.walletClient.sendTransaction({ to, value: eth });
      await d.publicClient.waitForTransactionReceipt({ hash });
      console.log(`sent ${formatEther(eth)} ETH for gas from ${d.account.address} (the node cannot set balances)`);
    }
  }
}

export function register(program: Command): void {
  program
    .command("dev")
    .description(
      "a local ozk in one command: a chain that mines a block every second (embedded, or --rpc), funded dev accounts " +
        "(ETH and bond tokens), the contracts (or --deployment), the shipped models registered, a provider and a " +
        "challenger, and the page; prints what is where. Ctrl-C stops everything.",
    )
    .option("--rpc <url>", "attach to this node instead of starting the embedded chain (interval mining is switched on with evm_setIntervalMining)")
    .option("--deployment <name|file>", "use this deployment (deployments/<name>.json or a path; on the --rpc chain) instead of deploying")
    .option("--chain-port <n>", "JSON-RPC port of the embedded chain (0: any free port)", "8545")
    .option("--port <n>", "port of the page (0: any free port)", "5173")
    .option("--provider-port <n>", "HTTP port of the provider (/infer; 0: any free port)", "0")
    .option("--challenger-port <n>", "HTTP port of the challenger (0: any free port)", "0")
    .option("--block-time <ms>", "interval mining: a block every <ms> ms", "1000")
    .option("--challenge-window <s>", "challenge window of the models registered here (seconds)", "120")
    .option("--proof-window <s>", "proof window of the models registered here (seconds)", "600")
    .option("--work <dir>", "work folder for configs, logs, stores and the deployment, emptied at start: a new or empty folder, or one an earlier ozk dev made (it holds a .ozk-dev file) (default: .ozk/dev in the repository; from an installed package, in the current folder)")
    .option("--no-page", "do not build or serve the page")
    .option("--no-build", "serve the page as last built (.ozk/app-dist) instead of building it (an installed package always serves the page it ships)")
    .option("--no-daemons", "do not run a provider and a challenger")
    .action(dev);

  program
    .command("faucet")
    .description("mint dev bond tokens to an address and give it ETH for gas (development deployments only: the mintable dev token on a local chain)")
    .argument("<address>", "who gets them")
    .argument("[amount]", "tokens (whole tokens, 18 decimals)", "10000")
    .option("--rpc <url>", "JSON-RPC endpoint", process.env.OZK_RPC_URL ?? "http://127.0.0.1:8545")
    .option("--deployment <name|file>", "deployments/<name>.json or a path (ozk dev prints its file)", process.env.OZK_DEPLOYMENT ?? "localhost")
    .option("--key <hex>", "account that sends the transactions (default: OZK_PRIVATE_KEY, else dev account 0)")
    .option("--eth <amount>", "ETH for gas (0: none)", "10")
    .action(faucet);
}
