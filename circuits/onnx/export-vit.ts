// ONNX exporter for a small vision transformer, node for node what torch.onnx.export (opset 17, batch 1, constant
// folding on) writes for a timm-style ViT: Conv patch embedding -> Reshape -> Transpose, Concat of the class token,
// Add of the positional embedding, pre-norm blocks (LayerNormalization, per-token Linear as MatMul + Add with the
// bias first, heads split by Reshape + Transpose, Q K^T as MatMul, Mul by 1/sqrt(d), Softmax, MatMul with V, heads
// merged by Transpose + Reshape, GELU in its Erf form), the final LayerNormalization, Gather of token 0 and a Gemm
// head. Shapes are static, so every shape operand is a Constant node, as torch folds them.
import { writeFileSync } from "node:fs";
import { attrFloat, attrInt, attrInts, attrTensor, floatTensor, int64Tensor, OnnxGraphBuilder } from "./export.ts";
import { DataType } from "./proto.ts";
import type { TensorMsg } from "./proto.ts";

type Affine = { weight: Float32Array; bias: Float32Array };

/** A ViT's weights in PyTorch's layouts (structurally what circuits/train/transformer.ts's weights() returns). */
export interface VitExportWeights {
  config: { imageSize: number; patchSize: number; dim: number; depth: number; heads: number; mlpDim: number; classes: number };
  /** Conv kernel [dim, 1, patch, patch] and bias [dim]. */
  patchEmbed: Affine;
  clsToken: Float32Array;
  /** [tokens, dim], the class token's row first. */
  posEmbed: Float32Array;
  /** Linear weights [out, in] (nn.Linear's layout), LayerNorm scale and shift as weight and bias. */
  blocks: { norm1: Affine; q: Affine; k: Affine; v: Affine; proj: Affine; norm2: Affine; fc1: Affine; fc2: Affine }[];
  norm: Affine;
  head: Affine;
  epsilon: number;
}

export interface VitExportOptions {
  inputName?: string;
  outputName?: string;
}

/** The operator types the exported graph uses, sorted (the fixture's README and test check against this). */
export const VIT_ONNX_OPS = [
  "Add", "Concat", "Constant", "Conv", "Div", "Erf", "Gather", "Gemm", "LayerNormalization", "MatMul", "Mul", "Reshape", "Softmax", "Transpose",
] as const;

function scalarFloat(value: number): TensorMsg {
  return { name: "", dims: [], dataType: DataType.FLOAT, rawData: new Uint8Array(Float32Array.of(value).buffer) };
}

/** Node names as torch writes them: `<scope>/<Op>`, then `<scope>/<Op>_1`, ... within one module scope. */
class Names {
  private counts = new Map<string, number>();
  next(scope: string, op: string): string {
    const key = `${scope}/${op}`;
    const k = this.counts.get(key) ?? 0;
    this.counts.set(key, k + 1);
    return k === 0 ? key : `${key}_${k}`;
  }
}

function check(w: VitExportWeights): void {
  const { imageSize: S, patchSize: P, dim: D, depth, heads, mlpDim: M, classes: C } = w.config;
  const problems: string[] = [];
  const expect = (what: string, got: number, want: number) => {
    if (got !== want) problems.push(`${what} has ${got} values, expected ${want}`);
  };
  if (S % P !== 0) problems.push(`patch size ${P} does not divide image size ${S}`);
  if (D % heads !== 0) problems.push(`width ${D} is not a multiple of ${heads} heads`);
  if (w.blocks.length !== depth) problems.push(`${w.blocks.length} blocks, config says ${depth}`);
  const T = (S / P) ** 2 + 1;
  expect("patchEmbed.weight", w.patchEmbed.weight.length, D * P * P);
  expect("patchEmbed.bias", w.patchEmbed.bias.length, D);
  expect("clsToken", w.clsToken.length, D);
  expect("posEmbed", w.posEmbed.length, T * D);
  w.blocks.forEach((b, i) => {
    for (const n of ["norm1", "norm2"] as const) {
      expect(`blocks.${i}.${n}.weight`, b[n].weight.length, D);
      expect(`blocks.${i}.${n}.bias`, b[n].bias.length, D);
    }
    for (const n of ["q", "k", "v", "proj"] as const) {
      expect(`blocks.${i}.${n}.weight`, b[n].weight.length, D * D);
      expect(`blocks.${i}.${n}.bias`, b[n].bias.length, D);
    }
    expect(`blocks.${i}.fc1.weight`, b.fc1.weight.length, M * D);
    expect(`blocks.${i}.fc1.bias`, b.fc1.bias.length, M);
    expect(`blocks.${i}.fc2.weight`, b.fc2.weight.length, D * M);
    expect(`blocks.${i}.fc2.bias`, b.fc2.bias.length, D);
  });
  expect("norm.weight", w.norm.weight.length, D);
  expect("head.weight", w.head.weight.length, C * D);
  expect("head.bias", w.head.bias.length, C);
  if (problems.length) throw new Error(`ViT export: ${problems.join("; ")}`);
}

