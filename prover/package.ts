// A model package on disk as the prover sees it: where its proving key, witness generator and verification
// key are. Read from manifest.json when it names them; otherwise found by convention (circom's output layout).
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { PackageError } from "./errors.ts";

export interface ModelPackage {
  dir: string;
  name: string;
  /** How the witness is computed: "circom" (wasm witness generator) or another route (e.g. "direct"). */
  route: string;
  zkeyPath: string;
  /** Witness generator for circom packages. */
  wasmPath?: string;
  /** vkey.json shipped with the package (the key the on-chain verifier was built from). */
  vkeyPath?: string;
  manifest?: Record<string, unknown>;
}

function findFile(dir: string, pred: (name: string) => boolean, depth = 2): string | undefined {
  if (!existsSync(dir)) return undefined;
  const entries = readdirSync(dir).sort();
  for (const name of entries) {
    const p = join(dir, name);
    if (pred(name) && statSync(p).isFile()) return p;
  }
  if (depth > 0) {
    for (const name of entries) {
      const p = join(dir, name);
      if (statSync(p).isDirectory() && name !== "node_modules") {
        const hit = findFile(p, pred, depth - 1);
        if (hit) return hit;
      }
    }
  }
  return undefined;
}

/** Artifact path from the manifest: artifacts.<kind> as a string, or { path|file|name } object. */
function manifestArtifact(manifest: Record<string, unknown> | undefined, kinds: string[]): string | undefined {
  const artifacts = manifest?.artifacts;
  if (!artifacts || typeof artifacts !== "object") return undefined;
  for (const kind of kinds) {
    const a = (artifacts as Record<string, unknown>)[kind];
    if (typeof a === "string") return a;
    if (a && typeof a === "object") {
      const o = a as Record<string, unknown>;
      const p = o.path ?? o.file ?? o.name;
      if (typeof p === "string") return p;
    }
  }
  return undefined;
}

/** Loads the package at `dir`; throws PackageError naming what is missing. */
export function loadModelPackage(dir: string): ModelPackage {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new PackageError(`model package ${dir} is not a directory`);
  let manifest: Record<string, unknown> | undefined;
  const manifestPath = join(root, "manifest.json");
  if (existsSync(manifestPath)) {
    try {
      manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new PackageError(`${manifestPath} is not valid JSON`, { cause: err });
    }
  }
  const at = (rel: string | undefined): string | undefined => {
    if (!rel) return undefined;
    for (const p of [join(root, rel), join(root, "build", rel)]) if (existsSync(p)) return p;
    return undefined;
  };
  const zkeyPath = at(manifestArtifact(manifest, ["zkey", "provingKey"])) ?? findFile(root, (n) => n.endsWith(".zkey"));
  const wasmPath = at(manifestArtifact(manifest, ["wasm", "witness", "witnessWasm"])) ?? findFile(root, (n) => n.endsWith(".wasm"));
  const vkeyPath = at(manifestArtifact(manifest, ["vkey", "verificationKey"])) ??
    findFile(root, (n) => n === "vkey.json" || n === "verification_key.json");
  const declaredRoute = typeof manifest?.route === "string" ? manifest.route : undefined;
  const route = declaredRoute ?? (wasmPath ? "circom" : "direct");
  if (!zkeyPath) {
    throw new PackageError(`model package ${dir} has no proving key (.zkey)`, {
      details: "build it first: ozk model build <dir>",
      docsPath: "prover-service.md#model-packages",
    });
  }
  if (route === "circom" && !wasmPath) {
    throw new PackageError(`model package ${dir} has no witness generator (.wasm)`, { docsPath: "prover-service.md#model-packages" });
  }
  const name = typeof manifest?.name === "string" ? manifest.name : basename(root);
  return { dir: root, name, route, zkeyPath, wasmPath, vkeyPath, manifest };
}
