// The published package, as a dApp gets it: `npm run build:package`'s build packed with `npm pack`, installed from the
// tarball into a fresh project, and used from outside the repository: a TypeScript consumer compiled to plain
// JavaScript imports ozk/sdk and ozk/sdk/node on Node 20 and reads a model entry from a local chain, the installed
// `ozk` command runs with no tsx anywhere on PATH, and a Solidity consumer compiles against ozk's interfaces from
// node_modules.
// (The offline install: test/e2e/packed.ts.)
import { expect } from "chai";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startNet, wallet, type Net } from "../../scripts/lib/devnet.ts";
import type { Abi, Address, Hex } from "viem";
import { hashVector } from "../../sdk/hash.ts";
import { quantizeInput } from "../../circuits/compiler/engine.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { ROOT, buildAndPack, installOffline, nodeOfMajor, run } from "./packed.ts";

const require = createRequire(import.meta.url);

/** run, without blocking the event loop: the local chain answers from this process. */
function runAsync(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((done, fail) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("error", fail);
    p.once("exit", (code) => (code === 0 ? done(stdout) : fail(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${stdout}\n${stderr}`))));
  });
}

// A TypeScript consumer: compiled with tsc against the package's declarations (an import without types would fail
// under noImplicitAny), then run as plain JavaScript.
const CONSUMER_TS = `
import { readFileSync } from "node:fs";
import { createPublicClient, http, type Hex } from "viem";
import { getModelEntry, quantizeInputData, type InputQuantization, type QuantizedInput } from "ozk/sdk";
import { loadDeployment } from "ozk/sdk/node";

const [rpcUrl, deploymentFile, manifestFile, inputFile] = process.argv.slice(2) as [string, string, string, string];
const deployment = loadDeployment(deploymentFile);
const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as InputQuantization;
const pixels = JSON.parse(readFileSync(inputFile, "utf8")) as number[];
const modelId = deployment.models["mnist-mlp"] as Hex;
const entry = await getModelEntry({ publicClient: createPublicClient({ transport: http(rpcUrl) }), deployment }, modelId);
const q: QuantizedInput = quantizeInputData(manifest, pixels, { length: entry.inputLength });
console.log(JSON.stringify({
  node: process.version,
  inputLength: entry.inputLength,
  outputLength: entry.outputLength,
  setupKindName: entry.setupKindName,
  weightsCommitment: entry.weightsCommitment.toString(),
  inputHash: q.inputHash.toString(),
  bits: q.bits,
}));
`;

const CONSUMER_SOL = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IClaimManager} from "ozk/contracts/interfaces/IClaimManager.sol";
import {IOzkConsumer} from "ozk/contracts/interfaces/IOzkConsumer.sol";
import {RequestParams} from "ozk/contracts/types/Claim.sol";

contract DigitConsumer is IOzkConsumer {
    IClaimManager public immutable claims;
    int256[] public lastOutputs;

    constructor(IClaimManager claims_) {
        claims = claims_;
    }

    function params(bytes32 modelId, uint256 inputHash, uint256 fee) external view returns (RequestParams memory p) {
        p.modelId = modelId;
        p.inputHash = inputHash;
        p.fee = fee;
        p.expiry = uint64(block.timestamp + 3600);
    }

    function onInferenceSettled(uint256, bytes32, int256[] calldata outputs, address, uint256) external {
        require(msg.sender == address(claims), "not the claims contract");
        lastOutputs = outputs;
    }
}
`;

describe("package: build, npm pack, install from the tarball, use from outside the repository", function () {
  this.timeout(600_000);
  let work: string;
  let project: string;
  let net: Net | undefined;
  const node20 = nodeOfMajor(20);

  before(function () {
    // Built once per run (tsc over the entry points and the page take a minute).
    work = mkdtempSync(join(tmpdir(), "ozk-package-"));
    const tarball = buildAndPack(work);
    project = join(work, "consumer");
    installOffline(project, tarball);
  });

  after(async () => {
    await net?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("ships the compiled entry points, the bin, the Solidity interfaces and the artifacts it deploys; no TypeScript sources", () => {
    const installed = join(project, "node_modules", "ozk");
    for (const f of ["dist/sdk/index.js", "dist/sdk/index.d.ts", "dist/sdk/node/index.js", "dist/sdk/node/index.d.ts", "dist/cli/ozk.js",
      "contracts/interfaces/IClaimManager.sol", "contracts/interfaces/IOzkConsumer.sol", "contracts/types/Claim.sol", "contracts/examples/DigitGate.sol",
      "artifacts/contracts/ClaimManager.sol/ClaimManager.json", "artifacts/contracts/BatchManager.sol/BatchManager.json",
      "contracts/interfaces/IBatchManager.sol", "contracts/types/Batch.sol", "circuits/onnx/onnx.proto",
      // what an installed `ozk dev` registers and serves: the mnist-mlp package and the prebuilt page
      "models/mnist-mlp/manifest.json", "models/mnist-mlp/circuit.zkey", "models/mnist-mlp/Verifier.sol", "dist/app/index.html"]) {
      expect(existsSync(join(installed, f)), f).to.equal(true);
    }
    expect(existsSync(join(installed, "sdk", "index.ts")), "sdk/index.ts").to.equal(false);
    expect(existsSync(join(installed, "test")), "test/").to.equal(false);
    expect(existsSync(join(installed, "models", "mnist-cnn")), "models/mnist-cnn/").to.equal(false);
    // ozk/sdk stays browser-safe in its compiled form too: no Node built-in in any module of dist/sdk/ (not node/).
    for (const f of readdirSync(join(installed, "dist", "sdk")).filter((n) => n.endsWith(".js"))) {
      expect(readFileSync(join(installed, "dist", "sdk", f), "utf8"), f).to.not.match(/from "node:|import\("node:/);
    }
  });

  it("a TypeScript consumer compiled to JavaScript reads a model entry through ozk/sdk and loadDeployment of ozk/sdk/node on Node 20", async function () {
    if (!node20) this.skip(); // no Node 20 on this machine
    net = await startNet("package");
    writeFileSync(join(project, "consumer.ts"), CONSUMER_TS);
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, types: [], outDir: "out" },
      files: ["consumer.ts", "node.d.ts"],
    }));
    // The consumer's own use of node:fs and process, without @types/node in the fresh project.
    writeFileSync(join(project, "node.d.ts"), `declare module "node:fs" { export function readFileSync(p: string, e: "utf8"): string; }\ndeclare const process: { argv: string[]; version: string };\n`);
    run(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: project });
    const manifestFile = join(ROOT, "models", "mnist-mlp", "manifest.json");
    const pixels = Array.from(heldOutSample(1).images[0]!);
    writeFileSync(join(project, "input.json"), JSON.stringify(pixels));
    const out = JSON.parse(await runAsync(node20!, ["out/consumer.js", net.chain.url, net.deploymentFile, manifestFile, "input.json"], { cwd: project })) as Record<string, unknown>;
    expect(out.node).to.match(/^v20\./);
    expect(out).to.include({ inputLength: 784, outputLength: 10, setupKindName: "unsafe-dev", weightsCommitment: net.pkg.manifest.weightsCommitment, bits: 8 });
    expect(out.inputHash).to.equal(hashVector(quantizeInput(net.pkg.quant, pixels), 8).toString());
  });

  it("the installed ozk command runs with Node alone (no tsx on PATH): --help, and model show against the chain", async function () {
    const nodeBin = node20 ?? process.execPath;
    const env = { PATH: `${dirname(nodeBin)}:/usr/bin:/bin`, HOME: process.env.HOME ?? work, NODE_NO_WARNINGS: "1" };
    expect(spawnSync("sh", ["-c", "command -v tsx"], { env }).status, "tsx must not be on the bin's PATH").to.not.equal(0);
    const bin = join(project, "node_modules", ".bin", "ozk");
    expect(readFileSync(bin, "utf8").split("\n")[0]).to.equal("#!/usr/bin/env node");
    const help = run(bin, ["--help"], { cwd: project, env });
    expect(help).to.match(/Usage: ozk/).and.match(/\bmodel\b/).and.match(/\bprovider\b/);
    net ??= await startNet("package");
    const shown = JSON.parse(await runAsync(bin, ["model", "show", "mnist-mlp", "--rpc", net.chain.url, "--deployment", net.deploymentFile], { cwd: project, env })) as Record<string, unknown>;
    expect(shown).to.include({ modelId: net.modelId, inputLength: 784, setupKindName: "unsafe-dev" });
  });

  it("a Solidity consumer compiles against ozk's interfaces (and the example consumer) from node_modules with solc, and runs against the claims contract on a local node", async () => {
    writeFileSync(join(project, "DigitConsumer.sol"), CONSUMER_SOL);
    const solc = require("solc") as { compile(input: string, callbacks: { import(path: string): { contents: string } | { error: string } }): string };
    // The node_modules resolution Hardhat does for npm imports (Foundry: remappings ozk/=node_modules/ozk/ and
    // @openzeppelin/contracts/=node_modules/@openzeppelin/contracts/).
    const fromNodeModules = (path: string): { contents: string } | { error: string } => {
      const file = join(project, "node_modules", path);
      return existsSync(file) ? { contents: readFileSync(file, "utf8") } : { error: `not found in node_modules: ${path}` };
    };
    const gate = fromNodeModules("ozk/contracts/examples/DigitGate.sol");
    if ("error" in gate) throw new Error(gate.error);
    const input = {
      language: "Solidity",
      sources: { "DigitConsumer.sol": { content: CONSUMER_SOL }, "ozk/contracts/examples/DigitGate.sol": { content: gate.contents } },
      settings: { outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
    };
    const output = JSON.parse(solc.compile(JSON.stringify(input), { import: fromNodeModules })) as {
      errors?: { severity: string; formattedMessage: string }[];
      contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
    };
    const errors = (output.errors ?? []).filter((e) => e.severity === "error");
    expect(errors.map((e) => e.formattedMessage).join("\n")).to.equal("");
    expect(output.contracts?.["DigitConsumer.sol"]?.DigitConsumer?.evm.bytecode.object).to.match(/^[0-9a-f]{100,}$/);
    expect(output.contracts?.["ozk/contracts/examples/DigitGate.sol"]?.DigitGate?.evm.bytecode.object).to.match(/^[0-9a-f]{100,}$/);

    // Deployed on a local node next to ozk: it reads the claims contract through the installed interface.
    net ??= await startNet("package");
    const consumer = output.contracts!["DigitConsumer.sol"]!.DigitConsumer!;
    const w = wallet(net, "consumer");
    const hash = await w.deployContract({ abi: consumer.abi, bytecode: `0x${consumer.evm.bytecode.object}` as Hex, args: [net.claims.address], chain: null });
    const address = (await net.pc.waitForTransactionReceipt({ hash })).contractAddress as Address;
    expect(await net.pc.readContract({ address, abi: consumer.abi, functionName: "claims" })).to.equal(net.claims.address);
    const p = (await net.pc.readContract({ address, abi: consumer.abi, functionName: "params", args: [net.modelId, 5n, 7n] })) as { modelId: Hex; inputHash: bigint; fee: bigint; expiry: bigint };
    expect(p.modelId).to.equal(net.modelId);
    expect(p.expiry > (await net.pc.getBlock()).timestamp).to.equal(true);
    // The parameters it builds are what the deployed claims contract takes: a request from the consumer's account.
    const token = net.deployment.addresses.token as Address;
    const erc20 = [{ type: "function", name: "approve", stateMutability: "nonpayable", inputs: [{ name: "s", type: "address" }, { name: "a", type: "uint256" }], outputs: [{ type: "bool" }] }] as const;
    await net.pc.waitForTransactionReceipt({ hash: await w.writeContract({ address: token, abi: erc20, functionName: "approve", args: [net.claims.address, 7n], chain: null }) });
    await net.pc.waitForTransactionReceipt({ hash: await w.writeContract({ ...net.claims, functionName: "requestInference", args: [{ ...p, callbackGasLimit: 0, provider: "0x0000000000000000000000000000000000000000", minBond: 0n }, "0x", ""], chain: null }) });
    expect((await net.pc.readContract({ ...net.claims, functionName: "getRequest", args: [1n] })).fee).to.equal(7n);
  });
});
