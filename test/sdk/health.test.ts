// What a daemon reports about its dependencies (sdk/node/health.ts) and checks at start (runtime/chain.ts):
// an RPC outage is logged once when it starts and once when it ends and makes /healthz a 503 with the
// reason; a start against an RPC that never answers fails with the URL named; a deployment whose addresses
// hold no code fails with the address and the file named; a key that cannot cover a bond is warned about
// once, with the amount, and shows on /healthz. The RPC here is a small fake JSON-RPC server, so each
// failure can be switched on and off.
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toHex, type Hex } from "viem";
import { chainClients, createDaemonBase, ensureFreeStake } from "../../runtime/chain.ts";
import { FundsWatch, RpcWatch, daemonHealth, displayUrl } from "../../sdk/node/health.ts";
import { runDaemon, type StepContext } from "../../sdk/node/daemon.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { startServer } from "../../sdk/node/server.ts";
import { parseDeployment } from "../../sdk/deployments.ts";
import { ConfigError, RetryableError } from "../../sdk/errors.ts";

const CHAIN_ID = 31337;
const ADDR = {
  registry: "0x1000000000000000000000000000000000000001",
  claims: "0x2000000000000000000000000000000000000002",
  token: "0x3000000000000000000000000000000000000003",
} as const;
const KEY = `0x${"11".repeat(32)}` as Hex;

const until = async (what: string, cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** A JSON-RPC endpoint whose answers and outages the test controls. */
async function fakeRpc(o: { code?: (address: string) => Hex; call?: () => Hex } = {}) {
  const state = { down: false, requests: 0, failNext: 0, code: o.code ?? (() => "0x6001" as Hex), call: o.call ?? (() => `0x${"00".repeat(32)}` as Hex) };
  const held = new Set<ServerResponse>();
  const answer = (m: { id: number; method: string; params?: unknown[] }) => {
    switch (m.method) {
      case "eth_chainId":
        return { jsonrpc: "2.0", id: m.id, result: toHex(CHAIN_ID) };
      case "eth_blockNumber":
        return { jsonrpc: "2.0", id: m.id, result: "0x10" };
      case "eth_getCode":
        return { jsonrpc: "2.0", id: m.id, result: state.code(String(m.params?.[0])) };
      case "eth_call":
        return { jsonrpc: "2.0", id: m.id, result: state.call() };
      case "eth_getBalance":
        return { jsonrpc: "2.0", id: m.id, result: "0xde0b6b3a7640000" }; // 1 ether for gas
      default:
        return { jsonrpc: "2.0", id: m.id, error: { code: -32601, message: `no ${m.method} here` } };
    }
  };
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => {
      state.requests++;
      if (state.down) {
        held.add(res); // accepted, never answered: what a wedged node looks like
        return;
      }
      if (state.failNext > 0) {
        state.failNext--;
        res.writeHead(503).end("busy");
        return;
      }
      const msg = JSON.parse(text) as Parameters<typeof answer>[0] | Parameters<typeof answer>[0][];
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(Array.isArray(msg) ? msg.map(answer) : answer(msg)));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function deploymentFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "ozk-health-"));
  const file = join(dir, "deployment.json");
  writeFileSync(file, JSON.stringify({ network: "fake", chainId: CHAIN_ID, addresses: ADDR, deployBlock: 0, models: {} }));
  return file;
}

const baseConfig = (rpcUrl: string, deployment: string) => ({
  rpcUrl,
  privateKey: KEY,
  deployment,
  store: ":memory:",
  confirmations: 0,
  logLevel: "silent",
  // An explicit modelId: everything but the chain is right, so only the chain checks can stop the start.
  models: [{ package: "models/mnist-mlp", modelId: `0x${"ab".repeat(32)}` }],
  health: { rpcTimeoutMs: 300 },
});

