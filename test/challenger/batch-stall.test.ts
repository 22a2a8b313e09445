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
});
