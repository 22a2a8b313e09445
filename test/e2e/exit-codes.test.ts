// The exit codes a supervisor acts on, with each daemon run as a process: 2 for a config error (the field is
// named on stderr; restarting cannot help), 1 for an RPC that cannot be reached at start (restarting later
// can), 0 after SIGTERM. Also: the env variables the messages suggest for array entries
// (OZK_PROVIDER_MODELS__0__PACKAGE) are the ones read.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PKG, TOKEN, startNet, type Net } from "./harness.ts";

interface Exit {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Runs `args` under node with tsx; resolves with the exit code and output, or fails after `ms` (a hang). */
function runToExit(args: string[], env: Record<string, string>, o: { ms?: number; onStdout?: (text: string, kill: () => void) => void } = {}): Promise<Exit> {
  const proc = spawn(process.execPath, ["--import", "tsx", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1", ...env } });
  let stdout = "";
  let stderr = "";
  let signalled = false;
  const stop = (): void => {
    if (!signalled) proc.kill("SIGTERM"); // once: a second SIGTERM would find no handler and kill outright
    signalled = true;
  };
  proc.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    o.onStdout?.(stdout, stop);
  });
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const ms = o.ms ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} still running after ${ms} ms; stderr: ${stderr}; stdout: ${stdout.slice(-2000)}`));
    }, ms);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

describe("e2e: exit codes of the daemons as processes", function () {
  let net: Net;
  let n = 0;
  // Something else on a port: the daemon must not take it.
  const squatter = createServer();
  let taken = 0;

  before(async () => {
    net = await startNet("exit-codes");
    taken = await listen(squatter);
  });
  after(async () => {
    squatter.close();
    await net?.close();
  });

  /** A daemon with a config file (merged over a working one) and extra env. */
  const daemon = (role: "provider" | "challenger", config: Record<string, unknown>, env: Record<string, string> = {}, o?: Parameters<typeof runToExit>[2]): Promise<Exit> => {
    const file = join(net.work, `${role}-${++n}.json`);
    const base = {
      rpcUrl: net.chain.url,
      deployment: net.deploymentFile,
      models: [{ package: PKG }],
      privateKey: role === "provider" ? net.keys.honest : net.keys.challenger,
      store: join(net.work, `${role}-${n}.sqlite`),
      stakeTarget: String(500n * TOKEN),
    };
    const merged = Object.fromEntries(Object.entries({ ...base, ...config }).filter(([, v]) => v !== undefined));
    writeFileSync(file, JSON.stringify(merged));
    return runToExit([resolve(role, "main.ts"), "--config", file], env, o);
  };
  const prover = (args: string[], env: Record<string, string> = {}): Promise<Exit> =>
    runToExit([resolve("cli/ozk.ts"), "prover", "serve", "--db", join(net.work, `prover-${++n}.db`), "--workers", "0", ...args], env);

  it("--help prints the usage and exits 0 without starting; an unknown argument exits 2 naming it", async () => {
    for (const role of ["provider", "challenger"] as const) {
      const help = await runToExit([resolve(role, "main.ts"), "--help"], {}, { ms: 20_000 });
      expect(help.code).to.equal(0);
      expect(help.stdout).to.contain(`usage: ${role} [--config <file.json>]`);
      const bad = await runToExit([resolve(role, "main.ts"), "--confg", "x.json"], {}, { ms: 20_000 });
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.contain('unexpected argument "--confg"');
    }
  });

  it("config errors exit 2 and name the field: an rpcUrl without a scheme, a missing package folder, a bad array entry from the env", async () => {
    const missing = join(net.work, "no-such-package");
    const [noScheme, notUrl, noPackage, envPackage, envModelId] = await Promise.all([
      daemon("provider", { rpcUrl: "localhost:8545" }),
      daemon("challenger", { rpcUrl: "127.0.0.1:8545" }),
      daemon("challenger", { models: [{ package: missing }] }),
      // The file's package is fine; the env's entry 0 replaces it.
      daemon("provider", {}, { OZK_PROVIDER_MODELS__0__PACKAGE: missing }),
      daemon("provider", {}, { OZK_PROVIDER_MODELS__0__MODEL_ID: "0x12" }),
    ]);
    expect(noScheme.code, noScheme.stderr).to.equal(2);
    expect(noScheme.stderr).to.contain('rpcUrl: "localhost:8545" is not a URL with http:// or https:// in front');
    expect(notUrl.code, notUrl.stderr).to.equal(2);
    expect(notUrl.stderr).to.contain('rpcUrl: "127.0.0.1:8545" is not a URL');
    for (const e of [noPackage, envPackage]) {
      expect(e.code, e.stderr).to.equal(2);
      expect(e.stderr).to.contain(`models.0.package: cannot load the model package ${missing}: no such folder`);
    }
    expect(envModelId.code, envModelId.stderr).to.equal(2);
    expect(envModelId.stderr).to.contain(`models.0.modelId: not a 0x-prefixed 32-byte hex string (from env OZK_PROVIDER_MODELS__0__MODEL_ID="0x12")`);
  });

  it("a port already in use exits 2 naming the port, for the provider and the prover service; env array entries are read", async () => {
    const [provider, service] = await Promise.all([
      // The package and modelId come from the env alone (the file has no models): the start gets as far as the
      // port, so both were read.
      daemon("provider", { models: undefined, port: taken }, { OZK_PROVIDER_MODELS__0__PACKAGE: PKG, OZK_PROVIDER_MODELS__0__MODEL_ID: net.modelId }),
      prover(["--port", String(taken)]),
    ]);
    expect(provider.code, provider.stderr).to.equal(2);
    expect(provider.stderr).to.contain(`port: 127.0.0.1:${taken} is already in use by another process`);
    expect(provider.stdout).to.contain("registry entry matches the package");
    expect(service.code, service.stderr).to.equal(2);
    expect(service.stderr).to.contain(`port: 127.0.0.1:${taken} is already in use by another process`);
  });

  it("a key with no native currency for gas exits 2 naming privateKey and the account (one only short of bond tokens starts: daemons.test.ts)", async () => {
    const empty = generatePrivateKey();
    const [provider, challenger] = await Promise.all([daemon("provider", { privateKey: empty }), daemon("challenger", { privateKey: empty })]);
    const address = privateKeyToAccount(empty).address;
    for (const e of [provider, challenger]) {
      expect(e.code, e.stderr).to.equal(2);
      expect(e.stderr).to.contain(`privateKey: account ${address} holds no native currency to pay gas`);
    }
  });

  it("prover service config errors exit 2 naming the field", async () => {
    const file = join(net.work, "prover-typo.json");
    writeFileSync(file, JSON.stringify({ workerz: 2 }));
    const [redis, typo, envPort] = await Promise.all([
      prover(["--port", "0", "--redis", "localhost:6379"]),
      prover(["--port", "0", "-c", file]),
      prover([], { OZK_PROVER_PORT: "80808" }),
    ]);
    expect(redis.code, redis.stderr).to.equal(2);
    expect(redis.stderr).to.contain('redisUrl: "localhost:6379" is not a URL with redis:// or rediss:// in front');
    expect(typo.code, typo.stderr).to.equal(2);
    expect(typo.stderr).to.contain('workerz: unknown field (did you mean "workers"?)');
    expect(envPort.code, envPort.stderr).to.equal(2);
    expect(envPort.stderr).to.contain('port: Number must be less than or equal to 65535 (from env OZK_PROVER_PORT="80808")');
  });

  it("an RPC that cannot be reached at start exits 1 (a supervisor restarts it) naming the URL, in bounded time", async () => {
    // Nothing listens: connection refused. And a port that accepts and never answers: the call times out.
    const closed = createServer();
    const refusedPort = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    const sockets = new Set<Socket>();
    const hole = createServer((s) => sockets.add(s));
    const holePort = await listen(hole);
    try {
      const [refused, silent] = await Promise.all([
        daemon("provider", { rpcUrl: `http://127.0.0.1:${refusedPort}` }, {}, { ms: 30_000 }),
        daemon("challenger", { rpcUrl: `http://127.0.0.1:${holePort}`, health: { rpcTimeoutMs: 1000 } }, {}, { ms: 30_000 }),
      ]);
      expect(refused.code, refused.stderr).to.equal(1);
      expect(refused.stderr).to.contain(`RPC http://127.0.0.1:${refusedPort} failed eth_chainId`);
      expect(silent.code, silent.stderr).to.equal(1);
      expect(silent.stderr).to.contain(`RPC http://127.0.0.1:${holePort} did not answer eth_chainId within 1000 ms`);
    } finally {
      sockets.forEach((s) => s.destroy());
      hole.close();
    }
  });

  it("SIGTERM stops a running daemon with exit code 0", async () => {
    const stopped = await daemon("challenger", {}, {}, { onStdout: (out, kill) => out.includes("challenger listening") && kill() });
    expect(stopped.code, stopped.stderr).to.equal(0);
    expect(stopped.stdout).to.contain("challenger: stopped");
  });
});
