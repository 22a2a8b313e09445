// A small typed-array neural network: layers with forward/backward, softmax cross-entropy, Adam/SGD, seeded RNG.
// Training runs one sample at a time and accumulates gradients over a mini-batch; enough for MNIST-sized models.
import type { Layer as IrLayer } from "../ir/ir.ts";

/** Deterministic PRNG (mulberry32) so a seed fixes initialization, shuffling and augmentation. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

/** A trainable tensor and its accumulated gradient. */
export interface Param {
  value: Float32Array;
  grad: Float32Array;
}

function param(n: number, init: (i: number) => number = () => 0): Param {
  return { value: Float32Array.from({ length: n }, (_, i) => init(i)), grad: new Float32Array(n) };
}

export interface TrainLayer {
  readonly name: string;
  readonly params: Param[];
  /** Output shape for an input shape (no batch axis). */
  outShape(inShape: number[]): number[];
  /** Forward one sample; caches what backward needs. */
  forward(x: Float32Array, inShape: number[]): Float32Array;
  /** Given dLoss/dOutput, accumulate parameter gradients and return dLoss/dInput (or undefined when not needed). */
  backward(dy: Float32Array, needInputGrad: boolean): Float32Array | undefined;
  /** The IR layer this trained layer becomes (none for training-only layers such as FakeQuant). */
  toIr(): IrLayer | undefined;
}

export class Dense implements TrainLayer {
  readonly weight: Param;
  readonly bias: Param;
  readonly params: Param[];
  private x?: Float32Array;
  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
  ) {
    const std = Math.sqrt(2 / inFeatures); // He initialization for ReLU networks
    this.weight = param(inFeatures * outFeatures, () => rng.normal() * std);
    this.bias = param(outFeatures);
    this.params = [this.weight, this.bias];
  }
  outShape(): number[] {
    return [this.outFeatures];
  }
  forward(x: Float32Array): Float32Array {
    this.x = x;
    const K = this.inFeatures;
    const w = this.weight.value;
    const y = new Float32Array(this.outFeatures);
    for (let n = 0; n < this.outFeatures; n++) {
      let s = this.bias.value[n]!;
      const row = n * K;
      for (let k = 0; k < K; k++) s += w[row + k]! * x[k]!;
      y[n] = s;
    }
    return y;
  }
  backward(dy: Float32Array, needInputGrad: boolean): Float32Array | undefined {
    const x = this.x!;
    const K = this.inFeatures;
    const w = this.weight.value;
    const gw = this.weight.grad;
    const dx = needInputGrad ? new Float32Array(K) : undefined;
    for (let n = 0; n < this.outFeatures; n++) {
      const g = dy[n]!;
      if (g === 0) continue;
      this.bias.grad[n]! += g;
      const row = n * K;
      for (let k = 0; k < K; k++) gw[row + k]! += g * x[k]!;
      if (dx) for (let k = 0; k < K; k++) dx[k]! += g * w[row + k]!;
    }
    return dx;
  }
  toIr(): IrLayer {
    return { kind: "dense", name: this.name, inFeatures: this.inFeatures, outFeatures: this.outFeatures, weight: this.weight.value.slice(), bias: this.bias.value.slice() };
  }
}

export class Conv2d implements TrainLayer {
  readonly weight: Param;
  readonly bias: Param;
  readonly params: Param[];
  private x?: Float32Array;
  private inShape: number[] = [];
  constructor(
    readonly name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    readonly stride: number,
    readonly pad: number,
    rng: Rng,
  ) {
    const fanIn = inChannels * kernel * kernel;
    const std = Math.sqrt(2 / fanIn);
    this.weight = param(outChannels * fanIn, () => rng.normal() * std);
    this.bias = param(outChannels);
    this.params = [this.weight, this.bias];
  }
  outShape(s: number[]): number[] {
    const o = (n: number) => Math.floor((n + 2 * this.pad - this.kernel) / this.stride) + 1;
    return [this.outChannels, o(s[1]!), o(s[2]!)];
  }
  forward(x: Float32Array, inShape: number[]): Float32Array {
    this.x = x;
    this.inShape = inShape;
    const [C, H, W] = inShape as [number, number, number];
    const [M, OH, OW] = this.outShape(inShape) as [number, number, number];
    const { kernel: k, stride: s, pad: p } = this;
    const w = this.weight.value;
    const y = new Float32Array(M * OH * OW);
    for (let m = 0; m < M; m++)
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) {
          let acc = this.bias.value[m]!;
          for (let c = 0; c < C; c++)
            for (let u = 0; u < k; u++) {
              const r = i * s + u - p;
              if (r < 0 || r >= H) continue;
              const wb = ((m * C + c) * k + u) * k;
              const xb = (c * H + r) * W;
              for (let v = 0; v < k; v++) {
                const q = j * s + v - p;
                if (q >= 0 && q < W) acc += w[wb + v]! * x[xb + q]!;
              }
            }
          y[(m * OH + i) * OW + j] = acc;
        }
    return y;
  }
  backward(dy: Float32Array, needInputGrad: boolean): Float32Array | undefined {
    const x = this.x!;
    const [C, H, W] = this.inShape as [number, number, number];
    const [M, OH, OW] = this.outShape(this.inShape) as [number, number, number];
    const { kernel: k, stride: s, pad: p } = this;
    const w = this.weight.value;
    const gw = this.weight.grad;
    const dx = needInputGrad ? new Float32Array(C * H * W) : undefined;
    for (let m = 0; m < M; m++)
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) {
          const g = dy[(m * OH + i) * OW + j]!;
          if (g === 0) continue;
          this.bias.grad[m]! += g;
          for (let c = 0; c < C; c++)
            for (let u = 0; u < k; u++) {
              const r = i * s + u - p;
              if (r < 0 || r >= H) continue;
              const wb = ((m * C + c) * k + u) * k;
              const xb = (c * H + r) * W;
              for (let v = 0; v < k; v++) {
                const q = j * s + v - p;
                if (q < 0 || q >= W) continue;
                gw[wb + v]! += g * x[xb + q]!;
                if (dx) dx[xb + q]! += g * w[wb + v]!;
              }
            }
        }
    return dx;
  }
  toIr(): IrLayer {
    return {
      kind: "conv", name: this.name, inChannels: this.inChannels, outChannels: this.outChannels,
      kernel: [this.kernel, this.kernel], stride: [this.stride, this.stride], pads: [this.pad, this.pad, this.pad, this.pad],
      weight: this.weight.value.slice(), bias: this.bias.value.slice(),
    };
  }
}

