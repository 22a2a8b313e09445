// The challenger's verdict on one claim, re-executed off chain: correct, wrong, missing input, and a package whose
// engine fails on the claim's input. An engine failure is the bot's own fault (a broken package), not evidence against
// the provider: it must alert and must not challenge, which would put the challenger's bond on a claim it cannot judge.
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toHex, type Hex } from "viem";
import { challengerConfigSchema } from "../../challenger/config.ts";
import { reexecute, type WatchedClaim } from "../../challenger/step.ts";
import { loadPackage, type LoadedPackage } from "../../circuits/compiler/package.ts";
import { runQuantized } from "../../circuits/compiler/engine.ts";
import { hashVector } from "../../sdk/hash.ts";
import { encodeInputData } from "../../sdk/inputs.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { Metrics } from "../../sdk/node/metrics.ts";
import { openStore } from "../../sdk/node/store.ts";

const MODEL_ID = keccak256(toHex("mnist-mlp")) as Hex;
const pkg = loadPackage("models/mnist-mlp");
const { inputLength, inputBits } = pkg.manifest;
const input = Array.from({ length: inputLength }, (_, i) => BigInt((i * 37) % 2 ** (inputBits - 1)));
const honest = runQuantized(pkg.quant, input).outputs.map(String);

function context(model: LoadedPackage, missingInput: "report" | "challenge" = "report") {
  const config = challengerConfigSchema.parse({
    rpcUrl: "http://127.0.0.1:8545", privateKey: `0x${"11".repeat(32)}`, deployment: "d.json", models: [{ package: "m" }],
    sampling: { policy: "all" }, missingInput,
  });
  const spy = createSpyLogger("challenger");
  const metrics = new Metrics({ prefix: "ozk_challenger_", processMetrics: false });
  const store = openStore(join(mkdtempSync(join(tmpdir(), "ozk-verdicts-")), "c.sqlite"));
  const models = new Map([[MODEL_ID, { modelId: MODEL_ID, name: model.manifest.name, pkg: model }]]);
  return { ctx: { config, store, models, metrics, logger: spy.logger }, spy, metrics, store };
}

/** A claim on `input`; `inputData` null: none published. */
function claim(outputs: string[], inputData: Hex | null = encodeInputData(input, inputBits)): WatchedClaim {
  return {
    claimId: keccak256(toHex(`claim ${outputs.join(",")} ${inputData ?? "none"}`)),
    claim: { modelId: MODEL_ID, provider: `0x${"22".repeat(20)}`, inputHash: hashVector(input, inputBits).toString(), outputHash: `0x${"00".repeat(32)}`, bond: "1", requestId: "0" },
    outputs,
    blockNumber: "1",
    ...(inputData ? { inputData } : {}),
    status: "watching",
  };
}

async function checked(metrics: Metrics, verdict: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith("ozk_challenger_claims_checked_total") && l.includes(`verdict="${verdict}"`));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("challenger verdicts", () => {
  it("an honest claim is correct and done; the same claim with one output changed is wrong and stays watched", () => {
    const { ctx } = context(pkg);
    const ok = reexecute(ctx, claim(honest));
    expect(ok.verdict).to.equal("correct");
    expect(ok.status).to.equal("done");
    const lie = [...honest];
    lie[0] = String(BigInt(lie[0]!) + 1n);
    const bad = reexecute(ctx, claim(lie));
    expect(bad.verdict).to.equal("wrong");
    expect(bad.status).to.equal("watching");
    expect(bad.expected).to.deep.equal(honest);
  });

  it("a claim without published input is missing-input: done under policy report, watched under policy challenge", () => {
    expect(reexecute(context(pkg, "report").ctx, claim(honest, null))).to.include({ verdict: "missing-input", status: "done" });
    expect(reexecute(context(pkg, "challenge").ctx, claim(honest, null))).to.include({ verdict: "missing-input", status: "watching" });
  });

  it("an engine that fails on the input is engine-error: alerted, counted, stored, never challenged, even under policy challenge", async () => {
    // A broken package: its engine throws whatever the input. Loading checks quant.json, so the break is made here.
    const broken = { ...pkg, quant: { ...pkg.quant, get ops(): never { throw new Error("corrupt op table"); } } } as LoadedPackage;
    const { ctx, spy, metrics, store } = context(broken, "challenge");
    const c = claim(["1", "2", "3"]);
    const out = reexecute(ctx, c);
    expect(out).to.include({ verdict: "engine-error", status: "done", outcome: "engine error (not challenged)" });
    expect(out.reason).to.match(/engine failed on the claim's input.*corrupt op table/);
    expect(spy.find(/ENGINE ERROR/)?.levelName).to.equal("error");
    expect(await checked(metrics, "engine-error")).to.equal(1);
    expect(store.get<WatchedClaim>(`claim/${c.claimId}`)?.verdict).to.equal("engine-error");
    // Published data that does not match the claim's input hash is not an engine error: the input is unavailable.
    const { ctx: ctx2 } = context(pkg, "report");
    const other = encodeInputData(input.map(() => 0n), inputBits);
    expect(reexecute(ctx2, claim(honest, other)).verdict).to.equal("missing-input");
  });
});
