// Shared fixture for the batch tests: BatchManager beside the claim fixture's token and registry, batches built with
// the SDK's position-bound tree, and the batch solvency check.
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import type { Hex } from "viem";
import { batchId, batchLeaf, buildBatchTree, type BatchStruct, type BatchTree } from "../../sdk/batch.ts";
import {
  E18, MIN_CHALLENGER_BOND, MIN_PROVIDER_BOND, STAKE, ZERO_PROOF, deployFixtureWith,
  deployReal, ethers, sampleOutputs, type Proof, loadFixture,
} from "./helpers.ts";

export const AUDIT_FEE = 2n * E18;
export const AUDIT_POOL = 50n * E18;

export enum BatchStatus { None, Submitted, Finalized, Slashed }
export enum AuditStatus { Undrawn, Clear, Selected, Answered }
export enum LeafStatus { None, Challenged, Proven, Released }
export enum SlashReason { Unproven, CounterProven, AuditUnanswered, AuditMissed }

/** One claim of a batch. */
export interface LeafData { inputHash: bigint; outputs: bigint[] }

/**
 * The claim fixture plus a BatchManager (default audit rate 0, fee AUDIT_FEE) on the same token and registry, wired
 * into the ClaimManager (requests can be fulfilled from its batches); provider, challenger and other stake STAKE in
 * it, and `consumer` funds the audit pool with AUDIT_POOL.
 */
export async function deployBatchFixture() {
  const f = await deployFixtureWith({ batchManager: { auditRateBps: 0, auditFee: AUDIT_FEE } });
  const batches = f.batchManager!;
  for (const s of [f.provider, f.challenger, f.other, f.consumer]) {
    await f.token.connect(s).approve(await batches.getAddress(), ethers.MaxUint256);
  }
  for (const s of [f.provider, f.challenger, f.other]) await batches.connect(s).stake(STAKE);
  await batches.connect(f.consumer).fundAuditPool(AUDIT_POOL);
  return { ...f, batches };
}
export type BatchFixture = Awaited<ReturnType<typeof deployBatchFixture>>;

/** A real fixture verifier's model beside a BatchManager (audit rate 0 by default). */
export async function deployRealBatches(which: "tiny" | "wide" = "tiny") {
  const f = await deployReal(which);
  const batches = await ethers.deployContract("BatchManager", [f.token, f.registry, f.treasury.address, 500, 5000, 0, AUDIT_FEE]);
  for (const s of [f.provider, f.challenger, f.other, f.consumer]) {
    await f.token.connect(s).approve(await batches.getAddress(), ethers.MaxUint256);
    await batches.connect(s).stake(STAKE);
  }
  await batches.connect(f.consumer).fundAuditPool(AUDIT_POOL);
  return { ...f, batches };
}

export function sampleLeaves(n: number, seed = 1n): LeafData[] {
  return Array.from({ length: n }, (_, i) => ({ inputHash: 1000n + BigInt(i), outputs: sampleOutputs(seed + BigInt(i)) }));
}

export interface SubmittedBatch {
  batch: BatchStruct;
  id: Hex;
  tree: BatchTree;
  leaves: LeafData[];
  tx: ContractTransactionResponse;
  block: number;
}

/**
 * `provider` submits a batch of `leaves` (default 4 sample leaves). `leafHashes` overrides the tree's leaves (a
 * cheater's tree); the struct's audit policy is read back from the contract as it snapshots it.
 */
