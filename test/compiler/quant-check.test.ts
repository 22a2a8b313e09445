// quant.json is hostile input: a model publisher writes it, providers and challengers load it (parseQuant) and build
// the circuit from it (synthesize). checkQuant (quant-check.ts) re-derives every width the circuit relies on from the
// constants it bounds. Here: every honest model the compiler makes passes it (sequential models, transformer graphs,
// the shipped MNIST files, the ViT fixture), and each hostile edit of a serialized graph model, written as an attacker
// would write it, is refused naming the op; the unedited file still parses each time, so an over-strict check fails
// this file too. One end-to-end twin: the honest file's circuit computes the engine's outputs, the forged one is
// refused before a circuit is built.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { synthesize } from "../../circuits/compiler/emit.ts";
import { quotientBits, softmaxParams } from "../../circuits/compiler/nonlinear.ts";
import { checkQuant, QuantFileError } from "../../circuits/compiler/quant-check.ts";
import { quantizeGraph } from "../../circuits/compiler/quantize-graph.ts";
import {
  opSize, parseQuant, quantize, serializeQuant,
  type QAdd, type QGelu, type QLayerNorm, type QLayout, type QLinear, type QMatMul, type QOp, type QSoftmax, type QuantizedModel,
} from "../../circuits/compiler/quantize.ts";
import { calibrationSample } from "../../circuits/data/mnist.ts";
import { numel } from "../../circuits/ir/graph.ts";
import { importModelFile } from "../../circuits/onnx/model-import.ts";
import { randomGraphInputs, randomTransformer, type TransformerOptions } from "./random-graphs.ts";
import { randomCnn, randomInputs, randomMlp } from "./random-models.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const VIT = join(ROOT, "test", "fixtures", "models", "vit-mnist", "model.onnx");

/** checkQuant passes, and the file round-trips through parseQuant (which runs it again) unchanged. */
function passes(q: QuantizedModel, label: string): void {
  expect(() => checkQuant(q), label).to.not.throw();
  const text = serializeQuant(q);
  expect(serializeQuant(parseQuant(text)), label).to.equal(text);
}

/** A transformer graph quantized as the graph tests do it (inputs in [-1, 1]). */
function graphModel(seed: number, opts: TransformerOptions = {}): QuantizedModel {
  const g = randomTransformer(seed, opts);
  return quantizeGraph(g, randomGraphInputs(seed + 100, 16, numel(g.input.shape)), { inputRange: [-1, 1] });
}

