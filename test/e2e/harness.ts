// End-to-end harness: the development net of scripts/lib/devnet.ts (embedded chain over JSON-RPC, ozk deployed
// with the MNIST MLP registered, funded actors, daemons as processes), plus an RPC proxy that injects faults and
// chain readers for assertions.
import { spawn } from "node:child_process";
import { createServer, request as httpRequest, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { erc20Abi, type Address, type Hex } from "viem";
import { ClaimStatus } from "../../sdk/protocol.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { quantizeInput } from "../../circuits/compiler/engine.ts";
import type { DaemonProcess } from "../../runtime/processes.ts";
import { waitFor, type Net } from "../../scripts/lib/devnet.ts";

export { BONDS, PKG, TOKEN, WINDOWS, daemon, freeStake, startNet, submittedClaim, waitFor, wallet, type Net } from "../../scripts/lib/devnet.ts";

export interface OzkRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `ozk <args>` as `npm run ozk --` runs it: in the repository root, with INIT_CWD the user's folder. */
export function ozkAt(user: string, args: string[]): Promise<OzkRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], {
      cwd: join(import.meta.dirname, "../.."),
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, INIT_CWD: user, NODE_NO_WARNINGS: "1", OZK_PROGRESS_MS: "0" },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Replaces a stopped daemon by a restarted one in the net's list (so close() stops it). */
export function restarted(net: Net, d: DaemonProcess): DaemonProcess {
  const r = d.restart();
  net.daemons.push(r);
  return r;
}

export function digit(label: number): Float32Array {
  const s = heldOutSample(40);
  return s.images[s.labels.indexOf(label)]!;
}

export function quantized(net: Net, label: number): bigint[] {
  return quantizeInput(net.pkg.quant, digit(label));
}

/** POST /infer of a held-out digit to a provider (model mnist-mlp unless named); resolves with the claim id once the
 *  claim is on chain. */
export async function infer(net: Net, d: DaemonProcess, label: number, tag = "", model = "mnist-mlp"): Promise<Hex> {
  const url = await d.url();
  const { jobId } = await postJob(url, digit(label), tag, model);
  return waitFor(`claim of ${jobId}`, async () => {
    const job = (await (await fetch(`${url}/jobs/${jobId}`)).json()) as { claimId?: Hex; status: string };
    if (!job.claimId) return undefined;
    return (await status(net, job.claimId)) === ClaimStatus.None ? undefined : job.claimId;
  });
}

export async function status(net: Net, claimId: Hex): Promise<number> {
  const [s] = await net.pc.readContract({ ...net.claims, functionName: "claimState", args: [claimId] });
  return s;
}

export async function waitStatus(net: Net, claimId: Hex, want: number, timeoutMs = 90_000): Promise<void> {
  await waitFor(`claim ${claimId.slice(0, 10)} to reach status ${want}`, async () => ((await status(net, claimId)) === want ? true : undefined), timeoutMs);
}

export async function claimEvents<const E extends "ClaimSubmitted" | "ClaimChallenged" | "ClaimProven" | "ClaimSlashed" | "ClaimFinalized">(net: Net, eventName: E) {
  return net.pc.getContractEvents({ ...net.claims, eventName, fromBlock: 0n });
}

export const tokenAbi = () => erc20Abi;

/** The protocol's money invariant once nothing is locked: token balance == sum of free stakes and credits, plus the
 *  claim audit pool. */
export async function solvent(net: Net): Promise<boolean> {
  const holders = [...Object.values(net.addr)];
  // every read at one block: the daemons keep sending (a withdraw landing between two reads is no insolvency)
  const blockNumber = await net.pc.getBlockNumber({ cacheTime: 0 });
  let sum = await net.pc.readContract({ ...net.claims, functionName: "auditPool", blockNumber });
  for (const a of holders) {
    sum += await net.pc.readContract({ ...net.claims, functionName: "freeStake", args: [a], blockNumber });
    sum += await net.pc.readContract({ ...net.claims, functionName: "credits", args: [a], blockNumber });
  }
  const bal = await net.pc.readContract({ address: net.deployment.addresses.token as Address, abi: erc20Abi, functionName: "balanceOf", args: [net.claims.address], blockNumber });
  return bal === sum;
}

