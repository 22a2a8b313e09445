// Everything the page shows, read from the chain in one snapshot (every event up to one block, every contract read at
// that block): registered models (with their setup kind and package metadata), claims with status, deadline and
// dispute history, providers' stake and slashing record, requests, and batches with their audit and open challenges.
import { erc20Abi, type Address, type Hex, type PublicClient } from "viem";
import { batchManagerAbi, claimManagerAbi, modelRegistryAbi } from "../../sdk/abi.ts";
import {
  AuditStatus,
  BatchStatus,
  SlashReason,
  auditSeedGone,
  batchStatusName,
  leafStatusName,
  slashReasonName,
  type BatchStruct,
} from "../../sdk/batch.ts";
import type { AuditView } from "./AuditCell.tsx";
import { ClaimStatus, claimStatusName, setupKindName, type SetupKindName } from "../../sdk/protocol.ts";
import type { Deployment } from "../../sdk/deployments.ts";
import { tokens } from "./format.ts";

/** What the page reads off a model package: manifest (shapes, quantization, constraints) and training.json. */
export interface PackageInfo {
  manifest: {
    name: string;
    constraints: number;
    inputBits: number;
    inputScale: number;
    inputRange: [number, number];
    inputShape: number[];
    inputLength: number;
    outputLength: number;
    visibility?: string;
    costs?: Array<{ name: string; kind: string; constraints: number }>;
  };
  training?: {
    architecture?: string;
    parameters?: number;
    heldOutAccuracy?: Record<string, number>;
    data?: { heldOut?: number };
    importerVsOnnxruntimeMaxAbsDiff?: number;
  };
  /** `ozk model fidelity --json`: float vs quantized on the held-out digits. */
  fidelity?: {
    samples?: number;
    floatAccuracy?: number;
    quantizedAccuracy?: number;
    agreement?: number;
  };
}

export interface ModelView {
  name: string;
  modelId: Hex;
  challengeWindow: number;
  proofWindow: number;
  minProviderBond: bigint;
  minChallengerBond: bigint;
  deprecated: boolean;
  /** How the model's Groth16 key was made, as registered ("unsafe-dev": anyone can forge its proofs). */
  setupKind: SetupKindName;
  /** Code hash of the verifier, pinned at registration. */
  verifierCodeHash: Hex;
  pkg?: PackageInfo;
}

export interface HistoryEntry {
  kind: "Submitted" | "Challenged" | "Proven" | "Finalized" | "Slashed" | "Reopened" | "Audit" | "Audit answered";
  block: bigint;
  detail: string;
}

export interface ClaimView {
  claimId: Hex;
  modelId: Hex;
  provider: Address;
  bond: bigint;
  requestId: bigint;
  outputs: bigint[];
  status: number;
  statusName: string;
  deadline: bigint;
  history: HistoryEntry[];
  /** The claim's random forced audit; undefined when its model was not audited when it was submitted (rate 0). */
  audit?: AuditView;
  auditRateBps: number;
}

/** An account that staked: what it claimed and challenged, and what it lost doing either. */
export interface ProviderView {
  account: Address;
  freeStake: bigint;
  claims: number;
  live: number;
  slashed: number;
  /** Bonds of its claims that were slashed. */
  slashedAmount: bigint;
  /** Claims it challenged. */
  challenges?: number;
  /** Its challenges answered with a valid proof: each cost it its challenger bond. */
  challengesLost?: number;
  challengeBondLost?: bigint;
}

/** The bond token, for amounts with their unit. */
export interface TokenView {
  symbol: string;
  decimals: number;
}

export interface RequestView {
  requestId: bigint;
  consumer: Address;
  status: number;
  claimId: Hex;
  expiry: bigint;
  fee: bigint;
}

/** A challenged position of a batch and where its dispute stands. */
export interface LeafChallengeView {
  index: number;
  statusName: string;
  proofDeadline: bigint;
  challenger: Address;
}

/** A batch of claims on BatchManager, as its BatchSubmitted event announced it and batchState reads it now. */
export interface BatchView {
  batchId: Hex;
  /** The fields every call passes back (BatchSubmitted's `batch`). */
  batch: BatchStruct;
  /** Where the provider says the leaves are: chosen by the provider, so shown as text or an http(s) link only. */
  dataURI: string;
  submittedBlock: bigint;
  status: number;
  statusName: string;
  challengeDeadline: bigint;
  openChallenges: number;
  audit: AuditView;
  /** Every position ever challenged, in position order. */
  challenges: LeafChallengeView[];
  /** Why it was slashed, and through which position (BatchSlashed). */
  slash?: { reason: string; index: number };
}

