// Native backend: spawns prover/native/build/ozk-prover (C++, all cores) and reads back snarkjs-format JSON.
// When the binary was not built (no compiler toolchain), nativeAvailable() is false and the service uses snarkjs.
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FatalError } from "../../sdk/errors.ts";
import type { ProofResult } from "../types.ts";

const defaultBinary = fileURLToPath(new URL("../native/build/ozk-prover", import.meta.url));

/** The prover binary: env OZK_NATIVE_PROVER, else the one prover/native/build.sh writes. */
export function nativeBinaryPath(): string {
  return process.env.OZK_NATIVE_PROVER ?? defaultBinary;
}

/** The native prover rejected its inputs (corrupted key or witness) or failed; never retried. */
export class NativeProverError extends FatalError {
  override name = "NativeProverError";
}

function run(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const msg = stderr.trim().split("\n").filter((l) => l.length > 0).pop() ?? err.message;
        reject(new NativeProverError(msg.replace(/^ozk-prover: error: /, ""), { details: stderr.trim() || err.message, docsPath: "prover.md#native", cause: err }));
      } else resolve({ stdout, stderr });
    });
  });
}

let availability: Promise<boolean> | undefined;

/** Whether the native binary exists and runs on this machine (checked once per process). */
export function nativeAvailable(): Promise<boolean> {
  availability ??= (async () => {
    const bin = nativeBinaryPath();
    try {
      accessSync(bin, constants.X_OK);
      const { stdout } = await run(bin, ["version"]);
      return stdout.startsWith("ozk-prover");
    } catch {
      return false;
    }
  })();
  return availability;
}

export interface NativeProveOptions {
  /** Worker threads (default: all cores). */
  threads?: number;
}

/** Groth16 proof in snarkjs format for `wtnsPath` under `zkeyPath`. Throws NativeProverError on bad inputs. */
export async function proveNative(zkeyPath: string, wtnsPath: string, options: NativeProveOptions = {}): Promise<ProofResult> {
  const dir = await mkdtemp(join(tmpdir(), "ozk-native-"));
  try {
    const proofPath = join(dir, "proof.json");
    const publicPath = join(dir, "public.json");
    const args = ["prove", zkeyPath, wtnsPath, proofPath, publicPath];
    if (options.threads) args.push("--threads", String(options.threads));
    await run(nativeBinaryPath(), args);
    const proof = JSON.parse(await readFile(proofPath, "utf8")) as ProofResult["proof"];
    const publicSignals = JSON.parse(await readFile(publicPath, "utf8")) as ProofResult["publicSignals"];
    return { proof, publicSignals };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const defaultCudaBinary = fileURLToPath(new URL("../native/build/ozk-prover-cuda", import.meta.url));

/** The CUDA prover binary: env OZK_CUDA_PROVER, else the one prover/native/cuda/build-cuda.sh writes. */
export function cudaBinaryPath(): string {
  return process.env.OZK_CUDA_PROVER ?? defaultCudaBinary;
}

let cudaAvailability: Promise<boolean> | undefined;

/** Whether the CUDA binary was built and a GPU answers (`ozk-prover-cuda probe`), checked once per process. */
export function cudaAvailable(): Promise<boolean> {
  cudaAvailability ??= (async () => {
    try {
      accessSync(cudaBinaryPath(), constants.X_OK);
      await run(cudaBinaryPath(), ["probe"]);
      return true;
    } catch {
      return false;
    }
  })();
  return cudaAvailability;
}

/** Groth16 proof on the GPU (NTTs and MSMs in CUDA). Not yet run on a GPU: callers must verify its proofs. */
export async function proveCuda(zkeyPath: string, wtnsPath: string): Promise<ProofResult> {
  const dir = await mkdtemp(join(tmpdir(), "ozk-cuda-"));
  try {
    const proofPath = join(dir, "proof.json");
    const publicPath = join(dir, "public.json");
    await run(cudaBinaryPath(), ["prove", zkeyPath, wtnsPath, proofPath, publicPath]);
    const proof = JSON.parse(await readFile(proofPath, "utf8")) as ProofResult["proof"];
    const publicSignals = JSON.parse(await readFile(publicPath, "utf8")) as ProofResult["publicSignals"];
    return { proof, publicSignals };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
