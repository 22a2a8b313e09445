// A transformer end to end, from the user's own folder: the vision transformer of test/fixtures/models/vit-mnist
// (opset 17 as torch.onnx.export writes it: attention, softmax, LayerNorm, erf GELU, residual adds, a class token)
// is built by `ozk model build` on the direct route with the unsafe dev setup (about 800k constraints, under 2^20),
// its quantized model agrees with the float one on every held-out digit, it registers, and the daemons serve it like
// the CNN: the honest provider's challenged claim is proven on chain by its native prover, and the challenger
// re-executes a cheater's claim bit-exactly and gets it slashed. Nothing of this package is committed: the test
// builds it (about a minute and a half on two cores).
import { expect } from "chai";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest } from "../../circuits/compiler/package.ts";
import { ClaimStatus } from "../../sdk/protocol.ts";
import { ensureNativeBuilt } from "../native-build.ts";
import { BONDS, TOKEN, WINDOWS, claimEvents, daemon, infer, ozkAt as ozk, solvent, startNet, waitStatus, type Net } from "./harness.ts";

const FIXTURE = join(import.meta.dirname, "../fixtures/models/vit-mnist");

describe("a transformer: the MNIST vision transformer built, served by the daemons and proven on chain", function () {
  this.timeout(900_000);
  let user: string;
  let net: Net;
  const training = JSON.parse(readFileSync(join(FIXTURE, "training.json"), "utf8")) as { heldOutAccuracy: { onnxruntime: number } };

  before(async function () {
    if (!ensureNativeBuilt()) {
      console.log("    native prover not built (no C++ toolchain?): skipping the transformer (its setup and proofs are native)");
      this.skip();
    }
    user = mkdtempSync(join(tmpdir(), "ozk-vit-"));
    mkdirSync(join(user, "exported"));
    copyFileSync(join(FIXTURE, "model.onnx"), join(user, "exported", "vit-mnist.onnx"));
    net = await startNet("transformer");
  });
  after(async () => {
    await net?.close();
    if (user) rmSync(user, { recursive: true, force: true });
  });

  const pkg = "pkgs/vit-mnist";
  const chain = (): string[] => ["--deployment", net.deploymentFile, "--rpc", net.chain.url];

  it("builds on the direct route with the unsafe dev setup: under 2^20 constraints, costs by part, the gate passed", async () => {
    const r = await ozk(user, ["model", "build", "exported/vit-mnist.onnx", "--out", pkg, "--setup", "unsafe-dev", "--calibration", "mnist"]);
    expect(r.code, r.stderr).to.equal(0);
    const m = readManifest(join(user, pkg));
    expect(m.constraints).to.be.above(1 << 19).and.below(1 << 20);
    expect(m.route).to.equal("direct");
    expect(m.artifacts.circom, "no circom source for a graph model").to.equal(undefined);
    expect(m.fidelityGate?.status).to.equal("passed");
    const parts = new Set(m.costs.map((c) => c.role));
    for (const part of ["attention", "softmax", "norm", "MLP"]) expect(parts.has(part), part).to.equal(true);
    const inspect = await ozk(user, ["model", "inspect", pkg]);
    expect(inspect.code, inspect.stderr).to.equal(0);
    expect(inspect.stdout).to.match(/per part of the transformer:[\s\S]*attention[\s\S]*softmax/);
  });

  it("on every held-out digit the float model is onnxruntime's, and the quantized model agrees with it (>= 99%)", async () => {
    const r = await ozk(user, ["model", "fidelity", pkg, "--samples", "1996", "--json", "fidelity.json"]);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(readFileSync(join(user, "fidelity.json"), "utf8")) as {
      samples: number;
      floatAccuracy: number;
      agreement: number;
      layers: { name: string; kind: string }[];
    };
    expect(report.samples).to.equal(1996);
    expect(report.floatAccuracy).to.equal(training.heldOutAccuracy.onnxruntime);
    expect(report.agreement).to.be.at.least(0.99);
    // per-op error, the transformer's ops included
    const kinds = new Set(report.layers.map((l) => l.kind));
    for (const k of ["softmax", "layerNorm", "matmul", "gelu", "add"]) expect(kinds.has(k), k).to.equal(true);
  });

  it("registers; the provider daemon serves and proves a challenged claim, the challenger gets a cheater slashed", async () => {
    const reg = await ozk(user, ["model", "register", pkg, ...chain(), "--key", net.keys.deployer,
      "--challenge-window", String(WINDOWS.challengeWindow), "--proof-window", String(WINDOWS.proofWindow),
      "--provider-bond", String(BONDS.minProviderBond), "--challenger-bond", String(BONDS.minChallengerBond)]);
    expect(reg.code, reg.stderr).to.equal(0);
    const models = [{ package: join(user, pkg) }];
    const honest = daemon(net, "honest", { models });
    const cheater = daemon(net, "cheater", { models });
    // the challenger daemon re-executes the transformer's claims and disputes a wrong output
    const challenger = daemon(net, "challenger", { models });
    await challenger.waitForLog("challenger: started");
    const good = await infer(net, honest, 3, "vit-good", "vit-mnist");
    const bad = await infer(net, cheater, 7, "vit-bad", "vit-mnist");
    // a challenge of the honest claim is answered with a proof the on-chain verifier accepts
    const s = await ozk(user, ["stake", String(1000n * TOKEN), ...chain(), "--key", net.keys.consumer]);
    expect(s.code, s.stderr).to.equal(0);
    const ch = await ozk(user, ["challenge", good, ...chain(), "--key", net.keys.consumer]);
    expect(ch.code, ch.stderr).to.equal(0);
    await waitStatus(net, good, ClaimStatus.Proven, 240_000);
    // nobody can prove the cheater's output
    await waitStatus(net, bad, ClaimStatus.Challenged, 120_000);
    await net.chain.advance(WINDOWS.proofWindow + 1);
    await waitStatus(net, bad, ClaimStatus.Slashed, 120_000);
    expect((await claimEvents(net, "ClaimProven")).map((e) => e.args.claimId)).to.deep.equal([good]);
    expect(await solvent(net)).to.equal(true);
  });
});
