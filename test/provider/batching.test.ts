// The provider's batching rule (when a batch of client jobs is posted: size and age) and its batch data endpoint
// (GET /batches/:root), which challengers and consumers read: bad and unknown roots are refused, a stored batch is
// served with leaves that rebuild its root.
import { expect } from "chai";
import type { Hex } from "viem";
import { batchPolicy, batchTake, batchTree, batchView, batchViewJson, forgetBatchView, type OwnBatch } from "../../provider/batch.ts";
import { providerConfigSchema } from "../../provider/config.ts";
import { providerRoutes } from "../../provider/api.ts";
import type { ProviderContext } from "../../provider/step.ts";
import { decodeInputData } from "../../sdk/inputs.ts";
import { hashVector } from "../../sdk/hash.ts";
import { HttpError, startServer } from "../../sdk/node/server.ts";
import { Store } from "../../sdk/node/store.ts";

const base = { rpcUrl: "http://127.0.0.1:8545", privateKey: `0x${"11".repeat(32)}`, deployment: "d.json", models: [{ package: "m" }] };
const config = (batching: Record<string, unknown>) => providerConfigSchema.parse({ ...base, batching });
const MODEL: Hex = `0x${"ab".repeat(32)}`;
const model = { name: "mnist-mlp", modelId: MODEL };

function storedBatch(n: number): OwnBatch {
  const leaves = Array.from({ length: n }, (_, i) => {
    const values = [BigInt(i), -3n, 7n];
    return { index: i, inputHash: hashVector(values, 8).toString(), outputs: [String(i), "-1"], values: values.map(String), jobIds: [`job-${i}`] };
  });
  const tree = batchTree({ modelId: MODEL, leaves });
  return { root: tree.root, modelId: MODEL, bits: 8, size: n, bond: "0", leaves, storedAtBlock: "1", createdAt: 0, status: "stored" };
}

