// Seeded random FloatModels and inputs for the compiler and circuit property tests.
import type { FloatModel, Layer } from "../../circuits/ir/ir.ts";
import { mulberry32 } from "../../scripts/lib/random.ts";

/** A seeded PRNG, so every failing case can be replayed from its seed. */
export const rng = mulberry32;

const randArray = (r: () => number, n: number, mag: number): Float32Array => Float32Array.from({ length: n }, () => (r() * 2 - 1) * mag);

export function dense(r: () => number, name: string, inF: number, outF: number): Layer {
  const mag = 1 / Math.sqrt(inF);
  return { kind: "dense", name, inFeatures: inF, outFeatures: outF, weight: randArray(r, inF * outF, mag), bias: randArray(r, outF, 0.1) };
}

export function conv(r: () => number, name: string, inC: number, outC: number, k: number, stride: number, pad: number): Layer {
  const mag = 1 / Math.sqrt(inC * k * k);
  return {
    kind: "conv", name, inChannels: inC, outChannels: outC, kernel: [k, k], stride: [stride, stride], pads: [pad, pad, pad, pad],
    weight: randArray(r, outC * inC * k * k, mag), bias: randArray(r, outC, 0.1),
  };
}

/** A random MLP in -> hidden... -> out, relu between layers, optionally ending in argmax. */
export function randomMlp(seed: number, sizes: number[], argmax = false): FloatModel {
  const r = rng(seed);
  const layers: Layer[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    layers.push(dense(r, `fc${i}`, sizes[i]!, sizes[i + 1]!));
    if (i + 2 < sizes.length) layers.push({ kind: "relu", name: `relu${i}` });
  }
  if (argmax) layers.push({ kind: "argmax", name: "argmax" });
  return { name: `mlp-${seed}`, inputName: "x", inputShape: [sizes[0]!], outputName: "y", layers };
}

/** A random small CNN: conv(+relu) -> maxpool or avgpool -> conv(+relu) -> flatten -> dense. */
export function randomCnn(seed: number, opts: { hw?: number; c1?: number; c2?: number; pool?: "maxpool" | "avgpool"; out?: number; argmax?: boolean } = {}): FloatModel {
  const r = rng(seed);
  const hw = opts.hw ?? 8;
  const c1 = opts.c1 ?? 2;
  const c2 = opts.c2 ?? 3;
  const pool = opts.pool ?? "maxpool";
  const layers: Layer[] = [
    conv(r, "conv1", 1, c1, 3, 1, 1),
    { kind: "relu", name: "relu1" },
    { kind: pool, name: "pool1", kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
    conv(r, "conv2", c1, c2, 3, 2, 1),
    { kind: "relu", name: "relu2" },
    { kind: "flatten", name: "flatten" },
  ];
  const h2 = Math.floor((Math.floor(hw / 2) + 2 - 3) / 2) + 1;
  layers.push(dense(r, "fc", c2 * h2 * h2, opts.out ?? 4));
  if (opts.argmax) layers.push({ kind: "argmax", name: "argmax" });
  return { name: `cnn-${seed}`, inputName: "x", inputShape: [1, hw, hw], outputName: "y", layers };
}

export function randomInputs(seed: number, n: number, len: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: len }, () => r()));
}
