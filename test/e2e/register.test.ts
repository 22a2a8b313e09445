// `ozk model register` and the registration library: an unsafe-dev package (development setup, public toxic
// waste) is refused on any chain but the local development chain unless explicitly allowed, before anything is
// sent; per-chain default windows.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devKey } from "../../runtime/localnet.ts";
import { assertSetupAllowed, defaultWindows, packageSetupKind } from "../../runtime/deploy.ts";
import { readManifest } from "../../circuits/compiler/package.ts";
import { DEV_CHAIN_ID, supportedSetupKind } from "../../sdk/protocol.ts";

const SEPOLIA = 11155111;

/** A JSON-RPC endpoint that only knows its chain id; records every method asked. */
async function chainIdOnlyRpc(chainId: number): Promise<{ url: string; methods: string[]; server: Server }> {
  const methods: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: number; method: string } | Array<{ id: number; method: string }>;
      const one = (r: { id: number; method: string }) => {
        methods.push(r.method);
        return r.method === "eth_chainId"
          ? { jsonrpc: "2.0", id: r.id, result: `0x${chainId.toString(16)}` }
          : { jsonrpc: "2.0", id: r.id, error: { code: -32601, message: `${r.method} not served here` } };
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(Array.isArray(body) ? body.map(one) : one(body)));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, methods, server };
}

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    let stderr = "";
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => resolve({ code, stderr }));
  });
}

describe("model registration: setup kind and windows", function () {
  this.timeout(120_000);

  it("an unsafe-dev package is refused off the development chain, with the reason; allowed on it or when asked", () => {
    expect(() => assertSetupAllowed("mnist-mlp", "unsafe-dev", SEPOLIA)).to.throw(/refusing to register an unsafe-dev package on chain 11155111: .*toxic waste is public.*forge proofs.*--allow-unsafe-setup/);
    expect(() => assertSetupAllowed("mnist-mlp", "unsafe-dev", DEV_CHAIN_ID)).to.not.throw();
    expect(() => assertSetupAllowed("mnist-mlp", "unsafe-dev", SEPOLIA, true)).to.not.throw();
    expect(() => assertSetupAllowed("mnist-mlp", "single-contributor", SEPOLIA)).to.not.throw();
    expect(() => assertSetupAllowed("mnist-mlp", "ceremony", 1)).to.not.throw();
  });

  it("the kind registered is the one the setup record supports: a manifest's kind cannot promote a development key", () => {
    const real = { sha256: "ab".repeat(32) };
    const one = [{ name: "a", hash: "00" }];
    const two = [...one, { name: "b", hash: "11" }];
    expect(supportedSetupKind({ kind: "ceremony", ptau: real, contributions: two })).to.equal("ceremony");
    expect(supportedSetupKind({ kind: "single-contributor", ptau: real, contributions: one })).to.equal("single-contributor");
    // Twins: each missing piece lowers the kind.
    expect(supportedSetupKind({ kind: "ceremony", ptau: real, contributions: one })).to.equal("single-contributor");
    expect(supportedSetupKind({ kind: "ceremony", ptau: real, contributions: [] })).to.equal("unsafe-dev");
    expect(supportedSetupKind({ kind: "ceremony", ptau: null, contributions: two })).to.equal("unsafe-dev");
    expect(supportedSetupKind({ kind: "bogus", ptau: real, contributions: two })).to.equal("unsafe-dev");
    expect(supportedSetupKind(null)).to.equal("unsafe-dev");
    // The shipped MNIST package, its manifest edited to claim a ceremony, is still unsafe-dev: its ptau is the dev file.
    const m = readManifest("models/mnist-mlp");
    expect(packageSetupKind(m)).to.equal("unsafe-dev");
    const forged = { ...m, setup: { ...(m as unknown as { setup: object }).setup, kind: "ceremony", contributions: two } } as unknown as typeof m;
    expect(packageSetupKind(forged)).to.equal("unsafe-dev");
    expect(() => assertSetupAllowed("mnist-mlp", packageSetupKind(forged), SEPOLIA, false)).to.throw(/refusing to register an unsafe-dev package/);
  });

  it("default windows: short on the local chain, 7 days to challenge and 1 day to prove elsewhere", () => {
    expect(defaultWindows(BigInt(DEV_CHAIN_ID))).to.deep.equal({ challengeWindow: 3600, proofWindow: 7200 });
    expect(defaultWindows(BigInt(SEPOLIA))).to.deep.equal({ challengeWindow: 7 * 86_400, proofWindow: 86_400 });
  });

  it("`ozk model register` of the unsafe-dev MNIST package on another chain stops before sending anything", async () => {
    const rpc = await chainIdOnlyRpc(SEPOLIA);
    try {
      const dir = mkdtempSync(join(tmpdir(), "ozk-register-"));
      const deployment = join(dir, "sepolia.json");
      const address = "0x000000000000000000000000000000000000dEaD";
      writeFileSync(deployment, JSON.stringify({ network: "sepolia", chainId: SEPOLIA, addresses: { registry: address, claims: address }, deployBlock: 1, models: {} }));
      const refused = await runCli(["model", "register", "models/mnist-mlp", "--rpc", rpc.url, "--key", devKey(0), "--deployment", deployment]);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.match(/ozk: mnist-mlp: refusing to register an unsafe-dev package on chain 11155111/);
      expect(refused.stderr).to.match(/toxic waste is public/);
      expect(rpc.methods.filter((m) => m !== "eth_chainId")).to.deep.equal([]);

      // With the flag the check passes and registration goes on (here to the first call this endpoint cannot serve).
      const allowed = await runCli(["model", "register", "models/mnist-mlp", "--rpc", rpc.url, "--key", devKey(0), "--deployment", deployment, "--allow-unsafe-setup"]);
      expect(allowed.code).to.equal(1);
      expect(allowed.stderr).to.not.match(/refusing to register/);
      expect(rpc.methods.some((m) => m !== "eth_chainId")).to.equal(true);
    } finally {
      rpc.server.close();
    }
  });
});
