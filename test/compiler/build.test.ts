// `ozk model build` end to end on a tiny model: committed weights, cache reuse, proof and verification, and the
// errors a user sees for a missing or too-small powers-of-tau file.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { circomInput } from "../../circuits/compiler/circom.ts";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { loadModelPackage, loadPackage } from "../../circuits/compiler/package.ts";
import { witnessFor } from "../../circuits/compiler/witness.ts";
import { createSnarkjsBackend } from "../../prover/backends/snarkjs.ts";
import { proveWithPackage } from "../../prover/prove.ts";
import { buildPackage, SINGLE_CONTRIBUTION_NAME } from "../../prover/setup/build.ts";
import { defaultPtau } from "../../prover/setup/phase2.ts";
import { verifyWithPackage } from "../../prover/verify.ts";
import { hashVector } from "../../sdk/hash.ts";
import { publicSignals } from "../../sdk/signals.ts";
import { randomInputs, randomMlp } from "./random-models.ts";

const ROOT = join(import.meta.dirname, "../..");
/** OZK_PTAU when set, else the committed INSECURE 2^11 test file (too small for the first two models here). */
const TEST_PTAU = join(import.meta.dirname, "../fixtures/ptau/INSECURE_test_pot11.ptau");
const ptauForTests = (): string | undefined => defaultPtau() ?? (existsSync(TEST_PTAU) ? TEST_PTAU : undefined);
/** The ptau OZK_PTAU names (these models need 2^12), or skip with a message. */
function needPtau(ctx: Mocha.Context): string {
  const ptau = defaultPtau();
  if (!ptau) {
    console.log("    OZK_PTAU does not name a powers-of-tau file of power 12 or more: skipping");
    ctx.skip();
  }
  return ptau!;
}