describe("provider: batching", () => {
  it("is off by default; maxClaims 100 and maxAgeMs 30 s; a model's own rule (by name or modelId) overrides", () => {
    expect(batchPolicy(config({}), model)).to.deep.equal({ enabled: false, maxClaims: 100, maxAgeMs: 30_000 });
    const c = config({ enabled: true, maxClaims: 10, models: { "mnist-mlp": { maxAgeMs: 5 } } });
    expect(batchPolicy(c, model)).to.deep.equal({ enabled: true, maxClaims: 10, maxAgeMs: 5 });
    expect(batchPolicy(c, { name: "other", modelId: `0x${"cd".repeat(32)}` })).to.deep.equal({ enabled: true, maxClaims: 10, maxAgeMs: 30_000 });
    const byId = config({ models: { [MODEL.toUpperCase().replace("0X", "0x")]: { enabled: true } } });
    expect(batchPolicy(byId, model).enabled).to.equal(true);
    // The batch bond: its own setting, per model too (unset: the provider's `bond`).
    const bonded = config({ enabled: true, bond: "1000", models: { "mnist-mlp": { bond: "5000" } } });
    expect(batchPolicy(bonded, model).bond).to.equal(5000n);
    expect(batchPolicy(bonded, { name: "other", modelId: `0x${"cd".repeat(32)}` }).bond).to.equal(1000n);
    expect(batchPolicy(c, model).bond).to.equal(undefined);
    expect(() => config({ bond: "-1" })).to.throw(/bond/);
    expect(() => config({ maxClaims: 0 })).to.throw(/maxClaims/);
    expect(() => config({ models: { m: { maxClaim: 3 } } })).to.throw(/maxClaim/);
  });

  it("posts maxClaims at once when that many are ready, all once the oldest is maxAgeMs old, else waits", () => {
    const policy = { enabled: true, maxClaims: 3, maxAgeMs: 1000 };
    expect(batchTake([], policy, 10_000)).to.equal(0);
    expect(batchTake([9_500, 9_600], policy, 10_000), "young and few: wait").to.equal(0);
    expect(batchTake([9_000, 9_600], policy, 10_000), "the oldest is maxAgeMs old: all of them").to.equal(2);
    expect(batchTake([9_900, 9_950, 9_990], policy, 10_000), "maxClaims ready: a full batch").to.equal(3);
    expect(batchTake([9_900, 9_950, 9_990, 9_995, 9_999], policy, 10_000), "more ready: one full batch now, the rest later").to.equal(3);
    expect(batchTake([0, 0], { ...policy, enabled: false }, 10_000), "disabled: never").to.equal(0);
    expect(batchTake([10_000], { ...policy, maxAgeMs: 0 }, 10_000), "maxAgeMs 0: at once").to.equal(1);
  });

  it("GET /batches/:root serves a stored batch: leaves with inputHash, outputs and inputData that rebuild the root", async () => {
    const store = new Store(":memory:");
    const b = storedBatch(5);
    store.set(`batch/${b.root}`, b);
    const route = providerRoutes({ store } as unknown as ProviderContext).find((r) => r.path === "/batches/:root")!;
    const res = await route.handler({ method: "GET", path: `/batches/${b.root}`, params: { root: b.root.toUpperCase().replace("0X", "0x") }, query: new URLSearchParams(), body: undefined });
    expect(res.status).to.equal(200);
    const view = JSON.parse(res.json!) as ReturnType<typeof batchView>;
    expect(view).to.include({ modelId: MODEL, root: b.root, size: 5 });
    const leaves = view.leaves.map((l) => ({ index: l.index, inputHash: l.inputHash, outputs: l.outputs, values: decodeInputData(l.inputData).values.map(String), jobIds: [`job-${l.index}`] }));
    expect(batchTree({ modelId: MODEL, leaves }).root).to.equal(b.root);
    expect(JSON.stringify(view)).to.not.include("job-"); // job ids stay private
  });

  it("GET /batches/:root through the HTTP server lets any web page read the leaves (the page's leaf lookup); other routes do not", async () => {
    const store = new Store(":memory:");
    const b = storedBatch(3);
    store.set(`batch/${b.root}`, b);
    const server = await startServer({ port: 0, host: "127.0.0.1", routes: providerRoutes({ store } as unknown as ProviderContext) });
    try {
      const r = await fetch(`${server.url}/batches/${b.root}`, { headers: { origin: "https://page.example" } });
      expect(r.status).to.equal(200);
      expect(r.headers.get("access-control-allow-origin")).to.equal("*");
      expect(((await r.json()) as { root: string }).root).to.equal(b.root);
      const missing = await fetch(`${server.url}/jobs/nope`, { headers: { origin: "https://page.example" } });
      expect(missing.headers.get("access-control-allow-origin")).to.equal(null);
    } finally {
      await server.close();
    }
  });

  it("GET /batches/:root refuses a root that is not 32 bytes of hex (400) and an unknown one (404)", () => {
    const store = new Store(":memory:");
    const status = (root: string): number => {
      try {
        batchView(store, root);
        return 200;
      } catch (err) {
        return err instanceof HttpError ? err.status : 500;
      }
    };
    for (const bad of ["", "0x", "0x1234", `0x${"g".repeat(64)}`, `${"ab".repeat(32)}`, `0x${"ab".repeat(33)}`, "../../etc/passwd", `0x${"ab".repeat(32)}/x`]) {
      expect(status(bad), JSON.stringify(bad)).to.equal(400);
    }
    expect(status(`0x${"ab".repeat(32)}`)).to.equal(404);
    expect(() => batchView(store, `0x${"ab".repeat(32)}`)).to.throw(/no batch with root 0xabab/);
  });

  it("a flood of GET /batches/:root of a submitted batch reads and encodes it once, not once per request", async () => {
    // Serving a batch reads it from the store (JSON of every input) and encodes every input again: about 50 ms for a
    // default 100-claim batch of mnist, 0.7 s at 1000 claims. GET /batches/:root is open to anyone, so about 20 GETs a
    // second keep the provider's single thread busy, and its steps (the proofs of its batches' challenged positions)
    // wait: a griefer who challenges a position and floods the endpoint makes an honest provider miss the proof
    // deadline and lose the whole batch bond. A submitted batch's data never changes: it is served from memory.
    const store = new Store(":memory:");
    const b = { ...storedBatch(5), status: "submitted" as const, batchId: `0x${"cd".repeat(32)}` as Hex };
    store.set(`batch/${b.root}`, b);
    let reads = 0;
    const get = store.get.bind(store);
    store.get = (<T>(key: string): T | undefined => {
      if (key === `batch/${b.root}`) reads++;
      return get<T>(key);
    }) as typeof store.get;
    const route = providerRoutes({ store } as unknown as ProviderContext).find((r) => r.path === "/batches/:root")!;
    const bodies: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await route.handler({ method: "GET", path: `/batches/${b.root}`, params: { root: b.root }, query: new URLSearchParams(), body: undefined });
      expect(res.status).to.equal(200);
      bodies.push(res.json !== undefined ? JSON.parse(res.json) : res.body);
    }
    expect(reads).to.be.at.most(1);
    for (const body of bodies) expect(body).to.deep.equal(JSON.parse(JSON.stringify(batchView(store, b.root))));
    // Adopted again under another batchId (a reorg): served with the new one.
    const moved = { ...b, batchId: `0x${"ef".repeat(32)}` as Hex };
    store.set(`batch/${b.root}`, moved);
    forgetBatchView(store, b.root);
    expect(JSON.parse(batchViewJson(store, b.root)).batchId).to.equal(moved.batchId);
  });
});
