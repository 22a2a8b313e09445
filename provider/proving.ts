// Proving challenged claims without ever stalling the provider. Each challenged claim gets one proof task that runs
// next to the step loop (new claims, finalizations and other proofs go on meanwhile); the step that finds the task
// done sends `prove`. Every wait on a prover service is bounded by the claim's proof deadline: the service is given
// up, for a local proof, when the time left falls to the fallback margin (twice the local proof time, measured or
// estimated, plus prover.txMarginMs for the transaction), and earlier when it stops answering (prover.stallMs),
// loses the job, fails it or returns a proof that does not check out. Each fallback is a warning naming the claim
// and the reason.
import type { Hex } from "viem";
import { AuditStatus } from "../sdk/batch.ts";
import { ConfigError, FatalError, errorSummary } from "../sdk/errors.ts";
import { ClaimStatus, toSolidityProof, type ClaimFields } from "../sdk/protocol.ts";
import { readClaims, readRegistry, sendClaims, settlementGas, type Chainable } from "../runtime/chain.ts";
import { proveOutputs, type ProvedOutputs, type ServedModel } from "../runtime/models.ts";
import { claimInput } from "./recover.ts";
import type { OwnClaim, ProviderContext } from "./step.ts";
import type { ProviderConfig } from "./config.ts";

/** One challenged claim's proof, running in the background. */
export interface ProofTask {
  claimId: Hex;
  modelId: Hex;
  startedAt: number;
  /** The proof deadline on this machine's clock (epoch ms), re-derived from the chain's time at every step. */
  deadlineAt: number;
  controller: AbortController;
  /** Set for a batch position's proof (provider/batch.ts sends it with proveLeaf): sendReadyProofs leaves it alone. */
  leaf?: boolean;
  /** Settles when the proof is made or has failed (never rejects). */
  done: Promise<void>;
  result?: ProvedOutputs;
  error?: unknown;
  finished: boolean;
}

/**
 * Turns to prove on this machine, `concurrency` at a time, the waiting claim whose deadline comes first next.
 * Twenty challenges at once must not start twenty provers: they would share the cores and the memory, and all
 * finish late (or be killed for memory) instead of most finishing in time.
 */
export class ProofSlots {
  private running = 0;
  private readonly waiting: Array<{ deadlineAt: () => number; needMs: () => number; start: () => void; fail: (err: Error) => void }> = [];

  constructor(readonly concurrency: number) {}

  /** Proofs waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves, once it is this proof's turn, to the function that ends the turn; rejects if `signal` aborts first,
   * or when the proof's deadline passes while it waits. `needMs`: how long the proof and its transaction take.
   */
  async acquire(deadlineAt: () => number, signal?: AbortSignal, needMs: () => number = () => 0): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.running < this.concurrency && this.waiting.length === 0) {
      this.running++;
      return this.release();
    }
    await new Promise<void>((resolve, reject) => {
      const leave = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
      };
      const onAbort = (): void => {
        leave();
        reject(signal!.reason);
      };
      const entry = {
        deadlineAt,
        needMs,
        start: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        fail: (err: Error) => {
          signal?.removeEventListener("abort", onAbort);
          leave();
          reject(err);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
    });
    return this.release();
  }

  private release(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.running--;
      this.grant();
    };
  }

  /**
   * Gives free turns: a proof whose deadline has passed leaves the queue (its claim is lost, proving it would only
   * take a turn from one that is not); of the rest, the soonest deadline that can still be met goes first, and
   * when none can, the soonest. Deadlines move with the chain's clock while proofs wait: they are read here.
   */
  private grant(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const now = Date.now();
      for (const e of [...this.waiting]) if (e.deadlineAt() <= now) e.fail(new Error("the proof deadline passed while the proof waited for its turn"));
      if (this.waiting.length === 0) return;
      this.waiting.sort((a, b) => a.deadlineAt() - b.deadlineAt());
      const pick = this.waiting.find((e) => e.deadlineAt() - now >= e.needMs()) ?? this.waiting[0]!;
      this.waiting.splice(this.waiting.indexOf(pick), 1);
      this.running++;
      pick.start();
    }
  }
}

/** The provider's proof tasks by claim id, and the turns of its local proofs. */
export class ProofTasks {
  readonly tasks = new Map<Hex, ProofTask>();
  readonly slots: ProofSlots;

  constructor(localConcurrency = 1) {
    this.slots = new ProofSlots(localConcurrency);
  }