describe("ozk model build", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "ozk-build-"))));
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
  });

  it("builds a committed-weights package, reuses every step on a re-run, and its proofs verify", async function () {
    const ptau = needPtau(this);
    const model = randomMlp(51, [12, 6, 4]);
    model.name = "tiny-committed";
    const out = join(dir, "tiny");
    const calibration = randomInputs(52, 16, 12);
    const logs: string[] = [];
    const opts = { out, visibility: "committed" as const, calibration, ptau, contractsDir: null, log: (l: string) => logs.push(l) };
    const m = await buildPackage(model, opts);
    expect(m.visibility).to.equal("committed");
    // one secret phase-2 contribution, no beacon; the verifier's code hash is recorded
    expect(m.setup?.contributions.map((c) => c.name)).to.deep.equal([SINGLE_CONTRIBUTION_NAME]);
    expect(m.setup?.contributions[0]?.hash).to.match(/^[0-9a-f]{128}$/);
    expect(m.setup?.beacon).to.equal(null);
    expect(m.verifierCodeHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(m.verifierContract).to.equal("TinyCommittedVerifier");
    expect(readFileSync(join(out, "Verifier.sol"), "utf8")).to.match(/contract TinyCommittedVerifier\b/);
    const again: string[] = [];
    const m2 = await buildPackage(model, { ...opts, log: (l: string) => again.push(l) });
    expect(again.filter((l) => l.includes(": cached"))).to.have.length(3); // quantize, r1cs, zkey
    expect(again.some((l) => l.startsWith("r1cs: cached"))).to.equal(true);
    expect(m2.sha256).to.deep.equal(m.sha256);

    const pkg = loadPackage(out);
    const provable = loadModelPackage(out);
    const x = randomInputs(53, 1, 12)[0]!;
    const { proof, publicSignals: pub } = await proveWithPackage(provable, { input: Array.from(x) }, { backend: createSnarkjsBackend() });
    const outputs = runQuantized(pkg.quant, x).outputs;
    const xq = quantizeInput(pkg.quant, x);
    // in committed mode the circuit computes the commitment from the private weights: it must equal the registered one
    expect(pub).to.deep.equal(publicSignals(outputs, pkg.quant.outputBits, hashVector(xq, pkg.quant.inputBits), BigInt(m.weightsCommitment)).map(String));
    expect(await verifyWithPackage(provable, { proof, publicSignals: pub })).to.equal(true);
    const otherCommitment = [...pub.slice(0, -1), (BigInt(pub.at(-1)!) + 1n).toString()];
    expect(await verifyWithPackage(provable, { proof, publicSignals: otherCommitment })).to.equal(false);
  });

  it("builds a small model by the circom route (circom2 + wasm witness) with the same public signals", async function () {
    const ptau = needPtau(this);
    const model = randomMlp(58, [10, 5, 3], true);
    model.name = "tiny-circom";
    const out = join(dir, "tiny-circom");
    const m = await buildPackage(model, { out, route: "circom", calibration: randomInputs(59, 8, 10), ptau, contractsDir: null, log: () => {} });
    expect(m.route).to.equal("circom");
    expect(m.artifacts.wasm).to.equal("circuit.wasm");
    const x = randomInputs(60, 1, 10)[0]!;
    const pkg = loadPackage(out);
    const provable = loadModelPackage(out);
    const xq = quantizeInput(pkg.quant, x);
    // the wasm witness generator's public signals must be the direct route's (outputs, inputHash, commitment)
    const { proof, publicSignals: pub } = await proveWithPackage(provable, circomInput(pkg.quant, xq, m.visibility), { backend: createSnarkjsBackend() });
    const direct = witnessFor(pkg, x);
    expect(direct.outputs).to.deep.equal(runQuantized(pkg.quant, x).outputs);
    expect(pub).to.deep.equal(direct.publicSignals.map(String));
    expect(await verifyWithPackage(provable, { proof, publicSignals: pub })).to.equal(true);
  });

  it("calibrates a package that declares MNIST training data on MNIST digits (its committed quant.json); twin: --calibration uniform does not", async function () {
    const build = (out: string, ...extra: string[]) =>
      promisify(execFile)("npx", ["tsx", "cli/ozk.ts", "model", "build", "models/mnist-mlp", "--skip-setup", "--out", out, ...extra], { cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    const committed = readFileSync(join(ROOT, "models/mnist-mlp/quant.json"));
    await build(join(dir, "mlp-declared"));
    expect(readFileSync(join(dir, "mlp-declared", "quant.json")).equals(committed)).to.equal(true);
    await build(join(dir, "mlp-uniform"), "--calibration", "uniform");
    expect(readFileSync(join(dir, "mlp-uniform", "quant.json")).equals(committed)).to.equal(false);
  });

  it("says which powers-of-tau file is missing or too small", async function () {
    const model = randomMlp(54, [8, 4]);
    model.name = "tiny-errors";
    const base = { out: join(dir, "errors"), calibration: randomInputs(55, 4, 8), contractsDir: null, log: () => {} };
    const errorOf = async (p: Promise<unknown>): Promise<Error | undefined> => p.then(() => undefined, (e: Error) => e);
    const missing = await errorOf(buildPackage(model, { ...base, ptau: join(dir, "nope.ptau") }));
    expect(missing?.message).to.match(/no powers-of-tau file at .*nope\.ptau: pass --ptau/);
    const ptau = ptauForTests();
    if (!ptau) return;
    const big = randomMlp(56, [200, 40, 10]);
    big.name = "too-big";
    // committed weights: ~10 constraints per weight, far beyond the 2^16 dev ptau (and the 2^11 test one)
    const tooSmall = await errorOf(buildPackage(big, { ...base, out: join(dir, "big"), visibility: "committed", calibration: randomInputs(57, 2, 200), ptau }));
    expect(tooSmall?.message).to.match(/too-big has \d+ constraints: its key needs a powers-of-tau file of power \d+ or more, but .* has power (11|16)/);
  });
});
