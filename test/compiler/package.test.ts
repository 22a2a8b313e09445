// The shipped model packages: manifests match their artifacts, proofs made with the committed keys verify with
// snarkjs and with the generated Solidity verifier, and a proof does not verify against any other output.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { loadModelPackage, loadPackage, readManifest } from "../../circuits/compiler/package.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { hashVector, packSigned } from "../../sdk/hash.ts";
import { publicSignals } from "../../sdk/signals.ts";
import { createSnarkjsBackend } from "../../prover/backends/snarkjs.ts";
import { proveWithPackage } from "../../prover/prove.ts";
import { verifyWithPackage } from "../../prover/verify.ts";

const ROOT = join(import.meta.dirname, "../..");
const sha256 = (p: string): string => createHash("sha256").update(readFileSync(p)).digest("hex");

describe("shipped model packages", function () {
  this.timeout(300_000);
  after(async () => (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate());

  it("ozk model inspect prints constraints per layer and per operator kind", function () {
    const dir = join(ROOT, "models", "mnist-mlp");
    if (!existsSync(join(dir, "manifest.json"))) this.skip();
    const out = execFileSync("npx", ["tsx", "cli/ozk.ts", "model", "inspect", dir], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const m = readManifest(dir);
    expect(out).to.contain(`${m.constraints} constraints`);
    expect(out).to.match(/per layer:[\s\S]*fc1\s+dense\s+\d+/);
    expect(out).to.match(/per operator kind:[\s\S]*input range check\s+7056/);
  });

  for (const name of ["mnist-mlp", "mnist-cnn"]) {
    const dir = join(ROOT, "models", name);
    const hasKeys = existsSync(join(dir, "manifest.json")) && existsSync(join(dir, "circuit.zkey"));

    it(`${name}: manifest lists every artifact with its sha256, within 2^16 constraints`, function () {
      if (!existsSync(join(dir, "manifest.json"))) this.skip();
      const m = readManifest(dir);
      expect(m.constraints + m.publicSignals.length).to.be.below(2 ** 16);
      expect(m.publicSignals.slice(-2)).to.deep.equal(["inputHash", "weightsCommitment"]);
      for (const [file, hash] of Object.entries(m.sha256)) {
        if (existsSync(join(dir, file))) expect(sha256(join(dir, file)), file).to.equal(hash);
      }
      const q = loadPackage(dir).quant;
      expect(m.weightsCommitment).to.equal(q.weightsCommitment);
    });

    (hasKeys ? it : it.skip)(`${name}: proves a held-out digit with snarkjs; verifies with snarkjs and on chain; other outputs fail`, async function () {
      const pkg = loadPackage(dir);
      const provable = loadModelPackage(dir);
      const x = heldOutSample(3).images[2]!;
      const { proof, publicSignals: pub } = await proveWithPackage(provable, { input: Array.from(x) }, { backend: createSnarkjsBackend() });
      const xq = quantizeInput(pkg.quant, x);
      const outputs = runQuantized(pkg.quant, x).outputs;
      const expected = publicSignals(outputs, pkg.quant.outputBits, hashVector(xq, pkg.quant.inputBits), BigInt(pkg.quant.weightsCommitment));
      expect(pub).to.deep.equal(expected.map(String));
      expect(await verifyWithPackage(provable, { proof, publicSignals: pub })).to.equal(true);
      const forged = [...outputs];
      forged[0] = forged[0]! + 1n;
      const forgedPub = [packSigned(forged, pkg.quant.outputBits)[0]!.toString(), ...pub.slice(1)];
      expect(await verifyWithPackage(provable, { proof, publicSignals: forgedPub })).to.equal(false);

      // the generated Solidity verifier (contracts/verifiers/<Name>.sol, compiled by `hardhat build`)
      const contract = pkg.manifest.verifierContract!;
      if (!existsSync(join(ROOT, "artifacts", "contracts", "verifiers", `${contract}.sol`))) return;
      const { ethers } = await network.create();
      const verifier = await ethers.deployContract(contract);
      const a = [proof.pi_a[0]!, proof.pi_a[1]!];
      const b = [[proof.pi_b[0]![1]!, proof.pi_b[0]![0]!], [proof.pi_b[1]![1]!, proof.pi_b[1]![0]!]];
      const c = [proof.pi_c[0]!, proof.pi_c[1]!];
      expect(await verifier.getFunction("verifyProof")(a, b, c, pub)).to.equal(true);
      expect(await verifier.getFunction("verifyProof")(a, b, c, forgedPub)).to.equal(false);
    });
  }
});
