// manifest.json's verifierCodeHash is what a deployment of the package's verifier holds: the keccak256 of the
// runtime code Hardhat compiles from contracts/verifiers/<Name>.sol (same solc settings: solc.config.ts).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { keccak256 } from "viem";
import { readManifest } from "../../circuits/compiler/package.ts";
import { verifierCodeHash } from "../../prover/setup/verifier.ts";

const ROOT = join(import.meta.dirname, "../..");

describe("manifest verifierCodeHash", function () {
  this.timeout(120_000);
  const pkg = join(ROOT, "models", "mnist-mlp");

  it("mnist-mlp: equals the keccak256 of the Hardhat artifact's deployedBytecode", async function () {
    if (!existsSync(join(pkg, "manifest.json"))) this.skip();
    const m = readManifest(pkg);
    const artifact = await hre.artifacts.readArtifact(m.verifierContract!);
    expect(keccak256(artifact.deployedBytecode as `0x${string}`)).to.equal(m.verifierCodeHash);
    // the contract Hardhat compiled is the package's Verifier.sol
    expect(readFileSync(join(ROOT, "contracts", "verifiers", `${m.verifierContract}.sol`), "utf8")).to.equal(readFileSync(join(pkg, "Verifier.sol"), "utf8"));
  });

  it("twin: a verifier with another key (one constant changed) has another code hash", async function () {
    if (!existsSync(join(pkg, "manifest.json"))) this.skip();
    const m = readManifest(pkg);
    const vkey = JSON.parse(readFileSync(join(pkg, "vkey.json"), "utf8")) as { vk_delta_2: string[][] };
    const delta = vkey.vk_delta_2[0]![0]!;
    const sol = readFileSync(join(pkg, "Verifier.sol"), "utf8");
    expect(sol).to.contain(delta);
    const other = sol.replace(delta, (BigInt(delta) + 1n).toString());
    expect(verifierCodeHash(other, m.verifierContract!)).to.not.equal(m.verifierCodeHash);
    expect(verifierCodeHash(sol, m.verifierContract!)).to.equal(m.verifierCodeHash);
  });
});
