// A real model as users export it, end to end with the CLI from the user's own folder: the 421k-parameter MNIST CNN
// of test/fixtures/models/pytorch-cnn (two padded convs with max pooling, two dense layers, exported as PyTorch
// opset 11 writes it) was trained on NORMALIZED pixels, (x - 0.1307) / 0.3081. It is built with that normalization
// and the unsafe dev setup (about 880k constraints: larger than any committed powers of tau), its float model
// agrees with onnxruntime on the normalized held-out digits, the quantized model agrees with the float one, and a
// challenged claim on a raw digit is proven on chain through ClaimManager.prove with the native prover.
// Nothing of this package is committed: the test builds it (about two minutes on two cores).
import { expect } from "chai";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest } from "../../circuits/compiler/package.ts";
import { loadMnist } from "../../circuits/data/mnist.ts";
import { ensureNativeBuilt } from "../native-build.ts";
import { BONDS, TOKEN, WINDOWS, ozkAt as ozk, startNet, type Net } from "./harness.ts";

const FIXTURE = join(import.meta.dirname, "../fixtures/models/pytorch-cnn");

describe("a real model: a normalized 421k-parameter PyTorch CNN built, checked and proven on chain", function () {
  this.timeout(900_000);
  let user: string;
  let net: Net;
  const training = JSON.parse(readFileSync(join(FIXTURE, "training.json"), "utf8")) as {
    parameters: number;
    heldOutAccuracy: { onnxruntime: number };
  };

  before(async function () {
    if (!ensureNativeBuilt()) {
      console.log("    native prover not built (no C++ toolchain?): skipping the real model (its setup and proofs are native)");
      this.skip();
    }
    user = mkdtempSync(join(tmpdir(), "ozk-real-"));
    mkdirSync(join(user, "exported"));
    copyFileSync(join(FIXTURE, "model.onnx"), join(user, "exported", "pytorch-cnn.onnx"));
    net = await startNet("real-model");
  });
  after(async () => {
    await net?.close();
    if (user) rmSync(user, { recursive: true, force: true });
  });

  const pkg = "pkgs/pytorch-cnn";
  const chain = (): string[] => ["--deployment", net.deploymentFile, "--rpc", net.chain.url];

  it("builds with the training code's normalization and the unsafe dev setup: a complete package, the gate passed", async () => {
    expect(training.parameters).to.be.above(400_000);
    const r = await ozk(user, ["model", "build", "exported/pytorch-cnn.onnx", "--out", pkg, "--setup", "unsafe-dev", "--calibration", "mnist", "--input-mean", "0.1307", "--input-std", "0.3081"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/UNSAFE/);
    const m = readManifest(join(user, pkg));
    expect(m.preprocess).to.deep.include({ mean: [0.1307], std: [0.3081] });
    expect(m.constraints).to.be.above(1 << 19);
    expect(m.setup?.kind).to.equal("unsafe-dev");
    expect(m.verifierContract).to.equal("PytorchCnnVerifier");
    expect(m.fidelityGate?.status).to.equal("passed");
    expect(m.fidelityGate?.agreement).to.be.at.least(0.995);
  });

  it("on every held-out digit its float model is onnxruntime's on normalized pixels, and the quantized model agrees with it", async () => {
    const r = await ozk(user, ["model", "fidelity", pkg, "--samples", "1996", "--json", "fidelity.json"]);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(readFileSync(join(user, "fidelity.json"), "utf8")) as { samples: number; floatAccuracy: number; agreement: number };
    expect(report.samples).to.equal(1996);
    // the trainer measured onnxruntime on (x - mean) / std; the package is given raw pixels and normalizes itself
    expect(report.floatAccuracy).to.equal(training.heldOutAccuracy.onnxruntime);
    expect(report.agreement).to.be.at.least(0.995);
  });

  it("registers, and a challenged claim on a raw digit is proven on chain (native prover, ClaimManager.prove)", async () => {
    const reg = await ozk(user, ["model", "register", pkg, ...chain(), "--key", net.keys.deployer,
      "--challenge-window", String(WINDOWS.challengeWindow), "--proof-window", String(WINDOWS.proofWindow),
      "--provider-bond", String(BONDS.minProviderBond), "--challenger-bond", String(BONDS.minChallengerBond)]);
    expect(reg.code, reg.stderr).to.equal(0);

    const { heldOut } = loadMnist();
    writeFileSync(join(user, "digit.json"), JSON.stringify(Array.from(heldOut.images[0]!)));
    for (const who of ["honest", "challenger"] as const) {
      const s = await ozk(user, ["stake", String(1000n * TOKEN), ...chain(), "--key", net.keys[who]]);
      expect(s.code, s.stderr).to.equal(0);
    }
    const claimed = await ozk(user, ["claim", pkg, "digit.json", ...chain(), "--key", net.keys.honest]);
    expect(claimed.code, claimed.stderr).to.equal(0);
    const { claimId } = JSON.parse(claimed.stdout) as { claimId: string };

    const challenged = await ozk(user, ["challenge", claimId, ...chain(), "--key", net.keys.challenger]);
    expect(challenged.code, challenged.stderr).to.equal(0);
    const proved = await ozk(user, ["prove-claim", claimId, "--package", pkg, ...chain(), "--key", net.keys.honest]);
    expect(proved.code, proved.stderr).to.equal(0);

    const status = await ozk(user, ["status", claimId, ...chain(), "--json"]);
    expect(status.code, status.stderr).to.equal(0);
    const s = JSON.parse(status.stdout) as { status: string; settled: boolean; class?: number };
    expect(s).to.include({ status: "Proven", settled: true });
    expect(s.class).to.equal(heldOut.labels[0]);
  });
});
