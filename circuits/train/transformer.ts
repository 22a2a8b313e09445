// A small vision transformer (ViT) for the TypeScript trainer: patch embedding, class token, positional embedding,
// pre-norm blocks (LayerNorm -> multi-head self-attention -> residual, LayerNorm -> GELU MLP -> residual), a final
// LayerNorm on the class token and a linear head. Every part has a hand-written forward and backward over flat
// Float32Arrays of shape [tokens, features] (row-major); buffers are allocated once per layer and reused, so a
// training step allocates nothing per element. One sample at a time, like the rest of the trainer (nn.ts).
import type { Network, Param } from "./nn.ts";
import { Rng } from "./nn.ts";

function param(n: number, init: (i: number) => number = () => 0): Param {
  return { value: Float32Array.from({ length: n }, (_, i) => init(i)), grad: new Float32Array(n) };
}

/** Normal(0, std) truncated to +-2 std (timm's trunc_normal_ with its default cut-off). */
function truncNormal(rng: Rng, std: number): number {
  for (;;) {
    const z = rng.normal();
    if (Math.abs(z) <= 2) return z * std;
  }
}

/**
 * erf(x) by Abramowitz and Stegun 7.1.26: absolute error below 1.5e-7, about float32's resolution near 1, so the
 * trainer's GELU agrees with onnxruntime's Erf to float rounding.
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return x < 0 ? -y : y;
}

/** Linear layer applied to each token: y[t] = W x[t] + b, W of shape [out, in] (nn.Linear's layout). */
export class TokenLinear {
  readonly weight: Param;
  readonly bias: Param;
  readonly params: Param[];
  private x?: Float32Array;
  private readonly y: Float32Array;
  private readonly dx: Float32Array;
  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly tokens: number,
    rng: Rng,
    std = 0.02,
  ) {
    this.weight = param(inFeatures * outFeatures, () => truncNormal(rng, std));
    this.bias = param(outFeatures);
    this.params = [this.weight, this.bias];
    this.y = new Float32Array(tokens * outFeatures);
    this.dx = new Float32Array(tokens * inFeatures);
  }
  forward(x: Float32Array): Float32Array {
    this.x = x;
    const { inFeatures: K, outFeatures: N, tokens: T, y } = this;
    const w = this.weight.value;
    const b = this.bias.value;
    for (let t = 0; t < T; t++) {
      const xo = t * K;
      const yo = t * N;
      for (let n = 0; n < N; n++) {
        let s = b[n]!;
        const wo = n * K;
        for (let k = 0; k < K; k++) s += w[wo + k]! * x[xo + k]!;
        y[yo + n] = s;
      }
    }
    return y;
  }
  /** Accumulates dW and db; returns dLoss/dx (a buffer this layer reuses) unless `needInputGrad` is false. */
  backward(dy: Float32Array, needInputGrad = true): Float32Array {
    const x = this.x!;
    const { inFeatures: K, outFeatures: N, tokens: T, dx } = this;
    const w = this.weight.value;
    const gw = this.weight.grad;
    const gb = this.bias.grad;
    if (needInputGrad) dx.fill(0);
    for (let t = 0; t < T; t++) {
      const xo = t * K;
      const yo = t * N;
      for (let n = 0; n < N; n++) {
        const g = dy[yo + n]!;
        if (g === 0) continue;
        gb[n]! += g;
        const wo = n * K;
        for (let k = 0; k < K; k++) gw[wo + k]! += g * x[xo + k]!;
        if (needInputGrad) for (let k = 0; k < K; k++) dx[xo + k]! += g * w[wo + k]!;
      }
    }
    return dx;
  }
}