export async function submitBatch(
  f: { batches: BatchFixture["batches"]; provider: BatchFixture["provider"]; modelId: string },
  opts: { leaves?: LeafData[]; leafHashes?: Hex[]; bond?: bigint; provider?: BatchFixture["provider"]; size?: number } = {},
): Promise<SubmittedBatch> {
  const provider = opts.provider ?? f.provider;
  const leaves = opts.leaves ?? sampleLeaves(4);
  const modelId = f.modelId as Hex;
  const hashes = opts.leafHashes ?? leaves.map((l, i) => batchLeaf(modelId, l.inputHash, l.outputs, i));
  const tree = buildBatchTree(hashes);
  const size = opts.size ?? hashes.length;
  const bond = opts.bond ?? MIN_PROVIDER_BOND;
  const [rate, fee] = await f.batches.auditPolicy(modelId);
  const batch: BatchStruct = {
    modelId, provider: provider.address as Hex, root: tree.root, size, bond, auditRateBps: Number(rate), auditFee: fee,
  };
  const tx = await f.batches.connect(provider).submitBatch(modelId, tree.root, size, bond, "https://provider.example/batches/1");
  const rc = await tx.wait();
  return { batch, id: batchId(batch), tree, leaves, tx, block: rc!.blockNumber };
}

/** proveLeaf of leaf `index` of `b` with its own data and path, from `sender`. */
export function proveLeaf(
  f: { batches: BatchFixture["batches"] },
  sender: BatchFixture["provider"],
  b: SubmittedBatch,
  index: number,
  proof: Proof = ZERO_PROOF,
) {
  const l = b.leaves[index]!;
  return f.batches.connect(sender).proveLeaf(b.batch, index, l.inputHash, l.outputs, b.tree.path(index), proof);
}

/** Commits (one block) and reveals (the next) a counter-proof of leaf `index` of `b` with `outputs`. */
export async function counterProveLeaf(
  f: { batches: BatchFixture["batches"] },
  sender: BatchFixture["provider"],
  b: SubmittedBatch,
  index: number,
  outputs: bigint[],
  proof: Proof = ZERO_PROOF,
  claimedOutputHash?: Hex,
) {
  const m = f.batches.connect(sender);
  const l = b.leaves[index]!;
  await m.commit(await m.hashCounterProof(b.id, index, l.inputHash, outputs, proof));
  const { outputHash } = await import("../../sdk/signals.ts");
  return m.counterProveLeaf(b.batch, index, l.inputHash, claimedOutputHash ?? outputHash(l.outputs), b.tree.path(index), outputs, proof);
}

export async function batchStatus(f: { batches: BatchFixture["batches"] }, id: string) {
  const s = await f.batches.batchState(id);
  return { status: Number(s.status), deadline: s.challengeDeadline, block: s.submittedBlock, open: Number(s.openChallenges), audit: Number(s.audit), auditIndex: Number(s.auditIndex) };
}

export async function challengeDeadline(f: { batches: BatchFixture["batches"] }, id: string): Promise<bigint> {
  return (await f.batches.batchState(id)).challengeDeadline;
}

/**
 * The batch solvency invariant: token balance == free stakes + credits of every known account + bonds of Submitted
 * batches + challenger bonds of Challenged positions + the audit pool.
 */
export async function expectBatchSolvent(
  f: BatchFixture | Awaited<ReturnType<typeof deployRealBatches>>,
  batches: SubmittedBatch[] = [],
): Promise<void> {
  const accounts = (await ethers.getSigners()).slice(0, 10).map((s) => s.address);
  let sum = await f.batches.auditPool();
  for (const a of accounts) sum += (await f.batches.freeStake(a)) + (await f.batches.credits(a));
  for (const b of batches) {
    const s = await f.batches.batchState(b.id);
    if (Number(s.status) === BatchStatus.Submitted) sum += b.batch.bond;
    for (let i = 0; i < b.batch.size; i++) {
      const [ls] = await f.batches.leafChallenge(b.id, i);
      if (Number(ls) === LeafStatus.Challenged) sum += MIN_CHALLENGER_BOND;
    }
  }
  expect(await f.token.balanceOf(await f.batches.getAddress())).to.equal(sum);
}

export const loadBatches = () => loadFixture(deployBatchFixture);
export const loadRealBatches = () => loadFixture(function tinyRealBatches() { return deployRealBatches("tiny"); });
