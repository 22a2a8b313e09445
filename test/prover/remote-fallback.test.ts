// proveOutputs against prover services that fail in each way a remote one can: the wait is bounded and ends with
// the reason (a RemoteProverError without a local fallback; a local proof, with the reason, with one).
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { Hex } from "viem";
import { loadPackage } from "../../circuits/compiler/package.ts";
import { runQuantized } from "../../circuits/compiler/engine.ts";
import { ProverClient, ProverResponseTooLargeError } from "../../prover/service/client.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import { RemoteProverError, proveOutputs, type RemoteProver, type ServedModel } from "../../runtime/models.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function fakeService(handle: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const job = (id: string, status: string) => ({ id, modelDir: "mnist-mlp", input: {}, status, attempts: 0, maxAttempts: 3, createdAt: new Date().toISOString() });
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
/** Takes every job; GET answers with `onGet`. */
const taking = (onGet: (res: ServerResponse, id: string) => void): Handler => (req, res, body) => {
  if (req.method === "POST") return json(res, 202, job((JSON.parse(body) as { id: string }).id, "queued"));
  onGet(res, decodeURIComponent(req.url!.split("/").pop()!));
};

/** Answers with a "running" job padded to `mb` MiB, streamed in 1 MiB chunks with no content-length (so only a
 *  limit on the bytes read stops a reader). */
function hugeJob(res: ServerResponse, id: string, mb: number): void {
  const head = JSON.stringify(job(id, "running")).slice(0, -1) + ',"pad":"';
  const chunk = Buffer.alloc(1024 * 1024, "x");
  res.on("error", () => undefined);
  res.writeHead(200, { "content-type": "application/json" });
  res.write(head);
  let sent = 0;
  const more = (): void => {
    while (sent < mb && !res.destroyed) {
      sent++;
      if (!res.write(chunk)) return void res.once("drain", more);
    }
    if (!res.destroyed) res.end('"}');
  };
  more();
}

describe("proveOutputs on a prover service: every wait is bounded", function () {
  const pkg = loadPackage(resolve("models/mnist-mlp"));
  const model: ServedModel = { modelId: "0x01" as Hex, name: "mnist-mlp", pkg };
  const values = new Array<bigint>(pkg.manifest.inputLength).fill(0n);
  const outputs = runQuantized(pkg.quant, values).outputs;
  const servers: Server[] = [];
  const remote = (url: string, o: Partial<RemoteProver> = {}): RemoteProver => ({
    client: new ProverClient({ url }),
    timeoutMs: 600_000,
    fallbackLocal: false,
    stallMs: 1_000,
    pollMs: 50,
    ...o,
  });
  const reasonOf = async (r: RemoteProver, giveUpAt?: () => number): Promise<string> => {
    try {
      await proveOutputs(model, values, outputs, undefined, { remote: r, jobId: "claim-1", bounds: giveUpAt ? { giveUpAt } : {} });
    } catch (err) {
      expect(err).to.be.instanceOf(RemoteProverError);
      return (err as RemoteProverError).reason;
    }
    throw new Error("proveOutputs did not fail");
  };
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    await terminateSnarkjs();
  });

  it("a service that loses the job: given up at once", async () => {
    const s = await fakeService(taking((res, id) => json(res, 404, { error: `no job ${id}` })));
    servers.push(s.server);
    expect(await reasonOf(remote(s.url))).to.equal("lost");
  });

  it("a service that takes the job and then never answers a poll: given up after stallMs", async () => {
    const s = await fakeService(taking(() => undefined)); // the poll hangs
    servers.push(s.server);
    expect(await reasonOf(remote(s.url))).to.equal("silent");
  });

  it("a service that is not there: given up after stallMs", async () => {
    const s = await fakeService(() => undefined);
    servers.push(s.server);
    s.server.close(); // nothing listens on the port any more
    expect(await reasonOf(remote(s.url))).to.equal("unreachable");
  });

  it("a service that never finishes the job: given up after timeoutMs", async () => {
    const s = await fakeService(taking((res, id) => json(res, 200, job(id, "running"))));
    servers.push(s.server);
    expect(await reasonOf(remote(s.url, { timeoutMs: 1_500 }))).to.equal("timeout");
  });

  it("a service that answers a poll with a 64 MiB body: the client stops reading at its limit, the heap stays small", async () => {
    const s = await fakeService(taking((res, id) => hugeJob(res, id, 64)));
    servers.push(s.server);
    const client = new ProverClient({ url: s.url, timeoutMs: 60_000 });
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    let caught: unknown;
    try {
      const got = await client.get("claim-3");
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      expect(got?.status).to.equal("running"); // kept alive until the heap is read
    } catch (err) {
      caught = err;
    } finally {
      clearInterval(sample);
    }
    expect(caught).to.be.instanceOf(ProverResponseTooLargeError);
    expect(peak - before).to.be.below(32 * 1024 * 1024);
  });

  it("with the local fallback, a service that answers polls with 64 MiB bodies: proved here at once, the reason logged", async function () {
    this.timeout(120_000); // a local proof on a loaded machine; a client reading the whole bodies polls until timeoutMs
    const s = await fakeService(taking((res, id) => hugeJob(res, id, 64)));
    servers.push(s.server);
    const spy = createSpyLogger();
    const proved = await proveOutputs(model, values, outputs, spy.logger, { remote: remote(s.url, { fallbackLocal: true, stallMs: 60_000 }), jobId: "claim-4" });
    expect(proved.backend).to.not.match(/^service:/);
    expect(proved.fallback?.reason).to.equal("bad-proof");
    expect(proved.fallback?.error).to.match(/maxBodyBytes/);
    const warned = spy.find(/prover service did not deliver a valid proof/);
    expect(warned?.reason).to.equal("bad-proof");
  });

  it("with the local fallback, a service still running when a local proof must start: proved here, the reason given", async () => {
    const s = await fakeService(taking((res, id) => json(res, 200, job(id, "running"))));
    servers.push(s.server);
    const giveUpAt = Date.now() + 1_000;
    const proved = await proveOutputs(model, values, outputs, undefined, { remote: remote(s.url, { fallbackLocal: true }), jobId: "claim-2", bounds: { giveUpAt: () => giveUpAt } });
    expect(proved.backend).to.not.match(/^service:/);
    expect(proved.fallback?.reason).to.equal("deadline");
    expect(proved.outputs).to.deep.equal(outputs);
  });
});