/** LayerNorm over the feature axis of each token (nn.LayerNorm(features), elementwise affine). */
export class LayerNorm {
  readonly gamma: Param;
  readonly beta: Param;
  readonly params: Param[];
  private readonly xhat: Float32Array;
  private readonly rstd: Float32Array;
  private readonly y: Float32Array;
  private readonly dx: Float32Array;
  constructor(
    readonly name: string,
    readonly features: number,
    readonly tokens: number,
    readonly epsilon = 1e-5,
  ) {
    this.gamma = param(features, () => 1);
    this.beta = param(features);
    this.params = [this.gamma, this.beta];
    this.xhat = new Float32Array(tokens * features);
    this.rstd = new Float32Array(tokens);
    this.y = new Float32Array(tokens * features);
    this.dx = new Float32Array(tokens * features);
  }
  forward(x: Float32Array): Float32Array {
    const { features: D, tokens: T, xhat, y } = this;
    const g = this.gamma.value;
    const b = this.beta.value;
    for (let t = 0; t < T; t++) {
      const o = t * D;
      let mean = 0;
      for (let d = 0; d < D; d++) mean += x[o + d]!;
      mean /= D;
      let v = 0;
      for (let d = 0; d < D; d++) {
        const c = x[o + d]! - mean;
        v += c * c;
      }
      const r = 1 / Math.sqrt(v / D + this.epsilon);
      this.rstd[t] = r;
      for (let d = 0; d < D; d++) {
        const h = (x[o + d]! - mean) * r;
        xhat[o + d] = h;
        y[o + d] = h * g[d]! + b[d]!;
      }
    }
    return y;
  }
  backward(dy: Float32Array): Float32Array {
    const { features: D, tokens: T, xhat, dx } = this;
    const g = this.gamma.value;
    const gg = this.gamma.grad;
    const gb = this.beta.grad;
    for (let t = 0; t < T; t++) {
      const o = t * D;
      // dxhat = dy * gamma; dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
      let s1 = 0;
      let s2 = 0;
      for (let d = 0; d < D; d++) {
        const gy = dy[o + d]!;
        gg[d]! += gy * xhat[o + d]!;
        gb[d]! += gy;
        const dh = gy * g[d]!;
        s1 += dh;
        s2 += dh * xhat[o + d]!;
      }
      s1 /= D;
      s2 /= D;
      const r = this.rstd[t]!;
      for (let d = 0; d < D; d++) dx[o + d] = r * (dy[o + d]! * g[d]! - s1 - xhat[o + d]! * s2);
    }
    return dx;
  }
}

/** GELU, the exact (erf) form: 0.5 x (1 + erf(x / sqrt(2))), nn.GELU()'s default. */
export class Gelu {
  readonly params: Param[] = [];
  private x?: Float32Array;
  /** Phi(x) = 0.5 (1 + erf(x / sqrt(2))) from the forward pass, reused by backward. */
  private readonly phi: Float32Array;
  private readonly y: Float32Array;
  private readonly dx: Float32Array;
  constructor(
    readonly name: string,
    readonly size: number,
  ) {
    this.phi = new Float32Array(size);
    this.y = new Float32Array(size);
    this.dx = new Float32Array(size);
  }
  forward(x: Float32Array): Float32Array {
    this.x = x;
    for (let i = 0; i < this.size; i++) {
      const v = x[i]!;
      const p = 0.5 * (1 + erf(v / Math.SQRT2));
      this.phi[i] = p;
      this.y[i] = v * p;
    }
    return this.y;
  }
  backward(dy: Float32Array): Float32Array {
    const x = this.x!;
    const c = 1 / Math.sqrt(2 * Math.PI);
    for (let i = 0; i < this.size; i++) {
      const v = x[i]!;
      // d/dx [x Phi(x)] = Phi(x) + x phi(x)
      this.dx[i] = dy[i]! * (this.phi[i]! + v * c * Math.exp(-0.5 * v * v));
    }
    return this.dx;
  }
}

