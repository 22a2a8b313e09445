// An embedded local chain: Hardhat's in-process EDR network served over JSON-RPC HTTP on a loopback port,
// so daemons in other processes talk to it like to any node. Used by `ozk dev`, the demo and the end-to-end tests.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { bytesToHex, type Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { isCompiledModule, packageRootUrl } from "../sdk/package-root.ts";

const root = fileURLToPath(packageRootUrl(import.meta.url, 1));

/** Hardhat's default development mnemonic: its accounts are funded on every local chain. Never use it for value. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Private key of dev account `index` (0 is the deployer). */
export function devKey(index: number): Hex {
  const key = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (!key) throw new Error(`no key for dev account ${index}`);
  return bytesToHex(key);
}

export interface LocalChain {
  url: string;
  port: number;
  /** EIP-1193 provider of the in-process chain (time travel: evm_increaseTime, evm_mine). */
  request(method: string, params?: unknown[]): Promise<unknown>;
  /** Moves chain time forward and mines a block. */
  advance(seconds: number): Promise<void>;
  close(): Promise<void>;
}

interface RpcRequest {
  jsonrpc: "2.0";
  id: number | string | null;
  method: string;
  params?: unknown[];
}

let installedHre: Promise<HardhatRuntimeEnvironment> | undefined;

/**
 * Hardhat's network manager, loaded here, not at import: only a command that starts a chain pays for it. From the
 * sources, with the repository's hardhat.config.ts whatever the working folder (a process started elsewhere would
 * find none). From the compiled package, which ships no Hardhat config, a runtime environment configured in code:
 * the chain needs only Hardhat's built-in in-process network (chain id 31337, the development mnemonic's accounts).
 */
async function hardhatNetwork(): Promise<HardhatRuntimeEnvironment["network"]> {
  if (!isCompiledModule(import.meta.url)) {
    process.env.HARDHAT_CONFIG ??= join(root, "hardhat.config.ts");
    return (await import("hardhat")).network;
  }
  installedHre ??= import("hardhat/hre").then(
    ({ createHardhatRuntimeEnvironment }) => createHardhatRuntimeEnvironment({}, {}, root),
    (err: unknown) => {
      throw new Error(`the embedded chain needs the hardhat package, which ozk depends on, and it cannot be loaded (${(err as Error).message}): reinstall ozk, or attach to a node you run with --rpc <url>`, { cause: err });
    },
  );
  return (await installedHre).network;
}

/**
 * Starts the chain. Transactions are mined at once (automine) and, like on a live chain, a block is also mined
 * every `blockTimeMs` (default 1000; 0: only on transactions), so a commitment ages by a block even when nobody
 * else sends anything.
 */
export async function startLocalChain(options: { port?: number; host?: string; blockTimeMs?: number; sameTimestamp?: boolean } = {}): Promise<LocalChain> {
  // sameTimestamp: blocks mined within one second share its timestamp, so chain time keeps to the clock under load
  // (by default each block is a second after the last: a chain mining many transactions runs ahead of the clock).
  const network = await hardhatNetwork();
  const conn = await network.create(options.sameTimestamp ? { override: { allowBlocksWithSameTimestamp: true } } : undefined);
  const provider = conn.provider;
  const blockTimeMs = options.blockTimeMs ?? 1000;
  if (blockTimeMs > 0) await provider.request({ method: "evm_setIntervalMining", params: [blockTimeMs] });
  const one = async (r: RpcRequest): Promise<unknown> => {
    try {
      const result = await provider.request({ method: r.method, params: r.params ?? [] });
      return { jsonrpc: "2.0", id: r.id, result };
    } catch (err) {
      const e = err as { code?: number; message?: string; data?: unknown };
      return { jsonrpc: "2.0", id: r.id, error: { code: e.code ?? -32603, message: e.message ?? String(err), data: e.data } };
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        let body: RpcRequest | RpcRequest[];
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as RpcRequest | RpcRequest[];
        } catch {
          res.writeHead(400).end();
          return;
        }
        const out = Array.isArray(body) ? await Promise.all(body.map(one)) : await one(body);
        const text = JSON.stringify(out, (_k, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v));
        res.writeHead(200, { "content-type": "application/json" }).end(text);
      })();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
    });
  } catch (err) {
    await conn.close();
    const code = (err as { code?: string }).code;
    if (code === "EADDRINUSE") throw new Error(`port ${options.port} is already in use (another node?): choose another port, or 0 for any free one`);
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const request = (method: string, params: unknown[] = []) => provider.request({ method, params });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    request,
    async advance(seconds: number) {
      await request("evm_increaseTime", [seconds]);
      await request("evm_mine", []);
    },
    async close() {
      if (blockTimeMs > 0) await request("evm_setIntervalMining", [0]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await conn.close();
    },
  };
}
