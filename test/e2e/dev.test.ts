// `ozk dev` as a user runs it (a process, ephemeral ports, a temporary work folder): it says "ready", the printed
// deployment has code, the dev accounts hold bond tokens, the page answers, a job posted to the printed provider
// becomes a claim that finalizes after its 5-second window with no evm_mine from anyone (interval mining carries
// chain time), and SIGINT stops every child. `ozk faucet` mints dev tokens and gas, and refuses a token that is not
// the dev token and a chain that is not a development chain, saying faucets exist only for dev tokens.
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, erc20Abi, http, parseEther, parseUnits, type Address, type Hex } from "viem";
import { claimManagerAbi } from "../../sdk/abi.ts";
import { ClaimStatus } from "../../sdk/protocol.ts";
import { startLocalChain, type LocalChain } from "../../runtime/localnet.ts";
import { waitFor } from "./harness.ts";

const TOKEN = 10n ** 18n;

interface DevInfo {
  rpcUrl: string;
  intervalMining: string;
  chainId: number;
  deploymentFile: string;
  addresses: Record<string, Address>;
  models: Record<string, Hex>;
  accounts: { index: number; address: Address; privateKey: Hex }[];
  pageUrl: string;
  daemons: { role: string; url: string; pid: number; log: string }[];
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("ozk dev --work: it empties only a folder it made", function () {
  this.timeout(120_000);
  const dead = ["--rpc", "http://127.0.0.1:1", "--no-page", "--no-daemons"];
  const runDev = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      // An INIT_CWD inherited from `npm test` is not where this run's user stands: only a test's own counts.
      const { INIT_CWD: _inherited, ...inherited } = process.env;
      const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", "dev", ...dead, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...inherited, NODE_NO_WARNINGS: "1", ...env } });
      let stderr = "";
      p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      p.once("exit", (code) => resolve({ code, stderr }));
    });
  /** A folder of the user's that happens to hold a file named like one of ozk dev's. */
  const userFolder = (decoy: string): string => {
    const dir = mkdtempSync(join(tmpdir(), "ozk-dev-victim-"));
    writeFileSync(join(dir, decoy), "{}");
    mkdirSync(join(dir, "project", "src"), { recursive: true });
    writeFileSync(join(dir, "project", "src", "main.ts"), "x");
    return dir;
  };
  const intact = (dir: string) => expect(readFileSync(join(dir, "project", "src", "main.ts"), "utf8")).to.equal("x");

  it("refuses a folder holding a provider.json or a dev.json but no .ozk-dev mark, naming it, and leaves it as it was", async () => {
    for (const decoy of ["provider.json", "dev.json"]) {
      const dir = userFolder(decoy);
      const r = await runDev(["--work", dir]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(`refusing --work ${dir}`).and.contain(".ozk-dev");
      intact(dir);
      expect(existsSync(join(dir, decoy))).to.equal(true);
    }
  });

  it("refuses the home folder, the folder it was run from, the package root, and any folder holding one of them", async () => {
    const home = userFolder("dev.json");
    const r1 = await runDev(["--work", home], { HOME: home });
    expect(r1.code, r1.stderr).to.equal(2);
    expect(r1.stderr).to.contain(`refusing --work ${home}: it is your home folder`);
    // `npm run ozk -- dev --work .` from a project folder: npm runs ozk in the package root and says where in INIT_CWD
    const here = userFolder("dev.json");
    writeFileSync(join(here, ".ozk-dev"), "");
    const r2 = await runDev(["--work", "."], { INIT_CWD: here });
    expect(r2.code, r2.stderr).to.equal(2);
    expect(r2.stderr).to.contain(`refusing --work ${here}: it is the folder the command was run from`);
    // (a parent of its own: the system's temporary folder may also hold the checkout running this test)
    const outer = mkdtempSync(join(tmpdir(), "ozk-dev-outer-"));
    const nested = join(outer, "user");
    mkdirSync(nested);
    const r3 = await runDev(["--work", join(nested, "..")], { INIT_CWD: nested });
    expect(r3.code, r3.stderr).to.equal(2);
    expect(r3.stderr).to.contain("it holds the folder the command was run from");
    const r4 = await runDev(["--work", ".."]);
    expect(r4.code, r4.stderr).to.equal(2);
    expect(r4.stderr).to.contain("it holds the working directory");
    intact(home);
    intact(here);
  });

  it("empties a folder carrying its .ozk-dev mark (and marks the new one), even when the run then fails", async () => {
    const dir = userFolder(".ozk-dev");
    const r = await runDev(["--work", dir]);
    expect(r.code).to.not.equal(2);
    expect(r.stderr).to.contain("no JSON-RPC node answers at http://127.0.0.1:1");
    expect(readdirSync(dir)).to.deep.equal([".ozk-dev"]);
  });
});