/** Multi-head self-attention: Q/K/V projections, softmax(Q K^T / sqrt(d)) V per head, output projection. */
export class MultiHeadAttention {
  readonly q: TokenLinear;
  readonly k: TokenLinear;
  readonly v: TokenLinear;
  readonly proj: TokenLinear;
  readonly params: Param[];
  readonly headDim: number;
  readonly scale: number;
  /** Attention probabilities, [heads, tokens, tokens]. */
  readonly probs: Float32Array;
  private readonly ctx: Float32Array;
  private readonly dq: Float32Array;
  private readonly dk: Float32Array;
  private readonly dv: Float32Array;
  private readonly dp: Float32Array;
  private readonly dx: Float32Array;
  private qo?: Float32Array;
  private ko?: Float32Array;
  private vo?: Float32Array;
  constructor(
    readonly name: string,
    readonly dim: number,
    readonly heads: number,
    readonly tokens: number,
    rng: Rng,
  ) {
    if (dim % heads !== 0) throw new Error(`${name}: width ${dim} is not a multiple of ${heads} heads`);
    this.headDim = dim / heads;
    this.scale = 1 / Math.sqrt(this.headDim);
    this.q = new TokenLinear(`${name}.q`, dim, dim, tokens, rng);
    this.k = new TokenLinear(`${name}.k`, dim, dim, tokens, rng);
    this.v = new TokenLinear(`${name}.v`, dim, dim, tokens, rng);
    this.proj = new TokenLinear(`${name}.proj`, dim, dim, tokens, rng);
    this.params = [this.q, this.k, this.v, this.proj].flatMap((l) => l.params);
    const td = tokens * dim;
    this.probs = new Float32Array(heads * tokens * tokens);
    this.ctx = new Float32Array(td);
    this.dq = new Float32Array(td);
    this.dk = new Float32Array(td);
    this.dv = new Float32Array(td);
    this.dp = new Float32Array(tokens);
    this.dx = new Float32Array(td);
  }
  forward(x: Float32Array): Float32Array {
    const { dim: D, heads: H, headDim: E, tokens: T, scale, probs, ctx } = this;
    const q = (this.qo = this.q.forward(x));
    const k = (this.ko = this.k.forward(x));
    const v = (this.vo = this.v.forward(x));
    ctx.fill(0);
    for (let h = 0; h < H; h++) {
      const ho = h * E;
      for (let i = 0; i < T; i++) {
        const po = (h * T + i) * T;
        const qi = i * D + ho;
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          const kj = j * D + ho;
          let s = 0;
          for (let e = 0; e < E; e++) s += q[qi + e]! * k[kj + e]!;
          s *= scale;
          probs[po + j] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let j = 0; j < T; j++) {
          const p = Math.exp(probs[po + j]! - max);
          probs[po + j] = p;
          sum += p;
        }
        for (let j = 0; j < T; j++) {
          const p = (probs[po + j]! /= sum);
          const vj = j * D + ho;
          for (let e = 0; e < E; e++) ctx[qi + e]! += p * v[vj + e]!;
        }
      }
    }
    return this.proj.forward(ctx);
  }
  backward(dy: Float32Array): Float32Array {
    const { dim: D, heads: H, headDim: E, tokens: T, scale, probs, dq, dk, dv, dp, dx } = this;
    const q = this.qo!;
    const k = this.ko!;
    const v = this.vo!;
    const dctx = this.proj.backward(dy);
    dq.fill(0);
    dk.fill(0);
    dv.fill(0);
    for (let h = 0; h < H; h++) {
      const ho = h * E;
      for (let i = 0; i < T; i++) {
        const po = (h * T + i) * T;
        const qi = i * D + ho;
        // dP[j] = dctx[i] . v[j];  dv[j] += P[i,j] dctx[i]
        let dot = 0;
        for (let j = 0; j < T; j++) {
          const vj = j * D + ho;
          const p = probs[po + j]!;
          let s = 0;
          for (let e = 0; e < E; e++) {
            const g = dctx[qi + e]!;
            s += g * v[vj + e]!;
            dv[vj + e]! += p * g;
          }
          dp[j] = s;
          dot += p * s;
        }
        // softmax backward: dS = P (dP - sum_j P dP); S = scale q k^T
        for (let j = 0; j < T; j++) {
          const ds = probs[po + j]! * (dp[j]! - dot) * scale;
          if (ds === 0) continue;
          const kj = j * D + ho;
          for (let e = 0; e < E; e++) {
            dq[qi + e]! += ds * k[kj + e]!;
            dk[kj + e]! += ds * q[qi + e]!;
          }
        }
      }
    }
    dx.set(this.q.backward(dq));
    const a = this.k.backward(dk);
    for (let i = 0; i < dx.length; i++) dx[i]! += a[i]!;
    const b = this.v.backward(dv);
    for (let i = 0; i < dx.length; i++) dx[i]! += b[i]!;
    return dx;
  }
}

