// The transformer primitives at ViT-on-MNIST sizes: constraints per element of each direct-route gadget
// (circuits/compiler/gadgets-nonlinear.ts) and the error of the exact integer function (nonlinear.ts) against float64
// on seeded random data. Prints a markdown table (docs/benchmarks.md, "Transformer primitives"). A few seconds.
//
// Usage: npx tsx scripts/bench/nonlinear.ts
import { Builder, lin, type Lin } from "../../circuits/compiler/emit.ts";
import { mulberry32 } from "../lib/random.ts";
import { geluGadget, layerNormGadget, matmulGadget, softmaxGadget } from "../../circuits/compiler/gadgets-nonlinear.ts";
import {
  geluFloat,
  geluParams,
  geluQ,
  layerNormParams,
  layerNormQ,
  matmulParams,
  matmulQ,
  softmaxParams,
  softmaxQ,
  type GeluForm,
} from "../../circuits/compiler/nonlinear.ts";

const rng = mulberry32;

const BITS = 12; // activations: 12-bit signed
const IN_SCALE = 1 / 128; // +-16 in float units
const OUT_SCALE = 1 / 256; // LayerNorm out: +-8

/** Constraints of a gadget on `n` fresh (already range-checked) inputs. */
function count(n: number, body: (cs: Builder, x: Lin[]) => unknown): number {
  const cs = new Builder(null, false, false);
  const x = Array.from({ length: n }, () => lin(cs.alloc(() => 0n)));
  body(cs, x);
  return cs.nConstraints;
}

const randSigned = (r: () => number, n: number, spread: number): bigint[] =>
  Array.from({ length: n }, () => BigInt(Math.round((r() * 2 - 1) * spread * (2 ** (BITS - 1) - 1))));

interface Row {
  op: string;
  elements: number;
  constraints: number;
  maxErr: number;
  meanErr: number;
  unit: string;
  lsb: number;
  data: string;
}

function errors(pairs: [number, number][]): { maxErr: number; meanErr: number } {
  let max = 0;
  let tot = 0;
  for (const [a, b] of pairs) {
    const e = Math.abs(a - b);
    max = Math.max(max, e);
    tot += e;
  }
  return { maxErr: max, meanErr: tot / pairs.length };
}

const rows: Row[] = [];

{
  const n = 17;
  const p = softmaxParams({ n, inBits: BITS, inScale: IN_SCALE });
  const constraints = count(n, (cs, x) => softmaxGadget(cs, p, x));
  const r = rng(1);
  const pairs: [number, number][] = [];
  for (let k = 0; k < 500; k++) {
    const x = randSigned(r, n, 0.4);
    const f = x.map((v) => Number(v) * IN_SCALE);
    const m = Math.max(...f);
    const ex = f.map((v) => Math.exp(v - m));
    const s = ex.reduce((a, b) => a + b, 0);
    softmaxQ(p, x).forEach((y, i) => pairs.push([Number(y) / 2 ** p.outFrac, ex[i]! / s]));
  }
  rows.push({ op: "softmax (17 tokens)", elements: n, constraints, ...errors(pairs), unit: "probability", lsb: 2 ** -p.outFrac, data: "500 vectors, logits uniform in +-6.4" });
}

for (const n of [32, 64]) {
  const r = rng(n);
  const gamma = Array.from({ length: n }, () => 0.5 + r());
  const beta = Array.from({ length: n }, () => r() - 0.5);
  const p = layerNormParams({ n, inBits: BITS, inScale: IN_SCALE, gamma, beta, eps: 1e-5, outBits: BITS, outScale: OUT_SCALE });
  const constraints = count(n, (cs, x) => layerNormGadget(cs, p, x));
  const pairs: [number, number][] = [];
  for (let k = 0; k < 300; k++) {
    const x = randSigned(r, n, k % 3 === 0 ? 0.02 : 0.5);
    const f = x.map((v) => Number(v) * IN_SCALE);
    const mean = f.reduce((a, b) => a + b, 0) / n;
    const v = f.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    layerNormQ(p, x).forEach((y, i) => pairs.push([Number(y) * OUT_SCALE, (gamma[i]! * (f[i]! - mean)) / Math.sqrt(v + 1e-5) + beta[i]!]));
  }
  rows.push({ op: `LayerNorm (${n})`, elements: n, constraints, ...errors(pairs), unit: "output", lsb: OUT_SCALE, data: "300 vectors (1 in 3 of small variance), random gamma, beta" });
}

for (const form of ["erf", "tanh"] as GeluForm[]) {
  const p = geluParams({ inBits: BITS, inScale: IN_SCALE, outBits: BITS, outScale: IN_SCALE, form });
  const constraints = count(1, (cs, x) => geluGadget(cs, p, x));
  const xs = Array.from({ length: 1 << BITS }, (_, i) => BigInt(i) - (1n << BigInt(BITS - 1)));
  const pairs: [number, number][] = geluQ(p, xs).map((y, i) => [Number(y) * IN_SCALE, geluFloat(Number(xs[i]!) * IN_SCALE, form)]);
  rows.push({ op: `GELU, ${form} form`, elements: 1, constraints, ...errors(pairs), unit: "output", lsb: IN_SCALE, data: `every 12-bit input (+-16) vs float ${form} GELU` });
}

{
  const [n, k, m] = [17, 32, 17];
  const p = matmulParams({ n, k, m, aBits: BITS, bBits: BITS, aScale: IN_SCALE, bScale: IN_SCALE, outBits: BITS, outScale: 1 / 64 });
  const constraints = count(n * k + k * m, (cs, x) => matmulGadget(cs, p, x.slice(0, n * k), x.slice(n * k)));
  const r = rng(7);
  const pairs: [number, number][] = [];
  for (let t = 0; t < 20; t++) {
    const a = randSigned(r, n * k, 0.1);
    const b = randSigned(r, k * m, 0.1);
    const y = matmulQ(p, a, b);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        let f = 0;
        for (let l = 0; l < k; l++) f += Number(a[i * k + l]!) * IN_SCALE * Number(b[l * m + j]!) * IN_SCALE;
        pairs.push([Number(y[i * m + j]!) / 64, f]);
      }
  }
  rows.push({ op: "MatMul 17x32 @ 32x17", elements: n * m, constraints, ...errors(pairs), unit: "output", lsb: 1 / 64, data: "20 pairs, entries uniform in +-1.6" });
}

const fmt = (v: number): string => (v === 0 ? "0" : v.toExponential(2));
console.log(`Activations ${BITS}-bit signed at scale 1/128 in, LayerNorm out at 1/256, matmul out at 1/64, softmax out at 2^-12.\n`);
console.log("| op | elements | constraints | per element | max error | mean error | max error in output steps | data |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.op} | ${r.elements} | ${r.constraints.toLocaleString("en-US")} | ${(r.constraints / r.elements).toFixed(1)} | ${fmt(r.maxErr)} | ${fmt(r.meanErr)} | ${(r.maxErr / r.lsb).toFixed(2)} | ${r.data} |`,
  );
}
