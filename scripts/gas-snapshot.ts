#!/usr/bin/env -S npx tsx
// Gas snapshot of every ClaimManager / ModelRegistry entry point, claim audits included (whole-transaction gasUsed)
// on a fresh in-process chain, with the real fixture verifier for proofs. Writes snapshots/gas.json; with --check,
// compares against it instead and exits 1 on any difference (or on a function over its target).
// Usage: npx tsx scripts/gas-snapshot.ts [--check] [--tolerance <gas>]
import { readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import { outputHash } from "../sdk/signals.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const snapshotFile = join(root, "snapshots/gas.json");
const fixture = JSON.parse(readFileSync(join(root, "test/fixtures/verifier/fixture.json"), "utf8")) as {
  weightsCommitment: string; artifactHash: string; inputLength: number; outputLength: number; outputBits: number;
  cases: { inputHash: string; outputs: string[]; proof: string[] }[];
};
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** Targets (whole transaction). */
export const GAS_TARGETS: Record<string, number> = {
  "submitClaim (10 outputs, no input data)": 80_000,
  challenge: 90_000,
  finalize: 60_000,
  "prove (challenged, real verifier, 10 outputs)": 300_000,
  "prove (unchallenged, real verifier, 10 outputs)": 300_000,
};

type Proof = [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

export async function measureGas(): Promise<Record<string, number>> {
  const { ethers, networkHelpers } = await network.create();
  const [, provider, challenger, other, consumerEoa, treasury, owner] = await ethers.getSigners();
  const gas: Record<string, number> = {};
  const record = async (name: string, tx: Promise<ContractTransactionResponse>): Promise<void> => {
    const receipt = await (await tx).wait();
    gas[name] = Number(receipt!.gasUsed);
  };

  const token = await ethers.deployContract("MockERC20");
  const registry = await ethers.deployContract("ModelRegistry");
  const manager = await ethers.deployContract("ClaimManager", [token, registry, treasury!.address, 500, 5000, ethers.ZeroAddress]);
  const verifier = await ethers.deployContract("TinyModelVerifier");
  const managerAddress = await manager.getAddress();
  for (const s of [provider!, challenger!, other!, consumerEoa!]) {
    await token.mint(s.address, 10n ** 24n);
    await token.connect(s).approve(managerAddress, ethers.MaxUint256);
  }
  const params = {
    verifier: await verifier.getAddress(),
    weightsCommitment: BigInt(fixture.weightsCommitment),
    artifactHash: fixture.artifactHash,
    inputLength: fixture.inputLength,
    outputLength: fixture.outputLength,
    outputBits: fixture.outputBits,
    challengeWindow: 3600,
    proofWindow: 7200,
    minProviderBond: 10n ** 20n,
    minChallengerBond: 10n ** 19n,
    setupKind: 0,
    metadataURI: "ipfs://tiny-model",
  };
  const example = { inputHash: BigInt(fixture.cases[0]!.inputHash), outputs: fixture.cases[0]!.outputs.map(BigInt), proof: fixture.cases[0]!.proof.map(BigInt) };
  await record("registerModel (verifies the example proof)", registry.connect(owner!).registerModel(params, example));
  const modelId = await registry.computeModelId(owner!.address, fixture.artifactHash);

  await record("stake (first)", manager.connect(provider!).stake(10n ** 23n));
  await record("stake (top-up)", manager.connect(provider!).stake(10n ** 23n));
  await manager.connect(challenger!).stake(10n ** 23n);
  await manager.connect(other!).stake(10n ** 23n);

  const bond = params.minProviderBond;
  const claimOf = (c: { inputHash: string; outputs: string[] }, requestId = 0n, who = provider!) => ({
    modelId, provider: who.address, inputHash: BigInt(c.inputHash), outputHash: outputHash(c.outputs.map(BigInt)), bond, requestId,
  });
  const [case0, case1] = [fixture.cases[0]!, fixture.cases[1]!];
  const proofOf = (c: { proof: string[] }) => c.proof.map(BigInt) as Proof;

  // Claim A: submitted, then finalized.
  await record("submitClaim (10 outputs, no input data)", manager.connect(provider!).submitClaim(modelId, case0.inputHash, case0.outputs, bond, "0x", ""));
  const claimA = claimOf(case0);
  // Claim B: the other case; challenged, then proven with the real verifier.
  await manager.connect(provider!).submitClaim(modelId, case1.inputHash, case1.outputs, bond, "0x", "");
  const claimB = claimOf(case1);
  await record("challenge", manager.connect(challenger!).challenge(claimB));
  await record("prove (challenged, real verifier, 10 outputs)", manager.connect(other!).prove(claimB, case1.outputs, proofOf(case1)));
  // Claim B2: same as B by `other`; the treasury already holds credits, so this is the steady-state cost.
  await manager.connect(other!).submitClaim(modelId, case1.inputHash, case1.outputs, bond, "0x", "");
  await manager.connect(challenger!).challenge(claimOf(case1, 0n, other!));
  await record("prove (challenged, real verifier, treasury already credited)", manager.connect(provider!).prove(claimOf(case1, 0n, other!), case1.outputs, proofOf(case1)));
  // Claim C: same input as A from another provider, wrong outputs: counter-proven with A's real proof.
  const wrong = case0.outputs.map((v, i) => (i === 0 ? String(BigInt(v) + 1n) : v));
  await manager.connect(other!).submitClaim(modelId, case0.inputHash, wrong, bond, "0x", "");
  const claimC = { ...claimOf({ inputHash: case0.inputHash, outputs: wrong }, 0n, other!) };
  const counterCommitment = await manager.hashCounterProof(await manager.hashClaim(claimC), case0.outputs, proofOf(case0));
  await record("commit", manager.connect(challenger!).commit(counterCommitment));
  await record("counterProve (reveal, real verifier)", manager.connect(challenger!).counterProve(claimC, case0.outputs, proofOf(case0)));
  // Claim D: same as A by `other`, proven before any challenge.
  await manager.connect(other!).submitClaim(modelId, case0.inputHash, case0.outputs, bond, "0x", "");
  await record("prove (unchallenged, real verifier, 10 outputs)", manager.connect(provider!).prove(claimOf(case0, 0n, other!), case0.outputs, proofOf(case0)));
  // Claim E: challenged, then slashed.
  await manager.connect(provider!).submitClaim(modelId, case1.inputHash, wrong, bond, "0x", "");
  const claimE = claimOf({ inputHash: case1.inputHash, outputs: wrong });
  await manager.connect(challenger!).challenge(claimE);

  await networkHelpers.time.increase(3600);
  await record("finalize", manager.connect(other!).finalize(claimA, case0.outputs));
  await networkHelpers.time.increase(7200);
  await record("slash", manager.connect(other!).slash(claimE));

  // Requests.
  const consumer = await ethers.deployContract("RecordingConsumer", [managerAddress]);
  await token.mint(await consumer.getAddress(), 10n ** 21n);
  // A fixed instant: an expiry taken from the wall clock has a varying count of zero bytes, and calldata gas with it.
  const requestsAt = 2_000_000_000n;
  await networkHelpers.time.increaseTo(requestsAt);
  const expiry = requestsAt + 86_400n;
  const requestOf = (inputHash: string | bigint, fee: bigint, exp: bigint, extra: { provider?: string; minBond?: bigint } = {}) => ({
    modelId, inputHash: BigInt(inputHash), fee, expiry: exp, callbackGasLimit: 0,
    provider: extra.provider ?? ZERO_ADDRESS, minBond: extra.minBond ?? 0n,
  });
  await record("requestInference", manager.connect(consumerEoa!).requestInference(requestOf(case0.inputHash, 10n ** 18n, expiry), "0x", ""));
  const r1 = await manager.requestCount();
  const salt = "0x" + "5a".repeat(32);
  const answer = async (who: typeof provider, requestId: bigint, name?: string) => {
    await manager.connect(who!).commit(await manager.hashAnswer(requestId, outputHash(case0.outputs.map(BigInt)), bond, salt));
    const tx = manager.connect(who!).answerRequest(requestId, case0.outputs, bond, salt);
    if (name) await record(name, tx);
    else await (await tx).wait();
  };
  await answer(provider, r1, "answerRequest (reveal, 10 outputs)");
  await consumer.request(modelId, case0.inputHash, 10n ** 18n, expiry, 100_000);
  const r2 = await manager.requestCount();
  await answer(other, r2);
  await record(
    "requestInference (named provider and minimum bond)",
    manager.connect(consumerEoa!).requestInference(requestOf(case1.inputHash, 10n ** 18n, expiry, { provider: provider!.address, minBond: bond }), "0x", ""),
  );
  await manager.connect(consumerEoa!).requestInference(requestOf(5n, 10n ** 18n, BigInt(await networkHelpers.time.latest()) + 10n), "0x", "");
  const r3 = await manager.requestCount();
  await networkHelpers.time.increase(3600);
  await record("finalize (request, no callback)", manager.finalize(claimOf(case0, r1), case0.outputs));
  await record("finalize (request + callback)", manager.finalize(claimOf(case0, r2, other!), case0.outputs));
  await record("refundRequest", manager.refundRequest(r3));
  await record("withdraw", manager.connect(provider!).withdraw(await manager.credits(provider!.address)));
  await record("unstake", manager.connect(provider!).unstake(10n ** 18n));

  // Audits of single claims: a second ClaimManager wired to a BatchManager whose default policy audits every claim.
  const batches = await ethers.deployContract("BatchManager", [token, registry, treasury!.address, 500, 5000, 10_000, 10n ** 18n]);
  const audited = await ethers.deployContract("ClaimManager", [token, registry, treasury!.address, 500, 5000, batches]);
  for (const s of [provider!, other!]) {
    await token.connect(s).approve(await audited.getAddress(), ethers.MaxUint256);
    await audited.connect(s).stake(10n ** 22n);
  }
  await record("fundAuditPool", audited.connect(other!).fundAuditPool(10n ** 20n));
  await record("submitClaim (audited model)", audited.connect(provider!).submitClaim(modelId, case0.inputHash, case0.outputs, bond, "0x", ""));
  await audited.connect(provider!).submitClaim(modelId, case1.inputHash, case1.outputs, bond, "0x", "");
  await record("drawAudit (selected)", audited.connect(other!).drawAudit(claimOf(case0)));
  await audited.connect(other!).drawAudit(claimOf(case1));
  await record("prove (audit, real verifier, 10 outputs)", audited.connect(provider!).prove(claimOf(case0), case0.outputs, proofOf(case0)));
  await networkHelpers.time.increase(3600 + 7200);
  await record("slashMissedAudit (unanswered)", audited.connect(other!).slashMissedAudit(claimOf(case1)));
  await record("deprecateModel", registry.connect(owner!).deprecateModel(modelId));
  return gas;
}

function overTarget(gas: Record<string, number>): string[] {
  return Object.entries(GAS_TARGETS)
    .filter(([name, target]) => (gas[name] ?? Infinity) > target)
    .map(([name, target]) => `${name}: ${gas[name]} > target ${target}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const check = args.includes("--check");
  const tolIdx = args.indexOf("--tolerance");
  const tolerance = tolIdx >= 0 ? Number(args[tolIdx + 1]) : 0;
  const gas = await measureGas();
  const over = overTarget(gas);
  if (!check) {
    mkdirSync(dirname(snapshotFile), { recursive: true });
    writeFileSync(snapshotFile, JSON.stringify({ gas, targets: GAS_TARGETS }, null, 2) + "\n");
    for (const [name, g] of Object.entries(gas)) {
      const t = GAS_TARGETS[name];
      console.log(`${name.padEnd(62)} ${String(g).padStart(8)}${t ? `   (target ${t})` : ""}`);
    }
    console.log(`wrote ${snapshotFile}`);
  } else {
    if (!existsSync(snapshotFile)) throw new Error(`${snapshotFile} missing: run without --check first`);
    const committed = (JSON.parse(readFileSync(snapshotFile, "utf8")) as { gas: Record<string, number> }).gas;
    const names = [...new Set([...Object.keys(committed), ...Object.keys(gas)])];
    let diffs = 0;
    for (const name of names) {
      const a = committed[name];
      const b = gas[name];
      if (a === undefined || b === undefined || Math.abs(a - b) > tolerance) {
        diffs++;
        const delta = a !== undefined && b !== undefined ? ` (${b - a > 0 ? "+" : ""}${b - a})` : "";
        console.log(`${name}: ${a ?? "missing"} -> ${b ?? "missing"}${delta}`);
      }
    }
    if (diffs === 0) console.log(`gas snapshot matches (${names.length} entries)`);
    else console.log(`${diffs} gas difference(s): run npx tsx scripts/gas-snapshot.ts to update snapshots/gas.json`);
    if (diffs !== 0) process.exitCode = 1;
  }
  for (const line of over) console.error(`over target: ${line}`);
  if (over.length) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