/** A pre-norm transformer block: x + attn(norm1(x)), then + mlp(norm2(.)) with a GELU MLP. */
export class TransformerBlock {
  readonly norm1: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly norm2: LayerNorm;
  readonly fc1: TokenLinear;
  readonly act: Gelu;
  readonly fc2: TokenLinear;
  readonly params: Param[];
  private readonly x1: Float32Array;
  private readonly x2: Float32Array;
  private readonly dx1: Float32Array;
  private readonly dx: Float32Array;
  constructor(
    readonly name: string,
    readonly dim: number,
    readonly heads: number,
    readonly mlpDim: number,
    readonly tokens: number,
    rng: Rng,
  ) {
    this.norm1 = new LayerNorm(`${name}.norm1`, dim, tokens);
    this.attn = new MultiHeadAttention(`${name}.attn`, dim, heads, tokens, rng);
    this.norm2 = new LayerNorm(`${name}.norm2`, dim, tokens);
    this.fc1 = new TokenLinear(`${name}.mlp.fc1`, dim, mlpDim, tokens, rng);
    this.act = new Gelu(`${name}.mlp.act`, tokens * mlpDim);
    this.fc2 = new TokenLinear(`${name}.mlp.fc2`, mlpDim, dim, tokens, rng);
    this.params = [...this.norm1.params, ...this.attn.params, ...this.norm2.params, ...this.fc1.params, ...this.fc2.params];
    const td = tokens * dim;
    this.x1 = new Float32Array(td);
    this.x2 = new Float32Array(td);
    this.dx1 = new Float32Array(td);
    this.dx = new Float32Array(td);
  }
  forward(x: Float32Array): Float32Array {
    const a = this.attn.forward(this.norm1.forward(x));
    for (let i = 0; i < a.length; i++) this.x1[i] = x[i]! + a[i]!;
    const m = this.fc2.forward(this.act.forward(this.fc1.forward(this.norm2.forward(this.x1))));
    for (let i = 0; i < m.length; i++) this.x2[i] = this.x1[i]! + m[i]!;
    return this.x2;
  }
  backward(dy: Float32Array): Float32Array {
    const dm = this.norm2.backward(this.fc1.backward(this.act.backward(this.fc2.backward(dy))));
    for (let i = 0; i < dm.length; i++) this.dx1[i] = dy[i]! + dm[i]!;
    const da = this.norm1.backward(this.attn.backward(this.dx1));
    for (let i = 0; i < da.length; i++) this.dx[i] = this.dx1[i]! + da[i]!;
    return this.dx;
  }
}

export interface VitConfig {
  /** Side of the square single-channel input image. */
  imageSize: number;
  /** Side of a square patch; must divide imageSize. */
  patchSize: number;
  /** Token width. */
  dim: number;
  depth: number;
  heads: number;
  /** Hidden width of each block's MLP. */
  mlpDim: number;
  classes: number;
}

/** The default MNIST ViT: 7x7 patches (16 tokens + class token), width 32, 2 blocks of 4 heads, MLP 64. */
export const MNIST_VIT: VitConfig = { imageSize: 28, patchSize: 7, dim: 32, depth: 2, heads: 4, mlpDim: 64, classes: 10 };

/**
 * The trained weights in PyTorch's layouts (what a timm-style ViT's state_dict holds): patch embedding as a conv
 * kernel [dim, 1, p, p], class token [dim], positional embedding [tokens, dim], linear weights [out, in].
 */