export interface Snapshot {
  token: TokenView;
  blockNumber: bigint;
  chainTime: bigint;
  models: ModelView[];
  claims: ClaimView[];
  providers: ProviderView[];
  requests: RequestView[];
  /** Empty when the deployment has no BatchManager. */
  batches: BatchView[];
  /** Whether the deployment has a BatchManager at all. */
  hasBatches: boolean;
}

const lower = (a: string) => a.toLowerCase();

export async function readSnapshot(pc: PublicClient, d: Deployment, packages: Record<string, PackageInfo>): Promise<Snapshot> {
  const claims = d.addresses.claims;
  const fromBlock = BigInt(d.deployBlock);
  const block = await pc.getBlock({ blockTag: "latest" });
  const at = block.number;
  const range = { address: claims, abi: claimManagerAbi, fromBlock, toBlock: at } as const;
  const [submitted, challenged, proven, finalized, slashed, reopened, staked, requested, auditsDrawn, auditsAnswered, auditSlashes] = await Promise.all([
    pc.getContractEvents({ ...range, eventName: "ClaimSubmitted" }),
    pc.getContractEvents({ ...range, eventName: "ClaimChallenged" }),
    pc.getContractEvents({ ...range, eventName: "ClaimProven" }),
    pc.getContractEvents({ ...range, eventName: "ClaimFinalized" }),
    pc.getContractEvents({ ...range, eventName: "ClaimSlashed" }),
    pc.getContractEvents({ ...range, eventName: "RequestReopened" }),
    pc.getContractEvents({ ...range, eventName: "Staked" }),
    pc.getContractEvents({ ...range, eventName: "InferenceRequested" }),
    pc.getContractEvents({ ...range, eventName: "AuditDrawn" }),
    pc.getContractEvents({ ...range, eventName: "AuditAnswered" }),
    pc.getContractEvents({ ...range, eventName: "ClaimAuditSlashed" }),
  ]);
  const auditSlashOf = new Map(auditSlashes.map((l) => [lower(l.args.claimId!), Number(l.args.reason!)]));

  const token = await readToken(pc, d, at);
  const models = await Promise.all(Object.entries(d.models).map(async ([name, modelId]): Promise<ModelView> => {
    const m = await pc.readContract({ address: d.addresses.registry, abi: modelRegistryAbi, functionName: "getModel", args: [modelId], blockNumber: at });
    return {
      name, modelId,
      challengeWindow: Number(m.challengeWindow), proofWindow: Number(m.proofWindow),
      minProviderBond: m.minProviderBond, minChallengerBond: m.minChallengerBond, deprecated: m.deprecated,
      setupKind: setupKindName(m.setupKind), verifierCodeHash: m.verifierCodeHash,
      pkg: packages[name],
    };
  }));

  const history = new Map<string, HistoryEntry[]>();
  const add = (id: Hex, e: HistoryEntry) => { const k = lower(id); history.set(k, [...(history.get(k) ?? []), e]); };
  for (const l of submitted) add(l.args.claimId!, { kind: "Submitted", block: l.blockNumber, detail: `bond ${tokens(l.args.claim!.bond)}` });
  for (const l of challenged) add(l.args.claimId!, { kind: "Challenged", block: l.blockNumber, detail: `by ${l.args.challenger}, bond ${tokens(l.args.bond!)}` });
  for (const l of proven) add(l.args.claimId!, { kind: "Proven", block: l.blockNumber, detail: `by ${l.args.prover}` });
  for (const l of finalized) add(l.args.claimId!, { kind: "Finalized", block: l.blockNumber, detail: "window passed unchallenged" });
  for (const l of auditsDrawn) add(l.args.claimId!, { kind: "Audit", block: l.blockNumber, detail: l.args.selected ? "selected: must be proven" : "drawn: clear" });
  for (const l of auditsAnswered) add(l.args.claimId!, { kind: "Audit answered", block: l.blockNumber, detail: `fee ${tokens(l.args.fee!)}` });
  const slashWhy = (claimId: Hex, counterProven: boolean): string => {
    const audit = auditSlashOf.get(lower(claimId));
    if (audit === SlashReason.AuditUnanswered) return "audit not proven by its deadline";
    if (audit === SlashReason.AuditMissed) return "audit never drawn while it could be";
    return counterProven ? "counter-proven" : "proof deadline missed";
  };
  for (const l of slashed) add(l.args.claimId!, { kind: "Slashed", block: l.blockNumber, detail: `${slashWhy(l.args.claimId!, l.args.counterProven!)}; reward ${tokens(l.args.reward!)} to ${l.args.beneficiary}` });
  for (const l of reopened) add(l.args.claimId!, { kind: "Reopened", block: l.blockNumber, detail: `request #${l.args.requestId} open again` });

  const claimViews = await Promise.all(submitted.map(async (l): Promise<ClaimView> => {
    const id = l.args.claimId!;
    const [[status, deadline], [audit, submittedBlock, auditRateBps, , auditDeadline]] = await Promise.all([
      pc.readContract({ address: claims, abi: claimManagerAbi, functionName: "claimState", args: [id], blockNumber: at }),
      pc.readContract({ address: claims, abi: claimManagerAbi, functionName: "auditOf", args: [id], blockNumber: at }),
    ]);
    const c = l.args.claim!;
    const live = status === ClaimStatus.Submitted || status === ClaimStatus.Challenged;
    return {
      claimId: id, modelId: c.modelId, provider: c.provider, bond: c.bond, requestId: c.requestId,
      outputs: [...l.args.outputs!], status, statusName: claimStatusName(status), deadline,
      history: (history.get(lower(id)) ?? []).sort((a, b) => Number(a.block - b.block)),
      auditRateBps: Number(auditRateBps),
      audit: Number(auditRateBps) === 0 && auditSlashOf.get(lower(id)) === undefined
        ? undefined
        : auditView({ live, audit: Number(audit), submittedBlock: BigInt(submittedBlock), deadline: BigInt(auditDeadline) }, auditSlashOf.get(lower(id)), { blockNumber: at, chainTime: block.timestamp }),
    };
  }));
  claimViews.reverse(); // newest first

  const accounts = new Map<string, Address>();
  for (const l of staked) accounts.set(lower(l.args.account!), l.args.account!);
  for (const c of claimViews) accounts.set(lower(c.provider), c.provider);
  for (const l of challenged) accounts.set(lower(l.args.challenger!), l.args.challenger!);
  const statusOf = new Map(claimViews.map((c) => [lower(c.claimId), c.statusName]));
  const providers = await Promise.all([...accounts.values()].map(async (account): Promise<ProviderView> => {
    const mine = claimViews.filter((c) => lower(c.provider) === lower(account));
    const slashedMine = mine.filter((c) => c.statusName === "Slashed");
    const challenges = challenged.filter((l) => lower(l.args.challenger!) === lower(account));
    // A challenge answered by a proof is lost: its bond went to the provider (less the protocol fee).
    const lost = challenges.filter((l) => statusOf.get(lower(l.args.claimId!)) === "Proven");
    return {
      account,
      freeStake: await pc.readContract({ address: claims, abi: claimManagerAbi, functionName: "freeStake", args: [account], blockNumber: at }),
      claims: mine.length,
      live: mine.filter((c) => c.statusName === "Submitted" || c.statusName === "Challenged").length,
      slashed: slashedMine.length,
      slashedAmount: slashedMine.reduce((s, c) => s + c.bond, 0n),
      challenges: challenges.length,
      challengesLost: lost.length,
      challengeBondLost: lost.reduce((s, l) => s + l.args.bond!, 0n),
    };
  }));
  // Providers are accounts that claimed; challengers that only staked are listed after them.
  providers.sort((a, b) => b.claims - a.claims);

  const requests = await Promise.all(requested.map(async (l): Promise<RequestView> => {
    const r = await pc.readContract({ address: claims, abi: claimManagerAbi, functionName: "getRequest", args: [l.args.requestId!], blockNumber: at });
    return { requestId: l.args.requestId!, consumer: r.consumer, status: r.status, claimId: r.claimId, expiry: r.expiry, fee: r.fee };
  }));
  requests.reverse();

  const batches = await readBatches(pc, d, at, block.timestamp);

  return {
    token, blockNumber: block.number, chainTime: block.timestamp, models, claims: claimViews, providers, requests,
    batches: batches ?? [], hasBatches: batches !== undefined,
  };
}

