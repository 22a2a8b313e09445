// The challenger's sampling draw, tried the way a cheater would: with the published default configuration a
// cheater must not be able to tell which claims go unchecked, and a restart must draw the same claims.
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toHex, type Hex } from "viem";
import { challengerConfigSchema } from "../../challenger/config.ts";
import { sampled, samplingDraw, samplingSeed, type WatchedClaim } from "../../challenger/step.ts";
import { openStore } from "../../sdk/node/store.ts";

const base = { rpcUrl: "http://127.0.0.1:8545", privateKey: `0x${"11".repeat(32)}`, deployment: "d.json", models: [{ package: "m" }] };
const config = (sampling: Record<string, unknown>) => challengerConfigSchema.parse({ ...base, sampling });
const claimIds: Hex[] = Array.from({ length: 400 }, (_, i) => keccak256(toHex(`claim ${i}`)));
const claim = (claimId: Hex, bond: bigint, requestId = 0n): WatchedClaim => ({
  claimId,
  claim: { modelId: `0x${"00".repeat(32)}`, provider: `0x${"22".repeat(20)}`, inputHash: "1", outputHash: `0x${"00".repeat(32)}`, bond: bond.toString(), requestId: requestId.toString() },
  outputs: [],
  blockNumber: "1",
  status: "watching",
});
const newStore = () => openStore(join(mkdtempSync(join(tmpdir(), "ozk-sampling-")), "c.sqlite"));

describe("challenger sampling", () => {
  it("makes a random seed per store when none is configured, and keeps it across restarts", () => {
    const cfg = config({ policy: "probability", probability: 0.5 });
    expect(cfg.sampling.seed).to.equal(undefined);
    const dir = mkdtempSync(join(tmpdir(), "ozk-sampling-"));
    let store = openStore(join(dir, "c.sqlite"));
    const first = samplingSeed({ config: cfg, store });
    expect(first).to.match(/^0x[0-9a-f]{64}$/);
    const picked = claimIds.filter((id) => sampled({ config: cfg, store }, claim(id, 1n)));
    store.close();
    store = openStore(join(dir, "c.sqlite"));
    expect(samplingSeed({ config: cfg, store })).to.equal(first);
    expect(claimIds.filter((id) => sampled({ config: cfg, store }, claim(id, 1n)))).to.deep.equal(picked);
    // Another install draws other claims.
    const other = newStore();
    expect(samplingSeed({ config: cfg, store: other })).to.not.equal(first);
    expect(claimIds.filter((id) => sampled({ config: cfg, store: other }, claim(id, 1n)))).to.not.deep.equal(picked);
  });

  it("a cheater who predicts with the old public seed does no better than chance", () => {
    const cfg = config({ policy: "probability", probability: 0.5 });
    const store = newStore();
    // The cheater lies only on claims the public seed "ozk" would skip.
    const lies = claimIds.filter((id) => samplingDraw(id, "ozk") >= 0.5);
    const caught = lies.filter((id) => sampled({ config: cfg, store }, claim(id, 1n))).length;
    // With a secret seed about half of the lies are re-executed (binomial, n about 200: far from 0).
    expect(caught / lies.length).to.be.within(0.3, 0.7);
  });

  it("rejects a short configured seed, naming the field", () => {
    expect(() => config({ policy: "probability", seed: "ozk" })).to.throw(/seed/);
  });

  it("policy value counts the request's fee with the bond", () => {
    const cfg = config({ policy: "value", probability: 0, valueThreshold: "100", seed: "a-long-enough-secret-seed" });
    const store = newStore();
    const id = claimIds[0]!;
    expect(sampled({ config: cfg, store }, claim(id, 60n))).to.equal(false);
    expect(sampled({ config: cfg, store }, claim(id, 60n, 7n))).to.equal(false);
    store.set("request/7", { inputData: "0x", inputURI: "", fee: "40" });
    expect(sampled({ config: cfg, store }, claim(id, 60n, 7n))).to.equal(true);
    expect(sampled({ config: cfg, store }, claim(id, 100n))).to.equal(true);
  });
});