export class Relu implements TrainLayer {
  readonly params: Param[] = [];
  private y?: Float32Array;
  constructor(readonly name: string) {}
  outShape(s: number[]): number[] {
    return s;
  }
  forward(x: Float32Array): Float32Array {
    this.y = x.map((v) => (v > 0 ? v : 0));
    return this.y;
  }
  backward(dy: Float32Array): Float32Array {
    const y = this.y!;
    return dy.map((g, i) => (y[i]! > 0 ? g : 0));
  }
  toIr(): IrLayer {
    return { kind: "relu", name: this.name };
  }
}

/** Max pooling, square window, no padding. */
export class MaxPool2d implements TrainLayer {
  readonly params: Param[] = [];
  private argmax?: Int32Array;
  private inSize = 0;
  constructor(
    readonly name: string,
    readonly kernel: number,
    readonly stride: number,
  ) {}
  outShape(s: number[]): number[] {
    const o = (n: number) => Math.floor((n - this.kernel) / this.stride) + 1;
    return [s[0]!, o(s[1]!), o(s[2]!)];
  }
  forward(x: Float32Array, inShape: number[]): Float32Array {
    const [C, H, W] = inShape as [number, number, number];
    const [, OH, OW] = this.outShape(inShape) as [number, number, number];
    this.inSize = x.length;
    const y = new Float32Array(C * OH * OW);
    this.argmax = new Int32Array(y.length);
    for (let c = 0; c < C; c++)
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) {
          let best = -Infinity;
          let at = 0;
          for (let u = 0; u < this.kernel; u++)
            for (let v = 0; v < this.kernel; v++) {
              const idx = (c * H + i * this.stride + u) * W + j * this.stride + v;
              if (x[idx]! > best) [best, at] = [x[idx]!, idx];
            }
          const o = (c * OH + i) * OW + j;
          y[o] = best;
          this.argmax[o] = at;
        }
    return y;
  }
  backward(dy: Float32Array): Float32Array {
    const dx = new Float32Array(this.inSize);
    dy.forEach((g, o) => (dx[this.argmax![o]!]! += g));
    return dx;
  }
  toIr(): IrLayer {
    return { kind: "maxpool", name: this.name, kernel: [this.kernel, this.kernel], stride: [this.stride, this.stride], pads: [0, 0, 0, 0] };
  }
}

export class Flatten implements TrainLayer {
  readonly params: Param[] = [];
  constructor(readonly name: string) {}
  outShape(s: number[]): number[] {
    return [s.reduce((a, b) => a * b, 1)];
  }
  forward(x: Float32Array): Float32Array {
    return x;
  }
  backward(dy: Float32Array): Float32Array {
    return dy;
  }
  toIr(): IrLayer {
    return { kind: "flatten", name: this.name };
  }
}

/**
 * Simulated activation quantization for quantization-aware training (training only; exports as nothing).
 * "observe" records max |x| (as the quantizer's calibration does). "quantize" rounds x to that range in
 * 2^(bits-1) - 1 steps, clamping above, with a straight-through backward pass. "noise" adds uniform noise of
 * `noiseSteps` quantization steps instead, which teaches margins wider than the rounding error.
 */