/**
 * A batch's audit as the page shows it: Missed once nobody can answer it any more (the selected position's deadline
 * passed unproven, or the seed block's hash is gone undrawn) even before anyone sends slashMissedAudit, and for a
 * batch slashed for its audit.
 */
export function batchAuditView(
  state: { status: number; audit: number; auditIndex: number; submittedBlock: bigint },
  drawn: { deadline: bigint } | undefined,
  slashReason: number | undefined,
  head: { blockNumber: bigint; chainTime: bigint },
): AuditView {
  const live = state.status === BatchStatus.Submitted;
  return auditView({ live, audit: state.audit, index: state.auditIndex, submittedBlock: state.submittedBlock, deadline: drawn?.deadline }, slashReason, head);
}

/**
 * An audit (of a batch, or of a single claim: no position) as the page shows it. `live`: the batch or claim is still
 * open (Submitted, or Challenged for a claim); `deadline`: when a selected audit must be proven by, if known.
 */
export function auditView(
  state: { live: boolean; audit: number; index?: number; submittedBlock: bigint; deadline?: bigint },
  slashReason: number | undefined,
  head: { blockNumber: bigint; chainTime: bigint },
): AuditView {
  const { live, index, deadline } = state;
  if (slashReason === SlashReason.AuditUnanswered) return { status: "Missed", index, deadline };
  if (slashReason === SlashReason.AuditMissed) return { status: "Missed" };
  switch (state.audit) {
    case AuditStatus.Clear:
      return { status: "Clear" };
    case AuditStatus.Answered:
      return { status: "Answered", index };
    case AuditStatus.Selected:
      if (live && deadline !== undefined && head.chainTime >= deadline) return { status: "Missed", index, deadline };
      return { status: "Selected", index, deadline };
    default:
      if (live && auditSeedGone(state.submittedBlock, head.blockNumber)) return { status: "Missed" };
      return { status: "Undrawn" };
  }
}

