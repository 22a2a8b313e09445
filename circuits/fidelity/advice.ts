// What to change when the quantized model disagrees with the float one (or clamps), from what the fidelity report
// measured: inputs outside the declared range, activations saturating their width, or rounding error that grows in
// one layer or spreads over all of them. Each line names the option that addresses that cause.
import type { QuantizedModel } from "../compiler/quantize.ts";
import type { FidelityReport } from "./report.ts";

const down = (v: number): number => Math.floor(v * 100) / 100;
const up = (v: number): number => Math.ceil(v * 100) / 100;
const fmt = (v: number): string => String(Number(v.toFixed(2)));

/** Share of the final layer's mean error that one layer must add by itself to be "where the error comes from". */
export const DOMINANT_SHARE = 0.6;
/** Below this float accuracy on labelled data, the data is not what the model was trained on. */
export const FOREIGN_DATA_ACCURACY = 0.5;
/** Saturation in at most this share of the samples (or one sample) is "a few samples", not data unlike the calibration's. */
export const RARE_SHARE = 0.01;

/**
 * Advice lines for a report: one per measured cause, most important first. Clamping inputs or activations is always
 * reported (it changes results whether or not the gate passes); rounding error only when the agreement is too low.
 */
export function adviceFor(
  r: Pick<FidelityReport, "passed" | "samples" | "inputClamps" | "layers"> & Partial<Pick<FidelityReport, "labelled" | "floatAccuracy" | "dataIsCalibration" | "uniformCalibration">>,
  q: Pick<QuantizedModel, "weightBits" | "activationBits">,
): string[] {
  const out: string[] = [];
  if (r.labelled && r.floatAccuracy !== undefined && r.floatAccuracy < FOREIGN_DATA_ACCURACY) {
    out.push(
      `the float model itself classifies only ${(100 * r.floatAccuracy).toFixed(1)}% of the labelled samples correctly: the data is probably not ` +
        `in the form the model was trained on. A model trained on normalized inputs takes the normalized range: pass it as --input-range ` +
        `(MNIST normalized with mean 0.1307, std 0.3081: -0.4242,2.8215), or normalization (--input-mean/--input-std)`,
    );
  }
  if (!r.passed && r.uniformCalibration && r.labelled && r.floatAccuracy !== undefined && r.floatAccuracy >= FOREIGN_DATA_ACCURACY) {
    out.push(
      `the float model classifies ${(100 * r.floatAccuracy).toFixed(1)}% of this labelled data correctly, but the scales were calibrated on uniform ` +
        `random inputs (--calibration uniform), whose activations are unlike this data's: calibrate on data like it, --calibration mnist for ` +
        `MNIST digits or your own (--calibration <file.npy|file.json|folder>)`,
    );
  }
  const ic = r.inputClamps;
  if (ic.values > 0) {
    const [lo, hi] = ic.range;
    const wider = `${fmt(Math.min(lo, down(ic.dataMin)))},${fmt(Math.max(hi, up(ic.dataMax)))}`;
    out.push(
      `your data lies outside --input-range [${fmt(lo)}, ${fmt(hi)}] (it spans [${fmt(ic.dataMin)}, ${fmt(ic.dataMax)}]; ${ic.values} values in ${ic.samples} of ${r.samples} samples were clamped): ` +
        `pass --input-range ${wider}, or, if the model expects normalized inputs, normalization (--input-mean/--input-std)`,
    );
  }
  const saturated = r.layers.filter((l) => l.clamped > 0);
  if (saturated.length > 0) {
    const where = saturated.map((l) => `${l.name} (${l.clamped} value${l.clamped === 1 ? "" : "s"} in ${l.clampedSamples} of ${r.samples} samples)`).join(", ");
    const head = `activations saturate their ${q.activationBits}-bit width at layer${saturated.length === 1 ? "" : "s"} ${where}`;
    const worstSamples = Math.max(...saturated.map((l) => l.clampedSamples));
    if (r.dataIsCalibration) {
      // The scales were set from these very inputs' largest activations: what saturates is rounding carrying a value
      // past that maximum, not larger data; other calibration data would not help.
      out.push(
        `${head}: these samples are the calibration inputs themselves, so this is rounding carrying values just past the largest activation ` +
          `the calibration measured; it changes a result only where such a value decides the top class`,
      );
    } else if (worstSamples <= Math.max(1, RARE_SHARE * r.samples)) {
      out.push(
        `${head}: the activations of these few samples exceed the largest the calibration measured; if inputs like them are ` +
          `common in use, calibrate on data that holds them (--calibration <file.npy|file.json|folder>)`,
      );
    } else {
      out.push(
        `${head}: this data's activations exceed the largest the calibration measured in ${((100 * worstSamples) / r.samples).toFixed(1)}% of the samples ` +
          `(a wider --activation-bits keeps the same top value): calibrate on data like it (--calibration <file.npy|file.json|folder>)`,
      );
    }
  }
  if (r.passed || out.length > 0) return out;
  // No clamping: the disagreement is rounding. Where does the error grow?
  const errs = r.layers.map((l) => l.meanPercentError);
  const last = errs[errs.length - 1] ?? 0;
  let worst = -1;
  let worstAdd = 0;
  errs.forEach((e, i) => {
    const add = e - (i > 0 ? errs[i - 1]! : 0);
    if (add > worstAdd) {
      worstAdd = add;
      worst = i;
    }
  });
  if (worst > 0 && last > 0 && worstAdd >= DOMINANT_SHARE * last && worst === r.layers.length - 1) {
    // the output layer's own values are wide (--output-bits): what it adds is its inputs' rounding (the activations
    // before it), amplified, and its weights' rounding
    const l = r.layers[worst]!;
    out.push(
      `most of the error appears at the output layer ${l.name} (mean error ${errs[worst - 1]!.toFixed(2)}% before it, ${l.meanPercentError.toFixed(2)}% after): ` +
        `it amplifies the rounding of its ${q.activationBits}-bit inputs and ${q.weightBits}-bit weights: raise --activation-bits (e.g. ${q.activationBits + 2}), ` +
        `then --weight-bits (e.g. ${q.weightBits + 2})`,
    );
  } else if (worst > 0 && last > 0 && worstAdd >= DOMINANT_SHARE * last) {
    const l = r.layers[worst]!;
    out.push(
      `most of the error appears at layer ${l.name} (mean error ${errs[worst - 1]!.toFixed(2)}% before it, ${l.meanPercentError.toFixed(2)}% after): ` +
        `its ${q.activationBits}-bit activations are too coarse: raise --activation-bits (e.g. ${q.activationBits + 2})`,
    );
  } else {
    out.push(
      `the error is spread over the layers (mean error ${r.layers.map((l) => `${l.name} ${l.meanPercentError.toFixed(2)}%`).join(", ")}): ` +
        `raise --weight-bits (e.g. ${q.weightBits + 2}), then --activation-bits (e.g. ${q.activationBits + 2})`,
    );
  }
  return out;
}
