// Bringing your own model, as a user does it from their own folder: `ozk model build <file.onnx> --out <dir>`
// writes the package (with model.onnx) exactly there or nowhere, the fidelity gate stops a model below the
// threshold unless overridden, `ozk model register` deploys the package's own verifier without a Hardhat build,
// and a provider serving a folder picks the package up once it is registered, without a restart.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Hex } from "viem";
import { readManifest, type ModelManifest } from "../../circuits/compiler/package.ts";
import { defaultPtau } from "../../prover/setup/phase2.ts";
import { findArtifact } from "../../runtime/artifacts.ts";
import { packageVerifier } from "../../runtime/deploy.ts";
import { modelRegistryAbi } from "../../sdk/abi.ts";
import { BONDS, WINDOWS, daemon, startNet, waitFor, type Net } from "./harness.ts";

const ROOT = join(import.meta.dirname, "../..");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `ozk <args>` as `npm run ozk --` runs it: in the repository root, with INIT_CWD the user's folder. */
function ozk(user: string, args: string[], o: { killOn?: RegExp } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, INIT_CWD: user, NODE_NO_WARNINGS: "1" },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      if (o.killOn?.test(stderr) && p.exitCode === null) p.kill("SIGKILL");
    });
    p.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The entries of a folder, hidden ones too. */
const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

