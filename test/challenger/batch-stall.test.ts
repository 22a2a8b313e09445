// A cheater blinding the challenger with batches whose dataURI never answers: each fetch waits batchData.timeoutMs,
// and the batch watch runs inside the same step as the claim watch. Fetched one after another, n such batches hold
// the step for n x timeoutMs (100 batches at the default 10 s: 17 minutes per step, three tries each), while the
// challenge windows of the cheater's single false claims run out unwatched; the bot then challenges each withheld
// batch at a position the cheater proves, paying it a challenger bond per batch. A step must spend about one
// timeout on batch data, whatever their number.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import type { Hex } from "viem";
import { batchFetchesPerStep, batchWatchStep, type WatchedBatch } from "../../challenger/batch.ts";
import { challengerConfigSchema } from "../../challenger/config.ts";
import type { ChallengerContext } from "../../challenger/step.ts";
import { Store } from "../../sdk/node/store.ts";
import { resolve } from "node:path";
import { batchLeaf, buildBatchTree } from "../../sdk/batch.ts";
import { loadPackage } from "../../circuits/compiler/package.ts";
import { runQuantized } from "../../circuits/compiler/engine.ts";
import { encodeInputData } from "../../sdk/inputs.ts";
import { hashVector } from "../../sdk/hash.ts";

const MODEL: Hex = `0x${"ab".repeat(32)}`;
const TIMEOUT_MS = 400;

describe("challenger: hostile batch data cannot stall the step", () => {
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("ten batches whose dataURI hangs hold one step for about one fetch timeout, not ten", async () => {
    const store = new Store(":memory:");
    const config = challengerConfigSchema.parse({
      rpcUrl: "http://127.0.0.1:8545", privateKey: `0x${"11".repeat(32)}`, deployment: "d.json", models: [{ package: "m" }],
      sampling: { policy: "all" }, slashMissedAudits: false, batchData: { timeoutMs: TIMEOUT_MS, attempts: 3, maxBytes: 1024 * 1024 },
    });
    for (let i = 0; i < 10; i++) {
      const batchId = `0x${i.toString(16).padStart(64, "0")}` as Hex;
      store.set(`batch/${batchId}`, {
        batchId, dataURI: `${url}/batches/${i}`, blockNumber: "1", status: "watching",
        batch: { modelId: MODEL, provider: `0x${"22".repeat(20)}`, root: `0x${"33".repeat(32)}`, size: 4, bond: "1", auditRateBps: 0, auditFee: "0" },
      } satisfies WatchedBatch);
    }
    const counter = () => ({ inc: () => undefined });
    const ctx = {
      config, store, signal: new AbortController().signal, logger: pino({ level: "silent" }),
      metrics: { counter }, models: new Map([[MODEL, { modelId: MODEL, name: "m" }]]),
      deployment: { addresses: { batchManager: `0x${"44".repeat(20)}` }, deployBlock: 0 },
      batchCursor: { poll: async () => undefined },
    } as unknown as ChallengerContext;
    const t = Date.now();
    await batchWatchStep(ctx);
    const took = Date.now() - t;
    expect(took, `one step took ${took} ms on batch data`).to.be.below(3 * TIMEOUT_MS);
  });

  it("fetches fewer at once when each body may be large, so hostile full-size bodies cannot add up to an out-of-memory", () => {
    expect(batchFetchesPerStep(1024 * 1024)).to.equal(16);
    expect(batchFetchesPerStep(64 * 1024 * 1024)).to.equal(4);
    expect(batchFetchesPerStep(2 ** 30)).to.equal(1);
  });

  it("batches that repeat a root already checked (the same claims under another bond) are not fetched and re-executed again", async () => {
    // Checking a batch costs the bot CPU in proportion to its size (about 80 s for a million leaves within the default
    // 64 MiB, before re-executing any), synchronously, inside the step. A batch id hashes the bond too, so a cheater
    // builds one large batch once and submits its root again and again under bonds 1 wei apart: each costs it a
    // transaction, and every bot the whole check again. The same model, root and size are the same claims: one check.
    const pkg = loadPackage(resolve("models/mnist-mlp"));
    const { inputLength, inputBits } = pkg.manifest;
    const leaves = [0, 1, 2].map((index) => {
      const values = Array.from({ length: inputLength }, (_, i) => BigInt(((i * 7 + index * 13) % 50) - 10));
      return { index, inputHash: String(hashVector(values, inputBits)), outputs: runQuantized(pkg.quant, values).outputs.map(String), inputData: encodeInputData(values, inputBits) };
    });
    const root = buildBatchTree(leaves.map((l) => batchLeaf(MODEL, BigInt(l.inputHash), l.outputs.map(BigInt), l.index))).root;
    let gets = 0;
    const dataServer = createServer((_req, res) => {
      gets++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ size: 3, leaves }));
    });
    await new Promise<void>((r) => dataServer.listen(0, "127.0.0.1", r));
    const dataUrl = `http://127.0.0.1:${(dataServer.address() as AddressInfo).port}`;
    try {
      const store = new Store(":memory:");
      const config = challengerConfigSchema.parse({
        rpcUrl: "http://127.0.0.1:8545", privateKey: `0x${"11".repeat(32)}`, deployment: "d.json", models: [{ package: "m" }],
        sampling: { policy: "all" }, slashMissedAudits: false, batchData: { timeoutMs: 2000, attempts: 3, maxBytes: 1024 * 1024 },
      });
      for (let i = 0; i < 5; i++) {
        const batchId = `0x${(i + 1).toString(16).padStart(64, "0")}` as Hex;
        store.set(`batch/${batchId}`, {
          batchId, dataURI: `${dataUrl}/batches/${root}?copy=${i}`, blockNumber: String(10 + i), status: "watching",
          batch: { modelId: MODEL, provider: `0x${"22".repeat(20)}`, root, size: 3, bond: String(100 + i), auditRateBps: 0, auditFee: "0" },
        } satisfies WatchedBatch);
      }
      const counter = () => ({ inc: () => undefined });
      const ctx = {
        config, store, signal: new AbortController().signal, logger: pino({ level: "silent" }),
        metrics: { counter }, models: new Map([[MODEL, { modelId: MODEL, name: "mnist-mlp", pkg }]]),
        deployment: { addresses: { batchManager: `0x${"44".repeat(20)}` }, deployBlock: 0 },
        batchCursor: { poll: async () => undefined },
      } as unknown as ChallengerContext;
      for (let step = 0; step < 3; step++) await batchWatchStep(ctx);
      const verdicts = store.entries<WatchedBatch>("batch/").map(([, w]) => w.verdict);
      expect(verdicts).to.deep.equal(["correct", "correct", "correct", "correct", "correct"]);
      expect(gets, "fetches of the one batch data").to.equal(1);
    } finally {
      dataServer.closeAllConnections();
      dataServer.close();
    }
  });
});