/** Build the ONNX graph of a ViT (input [1, 1, S, S] float, output [1, classes] logits). */
export function buildVitOnnxGraph(w: VitExportWeights, options: VitExportOptions = {}): OnnxGraphBuilder {
  check(w);
  const { imageSize: S, patchSize: P, dim: D, heads: H, mlpDim: M, classes: C } = w.config;
  const E = D / H;
  const N = (S / P) ** 2;
  const T = N + 1;
  const g = new OnnxGraphBuilder(17);
  const names = new Names();
  const node = (scope: string, op: string, inputs: string[], attrs: Parameters<OnnxGraphBuilder["node"]>[3] = [], outputs?: string[]) =>
    g.node(op, names.next(scope, op), inputs, attrs, outputs);
  const constInt64 = (scope: string, values: number[], dims: number[] = [values.length]) =>
    node(scope, "Constant", [], [attrTensor("value", int64Tensor("", dims, values))]);
  const constFloat = (scope: string, value: number) => node(scope, "Constant", [], [attrTensor("value", scalarFloat(value))]);
  // torch names the transposed weight of a Linear applied by MatMul `onnx::MatMul_<k>`
  let matmulWeights = 0;
  const linear3d = (scope: string, x: string, l: Affine, inF: number, outF: number): string => {
    const wt = new Float32Array(inF * outF);
    for (let n = 0; n < outF; n++) for (let k = 0; k < inF; k++) wt[k * outF + n] = l.weight[n * inF + k]!;
    const wName = g.initializer(floatTensor(`onnx::MatMul_${1000 + matmulWeights++}`, [inF, outF], wt));
    const bName = g.initializer(floatTensor(`${scope.slice(1).replaceAll("/", ".")}.bias`, [outF], l.bias));
    const mm = node(scope, "MatMul", [x, wName]);
    return node(scope, "Add", [bName, mm]);
  };
  const layerNorm = (scope: string, x: string, l: Affine): string => {
    const prefix = scope.slice(1).replaceAll("/", ".");
    const wName = g.initializer(floatTensor(`${prefix}.weight`, [D], l.weight));
    const bName = g.initializer(floatTensor(`${prefix}.bias`, [D], l.bias));
    return node(scope, "LayerNormalization", [x, wName, bName], [attrInt("axis", -1), attrFloat("epsilon", w.epsilon)]);
  };

  const input = g.input(options.inputName ?? "input", [1, 1, S, S]);
  // patch embedding: Conv(kernel = stride = P) -> x.flatten(2) -> x.transpose(1, 2)
  const pw = g.initializer(floatTensor("patch_embed.proj.weight", [D, 1, P, P], w.patchEmbed.weight));
  const pb = g.initializer(floatTensor("patch_embed.proj.bias", [D], w.patchEmbed.bias));
  let x = node("/patch_embed/proj", "Conv", [input, pw, pb], [
    attrInts("dilations", [1, 1]), attrInt("group", 1), attrInts("kernel_shape", [P, P]), attrInts("pads", [0, 0, 0, 0]), attrInts("strides", [P, P]),
  ]);
  x = node("/patch_embed", "Reshape", [x, constInt64("/patch_embed", [1, D, N])], [attrInt("allowzero", 0)]);
  x = node("/patch_embed", "Transpose", [x], [attrInts("perm", [0, 2, 1])]);
  // torch.cat((cls_token.expand(B, -1, -1), x), dim=1): the expand folds away at batch 1
  const cls = g.initializer(floatTensor("cls_token", [1, 1, D], w.clsToken));
  x = node("", "Concat", [cls, x], [attrInt("axis", 1)]);
  x = node("", "Add", [x, g.initializer(floatTensor("pos_embed", [1, T, D], w.posEmbed))]);

  w.blocks.forEach((b, i) => {
    const s = `/blocks.${i}`;
    const a = `${s}/attn`;
    const h = layerNorm(`${s}/norm1`, x, b.norm1);
    // q.reshape(B, N, H, E).transpose(1, 2); k's transpose(-2, -1) fuses into its head split as perm [0, 2, 3, 1]
    const heads = (name: "q" | "k" | "v", perm: number[]) => {
      const y = linear3d(`${a}/${name}`, h, b[name], D, D);
      const r = node(a, "Reshape", [y, constInt64(a, [1, T, H, E])], [attrInt("allowzero", 0)]);
      return node(a, "Transpose", [r], [attrInts("perm", perm)]);
    };
    const q = heads("q", [0, 2, 1, 3]);
    const kT = heads("k", [0, 2, 3, 1]);
    const v = heads("v", [0, 2, 1, 3]);
    let att = node(a, "MatMul", [q, kT]);
    att = node(a, "Mul", [att, constFloat(a, 1 / Math.sqrt(E))]);
    att = node(a, "Softmax", [att], [attrInt("axis", -1)]);
    let ctx = node(a, "MatMul", [att, v]);
    ctx = node(a, "Transpose", [ctx], [attrInts("perm", [0, 2, 1, 3])]);
    ctx = node(a, "Reshape", [ctx, constInt64(a, [1, T, D])], [attrInt("allowzero", 0)]);
    const attnOut = linear3d(`${a}/proj`, ctx, b.proj, D, D);
    x = node(s, "Add", [x, attnOut]);
    // MLP: fc1 -> GELU (erf form: x * 0.5 * (1 + erf(x / sqrt 2)) as torch writes it) -> fc2
    const m = `${s}/mlp`;
    const f1 = linear3d(`${m}/fc1`, layerNorm(`${s}/norm2`, x, b.norm2), b.fc1, D, M);
    const act = `${m}/act`;
    const div = node(act, "Div", [f1, constFloat(act, Math.SQRT2)]);
    const erf = node(act, "Erf", [div]);
    const plus1 = node(act, "Add", [erf, constFloat(act, 1)]);
    const mul = node(act, "Mul", [f1, plus1]);
    const gelu = node(act, "Mul", [mul, constFloat(act, 0.5)]);
    x = node(s, "Add", [x, linear3d(`${m}/fc2`, gelu, b.fc2, M, D)]);
  });

  x = layerNorm("/norm", x, w.norm);
  // x[:, 0]: Gather of index 0 on the token axis
  x = node("", "Gather", [x, constInt64("", [0], [])], [attrInt("axis", 1)]);
  const outputName = options.outputName ?? "logits";
  const hw = g.initializer(floatTensor("head.weight", [C, D], w.head.weight));
  const hb = g.initializer(floatTensor("head.bias", [C], w.head.bias));
  g.node("Gemm", "/head/Gemm", [x, hw, hb], [attrFloat("alpha", 1), attrFloat("beta", 1), attrInt("transB", 1)], [outputName]);
  g.output(outputName, [1, C]);
  return g;
}

/** Serialize a ViT to ONNX bytes. */
export function exportVitOnnx(w: VitExportWeights, options: VitExportOptions = {}): Uint8Array {
  return buildVitOnnxGraph(w, options).encode().onnx;
}

/** Write a ViT to `path` as ONNX. */
export function writeVitOnnx(path: string, w: VitExportWeights, options: VitExportOptions = {}): void {
  writeFileSync(path, exportVitOnnx(w, options));
}