export interface VitWeights {
  config: VitConfig;
  patchEmbed: { weight: Float32Array; bias: Float32Array };
  clsToken: Float32Array;
  posEmbed: Float32Array;
  blocks: {
    norm1: { weight: Float32Array; bias: Float32Array };
    q: { weight: Float32Array; bias: Float32Array };
    k: { weight: Float32Array; bias: Float32Array };
    v: { weight: Float32Array; bias: Float32Array };
    proj: { weight: Float32Array; bias: Float32Array };
    norm2: { weight: Float32Array; bias: Float32Array };
    fc1: { weight: Float32Array; bias: Float32Array };
    fc2: { weight: Float32Array; bias: Float32Array };
  }[];
  norm: { weight: Float32Array; bias: Float32Array };
  head: { weight: Float32Array; bias: Float32Array };
  /** LayerNorm epsilon (every LayerNorm). */
  epsilon: number;
}

/** The whole ViT; a trainer Network (forward one image, backward from dLoss/dLogits). */
export class VisionTransformer implements Network {
  readonly config: VitConfig;
  readonly patches: number;
  readonly tokens: number;
  readonly patchEmbed: TokenLinear;
  readonly clsToken: Param;
  readonly posEmbed: Param;
  readonly blocks: TransformerBlock[];
  /** The final LayerNorm, applied to the class token only (the other tokens' outputs are never read). */
  readonly norm: LayerNorm;
  readonly head: TokenLinear;
  readonly params: Param[];
  private readonly patchBuf: Float32Array;
  private readonly x0: Float32Array;
  private readonly cls: Float32Array;
  private readonly dLast: Float32Array;
  constructor(config: VitConfig, rng: Rng) {
    const { imageSize: S, patchSize: P, dim: D } = config;
    if (S % P !== 0) throw new Error(`ViT: patch size ${P} does not divide image size ${S}`);
    this.config = { ...config };
    const side = S / P;
    this.patches = side * side;
    this.tokens = this.patches + 1;
    const T = this.tokens;
    // patch embedding as a linear map of each flattened patch (a conv with kernel = stride = P); fan-in init
    this.patchEmbed = new TokenLinear("patch_embed.proj", P * P, D, this.patches, rng, Math.sqrt(1 / (P * P)));
    this.clsToken = param(D, () => truncNormal(rng, 0.02));
    this.posEmbed = param(T * D, () => truncNormal(rng, 0.02));
    this.blocks = Array.from({ length: config.depth }, (_, i) => new TransformerBlock(`blocks.${i}`, D, config.heads, config.mlpDim, T, rng));
    this.norm = new LayerNorm("norm", D, 1);
    this.head = new TokenLinear("head", D, config.classes, 1, rng);
    this.params = [
      ...this.patchEmbed.params, this.clsToken, this.posEmbed,
      ...this.blocks.flatMap((b) => b.params), ...this.norm.params, ...this.head.params,
    ];
    this.patchBuf = new Float32Array(this.patches * P * P);
    this.x0 = new Float32Array(T * D);
    this.cls = new Float32Array(D);
    this.dLast = new Float32Array(T * D);
  }

  /** Logits for one image of imageSize^2 pixels (a buffer the network reuses: copy it to keep it). */
  forward(image: Float32Array): Float32Array {
    const { imageSize: S, patchSize: P, dim: D } = this.config;
    if (image.length !== S * S) throw new Error(`ViT: expected ${S * S} pixels, got ${image.length}`);
    const side = S / P;
    const pb = this.patchBuf;
    // patch (pi, pj) is token 1 + pi * side + pj; within it pixels row by row, as Conv's kernel [D, 1, P, P]
    for (let pi = 0; pi < side; pi++)
      for (let pj = 0; pj < side; pj++) {
        const o = (pi * side + pj) * P * P;
        for (let u = 0; u < P; u++) for (let v = 0; v < P; v++) pb[o + u * P + v] = image[(pi * P + u) * S + pj * P + v]!;
      }
    const e = this.patchEmbed.forward(pb);
    const x0 = this.x0;
    const pos = this.posEmbed.value;
    const cls = this.clsToken.value;
    for (let d = 0; d < D; d++) x0[d] = cls[d]! + pos[d]!;
    for (let i = 0; i < e.length; i++) x0[D + i] = e[i]! + pos[D + i]!;
    let x = x0;
    for (const b of this.blocks) x = b.forward(x);
    this.cls.set(x.subarray(0, D));
    return this.head.forward(this.norm.forward(this.cls));
  }

