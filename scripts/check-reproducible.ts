// CI: a rebuilt package must reproduce everything deterministic in the committed one. The proving key is not
// deterministic (phase 2 gets fresh secret entropy at every build), so neither are vkey.json, Verifier.sol, the
// verifier's code hash, modelId (it covers vkey.json) or the setup record: those are left out here and checked
// with `ozk model verify-setup` instead. Compared: the manifest without them (which holds the sha256 of
// quant.json, circuit.circom, circuit.r1cs and model.onnx), and the committed files themselves.
// Usage: npx tsx scripts/check-reproducible.ts <package>...   (against git HEAD; exits 1 on any difference)
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { ModelManifest } from "../circuits/compiler/package.ts";

const ROOT = resolve(import.meta.dirname, "..");
/** Files whose content depends on the proving key's secret contributions. */
const KEY_DEPENDENT_FILES = new Set(["circuit.zkey", "vkey.json", "Verifier.sol"]);

/** The manifest without what depends on the proving key, and without `fidelityGate` (the record of the build's
 *  fidelity check, which packages committed before the gate lack; what it measured follows from quant.json). */
export function deterministicPart(m: ModelManifest): Record<string, unknown> {
  const { modelId: _id, setup: _setup, verifierCodeHash: _code, fidelityGate: _gate, sha256, ...rest } = m;
  return { ...rest, sha256: Object.fromEntries(Object.entries(sha256).filter(([f]) => !KEY_DEPENDENT_FILES.has(f))) };
}

function committed(path: string): Buffer | null {
  try {
    return execFileSync("git", ["show", `HEAD:${relative(ROOT, path)}`], { cwd: ROOT, maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return null;
  }
}

/** Differences between the package on disk and the committed one (empty: reproduced). */
export function differences(pkg: string): string[] {
  const out: string[] = [];
  const manifestPath = join(pkg, "manifest.json");
  const before = committed(manifestPath);
  if (!before) return [`${manifestPath} is not committed`];
  const now = deterministicPart(JSON.parse(readFileSync(manifestPath, "utf8")) as ModelManifest);
  const was = deterministicPart(JSON.parse(before.toString("utf8")) as ModelManifest);
  for (const key of new Set([...Object.keys(now), ...Object.keys(was)])) {
    if (JSON.stringify(now[key]) !== JSON.stringify(was[key])) out.push(`manifest.json ${key}: ${JSON.stringify(was[key])} -> ${JSON.stringify(now[key])}`);
  }
  for (const file of ["quant.json", "circuit.circom", "circuit.r1cs"]) {
    const path = join(pkg, file);
    const old = committed(path);
    if (old === null) continue; // not committed (too large): covered by the manifest's sha256
    if (!existsSync(path) || !readFileSync(path).equals(old)) out.push(`${file} differs from the committed one`);
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const pkgs = process.argv.slice(2);
  if (pkgs.length === 0) {
    console.error("usage: tsx scripts/check-reproducible.ts <package>...");
    process.exit(2);
  }
  let failed = false;
  for (const pkg of pkgs) {
    const diffs = differences(resolve(pkg));
    for (const d of diffs) console.error(`${pkg}: ${d}`);
    if (diffs.length) failed = true;
    else console.log(`${pkg}: deterministic parts reproduced`);
  }
  process.exit(failed ? 1 : 0);
}
