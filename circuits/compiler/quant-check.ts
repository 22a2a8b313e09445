// A quant.json is input a stranger can write: a model owner publishes it, providers and challengers load it, and
// the circuit is synthesize(quant.json). Every width the circuit relies on (a requantization's quotient width, the
// exponent width of softmax, the rsqrt bounds of LayerNorm, the accumulator bounds of the fast engine) is re-derived
// here from the integer constants it bounds, and must equal what the file says; every op must read earlier ops,
// whose values fit the widths it declares for them; sizes must agree. A file that fails any of this is refused,
// naming the op, before an engine or a circuit is built from it: otherwise a crafted width could let the circuit
// accept a wrong output (a decomposition wider than the field), or make an honest claim unprovable.
import { isqrt, quotientBits } from "./nonlinear.ts";
import { enginePlan } from "./engine-plan.ts";
import { commitValues, MAX_FIELD_BITS, opInputs, type QuantizedModel } from "./quantize.ts";

export class QuantFileError extends Error {
  override name = "QuantFileError";
}

const bitLength = (v: bigint): number => (v <= 0n ? 0 : v.toString(2).length);
const abs = (v: bigint): bigint => (v < 0n ? -v : v);
const maxAbs = (xs: readonly bigint[]): bigint => xs.reduce((m, v) => (abs(v) > m ? abs(v) : m), 0n);
const pow2 = (n: number): bigint => 1n << BigInt(n);
/** Largest number of values one op may hold (a 2^24-element tensor is far beyond what a circuit of 2^28 holds). */
const MAX_VALUES = 1 << 24;
/**
 * The work a file may ask of the engine, which a challenger runs for every claim it checks: the values all ops
 * together hold (the engine keeps them all) and the engine's steps, each op's outputs times the inputs each one
 * reads (a window, a dot product, an add's terms) plus the values it reads. A value other than a layout's costs a range
 * check of 8 or more constraints and a nonlinear one about 80, so a circuit within the largest powers of tau of bn128
 * (2^28 constraints) holds fewer than 2^25 values, and a transformer fewer than 2^22. Sequential files of widths
 * below 2^53 run on the float64 plan (about a nanosecond a step); graph files and wider ones on the bigint engine
 * (about 25 ns a step on 8- to 16-bit values; more on wider ones and for a softmax, LayerNorm or GELU value, weighted
 * below), hence two budgets: what they stop is a small file whose engine run takes hours or all memory, stalling every
 * challenger that loads it past the challenge window. The model input counts among the values.
 */
const BUDGET = {
  sequential: { values: 2 ** 26, steps: 2 ** 32 },
  graph: { values: 2 ** 24, steps: 2 ** 30 },
};
/** Steps charged per value of a softmax, LayerNorm or GELU (measured: 2 to 4 microseconds each on the bigint engine). */
const NONLINEAR_STEPS = 160;
/** Values a conv's windows may hold at once (the float64 plan lays them out: im2col, 8 bytes each). */
const MAX_CONV_WINDOWS = 2 ** 26;
/** Distinct softmax exp polynomials one file may carry (each is checked on all 2^expFracBits points). */
const MAX_EXP_POLYS = 16;
const SEQUENTIAL_KINDS = new Set(["linear", "maxpool", "relu", "argmax"]);

