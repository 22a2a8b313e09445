// Native backends: prover/native/build/ozk-prover (C++, all cores) and ozk-prover-cuda (GPU). By default each key
// gets a resident `serve` process (prover/backends/resident.ts) that loads and checks the key once and keeps it
// (on the GPU: its points in device memory) for the next proofs; OZK_NATIVE_RESIDENT=0 spawns one process per
// proof instead. When a binary was not built (no compiler toolchain, no nvcc) or no GPU answers, its
// availability check is false and the service falls back to the next backend.
import { execFile } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRootUrl } from "../../sdk/package-root.ts";
import type { ProofResult } from "../types.ts";
import { NativeProverError, proverErrorMessage, ResidentPool } from "./resident.ts";

export { NativeProverError } from "./resident.ts";

// Resolved when asked, not at import: a bundler or a jsdom test environment that imports this module (through the
// setup code) without a file: URL for it must not fail.
const builtBinary = (name: string): string => fileURLToPath(new URL(`prover/native/build/${name}`, packageRootUrl(import.meta.url, 2)));

/** The prover binary: env OZK_NATIVE_PROVER, else the one prover/native/build.sh writes. */
export function nativeBinaryPath(): string {
  return process.env.OZK_NATIVE_PROVER ?? builtBinary("ozk-prover");
}

/** The CUDA prover binary: env OZK_CUDA_PROVER, else the one prover/native/cuda/build-cuda.sh writes. */
export function cudaBinaryPath(): string {
  return process.env.OZK_CUDA_PROVER ?? builtBinary("ozk-prover-cuda");
}

function run(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new NativeProverError(proverErrorMessage(stderr) ?? err.message, { details: stderr.trim() || err.message, docsPath: "prover.md#native", cause: err }));
      } else resolve({ stdout, stderr });
    });
  });
}

/** A binary's identity on disk (size and mtime), or "missing": a binary built or replaced later is checked anew. */
function fileKey(path: string): string {
  try {
    const st = statSync(path);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return "missing";
  }
}

/** Caches a check per binary file version: the answer is reused until the file at `path()` changes. */
function cachedCheck(path: () => string, check: (bin: string) => Promise<boolean>): () => Promise<boolean> {
  let cached: { key: string; answer: Promise<boolean> } | undefined;
  return () => {
    const bin = path();
    const key = `${bin}\0${fileKey(bin)}`;
    if (cached?.key !== key) cached = { key, answer: check(bin) };
    return cached.answer;
  };
}

/** Whether the native binary exists and runs on this machine (checked once per version of the binary file, so a
 *  binary built after the first check, for instance by a test's set-up, is found). */
export const nativeAvailable: () => Promise<boolean> = cachedCheck(nativeBinaryPath, async (bin) => {
  try {
    accessSync(bin, constants.X_OK);
    const { stdout } = await run(bin, ["version"]);
    return stdout.startsWith("ozk-prover");
  } catch {
    return false;
  }
});

/** Whether the CUDA binary was built and a GPU answers (`ozk-prover-cuda probe`), checked once per version of the
 *  binary file. */
export const cudaAvailable: () => Promise<boolean> = cachedCheck(cudaBinaryPath, async (bin) => {
  try {
    accessSync(bin, constants.X_OK);
    await run(bin, ["probe"]);
    return true;
  } catch {
    return false;
  }
});

export interface NativeProveOptions {
  /** Worker threads (default: all cores). CPU prover only. */
  threads?: number;
  /** Keep the key loaded in a `serve` process for later proofs (default: env OZK_NATIVE_RESIDENT, else true). */
  resident?: boolean;
}

const pool = new ResidentPool(Math.max(1, Number(process.env.OZK_RESIDENT_KEYS ?? 2) || 2));

function residentDefault(): boolean {
  return process.env.OZK_NATIVE_RESIDENT !== "0";
}

/** Stops every resident prover process (they also stop by themselves when this process exits). */
export function closeResidentProvers(): void {
  pool.closeAll();
}

/** Number of resident prover processes running. */
export function residentProverCount(): number {
  return pool.size;
}

async function proveWith(bin: string, zkeyPath: string, wtnsPath: string, args: string[], resident: boolean): Promise<ProofResult> {
  const dir = await mkdtemp(join(tmpdir(), "ozk-native-"));
  try {
    const proofPath = join(dir, "proof.json");
    const publicPath = join(dir, "public.json");
    if (resident) await pool.get(bin, zkeyPath, args).prove(wtnsPath, proofPath, publicPath);
    else await run(bin, ["prove", zkeyPath, wtnsPath, proofPath, publicPath, ...args]);
    const proof = JSON.parse(await readFile(proofPath, "utf8")) as ProofResult["proof"];
    const publicSignals = JSON.parse(await readFile(publicPath, "utf8")) as ProofResult["publicSignals"];
    return { proof, publicSignals };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Groth16 proof in snarkjs format for `wtnsPath` under `zkeyPath`. Throws NativeProverError on bad inputs. */
export function proveNative(zkeyPath: string, wtnsPath: string, options: NativeProveOptions = {}): Promise<ProofResult> {
  const args = options.threads ? ["--threads", String(options.threads)] : [];
  return proveWith(nativeBinaryPath(), zkeyPath, wtnsPath, args, options.resident ?? residentDefault());
}

/** Groth16 proof on the GPU (NTTs and MSMs in CUDA, key points resident on the device). Callers verify its proofs. */
export function proveCuda(zkeyPath: string, wtnsPath: string, options: Omit<NativeProveOptions, "threads"> = {}): Promise<ProofResult> {
  return proveWith(cudaBinaryPath(), zkeyPath, wtnsPath, [], options.resident ?? residentDefault());
}
