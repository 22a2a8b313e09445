// How big a model's circuit is before it is emitted: the exact constraint and wire count of the direct route (what
// `ozk model inspect` prints and what the build writes into circuit.r1cs), and the powers-of-tau power a Groth16
// key for it needs. Counting skips the multiply-accumulate terms (they add no constraint), so it takes a fraction
// of the emit's time and writes nothing.
import type { FloatModel } from "../ir/ir.ts";
import { resolvePreprocess } from "../ir/preprocess.ts";
import { quantizationInputs, type CompileOptions } from "./build.ts";
import { publicCount, synthesize, type OpCost, type Visibility } from "./emit.ts";
import { quantize, type QuantizedModel } from "./quantize.ts";

export interface CircuitSize {
  nConstraints: number;
  nWires: number;
  nPublic: number;
  costs: OpCost[];
  /** The smallest powers-of-tau power a key for this circuit needs. */
  ptauPower: number;
}

/** The powers-of-tau power a circuit needs: its evaluation domain holds the constraints, one row per public signal and one more. */
export function ptauPowerNeeded(nConstraints: number, nPublic: number): number {
  return Math.ceil(Math.log2(nConstraints + nPublic + 1));
}

/** The direct route's circuit size for quantized model `q`: the same numbers synthesize() writes. */
export function circuitSize(q: QuantizedModel, visibility: Visibility): CircuitSize {
  const s = synthesize(q, { visibility, countOnly: true });
  const nPublic = publicCount(q);
  return { nConstraints: s.nConstraints, nWires: s.nWires, nPublic, costs: s.costs, ptauPower: ptauPowerNeeded(s.nConstraints, nPublic) };
}

/** Quantizes `model` exactly as the build does (same calibration default, options and input preprocessing), then sizes its circuit. */
export function predictCircuit(source: FloatModel, opts: Pick<CompileOptions, "quant" | "calibration" | "visibility" | "preprocess">): CircuitSize & { quant: QuantizedModel } {
  const model = opts.preprocess ? { ...source, preprocess: resolvePreprocess(opts.preprocess, source.inputShape) } : source;
  const { inputRange, calibration } = quantizationInputs(model, opts);
  const q = quantize(model, calibration.inputs, { ...opts.quant, inputRange });
  return { ...circuitSize(q, opts.visibility ?? "constant"), quant: q };
}

/** Why a powers of tau is too small for a circuit, and what to do. */
export function ptauTooSmall(name: string, nConstraints: number, needed: number, ptauFile: string, power: number): string {
  return (
    `${name} has ${nConstraints} constraints: its key needs a powers-of-tau file of power ${needed} or more, but ${ptauFile} has power ${power} ` +
    `(room for fewer than 2^${power} = ${2 ** power}); nothing was written. ` +
    `Give a ceremony file of power ${needed} or more with --setup <file> (e.g. the Perpetual Powers of Tau ` +
    `powersOfTau28_hez_final_${String(needed).padStart(2, "0")}.ptau), or, for development only, --setup unsafe-dev (no powers of tau, any size; anyone can forge its proofs)`
  );
}
