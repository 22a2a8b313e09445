// From a drawn canvas to the model's input: ink -> 28x28 MNIST-style frame (the digit's box scaled to 20 px and
// centred by its centre of mass, as MNIST was made) -> quantized integers, exactly as the engine's quantizeInput.
import { quantizeInput } from "../../circuits/compiler/engine.ts";

/** The quantization fields of a model package manifest. */
export interface InputQuant {
  inputBits: number;
  inputScale: number;
  inputRange: [number, number];
  inputShape: number[];
}

/** Ink per pixel in [0, 1] from RGBA data: dark strokes on a light background, or light on transparent. */
export function inkFromRgba(rgba: Uint8ClampedArray, width: number, height: number): Float32Array {
  const ink = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const a = rgba[4 * i + 3]! / 255;
    const lum = (0.299 * rgba[4 * i]! + 0.587 * rgba[4 * i + 1]! + 0.114 * rgba[4 * i + 2]!) / 255;
    // Composite over white: ink is how far from white the pixel is.
    ink[i] = a * (1 - lum);
  }
  return ink;
}

/** Area-average resample of a `w`x`h` grid into `outW`x`outH`. */
export function resample(src: Float32Array, w: number, h: number, outW: number, outH: number): Float32Array {
  const out = new Float32Array(outW * outH);
  const sx = w / outW;
  const sy = h / outH;
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sx, x1 = x0 + sx, y0 = oy * sy, y1 = y0 + sy;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.min(h, Math.ceil(y1)); y++) {
        const wy = Math.min(y1, y + 1) - Math.max(y0, y);
        for (let x = Math.floor(x0); x < Math.min(w, Math.ceil(x1)); x++) {
          const wx = Math.min(x1, x + 1) - Math.max(x0, x);
          sum += src[y * w + x]! * wx * wy;
        }
      }
      out[oy * outW + ox] = sum / (sx * sy);
    }
  }
  return out;
}

/**
 * MNIST framing of an ink grid: crop to the ink's bounding box, scale its longer side to `box` pixels
 * (aspect kept), and place it in a `size`x`size` frame with its centre of mass at the centre. Empty ink -> zeros.
 */
export function toMnistFrame(ink: Float32Array, w: number, h: number, size = 28, box = 20): Float32Array {
  let minX = w, minY = h, maxX = -1, maxY = -1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (ink[y * w + x]! > 0.05) {
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  const frame = new Float32Array(size * size);
  if (maxX < 0) return frame;
  const cw = maxX - minX + 1, ch = maxY - minY + 1;
  const crop = new Float32Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) crop[y * cw + x] = ink[(minY + y) * w + minX + x]!;
  const scale = box / Math.max(cw, ch);
  const bw = Math.max(1, Math.round(cw * scale)), bh = Math.max(1, Math.round(ch * scale));
  const small = resample(crop, cw, ch, bw, bh);
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) {
    const v = small[y * bw + x]!;
    mass += v; mx += v * x; my += v * y;
  }
  const cx = mass > 0 ? mx / mass : (bw - 1) / 2, cy = mass > 0 ? my / mass : (bh - 1) / 2;
  const ox = Math.round((size - 1) / 2 - cx), oy = Math.round((size - 1) / 2 - cy);
  for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) {
    const tx = x + ox, ty = y + oy;
    if (tx >= 0 && tx < size && ty >= 0 && ty < size) frame[ty * size + tx] = Math.min(1, small[y * bw + x]!);
  }
  return frame;
}

/** The engine's quantizeInput (circuits/compiler/engine.ts) on the manifest's input quantization. */
export function quantizePixels(q: InputQuant, input: Float32Array | readonly number[]): bigint[] {
  return quantizeInput(q, input);
}

/** Index of the largest value, first on ties. */
export function argmax(xs: readonly bigint[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
