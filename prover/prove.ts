// One proof, end to end: witness -> backend prove -> verify against the package's verification key. Every
// backend's output goes through the same check, so a faulty backend can never hand out a bad proof.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProofError } from "./errors.ts";
import type { ProvablePackage } from "../circuits/compiler/package.ts";
import type { ProofResult, ProverBackend } from "./types.ts";
import { assertProofValid, packageVerificationKey } from "./verify.ts";
import { witnessCalculatorFor } from "./witness.ts";

export interface ProofTimings {
  witnessMs: number;
  proveMs: number;
  verifyMs: number;
  totalMs: number;
}

export interface ProvedResult extends ProofResult {
  backend: string;
  timings: ProofTimings;
}

export interface ProveOptions {
  backend: ProverBackend;
  /** Scratch directory for the .wtns (default: a fresh temp dir, removed afterwards). */
  workDir?: string;
  /** Called when a phase starts, for progress logs. */
  onPhase?: (phase: "witness" | "prove" | "verify") => void;
}

/** Proves `input` for `pkg`. Throws InputError for inputs the circuit rejects, ProofError for bad proofs. */
export async function proveWithPackage(pkg: ProvablePackage, input: unknown, options: ProveOptions): Promise<ProvedResult> {
  const t0 = performance.now();
  const dir = await mkdtemp(join(options.workDir ?? tmpdir(), "ozk-prove-"));
  try {
    const wtnsPath = join(dir, "witness.wtns");
    options.onPhase?.("witness");
    const calc = await witnessCalculatorFor(pkg);
    await calc(pkg, input, wtnsPath);
    const t1 = performance.now();
    options.onPhase?.("prove");
    const result = await options.backend.prove(pkg.zkeyPath, wtnsPath);
    const t2 = performance.now();
    options.onPhase?.("verify");
    const vkey = await packageVerificationKey(pkg);
    try {
      await assertProofValid(result, vkey, `proof from backend ${options.backend.name}`);
    } catch (err) {
      if (err instanceof ProofError) throw new ProofError(err.shortMessage, { meta: { backend: options.backend.name, model: pkg.name } });
      throw err;
    }
    const t3 = performance.now();
    const round = (x: number): number => Math.round(x * 10) / 10;
    return {
      ...result,
      backend: options.backend.name,
      timings: { witnessMs: round(t1 - t0), proveMs: round(t2 - t1), verifyMs: round(t3 - t2), totalMs: round(t3 - t0) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