  /** Resolves once every task now running has finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.done));
  }
}

export function proofTasks(ctx: ProviderContext): ProofTasks {
  return (ctx.proofs ??= new ProofTasks(ctx.config.localProofConcurrency));
}

/** Default transaction margin: time left after a local proof for `prove` to be mined (ms). */
export const DEFAULT_TX_MARGIN_MS = 60_000;
/** Estimated local proof time per constraint before one was measured (ms): a slow CPU with snarkjs, with room. */
const MS_PER_CONSTRAINT = 1;
const MIN_ESTIMATE_MS = 10_000;
const KEEP_SAMPLES = 5;

interface ProofTimes {
  samples: Array<{ ms: number; backend: string; at: string }>;
}

const timesKey = (modelId: Hex): string => `proof-time/${modelId.toLowerCase()}`;

/**
 * How long a local proof of `model` takes here: prover.localProofMs when set, else the slowest of the last local
 * proofs measured (kept in the store), else an estimate from the circuit's size (1 ms a constraint, at least 10 s).
 */
export function localProofEstimate(ctx: Pick<ProviderContext, "store" | "config">, model: ServedModel): { ms: number; source: "config" | "measured" | "constraints" } {
  const set = ctx.config.prover?.localProofMs;
  if (set !== undefined) return { ms: set, source: "config" };
  const times = ctx.store.get<ProofTimes>(timesKey(model.modelId));
  if (times && times.samples.length > 0) return { ms: Math.max(...times.samples.map((s) => s.ms)), source: "measured" };
  const constraints = Number(model.pkg.manifest.constraints ?? 0);
  return { ms: Math.max(MIN_ESTIMATE_MS, Math.round(constraints * MS_PER_CONSTRAINT)), source: "constraints" };
}

/** Records the time of a local proof of `modelId` (the last few are kept). */
export function recordLocalProof(ctx: Pick<ProviderContext, "store">, modelId: Hex, ms: number, backend: string): void {
  const times = ctx.store.get<ProofTimes>(timesKey(modelId)) ?? { samples: [] };
  times.samples = [...times.samples, { ms, backend, at: new Date().toISOString() }].slice(-KEEP_SAMPLES);
  ctx.store.set(timesKey(modelId), times);
}

/** Time before the proof deadline at which a local proof must start: twice its expected length plus the tx margin. */
export function fallbackMarginMs(ctx: Pick<ProviderContext, "store" | "config">, model: ServedModel): number {
  return 2 * localProofEstimate(ctx, model).ms + (ctx.config.prover?.txMarginMs ?? DEFAULT_TX_MARGIN_MS);
}

/**
 * Start-up check of prover.timeoutMs against each served model's proof window: a wait longer than the window is a
 * ConfigError naming the field (the claim would be slashed before the wait ends); one that reaches into the
 * fallback margin is a warning (the deadline cuts it short).
 */
export async function checkProverTimeout(ctx: Chainable & Pick<ProviderContext, "store" | "models">, config: ProviderConfig): Promise<void> {
  const p = config.prover;
  if (!p) return;
  for (const model of ctx.models.values()) {
    const [proofWindow] = await readRegistry(ctx, "disputeParams", [model.modelId]);
    const windowMs = Number(proofWindow) * 1000;
    if (p.timeoutMs >= windowMs) {
      throw new ConfigError(
        `prover.timeoutMs (${p.timeoutMs} ms) is not shorter than the proof window of ${model.name} (${proofWindow} s): a challenged claim would be slashed before the wait on the prover service ends`,
        [`prover.timeoutMs: ${p.timeoutMs} ms >= proof window ${windowMs} ms of ${model.name} (${model.modelId})`],
        { docsPath: "daemons.md#proving-challenged-claims" },
      );
    }
    const margin = fallbackMarginMs({ store: ctx.store, config }, model);
    if (p.fallbackLocal && p.timeoutMs > windowMs - margin) {
      ctx.logger.warn(
        { model: model.name, timeoutMs: p.timeoutMs, proofWindowMs: windowMs, fallbackMarginMs: margin },
        "prover.timeoutMs reaches into the local fallback margin of the proof window: the wait on the service is cut when a local proof must start",
      );
    }
    if (margin >= windowMs) {
      ctx.logger.warn({ model: model.name, proofWindowMs: windowMs, fallbackMarginMs: margin }, "the proof window is shorter than the local fallback margin: a local proof may not land in time");
    }
  }
}

/**
 * Start-up check of how many claims this provider could prove in one proof window, one local proof after another:
 * `stakeCap` bounds its open claims, and a griefer who challenges all of them at once gets every claim that is not
 * proved in time slashed. A warning names the numbers when the cap allows more open claims than that.
 */
export async function checkProofCapacity(ctx: Chainable & Pick<ProviderContext, "store" | "models">, config: ProviderConfig): Promise<void> {
  if (config.stakeCap === 0n) return;
  for (const model of ctx.models.values()) {
    const [proofWindow] = await readRegistry(ctx, "disputeParams", [model.modelId]);
    const [, , , , minBond] = await readRegistry(ctx, "claimParams", [model.modelId]);
    const bond = config.bond > minBond ? config.bond : minBond;
    if (bond === 0n) continue;
    const openClaims = config.stakeCap / bond;
    const estimate = localProofEstimate({ store: ctx.store, config }, model).ms;
    const provable = Math.floor((Number(proofWindow) * 1000 - (config.prover?.txMarginMs ?? DEFAULT_TX_MARGIN_MS)) / estimate); // one proof already uses every core: turns at once add no throughput
    if (config.prover === undefined && BigInt(Math.max(provable, 0)) < openClaims) {
      ctx.logger.warn(
        { model: model.name, openClaims: Number(openClaims), provableInOneWindow: Math.max(provable, 0), proofSeconds: estimate / 1000, proofWindowSeconds: Number(proofWindow) },
        "stakeCap allows more open claims than this machine can prove in one proof window: if all are challenged at once, the last ones would be slashed; lower stakeCap, prove on a faster machine, or add a prover service",
      );
    }
  }
}

const fields = (c: OwnClaim["claim"]): ClaimFields => ({ ...c, inputHash: BigInt(c.inputHash), bond: BigInt(c.bond), requestId: BigInt(c.requestId) });

/**
 * The step's action for a Challenged claim before its deadline, or a Submitted one whose audit selected it before the
 * audit deadline (`reason` "audit"): starts its proof task (logging "claim challenged: proving" or "claim audited:
 * proving"), keeps the task's deadline in step with the chain's clock while it runs, and sends `prove` once it is
 * done. A proof that cannot be made (the claimed outputs are not the model's) marks the claim unprovable; any other
 * failure is logged and the next step starts again. Never waits on the proof itself.
 */
export async function answerChallenge(ctx: ProviderContext, own: OwnClaim, deadline: bigint, chainNow: bigint, reason: ProofReason = "challenge"): Promise<void> {
  const tasks = proofTasks(ctx);
  const deadlineAt = Date.now() + Number(deadline - chainNow) * 1000;
  const task = tasks.tasks.get(own.claimId);
  if (task && !task.finished) {
    task.deadlineAt = deadlineAt;
    return;
  }
  if (task) {
    if (task.result) return sendProof(ctx, own, task, reason);
    tasks.tasks.delete(own.claimId);
    if (task.error instanceof FatalError) {
      ctx.store.set(`claim/${own.claimId}`, { ...own, status: "unprovable", outcome: errorSummary(task.error) } satisfies OwnClaim);
      ctx.logger.error({ claimId: own.claimId, err: errorSummary(task.error) }, "cannot prove the claim");
      return;
    }
    ctx.logger.warn({ claimId: own.claimId, err: errorSummary(task.error) }, "proof failed: trying again");
  }
  const model = ctx.models.get(own.claim.modelId.toLowerCase() as Hex);
  const values = model ? await claimInput(ctx, own) : undefined;
  if (!values || !model) {
    ctx.logger.error({ claimId: own.claimId }, "cannot prove: input or model package unknown");
    return;
  }
  const margin = fallbackMarginMs(ctx, model);
  ctx.logger.warn(
    {
      claimId: own.claimId,
      proofDeadline: deadline,
      secondsLeft: Number(deadline - chainNow),
      ...(ctx.remoteProver ? { prover: ctx.remoteProver.client.url, fallbackMarginSeconds: Math.round(margin / 1000) } : {}),
    },
    reason === "audit" ? "claim audited: proving" : "claim challenged: proving",
  );
  startTask(ctx, { claimId: own.claimId, outputs: own.outputs }, model, values, deadlineAt);
}

/**
 * Starts the proof of one position of a batch (provider/batch.ts), on the same path as a challenged claim's: the
 * prover service when configured (job id = `key`), else a local proof in its turn. `key` names the task.
 */
export function startLeafProof(ctx: ProviderContext, key: Hex, model: ServedModel, values: bigint[], outputs: readonly string[], deadlineAt: number): ProofTask {
  return startTask(ctx, { claimId: key, outputs }, model, values, deadlineAt, true);
}

function startTask(ctx: ProviderContext, own: { claimId: Hex; outputs: readonly string[] }, model: ServedModel, values: bigint[], deadlineAt: number, leaf = false): ProofTask {
  const controller = new AbortController();
  const signal = AbortSignal.any([controller.signal, ctx.signal]);
  const task: ProofTask = { claimId: own.claimId, modelId: model.modelId, startedAt: Date.now(), deadlineAt, controller, done: Promise.resolve(), finished: false, ...(leaf ? { leaf } : {}) };
  const secondsLeft = (): number => Math.round((task.deadlineAt - Date.now()) / 1000);
  task.done = (async () => {
    try {
      const proved = await proveOutputs(model, values, own.outputs.map(BigInt), ctx.logger, {
        remote: ctx.remoteProver,
        jobId: own.claimId,
        bounds: { giveUpAt: () => task.deadlineAt - fallbackMarginMs(ctx, model), signal },
        about: () => ({ claimId: own.claimId, secondsLeft: secondsLeft() }),
        localSlot: async () => {
          const slots = proofTasks(ctx).slots;
          const before = slots.queued;
          const turn = slots.acquire(() => task.deadlineAt, signal, () => localProofEstimate(ctx, model).ms + (ctx.config.prover?.txMarginMs ?? DEFAULT_TX_MARGIN_MS));
          if (slots.queued > before) ctx.logger.info({ claimId: own.claimId, secondsLeft: secondsLeft(), waiting: slots.queued }, "proof waits for its turn (soonest deadline first)");
          return turn;
        },
      });
      if (!proved.backend.startsWith("service:")) recordLocalProof(ctx, model.modelId, proved.ms, proved.backend);
      if (proved.fallback) ctx.metrics.counter("prover_fallbacks_total", "Proofs made locally after the prover service was given up, by reason", ["reason"] as const).inc({ reason: proved.fallback.reason });
      ctx.metrics.histogram("proof_seconds", "Time to prove a challenged claim").observe(proved.ms / 1000);
      task.result = proved;
    } catch (err) {
      task.error = err;
    } finally {
      task.finished = true;
    }
  })();
  proofTasks(ctx).tasks.set(own.claimId, task);
  return task;
}

/**
 * Stops the proof task of a claim that no longer needs it (settled, or its proof deadline passed): a proof
 * waiting for its turn leaves the queue at once, so it does not take a turn from a claim that can still be saved.
 */
export function cancelProof(ctx: ProviderContext, claimId: Hex, reason: string): void {
  const tasks = proofTasks(ctx);
  const task = tasks.tasks.get(claimId);
  if (!task) return;
  if (!task.finished) task.controller.abort(new Error(reason));
  tasks.tasks.delete(claimId);
}

/** Sends the proof of a finished task; the task is kept until the transaction is through (a failure is retried). */
/** Why a claim must be proven: a challenge (by its proof deadline), or its audit selected it (by the audit deadline). */
export type ProofReason = "challenge" | "audit";

/**
 * The proof a claim owes now: while Challenged, by its proof deadline (a selected audit is answered by the same
 * proof); while Submitted with an audit that selected it, by the audit deadline. Undefined when none is owed.
 */
export async function owedProof(ctx: ProviderContext, claimId: Hex): Promise<{ deadline: bigint; reason: ProofReason } | undefined> {
  const [status, deadline] = await readClaims(ctx, "claimState", [claimId]);
  if (status === ClaimStatus.Challenged) return { deadline, reason: "challenge" };
  if (status !== ClaimStatus.Submitted) return undefined;
  const [audit, , , , auditDeadline] = await readClaims(ctx, "auditOf", [claimId]);
  return audit === AuditStatus.Selected ? { deadline: auditDeadline, reason: "audit" } : undefined;
}

async function sendProof(ctx: ProviderContext, own: OwnClaim, task: ProofTask, reason: ProofReason): Promise<void> {
  const proved = task.result!;
  const claim = fields(own.claim);
  await sendClaims(ctx, "prove", [claim, proved.outputs, toSolidityProof(proved.proof)], { gas: await settlementGas(ctx, "prove", claim) });
  proofTasks(ctx).tasks.delete(own.claimId);
  ctx.logger.info(
    { claimId: own.claimId, backend: proved.backend, proveSeconds: (proved.ms / 1000).toFixed(2), ...(proved.fallback ? { fallback: proved.fallback.reason } : {}) },
    reason === "audit" ? "audit answered with a proof" : "challenge answered with a proof",
  );
}

/**
 * Sends `prove` for every proof that finished since the last step, before the step's other work (so a proof does
 * not wait behind a long queue of jobs). Tasks of claims that no longer owe a proof (owedProof) are dropped.
 */
export async function sendReadyProofs(ctx: ProviderContext): Promise<void> {
  const tasks = proofTasks(ctx);
  for (const task of [...tasks.tasks.values()]) {
    if (ctx.signal.aborted) return;
    if (!task.finished || !task.result || task.leaf) continue;
    const own = ctx.store.get<OwnClaim>(`claim/${task.claimId}`);
    const owed = own ? await owedProof(ctx, task.claimId) : undefined;
    const now = (await ctx.publicClient.getBlock()).timestamp;
    if (!own || !owed || now >= owed.deadline) {
      tasks.tasks.delete(task.claimId);
      continue;
    }
    try {
      await sendProof(ctx, own, task, owed.reason);
    } catch (err) {
      if (!(err instanceof FatalError)) throw err;
      ctx.logger.warn({ claimId: task.claimId, err: errorSummary(err) }, "sending the proof failed; retrying next step");
    }
  }
}