/** Width of the values op k outputs (what the ops reading it must declare at least). */
function outBitsOf(op: QOp): number {
  switch (op.kind) {
    case "linear":
    case "add":
      return op.outBits;
    case "matmul":
    case "layerNorm":
    case "gelu":
      return op.params.outBits;
    case "softmax":
      return op.params.outFrac + 2;
    case "maxpool":
    case "relu":
    case "layout":
      return op.bits;
    case "argmax":
      return op.n.toString(2).length + 1;
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A value an attacker writes where the types say otherwise (a decimal string for a bigint field, a fraction...). */
const forge = <T>(v: unknown): T => v as T;

describe("quant.json check (quant-check.ts): honest models pass, hostile edits are refused naming the op", function () {
  describe("honest models pass", () => {
    it("the shipped models/mnist-mlp and models/mnist-cnn quant.json", () => {
      for (const m of ["mnist-mlp", "mnist-cnn"]) {
        const q = parseQuant(readFileSync(join(ROOT, "models", m, "quant.json"), "utf8"));
        passes(q, m);
      }
    });

    it("random MLPs and CNNs (maxpool, avgpool, argmax), 8- and 16-bit activations, 8- and 12-bit inputs", () => {
      const variants = [{}, { activationBits: 16 }, { inputBits: 12 }, { activationBits: 16, inputBits: 12 }];
      for (const seed of [1, 2, 3]) {
        for (const opts of variants) {
          const o = { inputRange: [0, 1] as [number, number], ...opts };
          const label = (m: string): string => `${m} seed ${seed} ${JSON.stringify(opts)}`;
          passes(quantize(randomMlp(seed, [12, 10, 7, 5]), randomInputs(seed, 16, 12), o), label("mlp"));
          passes(quantize(randomMlp(seed, [9, 6, 4], true), randomInputs(seed, 16, 9), o), label("mlp+argmax"));
          for (const pool of ["maxpool", "avgpool"] as const) {
            passes(quantize(randomCnn(seed, { pool }), randomInputs(seed, 16, 64), o), label(`cnn ${pool}`));
            passes(quantize(randomCnn(seed, { pool, argmax: true, hw: 10, c1: 3, c2: 2 }), randomInputs(seed, 16, 100), o), label(`cnn ${pool}+argmax`));
          }
        }
      }
    });

    it("random transformer graphs with each tail (token-gather, slice-flatten, token-last)", () => {
      for (const tail of ["token-gather", "slice-flatten", "token-last"] as const) {
        for (const seed of [1, 2, 3, 4]) {
          const q = graphModel(seed, { tail });
          expect(q.version).to.equal(2);
          passes(q, `${tail} seed ${seed}`);
        }
      }
      passes(graphModel(5, { softmaxAxis: "other", heads: 2 }), "softmax over the queries, two heads");
    });

    it("the ViT fixture (MNIST), quantized on 32 calibration digits", () => {
      const q = quantize(importModelFile(VIT), calibrationSample(32), { inputRange: [0, 1] });
      expect(q.ops.map((op) => op.kind)).to.include.members(["softmax", "layerNorm", "gelu", "matmul", "add", "layout"]);
      passes(q, "vit");
    });
  });

  describe("hostile edits of a transformer quant.json are refused, naming the op", () => {
    let q: QuantizedModel;
    let text: string;
    /** Index of the first op of `kind` that `pick` accepts. */
    const find = (kind: QOp["kind"], pick: (op: QOp, k: number) => boolean = () => true): number => {
      const k = q.ops.findIndex((op, i) => op.kind === kind && pick(op, i));
      expect(k, `an op of kind ${kind}`).to.be.at.least(0);
      return k;
    };
    /** The op an edit targets, in a fresh copy of the file. */
    const opOf = <T extends QOp>(j: QuantizedModel, k: number): T => j.ops[k] as T;

    /** The unedited file parses; the edited one is refused with a QuantFileError naming op k and matching `why`. */
    function refused(label: string, k: number, edit: (j: QuantizedModel) => void, why: RegExp): void {
      expect(() => parseQuant(text), `${label}: the unedited file`).to.not.throw();
      const j = JSON.parse(text) as QuantizedModel;
      edit(j);
      const forged = JSON.stringify(j);
      let err: unknown;
      try {
        parseQuant(forged);
      } catch (e) {
        err = e;
      }
      expect(err, `${label}: accepted`).to.be.instanceOf(QuantFileError);
      const message = (err as Error).message;
      expect(message, `${label}: does not name op ${k} (${q.ops[k]!.name}) in "${message}"`).to.match(new RegExp(`op ${k} \\(${escape(q.ops[k]!.name)}\\b`));
      expect(message, label).to.match(why);
    }
    /** As refused, for a refusal of the whole file (not one op's). */
    function refusedFile(label: string, edit: (j: QuantizedModel) => void, why: RegExp): void {
      expect(() => parseQuant(text), `${label}: the unedited file`).to.not.throw();
      const j = JSON.parse(text) as QuantizedModel;
      edit(j);
      expect(() => parseQuant(JSON.stringify(j)), label).to.throw(QuantFileError, why);
    }

    before(() => {
      q = graphModel(1, { tail: "token-gather", positional: true, heads: 2 });
      text = serializeQuant(q);
    });

    it("an add's qBits inflated to 255 - shift (a decomposition wider than the field), or deflated by 2", () => {
      const k = find("add", (op) => (op as QAdd).inputs.length === 2);
      const add = q.ops[k] as QAdd;
      refused("qBits = 255 - shift", k, (j) => (opOf<QAdd>(j, k).qBits = 255 - add.shift), /qBits = \d+ is not the quotient width/);
      refused("qBits - 2", k, (j) => (opOf<QAdd>(j, k).qBits = add.qBits - 2), /qBits = \d+ is not the quotient width/);
      refused("qBits + 1", k, (j) => (opOf<QAdd>(j, k).qBits = add.qBits + 1), /qBits = \d+ is not the quotient width/);
    });

    it("a linear op's qBits[0] + 1, its accBound[0] halved, a zero or negative multiplier", () => {
      const k = find("linear", (op) => (op as QLinear).inputs !== undefined && (op as QLinear).inputs![0]! >= 0);
      const lin = q.ops[k] as QLinear;
      refused("qBits[0] + 1", k, (j) => (opOf<QLinear>(j, k).qBits[0] = lin.qBits[0]! + 1), /qBits\[0\]/);
      refused("qBits[0] - 1", k, (j) => (opOf<QLinear>(j, k).qBits[0] = lin.qBits[0]! - 1), /qBits\[0\]/);
      refused("accBound[0] / 2", k, (j) => (opOf<QLinear>(j, k).accBound[0] = (BigInt(lin.accBound[0]!) / 2n).toString()), /accBound\[0\]/);
      refused("multiplier[0] = 0", k, (j) => (opOf<QLinear>(j, k).multiplier[0] = "0"), /multiplier\[0\] must be positive/);
      refused("multiplier[0] < 0", k, (j) => (opOf<QLinear>(j, k).multiplier[0] = `-${lin.multiplier[0]!}`), /multiplier\[0\] must be positive/);
    });

    it("a matmul's params.Q changed", () => {
      const k = find("matmul");
      const Q = (q.ops[k] as QMatMul).params.Q;
      for (const d of [1, -1]) refused(`params.Q ${d > 0 ? "+" : "-"} 1`, k, (j) => (opOf<QMatMul>(j, k).params.Q = Q + d), /params\.Q = \d+ is not the quotient width/);
    });

    it("a layerNorm's params.Q and params.hiBits changed; params.K = 1e6 (a denial of service on the rsqrt) refused at once", function () {
      this.timeout(10_000); // a hang on K fails here, not after the suite's timeout
      const k = find("layerNorm");
      const p = (q.ops[k] as QLayerNorm).params;
      for (const d of [1, -1]) {
        refused(`params.Q ${d}`, k, (j) => (opOf<QLayerNorm>(j, k).params.Q = p.Q + d), /params\.Q = \d+ is not the quotient width/);
        refused(`params.hiBits ${d}`, k, (j) => (opOf<QLayerNorm>(j, k).params.hiBits = p.hiBits + d), /params\.hiBits = \d+ is not the width/);
      }
      refused("params.K = 1e6", k, (j) => (opOf<QLayerNorm>(j, k).params.K = 1e6), /params\.K/);
    });

    it("a softmax's params.wBits - 2, recipBits + 1, poly[0] changed, a poly that goes negative, a huge shape, params.n off the axis", () => {
      const k = find("softmax");
      const op = q.ops[k] as QSoftmax;
      const p = op.params;
      refused("wBits - 2", k, (j) => (opOf<QSoftmax>(j, k).params.wBits = p.wBits - 2), /params\.wBits = \d+ is not the exponent width/);
      refused("recipBits + 1", k, (j) => (opOf<QSoftmax>(j, k).params.recipBits = p.recipBits + 1), /params\.recipBits/);
      refused("poly[0] + 1", k, (j) => (opOf<QSoftmax>(j, k).params.poly[0] = forge(String(BigInt(p.poly[0]!) + 1n))), /params\.poly\[0\]/);
      // exp(0) = 1 still, but a steep negative slope: P(r) < 0 for r >= 1, an exp below zero the bounds never assumed
      const steep = -(1n << BigInt(p.expFrac + p.expFracBits + 4));
      refused("a poly going negative", k, (j) => (opOf<QSoftmax>(j, k).params.poly[1] = forge(steep.toString())), /the exp polynomial leaves \(0, 1\] at r = \d+/);
      refused("params.n + 1", k, (j) => (opOf<QSoftmax>(j, k).params.n = p.n + 1), /params\.n is not the length of the axis/);
      const other = op.axis === op.shape.length - 1 ? op.axis - 1 : op.shape.length - 1;
      if (op.shape[other] !== p.n) refused("axis moved", k, (j) => (opOf<QSoftmax>(j, k).axis = other), /params\.n is not the length of the axis/);
      // 4e10 values: refused from the dimensions, before anything of that size is allocated
      refused("shape [1, 4, 100000, 100000]", k, (j) => (opOf<QSoftmax>(j, k).shape = [1, 4, 100000, 100000]), /shape/);
    });

    it("a gelu's params.Q changed, params.segLow = 1e9, params.coeffs of the wrong count", () => {
      const k = find("gelu");
      const p = (q.ops[k] as QGelu).params;
      for (const d of [1, -1]) refused(`params.Q ${d}`, k, (j) => (opOf<QGelu>(j, k).params.Q = p.Q + d), /params\.Q = \d+ is not the quotient width/);
      refused("one segment missing", k, (j) => (opOf<QGelu>(j, k).params.coeffs = p.coeffs.slice(1).map((cs) => cs.map((c) => forge<bigint>(c.toString())))), /params\.coeffs/);
      refused("a coefficient missing", k, (j) => opOf<QGelu>(j, k).params.coeffs[1]!.pop(), /params\.coeffs\[1\]/);
      refused("params.segLow = 1e9", k, (j) => (opOf<QGelu>(j, k).params.segLow = 1e9), /params\.segLow/);
    });

    it("op inputs: itself, a later op, -7, 0.5; a version 2 op naming no inputs", () => {
      const k = find("gelu");
      const bad = /input -?[\d.]+ is not the model input \(-1\) or an earlier op/;
      for (const i of [k, k + 1, -7, 0.5]) refused(`inputs [${i}]`, k, (j) => (opOf<QGelu>(j, k).inputs = [i]), bad);
      refused("no inputs", k, (j) => Reflect.deleteProperty(j.ops[k]!, "inputs"), /names its inputs/);
    });

    it("a version 1 file holding a softmax (the same file as version 2 is accepted)", () => {
      // a sequential MLP (12-bit logits, the scale softmax takes), and a softmax over its outputs
      const mlp = quantize(randomMlp(4, [8, 6, 5]), randomInputs(4, 16, 8), { inputRange: [0, 1], outputBits: 12 });
      const last = mlp.ops[mlp.ops.length - 1] as QLinear;
      const params = softmaxParams({ n: mlp.outputCount, inBits: last.outBits, inScale: last.outScale });
      const sm: QSoftmax = { kind: "softmax", name: "probs", inputs: [mlp.ops.length - 1], shape: [mlp.outputCount], axis: 0, params, outScale: 2 ** -params.outFrac };
      const v2: QuantizedModel = {
        ...mlp, version: 2, outputBits: Math.max(mlp.outputBits, params.outFrac + 2),
        ops: [...mlp.ops.map((op, k) => ({ ...op, inputs: [k - 1] })), sm],
      };
      passes(v2, "the MLP and softmax as a version 2 file");
      const v1 = JSON.parse(serializeQuant(v2)) as QuantizedModel;
      v1.version = 1;
      v1.ops.forEach((op) => Reflect.deleteProperty(op, "inputs"));
      const k = v1.ops.length - 1;
      expect(() => parseQuant(JSON.stringify(v1))).to.throw(QuantFileError, new RegExp(`op ${k} \\(probs\\b.*version 1 file`));
      // ...and the graph model as version 1 is refused at its first graph op
      refused("the graph model as version 1", 0, (j) => {
        j.version = 1;
        j.ops.forEach((op) => Reflect.deleteProperty(op, "inputs"));
      }, /version 1 file/);
    });

    it("a layout's src out of range (total input size, -1e6, 0.5), a constant over its bits, outShape not matching src", () => {
      const k = find("layout");
      const op = q.ops[k] as QLayout;
      const total = op.inputs.reduce((n, i) => n + (i < 0 ? numel(q.inputShape) : opSize(q.ops[i]!)), 0);
      for (const s of [total, total + 5, -1e6, 0.5]) {
        refused(`src[0] = ${s}`, k, (j) => (opOf<QLayout>(j, k).src[0] = s), /src\[0\] = -?[\d.e+]+ is neither an input value/);
      }
      refused("a constant past its bits", k, (j) => (opOf<QLayout>(j, k).constants = [...op.constants, (1n << BigInt(op.bits - 1)).toString()]), /constant \d+ = \d+ does not fit in \d+ bits/);
      refused("a negative constant past its bits", k, (j) => (opOf<QLayout>(j, k).constants = [(-(1n << BigInt(op.bits - 1)) - 1n).toString(), ...op.constants]), /constant 0 = -\d+ does not fit/);
      refused("outShape one larger than src", k, (j) => (opOf<QLayout>(j, k).outShape = [op.src.length + 1]), /src must hold one source per output value/);
      refused("src one shorter than outShape", k, (j) => opOf<QLayout>(j, k).src.pop(), /src must hold one source per output value/);
    });

    it("an add whose shape holds fewer values than its input (the engine and the circuit disagreed on this)", () => {
      const k = find("add", (op) => (op as QAdd).inputs.length === 2);
      const shape = (q.ops[k] as QAdd).shape;
      refused("one row fewer", k, (j) => (opOf<QAdd>(j, k).shape = [shape[0]! - 1, ...shape.slice(1)]), /input 0 holds \d+ values, the add \d+/);
      refused("one value", k, (j) => (opOf<QAdd>(j, k).shape = [1]), /input 0 holds \d+ values, the add 1/);
    });

    it("an op declaring a narrower input width than its producer outputs", () => {
      const wider = /are \d+-bit values, wider than the \d+ bits it declares/;
      // a layerNorm reading an add's outBits-wide values, declaring one bit fewer
      const ln = find("layerNorm", (op) => q.ops[(op as QLayerNorm).inputs[0]!]?.kind === "add");
      const lnFrom = q.ops[(q.ops[ln] as QLayerNorm).inputs[0]!]!;
      refused("layerNorm params.inBits", ln, (j) => (opOf<QLayerNorm>(j, ln).params.inBits = outBitsOf(lnFrom) - 1), wider);
      const add = find("add", (op) => (op as QAdd).inputs.length === 2);
      refused("add inBits[0]", add, (j) => opOf<QAdd>(j, add).inBits[0]!--, wider);
      const mm = find("matmul");
      refused("matmul params.aBits", mm, (j) => opOf<QMatMul>(j, mm).params.aBits--, wider);
      refused("matmul params.bBits", mm, (j) => opOf<QMatMul>(j, mm).params.bBits--, wider);
      const sm = find("softmax");
      refused("softmax params.inBits", sm, (j) => opOf<QSoftmax>(j, sm).params.inBits--, wider);
      const ge = find("gelu");
      refused("gelu params.inBits", ge, (j) => opOf<QGelu>(j, ge).params.inBits--, wider);
      const lin = find("linear", (op) => (op as QLinear).inputs![0]! >= 0);
      refused("linear inBits", lin, (j) => opOf<QLinear>(j, lin).inBits--, wider);
      const lay = find("layout");
      refused("layout bits", lay, (j) => opOf<QLayout>(j, lay).bits--, wider);
    });

    it("outputCount wrong; outputBits narrower than the last op's output width", () => {
      const lastBits = outBitsOf(q.ops[q.ops.length - 1]!);
      refusedFile("outputCount + 1", (j) => j.outputCount++, /outputCount \d+ is not the last op's \d+ values/);
      refusedFile("outputCount - 1", (j) => j.outputCount--, /outputCount \d+ is not the last op's \d+ values/);
      refusedFile("outputBits one narrower", (j) => (j.outputBits = lastBits - 1), /wider than outputBits/);
    });

    it("a small file of big ops (hours of engine or all memory for a challenger) is refused; the same ops at the bound pass", () => {
      // Each op alone passes (2^24 values is the per-op bound); the file states no data, only shapes.
      const big = 2 ** 24;
      const j = JSON.parse(text) as QuantizedModel;
      const gelu = j.ops[find("gelu")] as QGelu;
      const gelus = (count: number, n: number): QuantizedModel => ({
        ...j, inputShape: [n], inputBits: gelu.params.inBits, ops: Array.from({ length: count }, (_, i) => ({ ...gelu, name: `g${i}`, inputs: [-1], shape: [n] })), outputCount: n,
      });
      // steps: a GELU value is charged 160 (microseconds each in the bigint engine); six of 2^20 fit in 2^30, seven do not
      expect(() => checkQuant(gelus(6, 2 ** 20))).to.not.throw();
      expect(() => checkQuant(gelus(7, 2 ** 20))).to.throw(QuantFileError, /op 6 \(g6, gelu\): the ops up to here take \d+ engine steps, more than 2\^30/);
      // one matmul of 2^11 x 2^11 x 2^11: 2^33 multiply-accumulates
      const mm = j.ops[find("matmul")] as QMatMul;
      const p = JSON.parse(JSON.stringify(mm.params)) as QMatMul["params"] & { M: string };
      const matmulOf = (side: number): QuantizedModel => {
        const q2 = { ...p, n: side, k: side, m: side, Q: quotientBits(BigInt(side) * 2n ** BigInt(p.aBits - 1) * 2n ** BigInt(p.bBits - 1), BigInt(p.M), p.s) };
        return { ...j, inputShape: [side * side], inputBits: Math.min(p.aBits, p.bBits), ops: [{ ...mm, name: "mm", inputs: [-1, -1], batch: 1, params: q2 }], outputCount: side * side };
      };
      expect(() => checkQuant(matmulOf(2 ** 11))).to.throw(QuantFileError, /op 0 \(mm, matmul\): the ops up to here take \d+ engine steps, more than 2\^30/);
      expect(() => checkQuant(matmulOf(2 ** 8))).to.not.throw(); // the twin: 2^24 multiply-accumulates
      // a layout naming one big input 300 times: the engine must not copy them end to end, and the reads count
      const layout = j.ops[find("layout")] as QLayout;
      const layoutOf = (times: number): QuantizedModel => ({
        ...j, inputShape: [2 ** 22], inputBits: layout.bits, ops: [{ ...layout, name: "lay", inputs: Array(times).fill(-1), src: [0, (times - 1) * 2 ** 22], constants: [], outShape: [2] }], outputCount: 2,
      });
      expect(() => checkQuant(layoutOf(300))).to.throw(QuantFileError, /op 0 \(lay, layout\): the ops up to here take \d+ engine steps, more than 2\^30/);
      // values: the model input counts; 2^23 of input and 2^23 of one copy is 2^24, the bound of a graph file
      const copies = (count: number): QuantizedModel => ({
        ...j, inputShape: [big / 2], inputBits: layout.bits,
        ops: Array.from({ length: count }, (_, i) => ({ ...layout, name: `copy${i}`, inputs: [-1], src: new Array<number>(big / 2).fill(0), constants: [], outShape: [big / 2] })), outputCount: big / 2,
      });
      expect(() => checkQuant(copies(1))).to.not.throw();
      expect(() => checkQuant(copies(2))).to.throw(QuantFileError, /op 1 \(copy1, layout\): the ops up to here hold 25165824 values, more than 2\^24/);
      const few = layoutOf(3);
      expect(() => checkQuant(few)).to.not.throw();
      const x = Array.from({ length: 2 ** 22 }, (_, i) => BigInt(i % 7));
      expect(runQuantized(few, x).outputs).to.deep.equal([0n, 0n]); // the last input's first value, indexed in place
    });

    it("an exp polynomial per softmax: the 17th distinct one in a file is refused (each costs 2^expFracBits checks)", () => {
      const k = find("softmax");
      const sm = q.ops[k] as QSoftmax;
      const j = JSON.parse(text) as QuantizedModel;
      const copies = (count: number, distinct: boolean) => Array.from({ length: count }, (_, i) => {
        const params = JSON.parse(JSON.stringify((j.ops[k] as QSoftmax).params)) as QSoftmax["params"];
        const poly = params.poly as unknown as string[];
        if (distinct) poly[poly.length - 1] = (BigInt(poly[poly.length - 1]!) + BigInt(i)).toString();
        return { ...(j.ops[k] as QSoftmax), name: `sm${i}`, params };
      });
      const withCopies = (count: number, distinct: boolean): QuantizedModel => ({ ...j, ops: [...j.ops.slice(0, k + 1), ...copies(count, distinct)] });
      expect(sm.params.poly.length).to.be.greaterThan(1);
      // 16 distinct polynomials (copy 0 is the original's) get as far as the tail checks; so do 40 equal ones
      expect(() => checkQuant(withCopies(16, true))).to.throw(QuantFileError, /outputCount/);
      expect(() => checkQuant(withCopies(40, false))).to.throw(QuantFileError, /outputCount/);
      expect(() => checkQuant(withCopies(17, true))).to.throw(QuantFileError, /op \d+ \(sm16, softmax\): more than 16 distinct exp polynomials/);
    });

    it("a v1 conv padded to 2000 x 2000 with a 1000 x 1000 maxpool window (2^40 steps), or to 4094 x 4094 (im2col of 2^27 values)", () => {
      const cnn = quantize(randomCnn(3, { c1: 1 }), randomInputs(3, 16, 64), { inputRange: [0, 1] });
      const t = JSON.parse(serializeQuant(cnn)) as QuantizedModel;
      const [conv, pool] = [t.ops[0] as QLinear, t.ops[1] as QOp & { kind: "maxpool" }];
      expect([conv.kind, pool.kind]).to.deep.equal(["linear", "maxpool"]);
      const padded = (pad: number, kernel: number, stride: number): QuantizedModel => {
        const side = 8 + 2 * pad - 3 + 1;
        const out = Math.floor((side - kernel) / stride) + 1;
        return {
          ...t,
          ops: [
            { ...conv, pads: [pad, pad, pad, pad], outShape: [1, side, side] },
            { ...pool, inShape: [1, side, side], kernel: [kernel, kernel], stride: [stride, stride], pads: [0, 0, 0, 0], outShape: [1, out, out] },
          ],
          outputCount: out * out,
        };
      };
      expect(() => checkQuant(padded(997, 2, 2))).to.not.throw(); // the twin: the same conv, a 2 x 2 pool
      // 4e9 steps fit the float64 plan's 2^32, but not when a width over 52 bits sends the file to the bigint engine
      expect(() => checkQuant(padded(997, 32, 1))).to.not.throw();
      expect(() => checkQuant({ ...padded(997, 32, 1), activationBits: 53 })).to.throw(QuantFileError, /op 1 \(pool1, maxpool\): the ops up to here take \d+ engine steps, more than 2\^30/);
      expect(() => checkQuant(padded(997, 1000, 1))).to.throw(QuantFileError, /op 1 \(pool1, maxpool\): the ops up to here take \d+ engine steps, more than 2\^32/);
      expect(() => checkQuant(padded(2044, 2, 2))).to.throw(QuantFileError, /op 0 \(conv1, linear\): its windows hold \d+ values at once, more than 2\^26/);
    });
  });

  describe("end to end", () => {
    it("the honest file's circuit outputs equal the engine; the forged add-qBits file is refused before a circuit is built", () => {
      const q = graphModel(2, { tail: "slice-flatten" });
      const text = serializeQuant(q);
      const honest = parseQuant(text);
      const x = quantizeInput(honest, randomGraphInputs(7, 1, numel(honest.inputShape))[0]!);
      const s = synthesize(honest, { input: x });
      expect(s.outputs).to.deep.equal(runQuantized(honest, x).outputs);

      const k = honest.ops.findIndex((op) => op.kind === "add");
      const forged = JSON.parse(text) as QuantizedModel;
      const add = forged.ops[k] as QAdd;
      add.qBits = 255 - add.shift;
      let model: QuantizedModel | undefined;
      expect(() => (model = parseQuant(JSON.stringify(forged)))).to.throw(QuantFileError, new RegExp(`op ${k} \\(${escape(add.name)}\\b.*qBits`));
      expect(model, "no model to build a circuit from").to.equal(undefined);
    });
  });
});
