// Compiles small circom test circuits (cached by source hash under build/test-circuits/) and computes witnesses,
// so template tests can check a witness against the R1CS with the TypeScript checker and tamper it.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import * as snarkjs from "snarkjs";
import { decodeWtns, readR1cs, violatedConstraints, type Constraint } from "../../circuits/compiler/r1cs.ts";
import { FIELD_P } from "../../sdk/hash.ts";

export const ROOT = join(import.meta.dirname, "../..");

export interface CompiledCircuit {
  dir: string;
  wasm: string;
  r1cs: { constraints: Constraint[]; nWires: number; nPubOut: number; nPubIn: number; nPrvIn: number; nConstraints: number };
}

/** The template library's sources: part of the cache key, so an edited template is never tested from a stale build. */
function librarySources(): string {
  const dir = join(ROOT, "circuits", "lib");
  return readdirSync(dir).filter((f) => f.endsWith(".circom")).sort().map((f) => `${f}\n${readFileSync(join(dir, f), "utf8")}`).join("\n");
}

/** Compile `source` (a full circom file; include paths relative to the repo root) once per content of it and of the library. */
export function compileCircom(source: string, name = "circuit"): CompiledCircuit {
  const hash = createHash("sha256").update(source).update(librarySources()).digest("hex").slice(0, 16);
  const dir = join(ROOT, "build", "test-circuits", `${name}-${hash}`);
  const r1csPath = join(dir, `${name}.r1cs`);
  const wasm = join(dir, `${name}_js`, `${name}.wasm`);
  if (!existsSync(r1csPath) || !existsSync(wasm)) {
    mkdirSync(dir, { recursive: true });
    // circom2 only reads include folders under the working directory: compile from the repo root.
    const rel = join("build", "test-circuits", `${name}-${hash}`);
    writeFileSync(join(dir, `${name}.circom`), source);
    execFileSync("node", ["node_modules/circom2/cli.js", join(rel, `${name}.circom`), "--r1cs", "--wasm", "-l", ".", "-l", "node_modules", "-o", rel], { cwd: ROOT, stdio: "pipe" });
  }
  return { dir, wasm, r1cs: readR1cs(r1csPath) };
}

/** The full witness (wire 0 = 1, then outputs, inputs, internals) for an input object. */
export async function witness(c: CompiledCircuit, input: Record<string, unknown>): Promise<bigint[]> {
  const out = { type: "mem" as const };
  await snarkjs.wtns.calculate(input, c.wasm, out);
  return decodeWtns((out as { data?: Uint8Array }).data!);
}

/** Violated constraint indices for a witness. */
export function violations(c: CompiledCircuit, w: readonly bigint[]): number[] {
  return violatedConstraints(c.r1cs, w);
}

/** Copy of w with wire i set to v. */
export function tamper(w: readonly bigint[], i: number, v: bigint): bigint[] {
  const t = [...w];
  t[i] = v;
  return t;
}

export const fe = (v: bigint): bigint => ((v % FIELD_P) + FIELD_P) % FIELD_P;
export const signed = (v: bigint): bigint => (v > FIELD_P / 2n ? v - FIELD_P : v);

export async function terminateCurve(): Promise<void> {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
}

// Shared by the template tests: a circuit source including library files, an array literal, and the two failing-twin checks.
export const lib = (...files: string[]): string => ["pragma circom 2.1.0;", ...files.map((f) => `include "circuits/lib/${f}";`)].join("\n");
export const arr = (xs: readonly (number | bigint | string)[]): string => `[${xs.join(",")}]`;

/** Every output wire (1..nOut) tampered by +1, -1 and a random field element must break a constraint. */
export function expectOutputsPinned(c: CompiledCircuit, w: bigint[], r: () => number): void {
  expect(violations(c, w), "honest witness").to.deep.equal([]);
  for (let i = 1; i <= c.r1cs.nPubOut; i++) {
    for (const v of [w[i]! + 1n, w[i]! - 1n, fe(BigInt(Math.floor(r() * 2 ** 48)) * 7919n + 1n)]) {
      if (fe(v) === fe(w[i]!)) continue;
      expect(violations(c, tamper(w, i, fe(v))), `output wire ${i} tampered to ${v}`).to.have.length.above(0);
    }
  }
}

export async function expectNoWitness(c: CompiledCircuit, input: Record<string, unknown>): Promise<void> {
  let failed = false;
  // the witness calculator prints the failed assert; the test only needs to know that it failed
  const [log, error] = [console.log, console.error];
  console.log = console.error = () => {};
  try {
    await witness(c, input);
  } catch {
    failed = true;
  } finally {
    [console.log, console.error] = [log, error];
  }
  expect(failed, `a witness exists for ${JSON.stringify(input)}`).to.equal(true);
}
