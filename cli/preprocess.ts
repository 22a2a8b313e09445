// The input-preprocessing options of `ozk model build` and `ozk model fidelity`: --input-mean, --input-std,
// --input-scale, --input-offset (comma lists, one number per input channel or one for all) or --preprocess <file.json>.
// The compiler checks them against the model's input shape (circuits/ir/preprocess.ts).
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { checkPreprocessSpec, type PreprocessSpec } from "../circuits/ir/preprocess.ts";
import { userPath } from "./paths.ts";

/** Adds the five options to `cmd`; `fileDefault` ends the --preprocess help (what applies without any of them). */
export function preprocessOptions(cmd: Command, fileDefault: string): Command {
  return cmd
    .option("--input-mean <m[,m...]>", "input preprocessing of the training code: per-channel mean subtracted before the network (comma list, one per input channel, or one for all); inputs stay raw")
    .option("--input-std <s[,s...]>", "input preprocessing: per-channel standard deviation the input is divided by after subtracting the mean")
    .option("--input-scale <a[,a...]>", "input preprocessing: per-channel factor applied first (x * scale + offset, then the mean/std normalization)")
    .option("--input-offset <b[,b...]>", "input preprocessing: per-channel offset added after the scale")
    .option("--preprocess <file.json>", `input preprocessing as JSON: {"scale"?, "offset"?, "mean"?, "std"?}, each a number or one per channel (instead of the --input-* flags; default: ${fileDefault})`);
}

/** The most bytes of a --preprocess file (a few numbers per channel). */
export const MAX_PREPROCESS_BYTES = 2 ** 20;

/** The most bytes of an input file of `ozk model witness` (a 3x224x224 float input is a few MB of JSON). */
export const MAX_INPUT_BYTES = 64 * 2 ** 20;

/** The text of a small file a user named: a regular file (not a FIFO, which blocks the read, nor a device such as
 *  /dev/zero, which never ends) of at most `maxBytes`; `what` starts the error message. */
export function readSmallFile(path: string, what: string, maxBytes: number): string {
  const st = statSync(path);
  if (!st.isFile()) throw new Error(`${what}: not a regular file (${st.isFIFO() ? "a named pipe (FIFO)" : st.isDirectory() ? "a folder" : st.isCharacterDevice() || st.isBlockDevice() ? "a device" : "a special file"}); give a JSON file`);
  if (st.size > maxBytes) throw new Error(`${what}: ${st.size} bytes, more than the ${maxBytes} a JSON file of this kind may hold`);
  return readFileSync(path, "utf8");
}

/** The comma list of numbers an --input-mean/--input-std/--input-scale/--input-offset flag gives. */
function numberList(flag: string, v: string): number[] {
  return v.split(",").map((t) => {
    // decimal notation only: Number() would also take 0x10, 0b1 or "Infinity"
    const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t.trim()) ? Number(t) : NaN;
    if (!Number.isFinite(n)) throw new Error(`${flag} wants a number or a comma list of numbers (one per input channel), got ${JSON.stringify(t.trim())} in ${JSON.stringify(v)}`);
    return n;
  });
}

/** The preprocessing the options give (--preprocess <file.json> or the --input-* flags, not both), or undefined. */
export function preprocessSpecOf(o: { inputMean?: string; inputStd?: string; inputScale?: string; inputOffset?: string; preprocess?: string }): PreprocessSpec | undefined {
  const flags = (["inputMean", "inputStd", "inputScale", "inputOffset"] as const).filter((k) => o[k] !== undefined);
  const flagName = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (o.preprocess && flags.length) throw new Error(`--preprocess ${o.preprocess} and ${flags.map(flagName).join(", ")} both give the input preprocessing: use one`);
  if (o.preprocess) {
    const path = userPath(o.preprocess);
    if (!existsSync(path)) throw new Error(`--preprocess ${o.preprocess}: no such file (looked at ${path})`);
    const text = readSmallFile(path, `--preprocess ${o.preprocess}`, MAX_PREPROCESS_BYTES);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new Error(`--preprocess ${o.preprocess}: not JSON (${(err as Error).message})`, { cause: err });
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error(`--preprocess ${o.preprocess}: expected an object like {"mean": [0.1307], "std": [0.3081]}`);
    // the fields and their values now, naming the file (the channel count is checked against the model later)
    try {
      checkPreprocessSpec(doc as PreprocessSpec);
    } catch (err) {
      throw new Error(`--preprocess ${o.preprocess}: ${(err as Error).message}`, { cause: err });
    }
    return doc as PreprocessSpec;
  }
  if (!flags.length) return undefined;
  const spec: PreprocessSpec = {};
  if (o.inputMean !== undefined) spec.mean = numberList("--input-mean", o.inputMean);
  if (o.inputStd !== undefined) spec.std = numberList("--input-std", o.inputStd);
  if (o.inputScale !== undefined) spec.scale = numberList("--input-scale", o.inputScale);
  if (o.inputOffset !== undefined) spec.offset = numberList("--input-offset", o.inputOffset);
  return spec;
}

/** The training.json beside a model (in its folder, or beside an .onnx file), parsed; undefined when there is none or
 *  it is not a JSON object (a regular file of at most 1 MB). */
export function trainingRecord(source: string): Record<string, unknown> | undefined {
  const dir = existsSync(source) && statSync(source).isDirectory() ? source : dirname(source);
  const path = join(dir, "training.json");
  if (!existsSync(path)) return undefined;
  try {
    const doc: unknown = JSON.parse(readSmallFile(path, path, MAX_PREPROCESS_BYTES));
    return typeof doc === "object" && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When the model's training.json records an input preprocessing (`"preprocess": {"mean": [...], "std": [...]}`) that
 * the options do not give: a hint naming the flags that apply it. The build does not apply it by itself (a record
 * is documentation, and a wrong guess would make a package that silently computes something else).
 */
export function trainingPreprocessHint(source: string): string | undefined {
  const p = trainingRecord(source)?.preprocess as Record<string, unknown> | undefined;
  if (typeof p !== "object" || p === null) return undefined;
  const flag = (k: string): string | undefined => {
    const v = p[k];
    const list = typeof v === "number" ? [v] : Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number" && Number.isFinite(x)) ? (v as number[]) : undefined;
    return list ? `--input-${k} ${list.join(",")}` : undefined;
  };
  const flags = ["scale", "offset", "mean", "std"].map(flag).filter((f): f is string => f !== undefined);
  if (!flags.length) return undefined;
  return `hint: ${join(existsSync(source) && statSync(source).isDirectory() ? source : dirname(source), "training.json")} records an input preprocessing the options do not give; ` +
    `if the model takes inputs normalized that way, pass ${flags.join(" ")} (the package then takes raw inputs and applies it); it is not applied by itself`;
}
