// The browser's input path: quantization is the engine's quantizeInput bit for bit, and the canvas framing keeps
// real digits recognisable (MNIST digits blown up to canvas size and framed back classify as before).
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { loadPackage } from "../../circuits/compiler/package.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import manifest from "../../models/mnist-mlp/manifest.json" with { type: "json" };
import { argmax, inkFromRgba, quantizePixels, resample, toMnistFrame, type InputQuant } from "./digits.ts";

const pkg = loadPackage(resolve(__dirname, "../../models/mnist-mlp"));
const q = manifest as unknown as InputQuant;

/** A 28x28 digit drawn at 10x as black ink on white RGBA, like the page's 280x280 canvas. */
function toCanvas(img: Float32Array, scale = 10): Uint8ClampedArray {
  const w = 28 * scale;
  const rgba = new Uint8ClampedArray(w * w * 4);
  for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) {
    const v = 255 - Math.round(255 * img[Math.floor(y / scale) * 28 + Math.floor(x / scale)]!);
    rgba.set([v, v, v, 255], 4 * (y * w + x));
  }
  return rgba;
}

describe("quantizePixels", () => {
  it("equals the engine's quantizeInput on held-out digits", () => {
    const s = heldOutSample(50);
    for (const img of s.images) expect(quantizePixels(q, img)).toEqual(quantizeInput(pkg.quant, img));
  });

  it("equals it on random, out-of-range and rounding-edge values", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const px = Array.from({ length: 784 }, (_, i) => (i % 7 === 0 ? (i % 14 === 0 ? -0.3 : 1.7) : i % 5 === 0 ? (Math.floor(rnd() * 127) + 0.5) * q.inputScale : rnd()));
    expect(quantizePixels(q, px)).toEqual(quantizeInput(pkg.quant, px));
    expect(() => quantizePixels(q, px.slice(1))).toThrow(/783 values/);
  });
});

describe("canvas framing", () => {
  it("reads ink from dark strokes on white", () => {
    const ink = inkFromRgba(new Uint8ClampedArray([0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 0]), 3, 1);
    expect(Array.from(ink)).toEqual([1, 0, 0]);
  });

  it("area-averages when shrinking", () => {
    expect(Array.from(resample(new Float32Array([1, 0, 0, 1]), 2, 2, 1, 1))).toEqual([0.5]);
  });

  it("fits the ink's box in 20 px and centres its mass in 28x28", () => {
    const w = 280, ink = new Float32Array(w * w);
    for (let y = 40; y < 240; y++) for (let x = 200; x < 230; x++) ink[y * w + x] = 1; // a tall bar off to the right
    const f = toMnistFrame(ink, w, w);
    let mass = 0, mx = 0, my = 0, rows = 0;
    for (let y = 0; y < 28; y++) {
      let row = 0;
      for (let x = 0; x < 28; x++) { const v = f[y * 28 + x]!; mass += v; mx += v * x; my += v * y; row += v; }
      if (row > 0) rows++;
    }
    expect(rows).toBe(20);
    expect(Math.abs(mx / mass - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(my / mass - 13.5)).toBeLessThanOrEqual(0.5);
    expect(Array.from(toMnistFrame(new Float32Array(w * w), w, w)).every((v) => v === 0)).toBe(true);
  });

  it("keeps held-out MNIST digits' classes through canvas size and back", () => {
    const s = heldOutSample(100);
    let same = 0, right = 0;
    s.images.forEach((img, i) => {
      const before = argmax(runQuantized(pkg.quant, img).outputs);
      const frame = toMnistFrame(inkFromRgba(toCanvas(img), 280, 280), 280, 280);
      const after = argmax(runQuantized(pkg.quant, quantizePixels(q, frame)).outputs);
      if (after === before) same++;
      if (after === s.labels[i]) right++;
    });
    console.log(`canvas round trip: ${same}/100 same class as the original, ${right}/100 correct`);
    expect(same).toBeGreaterThanOrEqual(90);
  });
});