  backward(dLogits: Float32Array): void {
    const D = this.config.dim;
    const dcls = this.norm.backward(this.head.backward(dLogits));
    this.dLast.fill(0);
    this.dLast.set(dcls, 0);
    let g: Float32Array = this.dLast;
    for (let i = this.blocks.length - 1; i >= 0; i--) g = this.blocks[i]!.backward(g);
    const gpos = this.posEmbed.grad;
    for (let i = 0; i < g.length; i++) gpos[i]! += g[i]!;
    const gcls = this.clsToken.grad;
    for (let d = 0; d < D; d++) gcls[d]! += g[d]!;
    this.patchEmbed.backward(g.subarray(D), false);
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
  }

  parameterCount(): number {
    return this.params.reduce((s, p) => s + p.value.length, 0);
  }

  /** Load weights in PyTorch's layouts (what weights() returns); the configuration must match this network's. */
  setWeights(w: VitWeights): void {
    const mismatch = (Object.keys(this.config) as (keyof VitConfig)[]).filter((k) => w.config[k] !== this.config[k]);
    if (mismatch.length) throw new Error(`ViT weights: config differs in ${mismatch.map((k) => `${k} (${w.config[k]} vs ${this.config[k]})`).join(", ")}`);
    const put = (p: Param, v: Float32Array, what: string) => {
      if (v.length !== p.value.length) throw new Error(`ViT weights: ${what} has ${v.length} values, expected ${p.value.length}`);
      p.value.set(v);
    };
    const lin = (l: TokenLinear, a: { weight: Float32Array; bias: Float32Array }) => {
      put(l.weight, a.weight, `${l.name}.weight`);
      put(l.bias, a.bias, `${l.name}.bias`);
    };
    const ln = (l: LayerNorm, a: { weight: Float32Array; bias: Float32Array }) => {
      put(l.gamma, a.weight, `${l.name}.weight`);
      put(l.beta, a.bias, `${l.name}.bias`);
    };
    lin(this.patchEmbed, w.patchEmbed);
    put(this.clsToken, w.clsToken, "cls_token");
    put(this.posEmbed, w.posEmbed, "pos_embed");
    this.blocks.forEach((b, i) => {
      const s = w.blocks[i]!;
      ln(b.norm1, s.norm1);
      lin(b.attn.q, s.q);
      lin(b.attn.k, s.k);
      lin(b.attn.v, s.v);
      lin(b.attn.proj, s.proj);
      ln(b.norm2, s.norm2);
      lin(b.fc1, s.fc1);
      lin(b.fc2, s.fc2);
    });
    ln(this.norm, w.norm);
    lin(this.head, w.head);
  }

  /** A copy of the weights in PyTorch's layouts, for the ONNX exporter. */
  weights(): VitWeights {
    const lin = (l: TokenLinear) => ({ weight: l.weight.value.slice(), bias: l.bias.value.slice() });
    const ln = (l: LayerNorm) => ({ weight: l.gamma.value.slice(), bias: l.beta.value.slice() });
    return {
      config: { ...this.config },
      patchEmbed: lin(this.patchEmbed),
      clsToken: this.clsToken.value.slice(),
      posEmbed: this.posEmbed.value.slice(),
      blocks: this.blocks.map((b) => ({
        norm1: ln(b.norm1), q: lin(b.attn.q), k: lin(b.attn.k), v: lin(b.attn.v), proj: lin(b.attn.proj),
        norm2: ln(b.norm2), fc1: lin(b.fc1), fc2: lin(b.fc2),
      })),
      norm: ln(this.norm),
      head: lin(this.head),
      epsilon: this.norm.epsilon,
    };
  }
}
