// Bench part of `gas`: amortized whole-transaction gas per claim of Merkle-batched claims (BatchManager) at batch
// sizes 1, 10, 100 and 1000, without and with 1% disputes and 1% audits (challenge + proveLeaf with the real
// fixture verifier), beside single claims (submitClaim + finalize) and always-prove (submitClaim + prove).
// Usage: tsx scripts/bench/batch-gas.ts (prints the table); part of scripts/bench/gas.ts.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { network } from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import type { Hex } from "viem";
import { batchLeaf, buildBatchTree } from "../../sdk/batch.ts";
import { outputHash } from "../../sdk/signals.ts";
import { isMain, ROOT } from "./common.ts";

export const BATCH_SIZES = [1, 10, 100, 1000] as const;
/** Targets: submitBatch + finalizeBatch per claim. */
export const BATCH_GAS_TARGETS: Record<number, number> = { 100: 5_000, 1000: 1_000 };
const DISPUTE_RATE = 0.01;
const AUDIT_RATE_BPS = 100;

export interface BatchGasRow {
  size: number;
  submitBatch: number;
  finalizeBatch: number;
  /** (submitBatch + finalizeBatch) / size. */
  perClaim: number;
  /** drawAudit as its own transaction (needed when finalize comes more than 256 blocks after submission). */
  drawAudit: number;
  /** challengeLeaf + proveLeaf (challenged, real verifier) of one leaf of this batch. */
  dispute: number;
  /** proveLeaf answering a selected audit (real verifier). */
  auditProof: number;
  /** Expected per claim with 1% of CLAIMS (leaves) disputed, each its own challenge and proof, and 1% of batches
   *  audited: (submit + draw + finalize + 0.01 x size x dispute + 0.01 x auditProof) / size. */
  perClaimWithDisputesAndAudits: number;
  /** Expected per claim with 1% of BATCHES disputed (one challenge voids or clears a whole batch, so the batch is
   *  the unit a dispute acts on, as a claim is for single claims) and 1% audited:
   *  (submit + draw + finalize + 0.01 x dispute + 0.01 x auditProof) / size. */
  perClaimWithBatchDisputesAndAudits: number;
  /** Proofs generated per claim: 0.01 + 0.01 / size (leaf disputes) and 0.02 / size (batch disputes). */
  proofsPerClaim: { leafDisputes: number; batchDisputes: number };
  target: number | null;
}
export interface BatchGasResult {
  rows: BatchGasRow[];
  singleClaim: { submitClaim: number; finalize: number; perClaim: number };
  alwaysProve: { submitClaim: number; prove: number; perClaim: number };
  overTarget: string[];
}

