// Compiled contracts for the deploy library and the daemons' verifier check (runtime/artifacts.ts), and the `ozk`
// commands that start a daemon (cli/onchain.ts) finding the daemon's entry point.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { keccak256 } from "viem";
import { findArtifact, loadArtifact } from "../../runtime/artifacts.ts";
import { artifactCodeHash } from "../../runtime/models.ts";

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    let stderr = "";
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => resolve({ code, stderr }));
  });
}

describe("runtime: compiled contracts", () => {
  it("finds a contract by name in any folder and source file; an unknown one is undefined, and loading it names the build", () => {
    expect(loadArtifact("MockERC20").bytecode).to.match(/^0x[0-9a-f]+$/);
    expect(loadArtifact("ModelRegistry").abi.some((f) => f.type === "function" && f.name === "registerModel")).to.equal(true);
    // Consumers.sol declares several contracts: the artifact is found by contract name, not file name.
    expect(findArtifact("RecordingConsumer")).to.match(/mocks\/Consumers\.sol\/RecordingConsumer\.json$/);
    expect(findArtifact("contracts/verifiers/MnistMlpVerifier.sol:MnistMlpVerifier")).to.equal(findArtifact("MnistMlpVerifier"));
    expect(findArtifact("NoSuchContract")).to.equal(undefined);
    expect(() => loadArtifact("NoSuchContract")).to.throw(/no artifact for NoSuchContract.*npx hardhat build/);
  });

  it("a verifier's code hash is keccak256 of its compiled deployed bytecode", () => {
    expect(artifactCodeHash("MnistMlpVerifier")).to.equal(keccak256(loadArtifact("MnistMlpVerifier").deployedBytecode));
    expect(artifactCodeHash("TinyModelVerifier")).to.equal(keccak256(loadArtifact("TinyModelVerifier").deployedBytecode));
  });
});

describe("ozk provider|challenger run", function () {
  this.timeout(120_000);
  for (const role of ["provider", "challenger"]) {
    it(`${role} run starts the ${role} daemon, which reads its config`, async () => {
      const r = await runCli([role, "run", "--config", "no-such-config.json"]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(new RegExp(`${role}: cannot read config file .*no-such-config\\.json`));
    });
  }
});
