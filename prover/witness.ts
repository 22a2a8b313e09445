// Witness computation, pluggable per package route: circom packages run their wasm witness generator; other
// routes (the compiler's direct R1CS route) register a calculator, or provide
// circuits/compiler/witness.ts exporting writeWitness(pkgDir, input, wtnsPath).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { snarkjs } from "./snarkjs.ts";
import { InputError } from "../sdk/errors.ts";
import { PackageError } from "./errors.ts";
import type { ModelPackage } from "./package.ts";

/** Writes the witness (.wtns, snarkjs format) of `input` for `pkg` to `wtnsPath`. */
export type WitnessCalculator = (pkg: ModelPackage, input: unknown, wtnsPath: string) => Promise<void>;

/** circom's wasm witness generator; a failed assert or a malformed input becomes an InputError. */
export const circomWitness: WitnessCalculator = async (pkg, input, wtnsPath) => {
  if (!pkg.wasmPath) throw new PackageError(`model package ${pkg.dir} has no witness generator (.wasm)`);
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new InputError("circuit input must be a JSON object of signal names to values");
  }
  try {
    await snarkjs.wtns.calculate(input as Record<string, unknown>, pkg.wasmPath, wtnsPath);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/Assert Failed|Not enough values|Too many values|Signal not found|Invalid input|cannot convert|SyntaxError/i.test(msg)) {
      const where = /Error in template (\S+) line: (\d+)/.exec(msg);
      throw new InputError(
        where ? `the circuit rejects this input (assert in ${where[1]} line ${where[2]})` : `the circuit rejects this input: ${msg.split("\n")[0]}`,
        { details: msg, cause: err, docsPath: "prover-service.md#errors" },
      );
    }
    throw err;
  }
};

const calculators = new Map<string, WitnessCalculator>([["circom", circomWitness]]);

/** Plugs in the witness calculator for a package route ("direct", ...). */
export function registerWitnessCalculator(route: string, calc: WitnessCalculator): void {
  calculators.set(route, calc);
}

const compilerWitnessUrl = new URL("../circuits/compiler/witness.ts", import.meta.url);

/** The calculator for `pkg.route`: registered, or the compiler's writeWitness for the direct route. */
export async function witnessCalculatorFor(pkg: ModelPackage): Promise<WitnessCalculator> {
  const registered = calculators.get(pkg.route);
  if (registered) return registered;
  if (existsSync(fileURLToPath(compilerWitnessUrl))) {
    const mod = (await import(compilerWitnessUrl.href)) as {
      writeWitness?: (pkgDir: string, input: unknown, wtnsPath: string) => Promise<void>;
    };
    if (typeof mod.writeWitness === "function") {
      const write = mod.writeWitness;
      const calc: WitnessCalculator = (p, input, wtnsPath) => write(p.dir, input, wtnsPath);
      calculators.set(pkg.route, calc);
      return calc;
    }
  }
  throw new PackageError(`no witness calculator for route "${pkg.route}" (package ${pkg.dir})`, {
    details: "register one with registerWitnessCalculator(route, fn)",
    docsPath: "prover-service.md#witness",
  });
}
