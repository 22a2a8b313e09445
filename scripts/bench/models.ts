// Bench part 2, one model package per process (so peak RSS is the model's own): constraints and wires (read from
// the package's .r1cs header), witness time (witnessFor, the direct route), prove and verify time on the path
// production uses (the prover library's proveWithPackage, snarkjs backend), on-chain gas of a real dispute (submitClaim, challenge, prove through ClaimManager with the package's Solidity
// verifier, on an embedded chain) plus the verifier's own verifyProof gas, and the fidelity report on the
// MNIST held-out split.
// Usage: tsx scripts/bench/models.ts --model models/mnist-mlp --out bench-results/model-mnist-mlp.json [--quick]
import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Groth16Proof } from "snarkjs";
import { createPublicClient, createWalletClient, encodeFunctionData, erc20Abi, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { circomInput } from "../../circuits/compiler/circom.ts";
import { loadModelPackage, loadPackage } from "../../circuits/compiler/package.ts";
import { witnessFor } from "../../circuits/compiler/witness.ts";
import { createSnarkjsBackend, terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import { proveWithPackage } from "../../prover/prove.ts";
import { quantizeInput } from "../../circuits/compiler/engine.ts";
import { readR1csHeader } from "../../circuits/compiler/r1cs.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { claimManagerAbi } from "../../sdk/abi.ts";
import { encodeInputData, inputHashOf } from "../../sdk/inputs.ts";
import { outputHash } from "../../sdk/signals.ts";
import { ClaimStatus, claimIdOf, toSolidityProof, type ClaimFields } from "../../sdk/protocol.ts";
import { loadArtifact } from "../../runtime/artifacts.ts";
import { deployerFor, deployOzk, mintDevTokens, registerPackage } from "../../runtime/deploy.ts";
import { devKey, startLocalChain } from "../../runtime/localnet.ts";
import { argValue, isMain, median, peakRssMB, ROOT, since, runMain } from "./common.ts";

export interface ModelResult {
  model: string;
  dir: string;
  route: string;
  visibility: string;
  constraints: number;
  wires: number;
  publicSignals: number;
  /** What the manifest says (checked against the .r1cs header). */
  manifestConstraints: number;
  witness: { runs: number; warmup: number; medianMs: number; samplesMs: number[] };
  prove: null | { runs: number; medianMs: number; samplesMs: number[]; zkeyMB: number };
  verify: null | { runs: number; medianMs: number; samplesMs: number[]; valid: boolean };
  /** Whole-transaction gas on an embedded chain. */
  gas: null | { submitClaimWithInputData: number; challenge: number; prove: number; verifyProofEstimate: number; inputBytes: number };
  fidelity: null | {
    samples: number;
    floatAccuracy: number;
    quantizedAccuracy: number;
    agreement: number;
    logitMeanAbsError: number;
    logitMaxAbsError: number;
    logitMeanPercentError: number;
    logitMaxPercentError: number;
    seconds: number;
  };
  notes: string[];
  peakRssMB: { afterWitness: number; afterProve: number | null; overall: number };
  seconds: number;
}

const TOKEN = 10n ** 18n;

/** Registers the package on a fresh embedded chain and walks one claim through submit -> challenge -> prove. */
async function disputeGas(pkgDir: string, input: bigint[], outputs: bigint[], proof: Groth16Proof, pub: string[]): Promise<NonNullable<ModelResult["gas"]>> {
  const chain = await startLocalChain();
  try {
    const keys = { deployer: devKey(0), provider: devKey(1), challenger: devKey(3) };
    const deployer = await deployerFor(chain.url, keys.deployer);
    const d = await deployOzk(deployer, { network: "bench" });
    const bonds = { minProviderBond: 100n * TOKEN, minChallengerBond: 50n * TOKEN };
    const { modelId, verifier } = await registerPackage(deployer, d, pkgDir, { challengeWindow: 600, proofWindow: 1800, ...bonds });
    const pc = createPublicClient({ transport: http(chain.url), pollingInterval: 50 });
    const claims = { address: d.addresses.claims, abi: claimManagerAbi } as const;
    const send = async (who: keyof typeof keys, req: Parameters<ReturnType<typeof createWalletClient>["writeContract"]>[0]): Promise<bigint> => {
      const w = createWalletClient({ account: privateKeyToAccount(keys[who]), transport: http(chain.url), chain: undefined });
      const hash = await w.writeContract({ ...req, chain: null } as never);
      const r = await pc.waitForTransactionReceipt({ hash });
      if (r.status !== "success") throw new Error(`${String(req.functionName)} reverted`);
      return r.gasUsed;
    };
    for (const who of ["provider", "challenger"] as const) {
      const a = privateKeyToAccount(keys[who]).address;
      await mintDevTokens(deployer, d, a, 1000n * TOKEN);
      await send(who, { address: d.addresses.token, abi: erc20Abi, functionName: "approve", args: [d.addresses.claims, 1000n * TOKEN] } as never);
      await send(who, { ...claims, functionName: "stake", args: [500n * TOKEN] } as never);
    }
    const m = loadPackage(pkgDir).manifest;
    const inputHash = inputHashOf(input, m.inputBits);
    const inputData = encodeInputData(input, m.inputBits);
    const submit = await send("provider", { ...claims, functionName: "submitClaim", args: [modelId, inputHash, outputs, bonds.minProviderBond, inputData, ""] } as never);
    const claim: ClaimFields = { modelId, provider: privateKeyToAccount(keys.provider).address, inputHash, outputHash: outputHash(outputs), bond: bonds.minProviderBond, requestId: 0n };
    const challenge = await send("challenger", { ...claims, functionName: "challenge", args: [claim] } as never);
    const sol = toSolidityProof(proof);
    const proveGas = await send("provider", { ...claims, functionName: "prove", args: [claim, outputs, sol] } as never);
    const [status] = await pc.readContract({ ...claims, functionName: "claimState", args: [claimIdOf(claim)] });
    if (status !== ClaimStatus.Proven) throw new Error(`${pkgDir}: claim not Proven after prove (status ${status})`);
    const verifierAbi = loadArtifact(m.verifierContract!).abi;
    const verifyProofEstimate = await pc.estimateGas({
      to: verifier,
      data: encodeFunctionData({
        abi: verifierAbi,
        functionName: "verifyProof",
        args: [[sol[0], sol[1]], [[sol[2], sol[3]], [sol[4], sol[5]]], [sol[6], sol[7]], pub.map(BigInt)],
      }),
    });
    return { submitClaimWithInputData: Number(submit), challenge: Number(challenge), prove: Number(proveGas), verifyProofEstimate: Number(verifyProofEstimate), inputBytes: (inputData.length - 2) / 2 };
  } finally {
    await chain.close();
  }
}

export async function benchModel(pkgDir: string, o: { quick?: boolean; log?: (s: string) => void } = {}): Promise<ModelResult> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => console.log(`  [${basename(pkgDir)}] ${s}`));
  const pkg = loadPackage(pkgDir);
  const m = pkg.manifest;
  const notes: string[] = [];
  const r1cs = readR1csHeader(join(pkgDir, m.artifacts.r1cs ?? "circuit.r1cs"));
  if (r1cs.nConstraints !== m.constraints) notes.push(`manifest says ${m.constraints} constraints, the .r1cs header ${r1cs.nConstraints}`);

  // Witness: one warm-up (JIT, caches), then 5 timed runs on distinct held-out digits.
  const digits = heldOutSample(8);
  const inputs = digits.images.map((x) => quantizeInput(pkg.quant, x));
  witnessFor(pkg, inputs[7]!);
  const witnessMs: number[] = [];
  let w = witnessFor(pkg, inputs[0]!);
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const r = witnessFor(pkg, inputs[i]!);
    witnessMs.push(since(t));
    if (i === 0) w = r;
  }
  log(`witness median ${median(witnessMs).toFixed(1)} ms (${r1cs.nConstraints} constraints)`);
  const afterWitness = peakRssMB();

  let prove: ModelResult["prove"] = null;
  let verify: ModelResult["verify"] = null;
  let gas: ModelResult["gas"] = null;
  let afterProve: number | null = null;
  const zkey = join(pkgDir, m.artifacts.zkey ?? "circuit.zkey");
  if (existsSync(zkey)) {
    // What a provider runs when challenged: witness file, backend prove, the proof checked against the package's key.
    // The snarkjs backend, so the figures compare across machines (npm run bench:prover compares the backends).
    const provable = loadModelPackage(pkgDir);
    const backend = createSnarkjsBackend();
    const input = m.route === "circom" ? circomInput(pkg.quant, inputs[0]!, m.visibility) : { quantized: inputs[0]!.map(String) };
    const proveMs: number[] = [];
    const verifyMs: number[] = [];
    let proof: Groth16Proof | undefined;
    let pub: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await proveWithPackage(provable, input, { backend });
      proveMs.push(p.timings.proveMs);
      verifyMs.push(p.timings.verifyMs);
      proof = p.proof as Groth16Proof;
      pub = p.publicSignals;
    }
    if (pub.join() !== w.publicSignals.map(String).join()) throw new Error(`${m.name}: the proof's public signals differ from the witness's`);
    afterProve = peakRssMB();
    prove = { runs: 3, medianMs: median(proveMs), samplesMs: proveMs, zkeyMB: Math.round((statSync(zkey).size / 2 ** 20) * 10) / 10 };
    log(`prove median ${(prove.medianMs / 1000).toFixed(2)} s`);
    // proveWithPackage throws unless the proof verifies: every run that returned is a valid proof
    verify = { runs: 3, medianMs: median(verifyMs), samplesMs: verifyMs, valid: true };
    log(`verify median ${verify.medianMs.toFixed(0)} ms (every proof verified)`);
    if (m.verifierContract) {
      gas = await disputeGas(pkgDir, inputs[0]!, w.outputs, proof!, pub);
      log(`on-chain: submitClaim ${gas.submitClaimWithInputData}, challenge ${gas.challenge}, prove ${gas.prove}, verifyProof ${gas.verifyProofEstimate}`);
    } else notes.push("no Solidity verifier in the package: no on-chain figures");
  } else {
    notes.push(`no zkey: build with a ptau (ozk model build ${pkgDir.replace(ROOT + "/", "")})`);
    log("no circuit.zkey: prove, verify and gas skipped");
  }
  await terminateSnarkjs();

  let fidelity: ModelResult["fidelity"] = null;
  const onnx = join(pkgDir, m.artifacts.onnx ?? "model.onnx");
  if (existsSync(onnx)) {
    const t = performance.now();
    const { fidelity: run } = await import("../../circuits/fidelity/report.ts");
    const rep = await run(onnx, { samples: o.quick ? 200 : undefined });
    fidelity = {
      samples: rep.samples,
      floatAccuracy: rep.floatAccuracy,
      quantizedAccuracy: rep.quantizedAccuracy,
      agreement: rep.agreement,
      logitMeanAbsError: rep.logits.meanAbsError,
      logitMaxAbsError: rep.logits.maxAbsError,
      logitMeanPercentError: rep.logits.meanPercentError,
      logitMaxPercentError: rep.logits.maxPercentError,
      seconds: since(t) / 1000,
    };
    log(`fidelity on ${rep.samples} held-out digits: float ${(100 * rep.floatAccuracy).toFixed(2)}%, quantized ${(100 * rep.quantizedAccuracy).toFixed(2)}%, agreement ${(100 * rep.agreement).toFixed(2)}%`);
  } else notes.push("no model.onnx: no fidelity figures");

  return {
    model: m.name,
    dir: pkgDir.replace(ROOT + "/", ""),
    route: m.route,
    visibility: m.visibility,
    constraints: r1cs.nConstraints,
    wires: r1cs.nWires,
    publicSignals: r1cs.nPubOut + r1cs.nPubIn,
    manifestConstraints: m.constraints,
    witness: { runs: 5, warmup: 1, medianMs: median(witnessMs), samplesMs: witnessMs },
    prove,
    verify,
    gas,
    fidelity,
    notes,
    peakRssMB: { afterWitness, afterProve, overall: peakRssMB() },
    seconds: since(t0) / 1000,
  };
}

if (isMain(import.meta.url)) {
  const dir = argValue(process.argv, "--model");
  const out = argValue(process.argv, "--out");
  if (!dir || !out) {
    console.error("usage: tsx scripts/bench/models.ts --model <package dir> --out <file.json> [--quick]");
    process.exit(2);
  }
  runMain(benchModel(resolve(dir), { quick: process.argv.includes("--quick") }), out);
}
