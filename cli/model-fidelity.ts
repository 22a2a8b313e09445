// `ozk model fidelity`: float (onnxruntime) vs quantized (integer engine) accuracy, agreement and error report.
// The report modules (onnxruntime, MNIST) load inside the action so `ozk --help` stays fast.
import { writeFileSync } from "node:fs";
import { existsSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { MODEL_GROUP, group } from "./group.ts";
import { uniformCalibration } from "../circuits/compiler/build.ts";
import { userPath, userPathIf } from "./paths.ts";
import { preprocessOptions, preprocessSpecOf } from "./preprocess.ts";
import { calibrationFrom, labelledFrom, onnxShapes, parseInputRange, progressLine } from "./model-data.ts";

function fraction(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new Error(`--min-agreement must be a fraction in [0, 1], got ${v}`);
  return n;
}

function count(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got ${v}`);
  return n;
}

export function register(program: Command): void {
  group(program, "model", MODEL_GROUP)
    .command("fidelity")
    .description("Compare the float model (onnxruntime) with the quantized model (integer engine) on labelled data")
    .argument("<model>", "model.onnx, or a model package folder holding it")
    .option("--data <source>", 'data: "mnist" (the held-out split, mapped onto the input range), a .json file {"inputs": number[][], "labels"?: number[]}, a .npy file or a folder of images (docs/own-model.md)', "mnist")
    .option("--labels <file>", "labels for --data (.npy or a JSON array) when it has none of its own")
    .option("--samples <n>", "evaluate only the first n samples", count)
    .option("--min-agreement <fraction>", "required top-1 agreement of quantized with float", fraction, 0.995)
    .option("--quant <quant.json>", "quantized model to use (default: quant.json beside the model if present)")
    .option("--requantize", "ignore quant.json and calibrate as `ozk model build` does")
    .option("--weight-bits <n>", "calibrate afresh with this weight width (implies --requantize)", count)
    .option("--activation-bits <n>", "calibrate afresh with this activation width (implies --requantize)", count)
    .option("--input-range <lo,hi>", "calibrate afresh with this declared input range (implies --requantize)", parseInputRange)
    .option("--calibration <set>", "when calibrating afresh (implies --requantize): mnist (default: 512 MNIST training digits, mapped onto --input-range), uniform (64 seeded samples in the input range), or your data: a .json or .npy file or a folder of images (docs/own-model.md)")
    .option("--json <out.json>", "also write the report as JSON")
    .addHelpText("after", "\nExample:\n  ozk model fidelity models/mnist-cnn/model.onnx --samples 500 --json fidelity.json\n")
    .action(async (modelArg: string, opts: {
      data: string; samples?: number; minAgreement: number; quant?: string; requantize?: boolean; json?: string;
      weightBits?: number; activationBits?: number; inputRange?: [number, number]; calibration?: string; labels?: string;
      inputMean?: string; inputStd?: string; inputScale?: string; inputOffset?: string; preprocess?: string;
    }) => {
      const { agreementPct, fidelity, formatReport } = await import("../circuits/fidelity/report.ts");
      let path = userPath(modelArg);
      try {
        if (statSync(path).isDirectory()) path = join(path, "model.onnx");
      } catch {
        throw new Error(`no model at ${modelArg}`);
      }
      const { inputShape: shape, classes } = opts.data === "mnist" && !opts.calibration ? { inputShape: [] } : await onnxShapes(path);
      const given = opts.data === "mnist" ? undefined : await labelledFrom(opts.data, shape, opts.labels, classes);
      const range = opts.inputRange ?? [0, 1];
      // uniform: the build's seeded samples (calibrationFrom's undefined would mean the MNIST default here)
      const calibration = opts.calibration === "uniform"
        ? uniformCalibration((await onnxShapes(path)).inputShape.reduce((a, b) => a * b, 1), range).inputs
        : opts.calibration ? (await calibrationFrom(opts.calibration, shape, range))?.inputs : undefined;
      const quant = { weightBits: opts.weightBits, activationBits: opts.activationBits, ...(opts.inputRange ? { inputRange: opts.inputRange } : {}) };
      const report = await fidelity(path, {
        data: given?.data,
        dataName: given?.name,
        dataIsCalibration: opts.calibration !== undefined && opts.data !== "mnist" && existsSync(userPath(opts.calibration)) && realpathSync(userPath(opts.calibration)) === realpathSync(userPath(opts.data)),
        samples: opts.samples,
        minAgreement: opts.minAgreement,
        quantPath: userPathIf(opts.quant),
        requantize: opts.requantize || opts.weightBits !== undefined || opts.activationBits !== undefined || opts.inputRange !== undefined || opts.calibration !== undefined,
        quant,
        calibration,
        onProgress: progressLine("fidelity"),
        preprocess: preprocessSpecOf(opts),
      });
      console.log(formatReport(report));
      if (opts.json) writeFileSync(userPath(opts.json), `${JSON.stringify(report, null, 2)}\n`);
      if (!report.passed) {
        throw new Error(
          `${report.model}: top-1 agreement ${agreementPct(report.agreement)} is below the required ${agreementPct(report.minAgreement)} ` +
            `(${Math.round((1 - report.agreement) * report.samples)} of ${report.samples} samples differ): ${report.advice.join("; ")}`,
        );
      }
    });
  // the input preprocessing options, shared with `ozk model build` (cli/preprocess.ts)
  preprocessOptions(group(program, "model", MODEL_GROUP).commands.find((c) => c.name() === "fidelity")!, "the package manifest's");
}