type Proof = [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

export async function measureBatchGas(): Promise<BatchGasResult> {
  const fixture = JSON.parse(readFileSync(join(ROOT, "test/fixtures/verifier/fixture.json"), "utf8")) as {
    weightsCommitment: string; artifactHash: string; inputLength: number; outputLength: number; outputBits: number;
    cases: { inputHash: string; outputs: string[]; proof: string[] }[];
  };
  const { ethers, networkHelpers } = await network.create();
  const [, provider, challenger, treasury, owner] = await ethers.getSigners();
  const used = async (tx: Promise<ContractTransactionResponse>): Promise<number> => Number((await (await tx).wait())!.gasUsed);

  const token = await ethers.deployContract("MockERC20");
  const registry = await ethers.deployContract("ModelRegistry");
  const batches = await ethers.deployContract("BatchManager", [token, registry, treasury!.address, 500, 5000, 0, 10n ** 18n]);
  const claims = await ethers.deployContract("ClaimManager", [token, registry, treasury!.address, 500, 5000, batches]);
  const verifier = await ethers.deployContract("TinyModelVerifier");
  const cases = fixture.cases.map((c) => ({ inputHash: BigInt(c.inputHash), outputs: c.outputs.map(BigInt), proof: c.proof.map(BigInt) as Proof }));
  await registry.connect(owner!).registerModel({
    verifier: await verifier.getAddress(), weightsCommitment: BigInt(fixture.weightsCommitment), artifactHash: fixture.artifactHash,
    inputLength: fixture.inputLength, outputLength: fixture.outputLength, outputBits: fixture.outputBits, challengeWindow: 3600,
    proofWindow: 7200, minProviderBond: 10n ** 20n, minChallengerBond: 10n ** 19n, setupKind: 0, metadataURI: "",
  }, { inputHash: cases[0]!.inputHash, outputs: cases[0]!.outputs, proof: cases[0]!.proof });
  const modelId = (await registry.computeModelId(owner!.address, fixture.artifactHash)) as Hex;
  for (const s of [provider!, challenger!, treasury!]) {
    await token.mint(s.address, 10n ** 26n);
    for (const m of [claims, batches]) {
      await token.connect(s).approve(await m.getAddress(), ethers.MaxUint256);
      await m.connect(s).stake(10n ** 24n);
    }
  }
  await batches.connect(treasury!).fundAuditPool(10n ** 21n);
  const bond = 10n ** 20n;

  // Single claims and always-prove, steady state (the provider's stake slot and the treasury's credit already
  // written by a first round).
  const single = async (round: bigint) => {
    const c = cases[0]!;
    const b1 = bond + 2n * round;
    const b2 = b1 + 1n;
    const claim = { modelId, provider: provider!.address, inputHash: c.inputHash, outputHash: outputHash(c.outputs), bond: b1, requestId: 0n };
    const submitClaim = await used(claims.connect(provider!).submitClaim(modelId, c.inputHash, c.outputs, b1, "0x", ""));
    await networkHelpers.time.increase(3600);
    const finalize = await used(claims.finalize(claim, c.outputs));
    const submit2 = await used(claims.connect(provider!).submitClaim(modelId, c.inputHash, c.outputs, b2, "0x", ""));
    const prove = await used(claims.connect(provider!).prove({ ...claim, bond: b2 }, c.outputs, c.proof));
    return { submitClaim, finalize, submit2, prove };
  };
  await single(0n);
  const s = await single(1n);

  const rows: BatchGasRow[] = [];
  let nonce = 0n;
  const run = async (size: number, rateBps: number) => {
    await batches.connect(treasury!).setAuditPolicy(modelId, rateBps, 10n ** 18n);
    const leaves = Array.from({ length: size }, (_, i) => cases[i % cases.length]!);
    const tree = buildBatchTree(leaves.map((l, i) => batchLeaf(modelId, l.inputHash, l.outputs, i)));
    const b = bond + nonce++; // a fresh batch id each run
    const submitBatch = await used(batches.connect(provider!).submitBatch(modelId, tree.root, size, b, "https://provider.example/b"));
    const [rate, fee] = await batches.auditPolicy(modelId);
    const batch = { modelId, provider: provider!.address, root: tree.root, size, bond: b, auditRateBps: rate, auditFee: fee };
    return { batch, tree, leaves, submitBatch };
  };
  const measure = async (size: number): Promise<BatchGasRow> => {
    // No audits, no disputes: submit, wait out the window, finalize.
    await run(size, 0); // warm-up: the first batch of a size writes nothing the steady state does not
    const plain = await run(size, 0);
    await networkHelpers.time.increase(3600);
    const finalizeBatch = await used(batches.finalizeBatch(plain.batch));
    // Audit rate 1%: the draw as its own transaction (rarely selected; finalize then only reads the stored draw).
    const audited = await run(size, AUDIT_RATE_BPS);
    await networkHelpers.mine(1);
    const drawAudit = await used(batches.drawAudit(audited.batch));
    // A dispute of the last leaf (the longest path), answered with the real verifier.
    const last = size - 1;
    const disputed = await run(size, 0);
    const challenge = await used(batches.connect(challenger!).challengeLeaf(disputed.batch, last));
    const l = disputed.leaves[last]!;
    const prove = await used(batches.connect(provider!).proveLeaf(disputed.batch, last, l.inputHash, l.outputs, disputed.tree.path(last), l.proof));
    // A selected audit (rate 100%), answered with the real verifier.
    const forced = await run(size, 10_000);
    await networkHelpers.mine(1);
    await batches.drawAudit(forced.batch);
    const [, , , , , auditIndex] = await batches.batchState(await batches.hashBatch(forced.batch));
    const a = forced.leaves[Number(auditIndex)]!;
    const auditProof = await used(batches.connect(provider!).proveLeaf(forced.batch, auditIndex, a.inputHash, a.outputs, forced.tree.path(Number(auditIndex)), a.proof));
    const perClaim = (plain.submitBatch + finalizeBatch) / size;
    const dispute = challenge + prove;
    const auditRate = AUDIT_RATE_BPS / 10_000;
    const fixedCost = plain.submitBatch + drawAudit + finalizeBatch + auditRate * auditProof;
    return {
      size, submitBatch: plain.submitBatch, finalizeBatch, perClaim, drawAudit, dispute, auditProof,
      perClaimWithDisputesAndAudits: (fixedCost + DISPUTE_RATE * size * dispute) / size,
      perClaimWithBatchDisputesAndAudits: (fixedCost + DISPUTE_RATE * dispute) / size,
      proofsPerClaim: { leafDisputes: DISPUTE_RATE + auditRate / size, batchDisputes: (DISPUTE_RATE + auditRate) / size },
      target: BATCH_GAS_TARGETS[size] ?? null,
    };
  };
  // Warm-up: the treasury's and the provider's first credits are one-time storage writes, not steady state.
  await measure(1);
  for (const size of BATCH_SIZES) rows.push(await measure(size));
  return {
    rows,
    singleClaim: { submitClaim: s.submitClaim, finalize: s.finalize, perClaim: s.submitClaim + s.finalize },
    alwaysProve: { submitClaim: s.submit2, prove: s.prove, perClaim: s.submit2 + s.prove },
    overTarget: rows.filter((r) => r.target !== null && r.perClaim > r.target).map((r) => `batch of ${r.size}: ${Math.round(r.perClaim)} gas per claim > target ${r.target}`),
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const ratio = (always: number, x: number) => `${(always / x).toFixed(1)}x`;

/** Seconds of one native CPU proof of the shipped MNIST CNN from the latest prover bench (bench-results/prover.json),
 *  to turn proofs per claim into prover time per claim; undefined when the prover bench has not run here. */
export function latestNativeProofSeconds(): { circuit: string; seconds: number } | undefined {
  const file = join(ROOT, "bench-results", "prover.json");
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as { entries?: { prover: string; circuit: string; medianSeconds: number }[] };
    const e = r.entries?.find((x) => x.prover === "native-cpu" && x.circuit === "mnist-cnn");
    return e && Number.isFinite(e.medianSeconds) ? { circuit: e.circuit, seconds: e.medianSeconds } : undefined;
  } catch {
    return undefined;
  }
}

export function batchGasMarkdown(r: BatchGasResult, proof = latestNativeProofSeconds()): string {
  const always = r.alwaysProve.perClaim;
  const at100 = r.rows.find((x) => x.size === 100);
  const secs = (proofs: number) => (proof ? ` (${(proofs * proof.seconds * 1000).toFixed(proofs * proof.seconds < 0.01 ? 2 : 1)} ms)` : "");
  return [
    "### Batched claims (gas per claim)",
    "",
    "Whole-transaction `gasUsed` (`scripts/bench/batch-gas.ts`: fresh in-process chain, real `TinyModelVerifier`, 10 outputs), amortized over the claims of a batch. " +
      "Every batch pays `drawAudit` as its own transaction and 1% of batches are audited (`proveLeaf` of the selected position). Disputes are counted two ways: " +
      "**1% of batches disputed** (a batch is what a dispute acts on: one unanswered challenge voids all of its claims and one proof clears it, as a claim is for single claims; the challenger challenges only the first wrong leaf), " +
      "and the harsher **1% of claims disputed**, every disputed leaf its own `challengeLeaf` + `proveLeaf` (the last leaf, the longest path). " +
      "Always-prove makes one proof per claim; the optimistic rows make the proofs per claim shown" +
      (proof ? `, at ${proof.seconds.toFixed(2)} s per native CPU proof of ${proof.circuit} (bench-results/prover.json).` : " (run the prover bench to add prover time per claim)."),
    "",
    "| claims per batch | submitBatch | finalizeBatch | per claim | target | drawAudit | dispute (challenge + prove) | audit proof | per claim, 1% of batches disputed + 1% audited | vs always-prove | per claim, 1% of claims disputed + 1% audited | vs always-prove | proofs per claim (batch / claim disputes) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...r.rows.map((x) => `| ${x.size} | ${fmt(x.submitBatch)} | ${fmt(x.finalizeBatch)} | ${fmt(x.perClaim)} | ${x.target === null ? "" : `<= ${fmt(x.target)}`} | ${fmt(x.drawAudit)} | ${fmt(x.dispute)} | ${fmt(x.auditProof)} | ${fmt(x.perClaimWithBatchDisputesAndAudits)} | ${ratio(always, x.perClaimWithBatchDisputesAndAudits)} | ${fmt(x.perClaimWithDisputesAndAudits)} | ${ratio(always, x.perClaimWithDisputesAndAudits)} | ${x.proofsPerClaim.batchDisputes.toPrecision(2)}${secs(x.proofsPerClaim.batchDisputes)} / ${x.proofsPerClaim.leafDisputes.toPrecision(3)}${secs(x.proofsPerClaim.leafDisputes)} |`),
    `| single claim (submitClaim + finalize) | ${fmt(r.singleClaim.submitClaim)} | ${fmt(r.singleClaim.finalize)} | ${fmt(r.singleClaim.perClaim)} | | | | | | | | | |`,
    `| always prove (submitClaim + prove, real verifier) | ${fmt(r.alwaysProve.submitClaim)} | ${fmt(r.alwaysProve.prove)} | ${fmt(always)} | | | | | | | | | 1${secs(1)} |`,
    "",
    ...(at100
      ? [
          `At 100 claims per batch, optimistic is ${ratio(always, at100.perClaimWithBatchDisputesAndAudits)} cheaper than always-prove in gas with 1% of batches disputed, and ${ratio(1, at100.proofsPerClaim.batchDisputes)} in proofs. ` +
            `With 1% of claims disputed it is ${ratio(always, at100.perClaimWithDisputesAndAudits)} in gas and ${ratio(1, at100.proofsPerClaim.leafDisputes)} in proofs, and no batching can reach 100x there: ` +
            `a disputed claim costs at least a challenge and a proof (${fmt(at100.dispute)} gas, more than always-prove's ${fmt(always)} for one claim), so 1% of them alone is ${fmt(at100.dispute / 100)} gas per claim, already above 1/100 of always-prove (${fmt(always / 100)}).`,
        ]
      : []),
  ].join("\n");
}

if (isMain(import.meta.url)) {
  measureBatchGas().then(
    (r) => {
      console.log(batchGasMarkdown(r));
      for (const line of r.overTarget) console.error(`over target: ${line}`);
      process.exit(r.overTarget.length ? 1 : 0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