/** Throws QuantFileError unless every op of `q` is consistent (see the file comment). */
export function checkQuant(q: QuantizedModel): void {
  const fail = (why: string): never => {
    throw new QuantFileError(`quant.json (${String(q.name)}): ${why}`);
  };
  // (inside an op, `at` below names it; `on` is where these report)
  let on = fail;
  const int = (v: unknown, what: string, lo: number, hi: number): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) on(`${what} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    return v as number;
  };
  const shape = (s: unknown, what: string): number => {
    if (!Array.isArray(s) || s.length === 0 || s.length > 8) on(`${what} must be a list of 1 to 8 dimensions`);
    let n = 1;
    for (const d of s as unknown[]) n *= int(d, what, 1, MAX_VALUES);
    if (n > MAX_VALUES) on(`${what} holds ${n} values, more than ${MAX_VALUES}`);
    return n;
  };
  const list = (v: unknown, what: string): unknown[] => {
    if (!Array.isArray(v)) on(`${what} must be a list`);
    return v as unknown[];
  };
  int(q.inputBits, "inputBits", 2, 64);
  int(q.outputBits, "outputBits", 2, 248);
  int(q.weightBits, "weightBits", 2, 64);
  int(q.activationBits, "activationBits", 2, 248);
  int(q.commitBits, "commitBits", 2, 248);
  const inputSize = shape(q.inputShape, "inputShape");
  if (!Array.isArray(q.ops) || q.ops.length === 0) fail("ops must be a non-empty list");
  const graph = q.version === 2;
  const sizes: number[] = [];
  const bits: number[] = [];
  let totalValues = inputSize;
  let totalSteps = 0;
  /** Totals after each op, judged at the end against the budget of the engine that will run the file. */
  const totals: Array<[values: number, steps: number]> = [];
  const expPolys = new Set<string>();
  q.ops.forEach((op, k) => {
    const at = (why: string): never => fail(`op ${k} (${String(op?.name)}, ${String(op?.kind)}): ${why}`);
    on = at;
    if (typeof op !== "object" || op === null || typeof op.name !== "string") at("not an op");
    if (!graph && (!SEQUENTIAL_KINDS.has(op.kind) || op.inputs !== undefined || (op.kind === "linear" && op.rows !== undefined))) {
      at("a graph op (or inputs, rows) in a version 1 file");
    }
    if (graph && !Array.isArray(op.inputs)) at("every op of a version 2 file names its inputs");
    const ins = opInputs(q.ops, k);
    ins.forEach((i) => {
      if (!Number.isInteger(i) || i < -1 || i >= k) at(`input ${String(i)} is not the model input (-1) or an earlier op`);
    });
    const inSize = (j: number): number => (ins[j]! < 0 ? inputSize : sizes[ins[j]!]!);
    const inBits = (j: number): number => (ins[j]! < 0 ? q.inputBits : bits[ins[j]!]!);
    /** The values read at position j fit the width the op declares for them. */
    const reads = (j: number, declared: number, what: string): void => {
      if (inBits(j) > declared) at(`${what} are ${inBits(j)}-bit values, wider than the ${declared} bits it declares`);
    };
    const arity = (n: number): void => {
      if (ins.length !== n) at(`reads ${ins.length} inputs, expected ${n}`);
    };
    const fits = (totalBits: number, what: string): void => {
      if (totalBits > MAX_FIELD_BITS) at(`${what} needs ${totalBits} bits, over the ${MAX_FIELD_BITS}-bit field bound`);
    };
    const big = (v: unknown, what: string): bigint => {
      if (typeof v === "bigint") return v;
      if (typeof v === "string" && /^-?\d{1,400}$/.test(v)) return BigInt(v);
      if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
      return at(`${what} = ${JSON.stringify(v)} is not an integer`);
    };
    let size = 0;
    let outBits = 0;
    /** Inputs each output sums (linear and matmul); 1 for the others. */
    let perOutput = 1;
    switch (op.kind) {
      case "linear": {
        arity(1);
        const inN = shape(op.inShape, "inShape");
        size = shape(op.outShape, "outShape");
        if (inN !== inSize(0)) at(`inShape holds ${inN} values, its input ${inSize(0)}`);
        const inB = int(op.inBits, "inBits", 2, 64);
        reads(0, inB, "its inputs");
        outBits = int(op.outBits, "outBits", 2, 248);
        const channels = op.multiplier?.length ?? 0;
        if (channels < 1 || op.shift?.length !== channels || op.qBits?.length !== channels || op.bias?.length !== channels || op.accBound?.length !== channels) {
          at("multiplier, shift, qBits, bias and accBound must have one entry per output channel");
        }
        if (!["dense", "conv", "avgpool"].includes(op.source)) at(`source ${String(op.source)} is not dense, conv or avgpool`);
        const rows = op.rows === undefined ? 1 : int(op.rows, "rows", 1, MAX_VALUES);
        if (op.rows !== undefined && op.source !== "dense") at("rows is for a dense layer");
        const w = list(op.weight, "weight").map((v, i) => {
          // the committed route range-checks a weight to weightBits signed: [-2^(b-1), 2^(b-1) - 1]
          if (typeof v !== "number" || !Number.isSafeInteger(v) || v < -(2 ** (q.weightBits - 1)) || v > 2 ** (q.weightBits - 1) - 1) at(`weight ${i} = ${String(v)} is not a ${q.weightBits}-bit integer`);
          return BigInt(v as number);
        });
        list(op.bias, "bias");
        list(op.accBound, "accBound");
        let fanIn = 0;
        if (op.source === "dense") {
          if (w.length % channels !== 0) at("weight does not split into rows of one output channel each");
          fanIn = w.length / channels;
          if (inN !== rows * fanIn || size !== rows * channels) at(`a dense of ${rows} row(s) of ${fanIn} -> ${channels} does not match inShape and outShape`);
        } else {
          const [C, H, W] = op.inShape;
          const [OC, OH, OW] = op.outShape;
          if (op.inShape.length !== 3 || op.outShape.length !== 3 || OC !== channels) at("conv and avgpool map [C, H, W] to [channels, H', W']");
          const kernel = list(op.kernel, "kernel");
          const stride = list(op.stride, "stride");
          const pads = list(op.pads, "pads");
          if (kernel.length !== 2 || stride.length !== 2 || pads.length !== 4) at("kernel and stride take 2 values, pads 4");
          const [kh, kw] = [int(kernel[0], "kernel", 1, 1 << 12), int(kernel[1], "kernel", 1, 1 << 12)];
          const [sh, sw] = [int(stride[0], "stride", 1, 1 << 12), int(stride[1], "stride", 1, 1 << 12)];
          const [pt, pl, pb, pr] = pads.map((p) => int(p, "pads", 0, 1 << 12));
          if (OH !== Math.floor((H! + pt! + pb! - kh) / sh) + 1 || OW !== Math.floor((W! + pl! + pr! - kw) / sw) + 1) at("outShape does not follow from the kernel, stride and pads");
          if (op.source === "conv") {
            if (w.length !== OC! * C! * kh * kw) at("weight does not hold channels x inChannels x kernel values");
            fanIn = C! * kh * kw;
          } else {
            if (w.length !== 0 || OC !== C) at("avgpool keeps the channels and has no weights");
            fanIn = kh * kw;
          }
          if (op.source === "conv" && OH! * OW! * fanIn > MAX_CONV_WINDOWS) at(`its windows hold ${OH! * OW! * fanIn} values at once, more than 2^${Math.log2(MAX_CONV_WINDOWS)}`);
          const lim = 2 ** (inB - 1);
          if (op.padValue !== undefined) list(op.padValue, "padValue");
          op.padValue?.forEach((v, c) => {
            if (!Number.isSafeInteger(v) || v < -lim || v >= lim || op.padValue!.length !== C) at(`padValue ${c} = ${v} is not an input value of ${inB} bits`);
          });
        }
        perOutput = fanIn;
        for (let c = 0; c < channels; c++) {
          const M = big(op.multiplier[c], `multiplier[${c}]`);
          const b = big(op.bias[c], `bias[${c}]`);
          const s = int(op.shift[c], `shift[${c}]`, 0, MAX_FIELD_BITS);
          if (M < 1n) at(`multiplier[${c}] must be positive`);
          let sumW = 0n;
          if (op.source === "avgpool") sumW = BigInt(fanIn);
          else for (let i = c * fanIn; i < (c + 1) * fanIn; i++) sumW += abs(w[i]!);
          const acc = sumW * pow2(inB - 1) + abs(b);
          if (big(op.accBound[c], `accBound[${c}]`) !== acc) at(`accBound[${c}] is not the bound its weights, bias and input width give (${acc})`);
          const Q = quotientBits(acc, M, s);
          if (op.qBits[c] !== Q) at(`qBits[${c}] = ${op.qBits[c]} is not the quotient width its bound gives (${Q})`);
          fits(s + Q, `requantization of channel ${c}`);
        }
        break;
      }
      case "maxpool": {
        arity(1);
        if (shape(op.inShape, "inShape") !== inSize(0)) at("inShape does not match its input");
        size = shape(op.outShape, "outShape");
        outBits = int(op.bits, "bits", 2, 248);
        reads(0, outBits, "its inputs");
        const [C, H, W] = op.inShape;
        const [OC, OH, OW] = op.outShape;
        const [kh, kw] = [int(op.kernel?.[0], "kernel", 1, 1 << 12), int(op.kernel?.[1], "kernel", 1, 1 << 12)];
        const [sh, sw] = [int(op.stride?.[0], "stride", 1, 1 << 12), int(op.stride?.[1], "stride", 1, 1 << 12)];
        const pads = list(op.pads, "pads").map((p) => int(p, "pads", 0, 1 << 12));
        if (op.inShape.length !== 3 || op.outShape.length !== 3 || pads.length !== 4 || OC !== C) at("maxpool maps [C, H, W] to [C, H', W']");
        if (OH !== Math.floor((H! + pads[0]! + pads[2]! - kh) / sh) + 1 || OW !== Math.floor((W! + pads[1]! + pads[3]! - kw) / sw) + 1) at("outShape does not follow from the kernel, stride and pads");
        if (pads[0]! >= kh || pads[2]! >= kh || pads[1]! >= kw || pads[3]! >= kw) at("a window lies wholly in the padding");
        perOutput = kh * kw;
        break;
      }
      case "relu":
        arity(1);
        size = shape(op.shape, "shape");
        if (size !== inSize(0)) at("shape does not match its input");
        outBits = int(op.bits, "bits", 2, 248);
        reads(0, outBits, "its inputs");
        break;
      case "argmax":
        arity(1);
        if (int(op.n, "n", 1, MAX_VALUES) !== inSize(0)) at("n does not match its input");
        reads(0, int(op.bits, "bits", 2, 248), "its inputs");
        size = 1;
        outBits = bitLength(BigInt(op.n)) + 1;
        break;
      case "layout": {
        size = shape(op.outShape, "outShape");
        outBits = int(op.bits, "bits", 2, 248);
        if (ins.length < 1) at("reads no input");
        let total = 0;
        ins.forEach((_, j) => {
          reads(j, outBits, `its input ${j}'s values`);
          total += inSize(j);
        });
        const consts = list(op.constants, "constants").map((c, i) => big(c, `constants[${i}]`));
        const lim = pow2(outBits - 1);
        consts.forEach((c, i) => {
          if (c < -lim || c >= lim) at(`constant ${i} = ${c} does not fit in ${outBits} bits`);
        });
        if (list(op.src, "src").length !== size) at("src must hold one source per output value");
        op.src.forEach((s, i) => {
          if (!Number.isInteger(s) || s >= total || s < -consts.length) at(`src[${i}] = ${s} is neither an input value (0..${total - 1}) nor a constant`);
        });
        break;
      }
      case "add": {
        size = shape(op.shape, "shape");
        outBits = int(op.outBits, "outBits", 2, 248);
        if (ins.length < 1 || list(op.multiplier, "multiplier").length !== ins.length || list(op.inBits, "inBits").length !== ins.length) at("needs one multiplier and one input width per input");
        list(op.bias, "bias");
        let acc = 0n;
        ins.forEach((_, j) => {
          if (inSize(j) !== size) at(`input ${j} holds ${inSize(j)} values, the add ${size}`);
          const b = int(op.inBits[j], `inBits[${j}]`, 2, 248);
          reads(j, b, `its input ${j}'s values`);
          const M = big(op.multiplier[j], `multiplier[${j}]`);
          if (M < 1n) at(`multiplier[${j}] must be positive`);
          acc += M * pow2(b - 1);
        });
        if (op.bias.length !== 0 && op.bias.length !== size) at("bias must be empty or hold one value per element");
        acc += maxAbs(op.bias.map((b, i) => big(b, `bias[${i}]`)));
        const s = int(op.shift, "shift", 0, MAX_FIELD_BITS);
        const Q = quotientBits(acc, 1n, s);
        if (op.qBits !== Q) at(`qBits = ${op.qBits} is not the quotient width its bound gives (${Q})`);
        fits(s + Q, "its requantization");
        break;
      }
      case "matmul": {
        arity(2);
        const p = op.params;
        const batch = int(op.batch, "batch", 1, MAX_VALUES);
        const [n, kk, m] = [int(p?.n, "params.n", 1, MAX_VALUES), int(p.k, "params.k", 1, MAX_VALUES), int(p.m, "params.m", 1, MAX_VALUES)];
        if (batch * n * kk !== inSize(0) || batch * kk * p.m !== inSize(1)) at("batch x n x k and batch x k x m do not match its inputs");
        size = batch * n * m;
        if (size > MAX_VALUES) at(`outputs ${size} values, more than ${MAX_VALUES}`);
        perOutput = kk * Math.ceil(Math.max(p.aBits, p.bBits) / 16); // wide operands: slower bigint products
        const [aB, bB] = [int(p.aBits, "params.aBits", 2, 64), int(p.bBits, "params.bBits", 2, 64)];
        reads(0, aB, "A's values");
        reads(1, bB, "B's values");
        outBits = int(p.outBits, "params.outBits", 2, 248);
        const M = big(p.M, "params.M");
        if (M < 1n) at("params.M must be positive");
        const s = int(p.s, "params.s", 0, MAX_FIELD_BITS);
        const Q = quotientBits(BigInt(kk) * pow2(aB - 1) * pow2(bB - 1), M, s);
        if (p.Q !== Q) at(`params.Q = ${p.Q} is not the quotient width its bound gives (${Q})`);
        fits(s + Q, "its requantization");
        break;
      }
      case "softmax": {
        arity(1);
        const p = op.params;
        size = shape(op.shape, "shape");
        if (size !== inSize(0)) at("shape does not match its input");
        const axis = int(op.axis, "axis", 0, op.shape.length - 1);
        const n = int(p?.n, "params.n", 1, 1 << 20);
        if (n !== op.shape[axis]) at("params.n is not the length of the axis");
        const inB = int(p.inBits, "params.inBits", 2, 64);
        reads(0, inB, "its inputs");
        const F = int(p.expFrac, "params.expFrac", 2, 128);
        const G = int(p.expFracBits, "params.expFracBits", 1, 16);
        const H = int(p.expDrop, "params.expDrop", 0, 32);
        const P = int(p.outFrac, "params.outFrac", 1, 60);
        const expMul = big(p.expMul, "params.expMul");
        if (expMul < 1n) at("params.expMul must be positive");
        if (!Array.isArray(p.poly) || p.poly.length < 2 || p.poly.length > 7) at("params.poly must hold 2 to 7 coefficients");
        const poly = p.poly.map((c, i) => big(c, `params.poly[${i}]`));
        const d = poly.length - 1;
        if (poly[0] !== pow2(F)) at("params.poly[0] must be 2^expFrac (exp(0) = 1)");
        if (p.shiftBits !== Math.max(1, Math.ceil(Math.log2(F)))) at("params.shiftBits is not the width expFrac gives");
        const wBits = Math.max(bitLength((pow2(inB) - 1n) * expMul + (H > 0 ? pow2(H - 1) : 0n)), H + G);
        if (p.wBits !== wBits) at(`params.wBits = ${p.wBits} is not the exponent width its inputs give (${wBits})`);
        if (p.recipBits !== F + P + 4) at("params.recipBits must be expFrac + outFrac + 4");
        const D = 2 ** p.shiftBits - 1 + d * G;
        fits(D + F + 1, "its exp");
        fits(wBits, "its exponent");
        fits(p.recipBits + 1 + bitLength(BigInt(n)), "its normalization");
        // the polynomial stays in (0, 2^(F + dG)] on every r, so each exp lies in [0, 2^F] (what the bounds assume);
        // checked once per distinct polynomial, and a file carries few (an honest one, one per softmax setting)
        const top = pow2(F + d * G);
        const key = `${G}:${poly.join(",")}`;
        if (!expPolys.has(key) && expPolys.size >= MAX_EXP_POLYS) at(`more than ${MAX_EXP_POLYS} distinct exp polynomials in one file`);
        for (let r = 0n; !expPolys.has(key) && r < pow2(G); r++) {
          let v = 0n;
          let rp = 1n;
          for (let i = 0; i <= d; i++) {
            v += poly[i]! * rp * pow2(G * (d - i));
            rp *= r;
          }
          if (v <= 0n || v > top) at(`the exp polynomial leaves (0, 1] at r = ${r}`);
        }
        expPolys.add(key);
        outBits = P + 2;
        break;
      }
      case "layerNorm": {
        arity(1);
        const p = op.params;
        size = shape(op.shape, "shape");
        const n = int(p?.n, "params.n", 1, 1 << 20);
        if (size !== inSize(0) || op.shape[op.shape.length - 1] !== n) at("shape does not match its input, or its last axis is not params.n");
        const inB = int(p.inBits, "params.inBits", 2, 64);
        reads(0, inB, "its inputs");
        outBits = int(p.outBits, "params.outBits", 2, 248);
        if (!Array.isArray(p.gamma) || !Array.isArray(p.bias) || p.gamma.length !== n || p.bias.length !== n) at("params.gamma and params.bias must hold n values each");
        const gamma = p.gamma.map((g, i) => big(g, `params.gamma[${i}]`));
        const bias = p.bias.map((b, i) => big(b, `params.bias[${i}]`));
        const epsQ = big(p.epsQ, "params.epsQ");
        if (epsQ < 1n) at("params.epsQ must be at least 1");
        const K = int(p.K, "params.K", 1, 124);
        const M = big(p.M, "params.M");
        if (M < 1n) at("params.M must be positive");
        const s = int(p.s, "params.s", 0, MAX_FIELD_BITS);
        const vMax = BigInt(n) * (BigInt(n) * (pow2(inB) - 1n)) ** 2n + epsQ;
        fits(2 * K + 2 + bitLength(vMax), "its rsqrt check");
        const hiBits = bitLength((pow2(K) + isqrt(vMax) + 1n) ** 2n);
        if (p.hiBits !== hiBits) at(`params.hiBits = ${p.hiBits} is not the width its bounds give (${hiBits})`);
        fits(hiBits, "its rsqrt check");
        const Q = quotientBits(pow2(K) * maxAbs(gamma) + maxAbs(bias), M, s);
        if (p.Q !== Q) at(`params.Q = ${p.Q} is not the quotient width its bound gives (${Q})`);
        fits(s + Q, "its requantization");
        break;
      }
      case "gelu": {
        arity(1);
        const p = op.params;
        size = shape(op.shape, "shape");
        if (size !== inSize(0)) at("shape does not match its input");
        const inB = int(p?.inBits, "params.inBits", 2, 40);
        reads(0, inB, "its inputs");
        outBits = int(p.outBits, "params.outBits", 2, 64);
        const w = int(p.segLow, "params.segLow", 0, inB);
        const J = int(p.segBits, "params.segBits", 0, Math.min(8, inB - w));
        if (!Array.isArray(p.coeffs) || p.coeffs.length !== 2 ** J) at("params.coeffs must hold one list per segment (2^segBits)");
        const d = (p.coeffs[0]?.length ?? 0) - 1;
        if (d < 1 || d > 4) at("params.coeffs must hold 2 to 5 coefficients per segment");
        const reluMul = big(p.reluMul, "params.reluMul");
        if (reluMul < 1n) at("params.reluMul must be positive");
        const shift = int(p.shift, "params.shift", 0, MAX_FIELD_BITS);
        let gBound = 0n;
        p.coeffs.forEach((cs, seg) => {
          if (!Array.isArray(cs) || cs.length !== d + 1) at(`params.coeffs[${seg}] must hold ${d + 1} coefficients`);
          let b = 0n;
          cs.forEach((c, kk) => (b += abs(big(c, `params.coeffs[${seg}][${kk}]`)) * pow2(w * kk) * pow2(w * (d - kk))));
          if (b > gBound) gBound = b;
        });
        const Q = quotientBits(reluMul * pow2(inB - 1) + gBound, 1n, shift);
        if (p.Q !== Q) at(`params.Q = ${p.Q} is not the quotient width its bound gives (${Q})`);
        fits(shift + Q, "its requantization");
        break;
      }
      default:
        at("unknown op kind");
    }
    sizes.push(size);
    bits.push(outBits);
    if (op.kind === "softmax" || op.kind === "layerNorm" || op.kind === "gelu") perOutput = NONLINEAR_STEPS;
    totalValues += size;
    totalSteps += size * Math.max(perOutput, ins.length);
    ins.forEach((_, j) => (totalSteps += inSize(j)));
    totals.push([totalValues, totalSteps]);
    // (past the budget already, the larger one if the engine is not known yet: no need to read further)
    const first = graph ? BUDGET.graph : BUDGET.sequential;
    if (totalValues > first.values || totalSteps > first.steps) overBudget(first, k);
  });
  function overBudget(budget: { values: number; steps: number }, k: number): never {
    const op = q.ops[k]!;
    const [values, steps] = totals[k]!;
    const why = values > budget.values
      ? `the ops up to here hold ${values} values, more than 2^${Math.log2(budget.values)}`
      : `the ops up to here take ${steps} engine steps, more than 2^${Math.log2(budget.steps)}`;
    return fail(`op ${k} (${String(op.name)}, ${String(op.kind)}): ${why}: far beyond any provable circuit`);
  }
  // The bigint engine runs graph files, and sequential ones of widths the float64 plan cannot hold exactly.
  const budget = graph || enginePlan(q) === null ? BUDGET.graph : BUDGET.sequential;
  const over = totals.findIndex(([values, steps]) => values > budget.values || steps > budget.steps);
  if (over >= 0) overBudget(budget, over);
  const last = q.ops.length - 1;
  if (sizes[last] !== q.outputCount) fail(`outputCount ${q.outputCount} is not the last op's ${sizes[last]} values`);
  if (bits[last]! > q.outputBits) fail(`the last op outputs ${bits[last]}-bit values, wider than outputBits = ${q.outputBits} (the packed outputs would overlap)`);
  const values = commitValues(q);
  const lim = pow2(q.commitBits - 1);
  if (values.some((v) => v < -lim || v >= lim)) fail(`a committed constant does not fit in commitBits = ${q.commitBits}`);
  // weightsCommitment is not recomputed here (a Poseidon hash of every constant: about a second for the MLP, on every
  // load): with constant weights it is a label the circuit pins, and with committed weights a package whose label
  // does not match its constants has no proof at all, which registration's example proof finds.
  if (typeof q.weightsCommitment !== "string" || !/^\d{1,78}$/.test(q.weightsCommitment)) fail("weightsCommitment must be a decimal field element");
}