export interface FaultProxy {
  url: string;
  stats: { forwarded: number; errored: number; dropped: number; delayed: number };
  /** While down, requests are accepted and never answered (a wedged node); back up, the held ones are cut. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/**
 * A JSON-RPC proxy that answers some requests with HTTP 503, drops some connections without an answer and
 * delays others, from a seeded generator so a run is reproducible. Traffic stays on loopback.
 */
export async function startFaultProxy(target: string, o: { errorRate: number; dropRate: number; delayRate: number; delayMs: number; seed?: number }): Promise<FaultProxy> {
  let state = o.seed ?? 42;
  const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const stats = { forwarded: 0, errored: 0, dropped: 0, delayed: 0 };
  const t = new URL(target);
  let down = false;
  const held = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (down) {
        held.add(res);
        return;
      }
      const r = rand();
      if (r < o.errorRate) {
        stats.errored++;
        res.writeHead(503).end("injected fault");
        return;
      }
      if (r < o.errorRate + o.dropRate) {
        stats.dropped++;
        req.socket.destroy();
        return;
      }
      const delay = r < o.errorRate + o.dropRate + o.delayRate ? o.delayMs : 0;
      if (delay) stats.delayed++;
      setTimeout(() => {
        const up = httpRequest({ host: t.hostname, port: t.port, path: t.pathname, method: "POST", headers: { "content-type": "application/json" } }, (ur) => {
          const body: Buffer[] = [];
          ur.on("data", (c: Buffer) => body.push(c));
          ur.on("end", () => {
            stats.forwarded++;
            res.writeHead(ur.statusCode ?? 500, { "content-type": "application/json" }).end(Buffer.concat(body));
          });
        });
        up.on("error", () => res.writeHead(502).end());
        up.end(Buffer.concat(chunks));
      }, delay);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    setDown(d) {
      down = d;
      if (!d) {
        held.forEach((res) => res.destroy());
        held.clear();
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** POST /infer of one float input; resolves with the job as the provider answered it (202). */
export async function postJob(url: string, input: Float32Array | number[], tag = "", model = "mnist-mlp"): Promise<{ jobId: string; status: string }> {
  const res = await fetch(`${url}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, input: Array.from(input), tag }) });
  if (res.status !== 202) throw new Error(`/infer answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { jobId: string; status: string };
}

/** GET /jobs/:id of a provider. */
export async function getJob(url: string, jobId: string): Promise<{ jobId: string; status: string; reason?: string; claimId?: Hex }> {
  const res = await fetch(`${url}/jobs/${jobId}`);
  if (res.status !== 200) throw new Error(`/jobs/${jobId} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { jobId: string; status: string; reason?: string; claimId?: Hex };
}

export { pool } from "../../scripts/lib/random.ts";

export interface TxAnswerFault {
  url: string;
  /** "drop": the node gets the transaction, the client's connection is cut before the answer; "garble": the
   *  client gets a 200 whose body is not JSON; "off": forwarded as is. */
  mode: "off" | "drop" | "garble";
  stats: { sendRawTransaction: number; lost: number };
  close(): Promise<void>;
}

/**
 * A JSON-RPC proxy that forwards every request, eth_sendRawTransaction included, and, while `mode` is not "off",
 * loses the node's answer to eth_sendRawTransaction: the transaction is accepted by the chain, the sender sees an
 * error. Other methods are answered as the node answers them.
 */
export async function startTxAnswerFault(target: string): Promise<TxAnswerFault> {
  const t = new URL(target);
  const state: TxAnswerFault = { url: "", mode: "off", stats: { sendRawTransaction: 0, lost: 0 }, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      let sendsTx = false;
      try {
        const parsed = JSON.parse(body.toString("utf8")) as { method?: string } | Array<{ method?: string }>;
        sendsTx = (Array.isArray(parsed) ? parsed : [parsed]).some((r) => r.method === "eth_sendRawTransaction");
      } catch {
        // not JSON: forwarded, the node answers
      }
      if (sendsTx) state.stats.sendRawTransaction++;
      const up = httpRequest({ host: t.hostname, port: t.port, path: t.pathname, method: "POST", headers: { "content-type": "application/json" } }, (ur) => {
        const answer: Buffer[] = [];
        ur.on("data", (c: Buffer) => answer.push(c));
        ur.on("end", () => {
          if (sendsTx && state.mode !== "off") {
            state.stats.lost++;
            if (state.mode === "drop") req.socket.destroy();
            else res.writeHead(200, { "content-type": "application/json" }).end('{"jsonrpc":"2.0","id":');
            return;
          }
          res.writeHead(ur.statusCode ?? 500, { "content-type": "application/json" }).end(Buffer.concat(answer));
        });
      });
      up.on("error", () => res.writeHead(502).end());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return state;
}