export class FakeQuant implements TrainLayer {
  readonly params: Param[] = [];
  mode: "off" | "observe" | "quantize" | "noise" = "off";
  max = 0;
  private x?: Float32Array;
  constructor(
    readonly name: string,
    readonly bits = 8,
    private readonly rng = new Rng(1),
    readonly noiseSteps = 1,
  ) {}
  outShape(s: number[]): number[] {
    return s;
  }
  forward(x: Float32Array): Float32Array {
    this.x = x;
    if (this.mode === "observe") for (const v of x) this.max = Math.max(this.max, Math.abs(v));
    if ((this.mode !== "quantize" && this.mode !== "noise") || this.max === 0) return x;
    const steps = 2 ** (this.bits - 1) - 1;
    const step = this.max / steps;
    if (this.mode === "noise") return x.map((v) => v + (this.rng.next() - 0.5) * step * this.noiseSteps);
    return x.map((v) => Math.max(-steps, Math.min(steps, Math.round(v / step))) * step);
  }
  backward(dy: Float32Array): Float32Array {
    if (this.mode !== "quantize") return dy;
    const x = this.x!;
    return dy.map((g, i) => (Math.abs(x[i]!) <= this.max ? g : 0));
  }
  toIr(): undefined {
    return undefined;
  }
}

/** What the training loop needs of a model: its parameters, forward of one sample, backward from dLoss/dOutput. */
export interface Network {
  readonly params: Param[];
  forward(x: Float32Array): Float32Array;
  /** Accumulate parameter gradients for the sample of the last forward. */
  backward(dy: Float32Array): void;
  zeroGrad(): void;
}

/** Layers in sequence over one input shape. */
export class Sequential implements Network {
  readonly shapes: number[][];
  constructor(
    readonly inputShape: number[],
    readonly layers: TrainLayer[],
  ) {
    this.shapes = [inputShape];
    for (const l of layers) this.shapes.push(l.outShape(this.shapes[this.shapes.length - 1]!));
  }
  get params(): Param[] {
    return this.layers.flatMap((l) => l.params);
  }
  forward(x: Float32Array): Float32Array {
    return this.layers.reduce((h, l, i) => l.forward(h, this.shapes[i]!), x);
  }
  backward(dy: Float32Array): void {
    let g: Float32Array | undefined = dy;
    for (let i = this.layers.length - 1; i >= 0 && g; i--) {
      // the first layer with parameters needs no input gradient; saves a third of the work on the widest layer
      const needInput = this.layers.slice(0, i).some((l) => l.params.length > 0);
      g = this.layers[i]!.backward(g, needInput);
    }
  }
  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
  }
  parameterCount(): number {
    return this.params.reduce((s, p) => s + p.value.length, 0);
  }
}

/** Softmax cross-entropy of one sample: loss and dLoss/dLogits. */
export function softmaxCrossEntropy(logits: Float32Array, label: number): { loss: number; grad: Float32Array } {
  const max = Math.max(...logits);
  const exp = Array.from(logits, (v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  const grad = Float32Array.from(exp, (e) => e / sum);
  const loss = -Math.log(Math.max(grad[label]!, 1e-30));
  grad[label]! -= 1;
  return { loss, grad };
}

export interface Optimizer {
  /** Apply the accumulated gradients, scaled by 1/batch, with learning rate lr. */
  step(params: Param[], batch: number, lr: number): void;
}

export class Sgd implements Optimizer {
  private velocity = new Map<Param, Float32Array>();
  constructor(
    readonly momentum = 0.9,
    readonly weightDecay = 0,
  ) {}
  step(params: Param[], batch: number, lr: number): void {
    for (const p of params) {
      let v = this.velocity.get(p);
      if (!v) this.velocity.set(p, (v = new Float32Array(p.value.length)));
      for (let i = 0; i < v.length; i++) {
        const g = p.grad[i]! / batch + this.weightDecay * p.value[i]!;
        v[i] = this.momentum * v[i]! + g;
        p.value[i]! -= lr * v[i]!;
      }
    }
  }
}

export class Adam implements Optimizer {
  private m = new Map<Param, Float32Array>();
  private v = new Map<Param, Float32Array>();
  private t = 0;
  constructor(
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
    readonly weightDecay = 0,
  ) {}
  step(params: Param[], batch: number, lr: number): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (const p of params) {
      let m = this.m.get(p);
      let v = this.v.get(p);
      if (!m || !v) {
        this.m.set(p, (m = new Float32Array(p.value.length)));
        this.v.set(p, (v = new Float32Array(p.value.length)));
      }
      for (let i = 0; i < m.length; i++) {
        const g = p.grad[i]! / batch;
        m[i] = this.beta1 * m[i]! + (1 - this.beta1) * g;
        v[i] = this.beta2 * v[i]! + (1 - this.beta2) * g * g;
        // decoupled weight decay (AdamW)
        p.value[i]! -= lr * ((m[i]! / c1) / (Math.sqrt(v[i]! / c2) + this.eps) + this.weightDecay * p.value[i]!);
      }
    }
  }
}