describe("bring your own model: build, fidelity gate, register, served", function () {
  this.timeout(600_000);
  let user: string;
  const repoModels = entries(join(ROOT, "models"));
  const repoVerifiers = entries(join(ROOT, "contracts", "verifiers"));

  before(() => {
    user = mkdtempSync(join(tmpdir(), "ozk-own-"));
    mkdirSync(join(user, "exported"));
    copyFileSync(join(ROOT, "models/mnist-mlp/model.onnx"), join(user, "exported", "digits.onnx"));
    copyFileSync(join(ROOT, "test/onnx/fixtures/cnn-external-data.onnx"), join(user, "exported", "cnn-external-data.onnx"));
    copyFileSync(join(ROOT, "test/onnx/fixtures/cnn-external-data.onnx.data"), join(user, "exported", "cnn-external-data.onnx.data"));
  });
  after(() => rmSync(user, { recursive: true, force: true }));

  it("builds into --out relative to the user's folder, with model.onnx (and external data) in the package, nothing in the repository", async () => {
    const r = await ozk(user, ["model", "build", "exported/digits.onnx", "--out", "pkgs/digits", "--skip-setup", "--calibration", "mnist"]);
    expect(r.code, r.stderr).to.equal(0);
    const pkg = join(user, "pkgs", "digits");
    expect(entries(pkg)).to.include.members(["manifest.json", "model.onnx", "quant.json", "circuit.r1cs"]);
    const m = readManifest(pkg);
    expect(m.name).to.equal("digits");
    expect(m.artifacts.onnx).to.equal("model.onnx");
    expect(m.sha256["model.onnx"]).to.be.a("string");
    expect(m.fidelityGate?.status).to.equal("passed");
    expect(m.fidelityGate?.agreement).to.be.at.least(0.995);
    expect(r.stderr).to.match(/fidelity: top-1 agreement \d+\.\d\d% on 1000 samples \(required 99\.50%\): ok/);
    // no staging folder left beside it, nothing written into the repository
    expect(entries(join(user, "pkgs"))).to.deep.equal(["digits"]);
    expect(entries(join(ROOT, "models"))).to.deep.equal(repoModels);
    expect(entries(join(ROOT, "contracts", "verifiers"))).to.deep.equal(repoVerifiers);
    // `ozk model fidelity` works on the package as built
    const f = await ozk(user, ["model", "fidelity", "pkgs/digits", "--samples", "200"]);
    expect(f.code, f.stderr).to.equal(0);
    expect(f.stdout).to.match(/quantization: +\S*pkgs\/digits\/quant\.json/);

    // an .onnx with its weights in an external-data file: both files travel into the package
    const x = await ozk(user, ["model", "build", "exported/cnn-external-data.onnx", "--out", "pkgs/cnn", "--skip-setup"]);
    expect(x.code, x.stderr).to.equal(0);
    const cnn = readManifest(join(user, "pkgs", "cnn"));
    expect(cnn.artifacts.onnxData).to.equal("cnn-external-data.onnx.data");
    expect(readFileSync(join(user, "pkgs", "cnn", "cnn-external-data.onnx.data")).equals(readFileSync(join(user, "exported", "cnn-external-data.onnx.data")))).to.equal(true);
  });

  it("a model below the fidelity threshold fails the build with the figure and writes nothing; --skip-fidelity writes it and records the skip", async () => {
    const low = ["model", "build", "exported/digits.onnx", "--out", "pkgs/low", "--skip-setup", "--calibration", "mnist", "--activation-bits", "4", "--weight-bits", "4"];
    const r = await ozk(user, low);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/ozk: fidelity gate: top-1 agreement of the quantized with the float model is (\d+\.\d\d)% \(\d+ of 1000 samples differ\), below the required 99\.50%/);
    expect(r.stderr).to.match(/--activation-bits.*--skip-fidelity writes the package anyway/);
    expect(entries(join(user, "pkgs"))).to.not.include("low");
    expect(entries(join(user, "pkgs")).filter((e) => e.startsWith("."))).to.deep.equal([]);
    // the threshold is the user's to choose
    const lowered = await ozk(user, [...low, "--min-agreement", "0.9", "--out", "pkgs/low-ok"]);
    expect(lowered.code, lowered.stderr).to.equal(0);
    expect(readManifest(join(user, "pkgs", "low-ok")).fidelityGate).to.include({ status: "passed", minAgreement: 0.9 });

    const skipped = await ozk(user, [...low, "--skip-fidelity"]);
    expect(skipped.code, skipped.stderr).to.equal(0);
    expect(skipped.stderr).to.match(/warning: fidelity gate skipped/);
    const m: ModelManifest = readManifest(join(user, "pkgs", "low"));
    expect(m.fidelityGate).to.deep.equal({ status: "skipped", agreement: null, minAgreement: 0.995, samples: 0, data: null });
  });

  it("an interrupted or failed build leaves no package, and an existing package stays until a build succeeds", async () => {
    // (an absolute --out: this test is about what an interrupted build leaves, wherever it writes)
    const args = ["model", "build", join(user, "exported", "digits.onnx"), "--out", join(user, "pkgs", "killed"), "--skip-setup", "--calibration", "mnist"];
    // killed (kill -9) while it emits the constraints: no package at --out
    const killed = await ozk(user, args, { killOn: /emit constraints/ });
    expect(killed.code).to.equal(null);
    expect(entries(join(user, "pkgs"))).to.not.include("killed");
    // the next build removes what the killed one left beside the target, and writes the package
    const again = await ozk(user, args);
    expect(again.code, again.stderr).to.equal(0);
    expect(entries(join(user, "pkgs")).filter((e) => e.includes("killed"))).to.deep.equal(["killed"]);

    // a failed rebuild (no powers of tau for the key) leaves the existing package as it was
    const before = readFileSync(join(user, "pkgs", "killed", "manifest.json"), "utf8");
    const failed = await ozk(user, ["model", "build", join(user, "exported", "digits.onnx"), "--out", join(user, "pkgs", "killed"), "--calibration", "mnist", "--ptau", join(user, "missing.ptau")]);
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.match(/no powers-of-tau file at .*missing\.ptau/);
    expect(readFileSync(join(user, "pkgs", "killed", "manifest.json"), "utf8")).to.equal(before);
    expect(entries(join(user, "pkgs")).filter((e) => e.includes("killed"))).to.deep.equal(["killed"]);

    // a folder that is not a package is not replaced without --force
    mkdirSync(join(user, "notes"));
    copyFileSync(join(user, "exported", "digits.onnx"), join(user, "notes", "keep.onnx"));
    const refused = await ozk(user, ["model", "build", join(user, "exported", "digits.onnx"), "--out", join(user, "notes"), "--skip-setup", "--calibration", "mnist"]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/notes exists and is not an ozk model package: refusing to replace it .*--force/);
    expect(entries(join(user, "notes"))).to.deep.equal(["keep.onnx"]);
  });

  it("registration deploys only a verifier whose compiled code is the manifest's: an edited Verifier.sol is refused", () => {
    // A package whose verifier has no Hardhat artifact (renamed), so its Verifier.sol is compiled here.
    const pkg = join(user, "edited");
    cpSync(join(ROOT, "models/mnist-mlp"), pkg, { recursive: true, filter: (src) => !/circuit\.(zkey|r1cs)$/.test(src) });
    const manifest = JSON.parse(readFileSync(join(pkg, "manifest.json"), "utf8")) as ModelManifest;
    writeFileSync(join(pkg, "manifest.json"), JSON.stringify({ ...manifest, verifierContract: "OwnEditedVerifier" }));
    const source = readFileSync(join(ROOT, "models/mnist-mlp/Verifier.sol"), "utf8").replace(/contract MnistMlpVerifier\b/, "contract OwnEditedVerifier");
    writeFileSync(join(pkg, "Verifier.sol"), source);
    expect(findArtifact("OwnEditedVerifier")).to.equal(undefined);
    // twin: the same code under another name compiles to the recorded hash
    expect(packageVerifier(pkg).contract).to.equal("OwnEditedVerifier");
    writeFileSync(join(pkg, "Verifier.sol"), source.replace(/(uint256 constant alphax += )(\d)/, (_, a: string, d: string) => a + String((Number(d) + 1) % 10)));
    expect(() => packageVerifier(pkg)).to.throw(/Verifier\.sol compiles to runtime code with hash 0x[0-9a-f]{64}, but the manifest records verifierCodeHash 0x[0-9a-f]{64}.*rebuild the package/);
  });

  describe("on a chain (needs OZK_PTAU)", () => {
    let net: Net;
    let ptau: string;

    before(async function () {
      const named = defaultPtau();
      if (!named) {
        console.log("    OZK_PTAU does not name a powers-of-tau file: skipping");
        this.skip();
      }
      ptau = resolve(named!); // the CLI takes a relative path from the user's folder
      net = await startNet("own-model");
      for (const name of ["tiny-reg", "tiny-served"]) copyFileSync(join(ROOT, "test/onnx/fixtures/mlp-pytorch-opset20.onnx"), join(user, "exported", `${name}.onnx`));
    });
    after(async () => net?.close());

    const register = (pkg: string) => ozk(user, ["model", "register", pkg, "--deployment", net.deploymentFile, "--rpc", net.chain.url, "--key", net.keys.deployer,
      "--challenge-window", String(WINDOWS.challengeWindow), "--proof-window", String(WINDOWS.proofWindow),
      "--provider-bond", String(BONDS.minProviderBond), "--challenger-bond", String(BONDS.minChallengerBond)]);

    it("registers a freshly built package without a Hardhat build: its own Verifier.sol, the manifest's code hash pinned", async () => {
      const b = await ozk(user, ["model", "build", "exported/tiny-reg.onnx", "--out", "pkgs/tiny-reg", "--ptau", ptau]);
      expect(b.code, b.stderr).to.equal(0);
      const m = readManifest(join(user, "pkgs", "tiny-reg"));
      expect(m.verifierContract).to.equal("TinyRegVerifier");
      expect(findArtifact("TinyRegVerifier"), "no artifacts/ entry for the new verifier").to.equal(undefined);
      const r = await register("pkgs/tiny-reg");
      expect(r.code, r.stderr).to.equal(0);
      const { modelId } = JSON.parse(r.stdout) as { modelId: Hex };
      const entry = await net.pc.readContract({ address: net.deployment.addresses.registry, abi: modelRegistryAbi, functionName: "getModel", args: [modelId] });
      expect(entry.verifierCodeHash).to.equal(m.verifierCodeHash);
      const file = JSON.parse(readFileSync(net.deploymentFile, "utf8")) as { models: Record<string, string> };
      expect(file.models["tiny-reg"]).to.equal(modelId);
    });

    it("a provider serving a folder picks up a package copied in and registered after it started, and claims with it", async () => {
      const b = await ozk(user, ["model", "build", "exported/tiny-served.onnx", "--out", "pkgs/tiny-served", "--ptau", ptau]);
      expect(b.code, b.stderr).to.equal(0);
      const served = join(net.work, "served");
      mkdirSync(served);
      const provider = daemon(net, "honest", { models: undefined, modelsDir: served, modelsRescanMs: 300 });
      const url = await provider.url();

      cpSync(join(user, "pkgs", "tiny-served"), join(served, "tiny-served"), { recursive: true });
      await provider.waitForLog(/^model package not served yet .*not registered: the deployment has no model named "tiny-served"/);
      const r = await register(join(served, "tiny-served"));
      expect(r.code, r.stderr).to.equal(0);
      const { modelId } = JSON.parse(r.stdout) as { modelId: Hex };
      const line = await provider.waitForLog("serving new model tiny-served");
      expect(line.modelId).to.equal(modelId);
      // rescanned every 300 ms while it waited, the reason was logged once
      expect(provider.log().split("\n").filter((l) => l.includes("not registered: the deployment has no model named \\\"tiny-served\\\""))).to.have.length(1);

      const input = Array.from({ length: 36 }, (_, i) => (i % 7) / 7);
      const res = await fetch(`${url}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tiny-served", input }) });
      expect(res.status, await res.clone().text()).to.equal(202);
      const { jobId } = (await res.json()) as { jobId: string };
      const claimId = await waitFor(`claim of ${jobId}`, async () => ((await (await fetch(`${url}/jobs/${jobId}`)).json()) as { claimId?: Hex }).claimId);
      const logs = await net.pc.getContractEvents({ ...net.claims, eventName: "ClaimSubmitted", args: { claimId }, fromBlock: 0n, strict: true });
      expect(logs).to.have.length(1);
      expect(logs[0]!.args.claim.modelId).to.equal(modelId);
      expect(provider.proc.exitCode).to.equal(null);
    });
  });
});
