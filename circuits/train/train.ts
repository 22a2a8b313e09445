// Mini-batch training loop with seeded shuffling and random-shift augmentation; converts the result to the float IR.
import type { FloatModel } from "../ir/ir.ts";
import type { LabelledSet } from "../data/mnist.ts";
import type { Network, Optimizer, Sequential } from "./nn.ts";
import { Rng, softmaxCrossEntropy } from "./nn.ts";

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Peak learning rate; decays with a cosine schedule to lrMin over the steps after warmup. */
  lr: number;
  lrMin?: number;
  /** Ramp the learning rate up linearly from lr / warmupSteps over the first steps (transformers need it); default 0. */
  warmupSteps?: number;
  seed: number;
  /** Shift each training image by up to this many pixels in x and y (zero fill); 0 disables augmentation. */
  maxShift?: number;
  /** Image side for augmentation (square, single channel). */
  imageSize?: number;
  optimizer: Optimizer;
  /** Called before each epoch (e.g. to re-calibrate simulated quantization). */
  beforeEpoch?: (epoch: number) => void;
  /** Called after each epoch. */
  onEpoch?: (e: { epoch: number; loss: number; trainAccuracy: number; seconds: number }) => void;
}

export interface EpochStats {
  epoch: number;
  loss: number;
  trainAccuracy: number;
}

/** Translate a square single-channel image by (dx, dy) pixels, filling with zeros. */
export function shiftImage(img: Float32Array, dx: number, dy: number, size: number): Float32Array {
  if (dx === 0 && dy === 0) return img;
  const out = new Float32Array(img.length);
  for (let r = 0; r < size; r++) {
    const sr = r - dy;
    if (sr < 0 || sr >= size) continue;
    for (let c = 0; c < size; c++) {
      const sc = c - dx;
      if (sc >= 0 && sc < size) out[r * size + c] = img[sr * size + sc]!;
    }
  }
  return out;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

export function train(net: Network, data: LabelledSet, o: TrainOptions): EpochStats[] {
  const rng = new Rng(o.seed);
  const n = data.images.length;
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const totalSteps = stepsPerEpoch * o.epochs;
  const lrMin = o.lrMin ?? o.lr * 0.02;
  const size = o.imageSize ?? 28;
  const history: EpochStats[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    o.beforeEpoch?.(epoch);
    const started = performance.now();
    const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    let lossSum = 0;
    let correct = 0;
    for (let b = 0; b < n; b += o.batchSize) {
      net.zeroGrad();
      const batch = order.slice(b, b + o.batchSize);
      for (const i of batch) {
        let x = data.images[i]!;
        if (o.maxShift) {
          const span = 2 * o.maxShift + 1;
          x = shiftImage(x, rng.int(span) - o.maxShift, rng.int(span) - o.maxShift, size);
        }
        const logits = net.forward(x);
        const { loss, grad } = softmaxCrossEntropy(logits, data.labels[i]!);
        lossSum += loss;
        if (argmax(logits) === data.labels[i]) correct++;
        net.backward(grad);
      }
      const warm = o.warmupSteps ?? 0;
      const lr = step < warm
        ? (o.lr * (step + 1)) / warm
        : lrMin + 0.5 * (o.lr - lrMin) * (1 + Math.cos((Math.PI * (step - warm)) / Math.max(1, totalSteps - warm)));
      o.optimizer.step(net.params, batch.length, lr);
      step++;
    }
    const stats = { epoch, loss: lossSum / n, trainAccuracy: correct / n };
    history.push(stats);
    o.onEpoch?.({ ...stats, seconds: (performance.now() - started) / 1000 });
  }
  return history;
}

/** Top-1 accuracy of the network on a labelled set. */
export function accuracy(net: Network, data: LabelledSet): number {
  let correct = 0;
  data.images.forEach((x, i) => {
    if (argmax(net.forward(x)) === data.labels[i]) correct++;
  });
  return correct / data.images.length;
}

/** The trained network as a float IR model (weights copied). */
export function toFloatModel(net: Sequential, name: string, io = { inputName: "input", outputName: "logits" }): FloatModel {
  return { name, inputName: io.inputName, inputShape: net.inputShape, outputName: io.outputName, layers: net.layers.flatMap((l) => l.toIr() ?? []) };
}