/** Every batch of the deployment's BatchManager, newest first; undefined when the deployment has none. */
async function readBatches(pc: PublicClient, d: Deployment, at: bigint, chainTime: bigint): Promise<BatchView[] | undefined> {
  const address = d.addresses.batchManager as Address | undefined;
  if (!address) return undefined;
  const range = { address, abi: batchManagerAbi, fromBlock: BigInt(d.deployBlock), toBlock: at } as const;
  const [submitted, drawn, challenged, slashed] = await Promise.all([
    pc.getContractEvents({ ...range, eventName: "BatchSubmitted" }),
    pc.getContractEvents({ ...range, eventName: "AuditDrawn" }),
    pc.getContractEvents({ ...range, eventName: "LeafChallenged" }),
    pc.getContractEvents({ ...range, eventName: "BatchSlashed" }),
  ]);
  const drawnOf = new Map(drawn.map((l) => [lower(l.args.batchId!), { deadline: BigInt(l.args.deadline!) }]));
  const slashOf = new Map(slashed.map((l) => [lower(l.args.batchId!), { reason: Number(l.args.reason!), index: Number(l.args.index!) }]));
  const challengedOf = new Map<string, Set<number>>();
  for (const l of challenged) {
    const k = lower(l.args.batchId!);
    challengedOf.set(k, (challengedOf.get(k) ?? new Set()).add(Number(l.args.index!)));
  }
  const views = await Promise.all(submitted.map(async (l): Promise<BatchView> => {
    const batchId = l.args.batchId!;
    const b = l.args.batch!;
    const batch: BatchStruct = { modelId: b.modelId, provider: b.provider, root: b.root, size: Number(b.size), bond: b.bond, auditRateBps: Number(b.auditRateBps), auditFee: b.auditFee };
    const [status, challengeDeadline, submittedBlock, openChallenges, audit, auditIndex] = await pc.readContract({ address, abi: batchManagerAbi, functionName: "batchState", args: [batchId], blockNumber: at });
    const positions = [...(challengedOf.get(lower(batchId)) ?? [])].sort((x, y) => x - y);
    const challenges = await Promise.all(positions.map(async (index): Promise<LeafChallengeView> => {
      const [leafStatus, proofDeadline, challenger] = await pc.readContract({ address, abi: batchManagerAbi, functionName: "leafChallenge", args: [batchId, BigInt(index)], blockNumber: at });
      return { index, statusName: leafStatusName(leafStatus), proofDeadline: BigInt(proofDeadline), challenger };
    }));
    const slash = slashOf.get(lower(batchId));
    return {
      batchId, batch, dataURI: l.args.dataURI ?? "", submittedBlock: BigInt(submittedBlock),
      status, statusName: batchStatusName(status), challengeDeadline: BigInt(challengeDeadline), openChallenges: Number(openChallenges),
      audit: batchAuditView({ status, audit, auditIndex: Number(auditIndex), submittedBlock: BigInt(submittedBlock) }, drawnOf.get(lower(batchId)), slash?.reason, { blockNumber: at, chainTime }),
      challenges,
      slash: slash ? { reason: slashReasonName(slash.reason), index: slash.index } : undefined,
    };
  }));
  return views.reverse(); // newest first
}

/** The bond token's symbol and decimals; a token without them (or no token) reads as "tokens" with 18 decimals. */
async function readToken(pc: PublicClient, d: Deployment, at: bigint): Promise<TokenView> {
  const address = d.addresses.token as Address | undefined;
  if (!address) return { symbol: "tokens", decimals: 18 };
  const [symbol, decimals] = await Promise.all([
    pc.readContract({ address, abi: erc20Abi, functionName: "symbol", blockNumber: at }).catch(() => "tokens"),
    pc.readContract({ address, abi: erc20Abi, functionName: "decimals", blockNumber: at }).catch(() => 18),
  ]);
  return { symbol, decimals };
}
