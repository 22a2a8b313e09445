// Witness computation, pluggable per package route: circom packages run their wasm witness generator; the
// compiler's direct route runs its TypeScript witness writer; other routes register a calculator.
import { statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { snarkjs } from "./snarkjs.ts";
import { InputError } from "../sdk/errors.ts";
import { decodeInputData } from "../sdk/inputs.ts";
import { loadPackage, MANIFEST_FILE, PackageError, type LoadedPackage, type ModelPackage } from "../circuits/compiler/package.ts";
import { witnessFor } from "../circuits/compiler/witness.ts";

/** Writes the witness (.wtns, snarkjs format) of `input` for `pkg` to `wtnsPath`. */
export type WitnessCalculator = (pkg: ModelPackage, input: unknown, wtnsPath: string) => Promise<void>;

/** circom's wasm witness generator; a failed assert or a malformed input becomes an InputError. */
export const circomWitness: WitnessCalculator = async (pkg, input, wtnsPath) => {
  if (!pkg.wasmPath) throw new PackageError(`model package ${pkg.dir} has no witness generator (.wasm)`);
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new InputError("circuit input must be a JSON object of signal names to values");
  }
  // Into memory, then to disk: snarkjs leaves its output file open when the circuit rejects the input.
  const out: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  try {
    await snarkjs.wtns.calculate(input as Record<string, unknown>, pkg.wasmPath, out);
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
  if (!out.data) throw new Error("snarkjs returned no witness");
  await writeFile(wtnsPath, out.data);
};

/** Nesting accepted in an input array: an image batch of one, channels, rows, columns, and room to spare. */
const MAX_INPUT_DEPTH = 8;

/**
 * A nested array read in row-major order (what numpy's `tolist()` or a PyTorch tensor's writes), flat. It must be
 * rectangular, each level's arrays of one length, so that a ragged array cannot pass for the model's shape by its total.
 */
function rowMajor(values: unknown[], what: string, modelShape?: readonly number[]): unknown[] {
  if (!values.some(Array.isArray)) return values;
  const out: unknown[] = [];
  const walk = (a: unknown[], depth: number, path: string): number[] => {
    if (depth > MAX_INPUT_DEPTH) throw new InputError(`${what} is nested more than ${MAX_INPUT_DEPTH} deep`);
    const nested = a.filter(Array.isArray).length;
    if (nested === 0) {
      for (const v of a) out.push(v); // not push(...a): a long row would overflow the argument stack
      return [a.length];
    }
    if (nested !== a.length) throw new InputError(`${what}${path} mixes arrays and values`);
    let shape: number[] | undefined;
    a.forEach((b, i) => {
      const s = walk(b as unknown[], depth + 1, `${path}[${i}]`);
      if (shape && s.join(",") !== shape.join(",")) {
        throw new InputError(`${what} is ragged: ${what}${path}[${i}] has shape [${s.join(", ")}], ${what}${path}[0] has [${shape.join(", ")}]`);
      }
      shape ??= s;
    });
    return [a.length, ...(shape ?? [])];
  };
  const shape = walk(values, 1, "");
  // A nested input states its shape: it must be the model's (leading 1s aside: [1, 28, 28] is [28, 28]), or a
  // [16, 49] array would pass for a 28 x 28 image by its count, and a channels-last image for a channels-first one.
  const core = (s: readonly number[]): string => {
    const first = s.findIndex((d) => d !== 1);
    return first < 0 ? "" : s.slice(first).join(", ");
  };
  if (modelShape && out.length === modelShape.reduce((a, b) => a * b, 1) && core(shape) !== core(modelShape)) {
    throw new InputError(`${what} has shape [${shape.join(", ")}], the model takes [${modelShape.join(", ")}] (row-major; a flat list of ${out.length} values also works)`);
  }
  return out;
}

/**
 * Input of a direct-route job, in one of these JSON forms (arrays may be nested, read row-major, e.g. `[[[...28 values], ...]]`):
 * - `[0.0, 0.5, ...]` or `{ "input": [...] }`: float input, quantized by the reference engine;
 * - `{ "quantized": ["-3", "17", ...] }`: already-quantized integers (decimal strings or safe integers);
 * - `{ "inputData": "0x01..." }`: the SDK's input byte encoding (sdk/inputs.ts), as carried on chain.
 */
export function parseDirectInput(input: unknown, expect: { length?: number; bits?: number; shape?: readonly number[] } = {}): Float32Array | bigint[] {
  let values: Float32Array | bigint[];
  const obj = typeof input === "object" && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : undefined;
  const nested = Array.isArray(input) ? input : obj?.input;
  if (Array.isArray(nested)) {
    const floats = rowMajor(nested, "input", expect.shape);
    if (!floats.every((v) => typeof v === "number" && Number.isFinite(v))) throw new InputError("input must be an array of finite numbers");
    values = Float32Array.from(floats as number[]);
  } else if (Array.isArray(obj?.quantized)) {
    const ints = rowMajor(obj.quantized as unknown[], "quantized", expect.shape);
    const lim = expect.bits === undefined ? undefined : 1n << BigInt(expect.bits - 1);
    values = ints.map((v, i) => {
      // (at most 80 digits: a field element has 77; a longer string is refused before BigInt reads it, and not echoed)
      if (!((typeof v === "string" && /^-?\d{1,80}$/.test(v)) || (typeof v === "number" && Number.isSafeInteger(v)))) {
        throw new InputError(`quantized input must be integers (decimal strings of at most 80 digits, or safe integers); value ${i} is not`);
      }
      const x = BigInt(v as string | number);
      if (lim !== undefined && (x < -lim || x >= lim)) throw new InputError(`quantized value ${i} = ${x} does not fit the model's ${expect.bits}-bit signed inputs`);
      return x;
    });
  } else if (typeof obj?.inputData === "string") {
    const decoded = decodeInputData(obj.inputData as `0x${string}`);
    if (expect.bits !== undefined && decoded.bits !== expect.bits) throw new InputError(`inputData has ${decoded.bits}-bit values, the model takes ${expect.bits}`);
    values = decoded.values;
  } else {
    throw new InputError('direct-route input must be an array of numbers, {"input": [...]}, {"quantized": [...]} or {"inputData": "0x..."}', { docsPath: "prover-service.md#inputs" });
  }
  if (expect.length !== undefined && values.length !== expect.length) {
    throw new InputError(`input has ${values.length} values, the model takes ${expect.length}`);
  }
  return values;
}

/** The compiler's direct route: its TypeScript witness writer (witnessFor in circuits/compiler/witness.ts). */
const loadedPackages = new Map<string, { stamp: number; loaded: LoadedPackage }>();

export const directWitness: WitnessCalculator = async (pkg, input, wtnsPath) => {
  // Parsing quant.json is not free: keep it per package until its manifest changes (a rebuild).
  const stamp = statSync(join(pkg.dir, MANIFEST_FILE)).mtimeMs;
  let loaded = loadedPackages.get(pkg.dir)?.stamp === stamp ? loadedPackages.get(pkg.dir)!.loaded : undefined;
  if (!loaded) {
    loaded = loadPackage(pkg.dir);
    loadedPackages.set(pkg.dir, { stamp, loaded });
  }
  const values = parseDirectInput(input, { length: loaded.manifest.inputLength, bits: loaded.manifest.inputBits, shape: loaded.manifest.inputShape });
  let wtns: Uint8Array;
  try {
    ({ wtns } = witnessFor(loaded, values));
  } catch (err) {
    if (err instanceof RangeError) throw new InputError(`the model rejects this input: ${err.message}`, { cause: err });
    throw err;
  }
  await writeFile(wtnsPath, wtns);
};

const calculators = new Map<string, WitnessCalculator>([
  ["circom", circomWitness],
  ["direct", directWitness],
]);

/** Plugs in the witness calculator for a package route (replacing a built-in one). */
export function registerWitnessCalculator(route: string, calc: WitnessCalculator): void {
  calculators.set(route, calc);
}

/** The calculator for `pkg.route`. */
export async function witnessCalculatorFor(pkg: ModelPackage): Promise<WitnessCalculator> {
  const calc = calculators.get(pkg.route);
  if (calc) return calc;
  throw new PackageError(`no witness calculator for route "${pkg.route}" (package ${pkg.dir})`, {
    details: "register one with registerWitnessCalculator(route, fn)",
    docsPath: "prover-service.md#witness",
  });
}
