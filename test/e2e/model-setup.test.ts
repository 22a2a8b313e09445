// `ozk model build` on models of any size, as a user runs it from their own folder: the powers of tau is checked
// against the circuit before the constraints are emitted; `ozk model inspect` gives the count the build writes;
// `--setup unsafe-dev` (no powers of tau) and the ceremony both end in a package `ozk model register` takes; a build
// interrupted (Ctrl-C) or failing in any step leaves the target as it was.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import type { Hex } from "viem";
import { readManifest, sha256File } from "../../circuits/compiler/package.ts";
import { readR1csHeader } from "../../circuits/compiler/r1cs.ts";
import { attrInt, buildOnnxGraph } from "../../circuits/onnx/export.ts";
import { importOnnxFile } from "../../circuits/onnx/import.ts";
import { modelRegistryAbi } from "../../sdk/abi.ts";
import { BONDS, WINDOWS, startNet, type Net } from "./harness.ts";
import { ensureNativeBuilt } from "../native-build.ts";

const ROOT = join(import.meta.dirname, "../..");
const POT11 = join(ROOT, "test/fixtures/ptau/INSECURE_test_pot11.ptau");

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `ozk <args>` as `npm run ozk --` runs it: in the repository root, with INIT_CWD the user's folder; OZK_PTAU unset. */
function ozk(user: string, args: string[], o: { env?: Record<string, string>; interruptOn?: RegExp } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env: Record<string, string | undefined> = { ...process.env, INIT_CWD: user, NODE_NO_WARNINGS: "1", ...o.env };
    delete env.OZK_PTAU;
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    let sent = false;
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      if (!sent && o.interruptOn?.test(stderr)) {
        sent = true;
        p.kill("SIGINT");
      }
    });
    p.once("exit", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

/** Every file of a folder (recursively) with its sha256: what "unchanged" means. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out[rel + e.name] = sha256File(join(d, e.name));
    }
  };
  walk(dir, "");
  return out;
}

describe("ozk model build --setup: sized before the work, complete packages, never half written", function () {
  this.timeout(900_000);
  let user: string;
  let native = false;
  const repoVerifiers = entries(join(ROOT, "contracts", "verifiers"));
  /** The unsafe dev setup runs the native prover: built here on a fresh clone, else those tests skip. */
  const needsNative = (t: Mocha.Context): void => {
    if (native) return;
    console.log("    native prover not built (no C++ toolchain?): skipping");
    t.skip();
  };

  before(() => {
    native = ensureNativeBuilt();
    user = mkdtempSync(join(tmpdir(), "ozk-setup-"));
    mkdirSync(join(user, "exported"));
    copyFileSync(join(ROOT, "models/mnist-mlp/model.onnx"), join(user, "exported", "digits.onnx"));
    copyFileSync(join(ROOT, "models/mnist-cnn/model.onnx"), join(user, "exported", "cnn.onnx"));
    copyFileSync(join(ROOT, "test/fixtures/normalized-cnn/model.onnx"), join(user, "exported", "normalized-cnn.onnx"));
    copyFileSync(join(ROOT, "test/fixtures/normalized-cnn/preprocess.json"), join(user, "exported", "normalized-cnn.json"));
    for (const f of ["cnn-pytorch-opset17.onnx", "attributes-autopad-gemm.onnx", "cnn-batchnorm-dropout.onnx"]) copyFileSync(join(ROOT, "test/onnx/fixtures", f), join(user, "exported", f));
    // the tiny MLP as exported with a softmax at the end of forward()
    const mlp = importOnnxFile(join(ROOT, "test/onnx/fixtures/mlp-pytorch-opset20.onnx"));
    const g = buildOnnxGraph({ ...mlp, outputName: "logits" }, { opset: 17, flatten: "flatten" });
    g.outputs.length = 0;
    g.node("Softmax", "/softmax/Softmax", ["logits"], [attrInt("axis", 1)], ["probs"]);
    g.output("probs", [1, 4]);
    writeFileSync(join(user, "exported", "probs.onnx"), g.encode().onnx);
    for (const name of ["tiny-dev", "tiny-cer", "tiny-keep"]) copyFileSync(join(ROOT, "test/onnx/fixtures/mlp-pytorch-opset20.onnx"), join(user, "exported", `${name}.onnx`));
  });
  after(() => rmSync(user, { recursive: true, force: true }));
  afterEach(() => expect(entries(join(ROOT, "contracts", "verifiers")), "nothing written into the repository's contracts/verifiers").to.deep.equal(repoVerifiers));

  it("a powers of tau too small stops the build once quantized, before any constraint is emitted, with the power needed and what to do", async () => {
    const r = await ozk(user, ["model", "build", "exported/digits.onnx", "--out", "pkgs/digits", "--ptau", POT11, "--calibration", "mnist"]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.contain(`ozk: digits has 11622 constraints: its key needs a powers-of-tau file of power 14 or more, but ${POT11} has power 11`);
    expect(r.stderr).to.contain("powersOfTau28_hez_final_14.ptau");
    expect(r.stderr).to.contain("--setup unsafe-dev");
    expect(r.stderr).to.not.contain("emit constraints");
    expect(entries(join(user, "pkgs"))).to.deep.equal([]);
  });

  it("ozk model inspect gives exactly the constraint count of the built circuit.r1cs (Conv, padding, pooling, input normalization; constant and committed)", async () => {
    const cases: [string, string, string[]][] = [
      ["cnn-pytorch-opset17.onnx", "constant", []],
      ["cnn-pytorch-opset17.onnx", "committed", []],
      ["digits.onnx", "constant", ["--calibration", "mnist"]],
      ["cnn.onnx", "constant", ["--calibration", "mnist"]],
      ["cnn.onnx", "committed", ["--calibration", "mnist"]],
      ["attributes-autopad-gemm.onnx", "committed", ["--input-range", "-1,1"]],
      ["cnn-batchnorm-dropout.onnx", "constant", ["--activation-bits", "12"]],
      // input normalization folded into the first (padded) conv
      ["normalized-cnn.onnx", "constant", ["--preprocess", "exported/normalized-cnn.json"]],
      ["normalized-cnn.onnx", "committed", ["--input-mean", "0.1307", "--input-std", "0.3081"]],
    ];
    for (const [file, visibility, opts] of cases) {
      const what = `${file} ${visibility} ${opts.join(" ")}`;
      const inspected = await ozk(user, ["model", "inspect", `exported/${file}`, "--visibility", visibility, ...opts]);
      expect(inspected.code, inspected.stderr).to.equal(0);
      const count = Number(/: (\d+) constraints, \d+ wires/.exec(inspected.stdout)?.[1]);
      const out = `inspect/${file}-${visibility}`;
      // (progress lines at every 100,000 constraints here, instead of at most every few seconds)
      const built = await ozk(user, ["model", "build", `exported/${file}`, "--out", out, "--visibility", visibility, ...opts, "--skip-setup", "--skip-fidelity"], { env: { OZK_PROGRESS_MS: "0" } });
      expect(built.code, built.stderr).to.equal(0);
      const header = readR1csHeader(join(user, out, "circuit.r1cs"));
      expect(count, what).to.equal(header.nConstraints);
      expect(readManifest(join(user, out)).constraints, what).to.equal(header.nConstraints);
      if (header.nConstraints > 100_000) expect(built.stderr, what).to.contain(`emit: 100000 / ${header.nConstraints} constraints (`);
    }
  });

  it("a model ending in Softmax builds without it: said so, recorded in the manifest, the fidelity gate compares top-1", async () => {
    const r = await ozk(user, ["model", "build", "exported/probs.onnx", "--out", "pkgs/probs", "--skip-setup"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain("import: the model's final Softmax is left out: the circuit proves the logits (the same top-1 class)");
    expect(r.stderr).to.contain("fidelity: top-1 agreement 100.00% on 64 samples");
    const m = readManifest(join(user, "pkgs", "probs"));
    expect(m.strippedOutputOp).to.equal("Softmax");
    expect(m.outputKind).to.equal("logits");
  });

  it("the circom route says it is still compiling while circom2 works", async () => {
    const r = await ozk(user, ["model", "build", "exported/tiny-keep.onnx", "--out", "circom/tiny", "--route", "circom", "--skip-setup", "--skip-fidelity"], { env: { OZK_PROGRESS_MS: "200" } });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/compile circuit\.circom with circom2 \(circom route\): still running, \d+ s/);
  });

  it("--setup unsafe-dev, with no powers of tau anywhere, writes a complete package labelled UNSAFE whose proofs verify with its vkey", async function () {
    needsNative(this);
    const r = await ozk(user, ["model", "build", "exported/tiny-dev.onnx", "--out", "pkgs/tiny-dev", "--setup", "unsafe-dev"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain("!!! UNSAFE DEV SETUP");
    expect(r.stdout).to.contain("setup: UNSAFE (unsafe-dev)");
    const dir = join(user, "pkgs", "tiny-dev");
    const m = readManifest(dir);
    expect(m.setup).to.deep.equal({ kind: "unsafe-dev", ptau: null, contributions: [], beacon: null });
    expect(m.verifierContract).to.equal("TinyDevVerifier");
    expect(m.verifierCodeHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(m.artifacts).to.include({ zkey: "circuit.zkey", vkey: "vkey.json", verifier: "Verifier.sol", onnx: "model.onnx", r1cs: "circuit.r1cs" });
    for (const f of Object.values(m.artifacts)) expect(m.sha256[f], f).to.equal(sha256File(join(dir, f)));

    writeFileSync(join(user, "input.json"), JSON.stringify(Array.from({ length: 36 }, (_, i) => (i % 5) / 5)));
    const proved = await ozk(user, ["prove", "pkgs/tiny-dev", "input.json", "--out", "proofs/proof.json"]);
    expect(proved.code, proved.stderr).to.equal(0);
    const vkey = JSON.parse(readFileSync(join(dir, "vkey.json"), "utf8")) as Record<string, unknown>;
    const proof = JSON.parse(readFileSync(join(user, "proofs", "proof.json"), "utf8")) as snarkjs.Groth16Proof;
    const signals = JSON.parse(readFileSync(join(user, "proofs", "public.json"), "utf8")) as string[];
    expect(await snarkjs.groth16.verify(vkey, signals, proof)).to.equal(true);
    expect(await snarkjs.groth16.verify(vkey, [...signals.slice(0, -1), "1"], proof)).to.equal(false);
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
  });

  it("an interrupted (Ctrl-C) or failing rebuild leaves the existing package exactly as it was, and nothing beside it", async function () {
    needsNative(this);
    const pkgs = join(user, "keep");
    const first = await ozk(user, ["model", "build", "exported/tiny-keep.onnx", "--out", "keep/tiny-keep", "--setup", "unsafe-dev"]);
    expect(first.code, first.stderr).to.equal(0);
    const before = snapshot(join(pkgs, "tiny-keep"));
    // other quantization: every step runs again
    const rebuild = ["model", "build", "exported/tiny-keep.onnx", "--out", "keep/tiny-keep", "--setup", "unsafe-dev", "--activation-bits", "12"];

    const interrupted = await ozk(user, rebuild, { interruptOn: /emit constraints/ });
    expect(interrupted.code, interrupted.stderr).to.equal(130);
    expect(snapshot(join(pkgs, "tiny-keep"))).to.deep.equal(before);
    expect(entries(pkgs)).to.deep.equal(["tiny-keep"]);

    // an error in the last step (the dev setup's binary fails), after the circuit and the fidelity gate
    const broken = join(user, "failing-prover");
    writeFileSync(broken, "#!/bin/sh\necho 'devsetup: out of memory' >&2\nexit 1\n", { mode: 0o755 });
    const failed = await ozk(user, rebuild, { env: { OZK_NATIVE_PROVER: broken } });
    expect(failed.code, failed.stderr).to.equal(1);
    expect(failed.stderr).to.contain("fidelity: top-1 agreement");
    expect(failed.stderr).to.match(/unsafe dev setup failed/);
    expect(snapshot(join(pkgs, "tiny-keep"))).to.deep.equal(before);
    expect(entries(pkgs)).to.deep.equal(["tiny-keep"]);

    // no native prover at all (a fresh clone that never built it): said before any work, with how to build it
    const missing = await ozk(user, rebuild, { env: { OZK_NATIVE_PROVER: join(user, "no-such-prover") } });
    expect(missing.code, missing.stderr).to.equal(1);
    expect(missing.stderr).to.match(/--setup unsafe-dev runs the native prover, which is not built .*npm run build:native/);
    expect(missing.stderr).to.not.match(/quantize/);
    expect(snapshot(join(pkgs, "tiny-keep"))).to.deep.equal(before);
  });

  describe("on a chain", () => {
    let net: Net;
    before(async () => {
      net = await startNet("model-setup");
    });
    after(async () => net?.close());

    const register = (pkg: string) =>
      ozk(user, ["model", "register", pkg, "--deployment", net.deploymentFile, "--rpc", net.chain.url, "--key", net.keys.deployer,
        "--challenge-window", String(WINDOWS.challengeWindow), "--proof-window", String(WINDOWS.proofWindow),
        "--provider-bond", String(BONDS.minProviderBond), "--challenger-bond", String(BONDS.minChallengerBond)]);

    const registered = async (pkg: string, kind: string): Promise<void> => {
      const m = readManifest(join(user, pkg));
      const r = await register(pkg);
      expect(r.code, r.stderr).to.equal(0);
      const { modelId } = JSON.parse(r.stdout) as { modelId: Hex };
      const entry = await net.pc.readContract({ address: net.deployment.addresses.registry, abi: modelRegistryAbi, functionName: "getModel", args: [modelId] });
      expect(entry.verifierCodeHash).to.equal(m.verifierCodeHash);
      expect(m.setup?.kind).to.equal(kind);
    };

    it("registers the package of --setup unsafe-dev (its example proof verified on chain by its own Verifier.sol)", async function () {
      needsNative(this);
      await registered("pkgs/tiny-dev", "unsafe-dev");
    });

    it("a ceremony (init, two contributions, finalize) on a package built with --skip-setup ends in a registrable package", async () => {
      const b = await ozk(user, ["model", "build", "exported/tiny-cer.onnx", "--out", "pkgs/tiny-cer", "--skip-setup"]);
      expect(b.code, b.stderr).to.equal(0);
      expect(readManifest(join(user, "pkgs/tiny-cer")).verifierContract).to.equal(null);
      for (const step of [["init", "--ptau", POT11], ["contribute", "--name", "alice"], ["contribute", "--name", "bob"], ["finalize", "--ptau", POT11]]) {
        const r = await ozk(user, ["ceremony", step[0]!, "pkgs/tiny-cer", ...step.slice(1)]);
        expect(r.code, `${step.join(" ")}: ${r.stderr}`).to.equal(0);
      }
      const m = readManifest(join(user, "pkgs/tiny-cer"));
      expect(m.verifierContract).to.equal("TinyCerVerifier");
      expect(m.setup?.contributions.map((c) => c.name)).to.deep.equal(["alice", "bob"]);
      // (the test file is a known insecure powers of tau: the ceremony is recorded as unsafe-dev)
      await registered("pkgs/tiny-cer", "unsafe-dev");
    });
  });
});
