// The native prover binaries for tests that need them (the native prover's own tests, the unsafe dev setup, native
// proofs): built from source once (prover/native/build.sh, CPU only) if a fresh clone has none yet. Returns false
// where they cannot be built (no C++ toolchain): those tests skip with a message.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const BUILD = join(ROOT, "prover/native/build");
export const NATIVE_TEST_BIN = join(BUILD, "ozk-native-test");
export const NATIVE_PROVER_BIN = join(BUILD, "ozk-prover");

export function ensureNativeBuilt(): boolean {
  if (existsSync(NATIVE_TEST_BIN) && existsSync(NATIVE_PROVER_BIN)) return true;
  const r = spawnSync("bash", [join(ROOT, "prover/native/build.sh")], { env: { ...process.env, OZK_NO_CUDA: "1" }, stdio: "inherit" });
  return r.status === 0 && existsSync(NATIVE_TEST_BIN) && existsSync(NATIVE_PROVER_BIN);
}