describe("sdk/node/health", function () {
  this.timeout(30_000);

  it("an RPC outage is logged once when it starts and once when it ends; /healthz is 503 with the reason meanwhile", async () => {
    const rpc = await fakeRpc();
    const spy = createSpyLogger();
    const watch = new RpcWatch({ url: rpc.url, logger: spy.logger, timeoutMs: 100, intervalMs: 10 });
    const server = await startServer({ port: 0, health: () => daemonHealth({ loop: { ok: true }, rpc: watch.state() }) });
    const healthz = async () => {
      const r = await fetch(`${server.url}/healthz`);
      return { status: r.status, body: (await r.json()) as { reason?: string; rpc: { reachable: boolean } } };
    };
    watch.start();
    try {
      await until("a first good probe", () => watch.state().lastOkAt !== undefined);
      expect((await healthz()).status).to.equal(200);

      rpc.state.down = true;
      await until("the outage to be logged", () => spy.find("RPC stopped answering") !== undefined);
      const down = await healthz();
      expect(down.status).to.equal(503);
      expect(down.body.rpc.reachable).to.equal(false);
      expect(down.body.reason).to.match(new RegExp(`^RPC ${rpc.url} not answering since .*did not answer eth_blockNumber within 100 ms`));
      // More failed probes: still one log line for the one outage.
      const seen = rpc.state.requests;
      await until("three more probes", () => rpc.state.requests >= seen + 3);
      expect(spy.entries.filter((e) => e.msg === "RPC stopped answering")).to.have.length(1);
      expect(spy.find("RPC stopped answering")!.levelName).to.equal("error");

      rpc.state.down = false;
      await until("the recovery to be logged", () => spy.find("RPC answering again") !== undefined);
      expect(spy.find("RPC answering again")!.downForMs).to.be.a("number");
      expect((await healthz()).status).to.equal(200);
      expect(spy.entries.filter((e) => e.msg === "RPC stopped answering")).to.have.length(1);
    } finally {
      await watch.stop();
      await server.close();
      await rpc.close();
    }
  });

  it("/healthz turns degraded when no step succeeded within the configured bound", async () => {
    const spy = createSpyLogger();
    const d = runDaemon<StepContext>({
      name: "t",
      context: { logger: spy.logger, signal: new AbortController().signal },
      intervalMs: 5,
      maxBackoffMs: 5,
      staleAfterMs: 200,
      handleSignals: false,
      step: async () => {
        throw new RetryableError("rpc down");
      },
    });
    try {
      await until("the loop to go stale", () => !d.health().ok);
      const h = daemonHealth({ loop: d.health() });
      expect(h.status).to.equal("degraded");
      expect(h.reason).to.match(/no successful step for \d+ s \(bound: staleAfterMs 200\)/);
    } finally {
      await d.stop();
    }
  });

  it("a start against an RPC that accepts connections but never answers fails in time, naming the URL", async () => {
    const sockets = new Set<Socket>();
    const hole = createTcpServer((s) => sockets.add(s)); // accepts, reads nothing, answers nothing
    await new Promise<void>((r) => hole.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(hole.address() as AddressInfo).port}`;
    try {
      let err: unknown;
      await createDaemonBase("provider", baseConfig(url, deploymentFile())).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(RetryableError);
      expect((err as RetryableError).shortMessage).to.equal(`RPC ${url} did not answer eth_chainId within 300 ms`);
    } finally {
      sockets.forEach((s) => s.destroy());
      hole.close();
    }
  });

  it("a deployment whose contract address holds no code stops the start, naming the address and the file", async () => {
    const rpc = await fakeRpc({ code: (a) => (a.toLowerCase() === ADDR.claims ? "0x" : "0x6001") });
    const file = deploymentFile();
    try {
      let err: unknown;
      await createDaemonBase("provider", baseConfig(rpc.url, file)).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(ConfigError);
      const msg = (err as ConfigError).shortMessage;
      expect(msg).to.contain(file);
      expect(msg.toLowerCase()).to.contain(ADDR.claims);
      expect(msg).to.match(/as its claims contract, but that address holds no code on chain 31337/);
    } finally {
      await rpc.close();
    }
  });

  it("a start rides out a few quick transient RPC failures (503s) and checks every address", async () => {
    const rpc = await fakeRpc();
    rpc.state.failNext = 2;
    try {
      // No served model: the registry entry check (a contract read this fake chain cannot answer) is not what
      // this test is about, and it runs only after the chain checks counted here.
      const base = await createDaemonBase("provider", { ...baseConfig(rpc.url, deploymentFile()), models: [], modelsDir: mkdtempSync(join(tmpdir(), "ozk-health-models-")) });
      base.store.close();
      expect(rpc.state.failNext).to.equal(0);
      expect(rpc.state.requests).to.equal(2 + 1 + Object.keys(ADDR).length + 1); // two 503s, eth_chainId, one eth_getCode per address, eth_getBalance
    } finally {
      await rpc.close();
    }
  });

  it("a key that cannot cover one bond is warned about once, with the amount needed, and shows on /healthz", async () => {
    let tokens = 0n; // what the fake chain answers for both freeStake and balanceOf
    const rpc = await fakeRpc({ call: () => `0x${tokens.toString(16).padStart(64, "0")}` as Hex });
    const spy = createSpyLogger();
    const funds = new FundsWatch();
    const deployment = parseDeployment({ chainId: CHAIN_ID, addresses: ADDR, deployBlock: 0 });
    const c = { ...chainClients(rpc.url, KEY, deployment), deployment, logger: spy.logger, funds };
    try {
      for (let i = 0; i < 5; i++) expect(await ensureFreeStake(c, 100n, 0n)).to.equal(0n);
      const warned = spy.entries.filter((e) => /cannot cover one bond/.test(e.msg ?? ""));
      expect(warned).to.have.length(1);
      expect(warned[0]).to.include({ levelName: "warn", need: "100", free: "0", balance: "0", shortfall: "100" });
      expect(funds.state()).to.include({ ok: false, need: "100", shortfall: "100" });
      const h = daemonHealth({ loop: { ok: true }, funds: funds.state() });
      expect(h.ok).to.equal(false);
      expect(h.reason).to.equal("the account cannot cover one bond: needs 100, has 0 staked and 0 in tokens (short 100)");

      tokens = 150n; // funded (as free stake): covered again, said once
      await ensureFreeStake(c, 100n, 0n);
      await ensureFreeStake(c, 100n, 0n);
      expect(spy.entries.filter((e) => e.msg === "the account covers a bond again")).to.have.length(1);
      expect(daemonHealth({ loop: { ok: true }, funds: funds.state() }).ok).to.equal(true);
    } finally {
      await rpc.close();
    }
  });

  it("RPC URLs in logs and errors keep host and path but not credentials or keys", () => {
    expect(displayUrl("http://127.0.0.1:8545")).to.equal("http://127.0.0.1:8545");
    expect(displayUrl("https://user:secret@eth.example.org/v2/abcdefghijklmnopqrstuvwxyz123456?key=zz")).to.equal("https://eth.example.org/v2/***");
    expect(displayUrl("not a url")).to.equal("(malformed URL)");
  });
});