describe("ozk dev and ozk faucet", function () {
  this.timeout(600_000);
  const work = join(mkdtempSync(join(tmpdir(), "ozk-dev-")), "work");
  let proc: ChildProcess;
  let output = "";
  let info: DevInfo;
  let pc: ReturnType<typeof createPublicClient>;

  before(async () => {
    proc = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", "dev", "--chain-port", "0", "--port", "0", "--work", work, "--challenge-window", "5"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    });
    proc.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    proc.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    await waitFor("ozk dev ready", async () => {
      if (proc.exitCode !== null) throw new Error(`ozk dev exited (${proc.exitCode}): ${output}`);
      return output.includes("ozk dev ready") ? true : undefined;
    }, 400_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
    info = JSON.parse(readFileSync(join(work, "dev.json"), "utf8")) as DevInfo;
    pc = createPublicClient({ transport: http(info.rpcUrl), pollingInterval: 200 });
  });

  after(async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGINT");
      await new Promise((r) => proc.once("exit", r));
    }
  });

  it("--help prints the options and starts nothing", async () => {
    const fresh = join(tmpdir(), `ozk-dev-help-${process.pid}`);
    const r = await runCli(["dev", "--help", "--work", fresh]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/Usage: ozk dev/).and.to.match(/--rpc <url>/).and.to.match(/--deployment <name|file>/).and.to.match(/--no-page/);
    expect(existsSync(fresh)).to.equal(false);
  });

  it("prints where everything is: RPC, chain id, contracts with code, dev keys marked public, page, daemons, next commands", async () => {
    for (const what of [info.rpcUrl, `chain id ${info.chainId}`, info.deploymentFile, info.pageUrl, "PUBLIC development keys", "ozk faucet"]) {
      expect(output).to.contain(what.replace("ozk faucet", "-- faucet"));
    }
    for (const d of info.daemons) expect(output).to.contain(d.url).and.to.contain(d.log);
    expect(info.chainId).to.equal(await pc.getChainId());
    expect(Object.keys(info.models)).to.include("mnist-mlp");
    for (const [role, address] of Object.entries(info.addresses)) {
      const code = await pc.getCode({ address });
      expect(code && code.length > 2, `code at ${role}`).to.equal(true);
    }
    const deployment = JSON.parse(readFileSync(info.deploymentFile, "utf8")) as { addresses: Record<string, string> };
    expect(deployment.addresses).to.deep.equal(info.addresses);
  });

  it("every dev account but the deployer holds 10,000 bond tokens (the daemons' staked part included)", async () => {
    const { token, claims } = info.addresses;
    for (const a of info.accounts.filter((x) => x.index > 0)) {
      const held = await pc.readContract({ address: token!, abi: erc20Abi, functionName: "balanceOf", args: [a.address] });
      const staked = await pc.readContract({ address: claims!, abi: claimManagerAbi, functionName: "freeStake", args: [a.address] });
      expect(held + staked, `account ${a.index}`).to.equal(10_000n * TOKEN);
    }
  });

  it("the page answers with its HTML, /deployment.json and the /rpc proxy", async () => {
    const html = await fetch(info.pageUrl);
    expect(html.headers.get("content-type")).to.match(/text\/html/);
    expect(await html.text()).to.match(/<html/i);
    const d = (await (await fetch(`${info.pageUrl}/deployment.json`)).json()) as { addresses: Record<string, string>; rpcUrl: string; testAccount: string };
    expect(d.addresses).to.deep.equal(info.addresses);
    expect(d.rpcUrl).to.equal("/rpc");
    expect(d.testAccount).to.equal(info.accounts.find((a) => a.index === 4)!.address);
    const rpc = (await (await fetch(`${info.pageUrl}/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }) })).json()) as { result: string };
    expect(Number(rpc.result)).to.equal(info.chainId);
  });

  it("a job posted to the printed provider becomes a claim that settles after its window (finalized, or proven if audited), carried by interval mining", async () => {
    const provider = info.daemons.find((d) => d.role === "provider")!;
    const body = readFileSync(join(work, "mnist-mlp.infer.json"), "utf8");
    const res = await fetch(`${provider.url}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(res.status).to.equal(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const claimId = await waitFor("the job's claim", async () => {
      const job = (await (await fetch(`${provider.url}/jobs/${jobId}`)).json()) as { claimId?: Hex };
      return job.claimId;
    });
    // Nobody mines or moves time here: only the chain's own block every second ends the 5-second window.
    // Finalized, or Proven when the model's random audit (1% at the dev stack's default) selected the claim.
    const status = await waitFor("the claim settled", async () => {
      const [s] = await pc.readContract({ address: info.addresses.claims!, abi: claimManagerAbi, functionName: "claimState", args: [claimId] });
      return s === ClaimStatus.Finalized || s === ClaimStatus.Proven ? s : undefined;
    }, 120_000);
    expect([ClaimStatus.Finalized, ClaimStatus.Proven]).to.include(status);
  });

  it("ozk faucet mints dev tokens and gives ETH for gas", async () => {
    const to = "0x000000000000000000000000000000000000bEEF" as Address;
    const r = await runCli(["faucet", to, "2.5", "--rpc", info.rpcUrl, "--deployment", info.deploymentFile]);
    expect(r.code, r.stderr).to.equal(0);
    expect(await pc.readContract({ address: info.addresses.token!, abi: erc20Abi, functionName: "balanceOf", args: [to] })).to.equal(parseUnits("2.5", 18));
    expect(await pc.getBalance({ address: to })).to.equal(parseEther("10"));
  });

  it("ozk faucet refuses a token that cannot be minted, saying faucets exist only for dev tokens", async () => {
    const d = JSON.parse(readFileSync(info.deploymentFile, "utf8")) as { addresses: Record<string, string> };
    d.addresses.token = d.addresses.registry!; // a contract with no mint
    const file = join(work, "not-mintable.json");
    writeFileSync(file, JSON.stringify(d));
    const to = "0x000000000000000000000000000000000000cafE" as Address;
    const r = await runCli(["faucet", to, "--rpc", info.rpcUrl, "--deployment", file]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/cannot be minted.*faucets exist only for dev tokens/);
    expect(await pc.getBalance({ address: to })).to.equal(0n);
  });

  it("ozk faucet refuses a chain that is not a development chain", async () => {
    // A node that only knows its chain id (Sepolia's): the faucet must stop before sending anything.
    const methods: string[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: number; method: string } | { id: number; method: string }[];
        const one = (q: { id: number; method: string }) => {
          methods.push(q.method);
          return q.method === "eth_chainId" ? { jsonrpc: "2.0", id: q.id, result: "0xaa36a7" } : { jsonrpc: "2.0", id: q.id, error: { code: -32601, message: "not here" } };
        };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(Array.isArray(body) ? body.map(one) : one(body)));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const d = JSON.parse(readFileSync(info.deploymentFile, "utf8")) as { chainId: number };
      d.chainId = 11155111;
      const file = join(work, "sepolia.json");
      writeFileSync(file, JSON.stringify(d));
      const r = await runCli(["faucet", "0x000000000000000000000000000000000000cafE", "--rpc", `http://127.0.0.1:${(server.address() as AddressInfo).port}`, "--deployment", file]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/chain 11155111 is not a local development chain.*faucets exist only for dev tokens/);
      expect(methods.filter((m) => m.startsWith("eth_send"))).to.deep.equal([]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it("SIGINT stops the page, both daemons and the chain, and exits 0", async () => {
    const pids = info.daemons.map((d) => d.pid);
    expect(pids).to.have.length(2);
    for (const pid of pids) expect(alive(pid)).to.equal(true);
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    proc.kill("SIGINT");
    expect(await exited).to.equal(0);
    for (const pid of pids) expect(alive(pid), `daemon ${pid}`).to.equal(false);
    for (const url of [info.rpcUrl, info.pageUrl]) {
      const answered = await fetch(url).then(() => true, () => false);
      expect(answered, url).to.equal(false);
    }
    expect(output).to.contain("ozk dev stopped");
  });
});

describe("ozk dev --rpc: attached to a node that mines only on transactions", function () {
  this.timeout(600_000);
  let chain: LocalChain;
  let proxy: Server;
  let proxyUrl: string;
  const dir = mkdtempSync(join(tmpdir(), "ozk-dev-rpc-"));

  /** Runs `ozk dev` until "ready" (or exit); returns the process, its output so far and its dev.json. */
  async function startDev(args: string[], work: string): Promise<{ proc: ChildProcess; output: () => string; info: DevInfo }> {
    const proc = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", "dev", "--no-page", "--no-daemons", "--work", work, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    });
    let out = "";
    proc.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    proc.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    await waitFor("ozk dev ready", async () => {
      if (proc.exitCode !== null) throw new Error(`ozk dev exited (${proc.exitCode}): ${out}`);
      return out.includes("ozk dev ready") ? true : undefined;
    }, 300_000);
    return { proc, output: () => out, info: JSON.parse(readFileSync(join(work, "dev.json"), "utf8")) as DevInfo };
  }

  async function stop(proc: ChildProcess): Promise<number | null> {
    if (proc.exitCode !== null) return proc.exitCode;
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    proc.kill("SIGINT");
    return exited;
  }

  before(async () => {
    chain = await startLocalChain({ blockTimeMs: 0 }); // like `npx hardhat node`: a block only per transaction
    // The same node behind a proxy that refuses evm_setIntervalMining, as a node without it would.
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const body = JSON.parse(text) as { id: number; method: string };
        if (!Array.isArray(body) && body.method === "evm_setIntervalMining") {
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: body.id, error: { code: -32601, message: "Method evm_setIntervalMining not found" } }));
          return;
        }
        void fetch(chain.url, { method: "POST", headers: { "content-type": "application/json" }, body: text })
          .then(async (r) => res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text()));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  after(async () => {
    proxy?.closeAllConnections();
    await new Promise((r) => proxy?.close(r));
    await chain?.close();
  });

  const blockNumber = async () => Number(await chain.request("eth_blockNumber", []));

  it("warns that claims will not finalize when the node refuses interval mining, and deploys on it", async () => {
    const dev = await startDev(["--rpc", proxyUrl], join(dir, "a"));
    expect(dev.output()).to.match(/does not answer evm_setIntervalMining.*chain time stands still.*no claim finalizes/s);
    const first = await blockNumber();
    await new Promise((r) => setTimeout(r, 2500));
    expect(await blockNumber()).to.equal(first); // still mining only on transactions
    writeFileSync(join(dir, "deployment.json"), readFileSync(dev.info.deploymentFile));
    expect(await stop(dev.proc)).to.equal(0);
  });

  it("switches the node to a block every second and uses --deployment as given", async () => {
    const dev = await startDev(["--rpc", chain.url, "--deployment", join(dir, "deployment.json")], join(dir, "b"));
    expect(dev.output()).to.contain(`using ${join(dir, "deployment.json")}`).and.not.to.contain("registering");
    expect(dev.info.intervalMining).to.match(/a block every 1000 ms/);
    const first = await blockNumber();
    await waitFor("blocks with no transaction", async () => ((await blockNumber()) >= first + 2 ? true : undefined), 30_000);
    expect(await stop(dev.proc)).to.equal(0);
    await chain.request("evm_setIntervalMining", [0]);
  });
});
