// Backend selection: the fastest backend available on this machine (native, when its module is present and
// its binary runs, then snarkjs), or the one named by OZK_PROVER_BACKEND / the `prefer` option.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../sdk/node/logger.ts";
import { ConfigError } from "../../sdk/errors.ts";
import { moduleExtension } from "../../sdk/package-root.ts";
import type { ProofResult, ProverBackend } from "../types.ts";
import { createSnarkjsBackend } from "./snarkjs.ts";

/** Shape of prover/backends/native.ts (written by the native prover work). */
interface NativeModule {
  proveNative(zkeyPath: string, wtnsPath: string): Promise<ProofResult>;
  nativeAvailable(): Promise<boolean> | boolean;
  proveCuda?(zkeyPath: string, wtnsPath: string): Promise<ProofResult>;
  cudaAvailable?(): Promise<boolean> | boolean;
  closeResidentProvers?(): void;
}

const nativeUrl = new URL(`./native${moduleExtension(import.meta.url)}`, import.meta.url);

/** A backend over one of native.ts's binaries; its availability check never throws. */
function binaryBackend(name: string, prove: NativeModule["proveNative"], available: NativeModule["nativeAvailable"], mod: Partial<NativeModule>): ProverBackend {
  return {
    name,
    available: async () => {
      try {
        return await available();
      } catch {
        return false;
      }
    },
    prove: (zkeyPath, wtnsPath) => prove(zkeyPath, wtnsPath),
    close: async () => mod.closeResidentProvers?.(),
  };
}

async function loadNativeModule(): Promise<Partial<NativeModule> | undefined> {
  if (!existsSync(fileURLToPath(nativeUrl))) return undefined;
  return (await import(nativeUrl.href)) as Partial<NativeModule>;
}

/** The native backend when prover/backends/native.ts exists, else undefined. */
export async function loadNativeBackend(): Promise<ProverBackend | undefined> {
  const mod = await loadNativeModule();
  if (typeof mod?.proveNative !== "function" || typeof mod.nativeAvailable !== "function") return undefined;
  return binaryBackend("native", mod.proveNative, mod.nativeAvailable, mod);
}

/** The CUDA backend when the native module has it: available only where its binary is built and a GPU answers. */
async function loadCudaBackend(): Promise<ProverBackend | undefined> {
  const mod = await loadNativeModule();
  if (typeof mod?.proveCuda !== "function" || typeof mod.cudaAvailable !== "function") return undefined;
  return binaryBackend("cuda", mod.proveCuda, mod.cudaAvailable, mod);
}

/** Every backend this build knows, fastest first: CUDA (GPU), native CPU, snarkjs. */
export async function knownBackends(): Promise<ProverBackend[]> {
  const [cuda, native] = await Promise.all([loadCudaBackend(), loadNativeBackend()]);
  return [...(cuda ? [cuda] : []), ...(native ? [native] : []), createSnarkjsBackend()];
}

/**
 * Picks a backend: `prefer` (or env OZK_PROVER_BACKEND) names one and it must be available; otherwise the
 * first available of knownBackends(). Logs the choice.
 */
export async function selectBackend(options: { prefer?: string; logger?: Logger } = {}): Promise<ProverBackend> {
  const prefer = options.prefer ?? process.env.OZK_PROVER_BACKEND;
  const all = await knownBackends();
  if (prefer && prefer !== "auto") {
    const b = all.find((x) => x.name === prefer);
    if (!b) {
      throw new ConfigError(`unknown prover backend "${prefer}"`, [`backend: "${prefer}" is not built here (known: ${all.map((x) => x.name).join(", ")})`]);
    }
    if (!(await b.available())) throw new ConfigError(`prover backend "${prefer}" is not available on this machine`, [`backend: ${prefer} unavailable`]);
    options.logger?.info({ backend: b.name, reason: "requested" }, "prover backend selected");
    return b;
  }
  for (const b of all) {
    if (await b.available()) {
      options.logger?.info({ backend: b.name, candidates: all.map((x) => x.name) }, "prover backend selected");
      return b;
    }
  }
  throw new ConfigError("no prover backend available", ["backend: none available"]);
}
