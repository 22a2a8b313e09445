// Graph models (transformers) quantized (quantize-graph.ts) and proven on the direct route: for seeded random small
// transformer blocks and for the ViT fixture, the emitted R1CS is satisfied by the emitted witness, the witness
// outputs equal the bit-exact engine, the constraint system does not depend on the input, and a wrong output or a
// wrong internal wire of a softmax, LayerNorm or add breaks a constraint. The ViT's quantized model agrees with its
// float graph, fits the size bound, and survives quant.json; the errors a user hits name the node or op.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { generateCircom } from "../../circuits/compiler/circom.ts";
import { newClampCounts, quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { publicCount, synthesize, type Synthesis } from "../../circuits/compiler/emit.ts";
import { quantizeGraph } from "../../circuits/compiler/quantize-graph.ts";
import { isGraphModel, opScale, parseQuant, quantize, serializeQuant, type QuantizedModel } from "../../circuits/compiler/quantize.ts";
import { evalLc, mod, readR1cs, violatedConstraints, type Constraint, type R1csHeader } from "../../circuits/compiler/r1cs.ts";
import { calibrationSample, heldOutSample } from "../../circuits/data/mnist.ts";
import type { GraphModel, GraphNode } from "../../circuits/ir/graph.ts";
import { numel } from "../../circuits/ir/graph.ts";
import { runGraphFloat } from "../../circuits/ir/graph-float.ts";
import { runFloat } from "../../circuits/ir/float-engine.ts";
import type { FloatModel } from "../../circuits/ir/ir.ts";
import { importModelFile } from "../../circuits/onnx/model-import.ts";
import { FIELD_P, hashVector } from "../../sdk/hash.ts";
import { publicSignals } from "../../sdk/signals.ts";
import { randomGraphInputs, randomTransformer, type TransformerOptions } from "./random-graphs.ts";
import { rng } from "./random-models.ts";

const VIT = join(import.meta.dirname, "..", "fixtures", "models", "vit-mnist", "model.onnx");

type R1cs = R1csHeader & { constraints: Constraint[] };

/** A graph as the FloatModel quantize() takes (layers empty, the graph attached), as importModelFile returns it. */
const asFloatModel = (g: GraphModel): FloatModel => ({ name: g.name, inputName: g.input.name, inputShape: g.input.shape, outputName: g.output, layers: [], graph: g });

const argmax = (xs: ArrayLike<number>): number => {
  let b = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[b]!) b = i;
  return b;
};

/** For each op of q, the range [from, to) of its constraints in the .r1cs (from the synthesis costs, in op order). */
function opConstraintRanges(q: QuantizedModel, costs: Synthesis["costs"]): [number, number][] {
  const first = costs.length - 2 - q.ops.length; // input range, weights commitment, the ops, output packing, input hash
  expect(costs.slice(first, first + q.ops.length).map((c) => c.name)).to.deep.equal(q.ops.map((op) => op.name));
  let at = costs.slice(0, first).reduce((a, c) => a + c.constraints, 0);
  return q.ops.map((_, k) => {
    const from = at;
    at += costs[first + k]!.constraints;
    return [from, at];
  });
}

/** The wires an op allocates: those its constraints name that no earlier constraint names (wires are numbered in
 *  allocation order and every gadget constrains a wire when it allocates it). */
function newWires(r1cs: R1cs, [from, to]: [number, number]): number[] {
  let before = 0;
  for (let i = 0; i < from; i++) for (const l of [r1cs.constraints[i]!.a, r1cs.constraints[i]!.b, r1cs.constraints[i]!.c]) for (const w of l.wires) before = Math.max(before, w);
  const out = new Set<number>();
  for (let i = from; i < to; i++) for (const l of [r1cs.constraints[i]!.a, r1cs.constraints[i]!.b, r1cs.constraints[i]!.c]) for (const w of l.wires) if (w > before) out.add(w);
  return [...out].sort((a, b) => a - b);
}

/** Per wire, the constraints that name it. */
function wireIndex(r1cs: R1cs): number[][] {
  const at: number[][] = Array.from({ length: r1cs.nWires }, () => []);
  r1cs.constraints.forEach((k, i) => {
    for (const w of new Set([...k.a.wires, ...k.b.wires, ...k.c.wires])) at[w]!.push(i);
  });
  return at;
}

const holds = (k: Constraint, w: readonly bigint[]): boolean => mod(evalLc(k.a, w) * evalLc(k.b, w)) === evalLc(k.c, w);

/** The one freedom the gadgets leave by design: IsZero's inverse hint (circomlib's IsZero), the whole B of the one
 *  constraint l * inv = 1 - z that names it, is unconstrained when l = 0. */
function isZeroInverseOfZero(r1cs: R1cs, index: number[][], witness: readonly bigint[], w: number): boolean {
  const at = index[w]!;
  if (at.length !== 1) return false;
  const k = r1cs.constraints[at[0]!]!;
  return k.b.wires.length === 1 && k.b.wires[0] === w && !k.a.wires.includes(w) && !k.c.wires.includes(w) && evalLc(k.a, witness) === 0n;
}

interface Tampered {
  tried: number;
  free: number;
}

/** Every wire `region` allocates, shifted by +1 (and -1) alone, breaks a constraint that names it (so the full system:
 *  the others do not read it), except an IsZero inverse whose input is 0. Returns how many were tried and skipped. */
function tamperRegion(r1cs: R1cs, index: number[][], witness: readonly bigint[], wires: number[], ctx: string): Tampered {
  const w = [...witness];
  let free = 0;
  for (const wire of wires) {
    if (isZeroInverseOfZero(r1cs, index, witness, wire)) {
      free++;
      continue;
    }
    for (const d of [1n, -1n]) {
      w[wire] = witness[wire]! + d;
      const broken = index[wire]!.some((i) => !holds(r1cs.constraints[i]!, w));
      expect(broken, `${ctx}: wire ${wire} ${d > 0n ? "+1" : "-1"} breaks no constraint`).to.equal(true);
    }
    w[wire] = witness[wire]!;
  }
  return { tried: wires.length - free, free };
}

describe("graph models (transformers): quantizer and direct route", function () {
  this.timeout(600_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "ozk-graph-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("random small transformer blocks", () => {
    const cases: [number, TransformerOptions][] = [
      [1, { heads: 1, gelu: "erf", scaleBy: "mul", tail: "token-gather", positional: false }],
      [2, { heads: 2, gelu: "tanh", scaleBy: "div", tail: "slice-flatten", positional: true }],
      [3, { heads: 2, softmaxAxis: "other", gelu: "erf", tail: "token-last" }],
      [4, { heads: 1, softmaxAxis: "other", gelu: "tanh", tail: "token-gather", tokens: 5, width: 8 }],
      [5, {}],
      [6, { tokens: 3, width: 4 }],
    ];
    for (const [seed, opts] of cases) {
      const g = randomTransformer(seed, opts);
      const label = `seed ${seed}: [${g.input.shape.join(", ")}] ${g.nodes.filter((n) => n.op === "softmax" || n.op === "gelu" || n.op === "concat" || n.op === "slice" || n.op === "gather")
        .map((n) => (n.op === "softmax" ? `softmax(axis ${n.axis})` : n.op === "gelu" ? `gelu(${n.form})` : n.op)).join(", ")}`;

      it(`${label}: witness satisfies the R1CS and equals the engine on in-range and saturating inputs; one constraint system; wrong outputs and internal wires rejected`, function () {
        const n = numel(g.input.shape);
        const calib = randomGraphInputs(seed + 100, 24, n);
        const q = quantize(asFloatModel(g), calib, { inputRange: [-1, 1] });
        // the same model as quantizeGraph builds it directly
        expect(serializeQuant(quantizeGraph(g, calib, { inputRange: [-1, 1] }))).to.equal(serializeQuant(q));
        expect(q.version).to.equal(2);
        expect(isGraphModel(q)).to.equal(true);
        const kinds = new Set(q.ops.map((op) => op.kind));
        for (const kind of ["linear", "layout", "add", "matmul", "softmax", "layerNorm", "gelu"]) expect(kinds.has(kind as never), `${label}: no ${kind} op`).to.equal(true);
        expect(q.ops.some((op) => op.kind === "linear" && (op.rows ?? 1) > 1), "a dense over rows").to.equal(true);
        expect(q.ops.every((op) => op.inputs !== undefined), "every op names its inputs").to.equal(true);

        const path = join(dir, `t${seed}.r1cs`);
        const shape = synthesize(q, { r1csPath: path });
        const r1cs = readR1cs(path);
        const bytes = readFileSync(path);
        expect(r1cs.nConstraints).to.equal(shape.nConstraints);
        expect(r1cs.nWires).to.equal(shape.nWires);
        expect(r1cs.nPubOut).to.equal(publicCount(q));
        expect(r1cs.nPrvIn).to.equal(n);
        const counted = synthesize(q, { countOnly: true });
        expect([counted.nConstraints, counted.nWires, counted.costs]).to.deep.equal([r1cs.nConstraints, r1cs.nWires, shape.costs]);
        expect(shape.costs.reduce((a, c) => a + c.constraints, 0)).to.equal(r1cs.nConstraints);
        const roles = new Set(shape.costs.map((c) => c.role).filter((r) => r !== undefined));
        for (const role of ["attention", "softmax", "norm", "MLP", "residual", "head"]) expect(roles.has(role), `${label}: no ${role} cost`).to.equal(true);

        const ranges = opConstraintRanges(q, shape.costs);
        const regions = q.ops.flatMap((op, k) => (op.kind === "softmax" || op.kind === "layerNorm" || op.kind === "add" ? [{ k, op, wires: newWires(r1cs, ranges[k]!) }] : []));
        for (const reg of regions) expect(reg.wires.length, `${label}: ${reg.op.name} allocates wires`).to.be.above(0);
        const index = wireIndex(r1cs);

        // in-range floats, then arbitrary 8-bit integers over the whole input range and its extremes (saturation)
        const r = rng(seed + 1000);
        const inputs: bigint[][] = randomGraphInputs(seed + 200, 3, n).map((x) => quantizeInput(q, x));
        for (let k = 0; k < 3; k++) inputs.push(Array.from({ length: n }, () => BigInt(Math.floor(r() * 256) - 128)));
        inputs.push(new Array<bigint>(n).fill(-128n), Array.from({ length: n }, (_, i) => (i % 2 ? 127n : -128n)));
        const clamps = newClampCounts(q);
        let tried = 0;
        let free = 0;
        inputs.forEach((xq, t) => {
          const ctx = `${label}, input ${t} (${xq.slice(0, 4).join(",")}...)`;
          const wpath = join(dir, `t${seed}-${t}.r1cs`);
          const s = synthesize(q, { input: xq, r1csPath: wpath });
          // the constraint system does not depend on the input
          expect(readFileSync(wpath).equals(bytes), `${ctx}: the .r1cs differs from the one built without an input`).to.equal(true);
          rmSync(wpath);
          expect(s.nWires, ctx).to.equal(r1cs.nWires);
          expect(violatedConstraints(r1cs, s.witness!), ctx).to.deep.equal([]);
          const engine = runQuantized(q, xq, clamps);
          expect(s.outputs, ctx).to.deep.equal(engine.outputs);
          const expected = publicSignals(engine.outputs, q.outputBits, hashVector(xq, q.inputBits), BigInt(q.weightsCommitment));
          expect(s.publicSignals, ctx).to.deep.equal(expected);
          expect(s.witness!.slice(1, 1 + s.nPublic).map((v) => ((v % FIELD_P) + FIELD_P) % FIELD_P), ctx).to.deep.equal(expected);
          // failing twins: every public signal + 1, and every wire of each softmax, LayerNorm and add +-1
          for (let pub = 1; pub <= s.nPublic; pub++) {
            const w = [...s.witness!];
            w[pub] = w[pub]! + 1n;
            expect(violatedConstraints(r1cs, w), `${ctx}: public signal ${pub - 1} + 1`).to.have.length.above(0);
          }
          for (const reg of regions) {
            const res = tamperRegion(r1cs, index, s.witness!, reg.wires, `${ctx}, ${reg.op.kind} ${reg.op.name}`);
            tried += res.tried;
            free += res.free;
            // one random wire of the region through the whole checker too
            const wire = reg.wires[Math.floor(r() * reg.wires.length)]!;
            if (!isZeroInverseOfZero(r1cs, index, s.witness!, wire)) {
              const w = [...s.witness!];
              w[wire] = w[wire]! + 1n;
              expect(violatedConstraints(r1cs, w), `${ctx}: ${reg.op.name} wire ${wire} + 1`).to.have.length.above(0);
            }
          }
        });
        expect(tried).to.be.above(free);
        // the extreme inputs did saturate something (the clamping branches of the requantizations were exercised)
        expect(clamps.ops.reduce((a, b) => a + b, 0), `${label}: no op saturated`).to.be.above(0);
      });
    }

    it("softmax over an axis that is not the last one: engine == float softmax normalization (each column sums to ~1)", function () {
      const g = randomTransformer(3, { heads: 2, softmaxAxis: "other", gelu: "erf", tail: "token-last" });
      const n = numel(g.input.shape);
      const q = quantize(asFloatModel(g), randomGraphInputs(103, 24, n), { inputRange: [-1, 1] });
      const k = q.ops.findIndex((op) => op.kind === "softmax");
      const op = q.ops[k]!;
      if (op.kind !== "softmax") throw new Error("no softmax");
      expect(op.axis).to.equal(1);
      const [H, T, T2] = op.shape as [number, number, number];
      for (const x of randomGraphInputs(7, 3, n)) {
        const y = runQuantized(q, x).layers[k]!.map((v) => Number(v) * op.outScale);
        for (let h = 0; h < H; h++)
          for (let j = 0; j < T2; j++) {
            let s = 0;
            for (let i = 0; i < T; i++) s += y[(h * T + i) * T2 + j]!;
            expect(Math.abs(s - 1) < 0.01, `column (${h}, ${j}) sums to ${s}`).to.equal(true);
          }
      }
    });

    it("the quantized engine tracks the float graph on in-range inputs", function () {
      for (const [seed, opts] of cases) {
        const g = randomTransformer(seed, opts);
        const n = numel(g.input.shape);
        const q = quantize(asFloatModel(g), randomGraphInputs(seed + 100, 24, n), { inputRange: [-1, 1] });
        for (const x of randomGraphInputs(seed + 300, 4, n)) {
          const f = runGraphFloat(g, x).output;
          const yq = runQuantized(q, x).logits;
          const mag = Math.max(...Array.from(f, Math.abs));
          const err = Math.max(...yq.map((v, i) => Math.abs(v - f[i]!)));
          expect(err <= 0.15 * mag + 0.02, `seed ${seed}: max error ${err} against max |output| ${mag}`).to.equal(true);
        }
      }
    });
  });

  describe("the ViT fixture (MNIST)", () => {
    let model: FloatModel;
    let q: QuantizedModel;
    before(function () {
      this.timeout(120_000);
      model = importModelFile(VIT);
      q = quantize(model, calibrationSample(64), { inputRange: [0, 1] });
    });

    it("imports as a graph and quantizes to a version-2 model of the transformer ops", () => {
      expect(model.layers).to.deep.equal([]);
      expect(model.graph).to.not.equal(undefined);
      expect(q.version).to.equal(2);
      const kinds = new Set(q.ops.map((op) => op.kind));
      for (const kind of ["linear", "layout", "add", "matmul", "softmax", "layerNorm", "gelu"]) expect(kinds.has(kind as never), `no ${kind} op`).to.equal(true);
      expect(q.outputCount).to.equal(10);
    });

    it("two held-out digits: the witness satisfies the R1CS and its outputs equal the engine; a wrong output is rejected", function () {
      const digits = heldOutSample(2).images;
      const path = join(dir, "vit.r1cs");
      const xs = digits.map((d) => quantizeInput(q, d));
      const first = synthesize(q, { input: xs[0]!, r1csPath: path });
      const r1cs = readR1cs(path);
      expect(r1cs.nConstraints).to.equal(first.nConstraints);
      const witnesses = [first, synthesize(q, { input: xs[1]! })];
      witnesses.forEach((s, t) => {
        expect(violatedConstraints(r1cs, s.witness!), `digit ${t}`).to.deep.equal([]);
        expect(s.outputs, `digit ${t}`).to.deep.equal(runQuantized(q, digits[t]!).outputs);
      });
      // failing twins: the packed output limb + 1; one wire of the first softmax + 1
      const w = [...first.witness!];
      w[1] = w[1]! + 1n;
      expect(violatedConstraints(r1cs, w)).to.have.length.above(0);
      const ranges = opConstraintRanges(q, first.costs);
      const sm = q.ops.findIndex((op) => op.kind === "softmax");
      const wire = newWires(r1cs, ranges[sm]!)[0]!;
      const w2 = [...first.witness!];
      w2[wire] = w2[wire]! + 1n;
      expect(violatedConstraints(r1cs, w2)).to.have.length.above(0);
      rmSync(path);
    });

    it("top-1 agreement with the float graph >= 0.99 on 300 held-out digits", function () {
      const data = heldOutSample(300);
      let agree = 0;
      data.images.forEach((img) => {
        const f = runGraphFloat(model.graph!, img).output;
        expect(Array.from(runFloat(model, img).output)).to.deep.equal(Array.from(Float32Array.from(f)));
        if (argmax(f) === argmax(runQuantized(q, img).logits)) agree++;
      });
      expect(agree / data.images.length, `agreement ${agree} / ${data.images.length}`).to.be.at.least(0.99);
    });

    it("constraint count below 2^20, costs grouped by transformer part", () => {
      const s = synthesize(q, { countOnly: true });
      expect(s.nConstraints).to.be.below(2 ** 20);
      expect(s.costs.reduce((a, c) => a + c.constraints, 0)).to.equal(s.nConstraints);
      const byRole = new Map<string, number>();
      for (const c of s.costs) if (c.role) byRole.set(c.role, (byRole.get(c.role) ?? 0) + c.constraints);
      for (const role of ["attention", "softmax", "norm", "MLP", "residual", "embedding", "head"]) expect(byRole.get(role) ?? 0, `role ${role}`).to.be.above(0);
      expect(s.costs.filter((c) => c.kind === "softmax").every((c) => c.role === "softmax")).to.equal(true);
    });

    it("quant.json round trip: the same engine outputs and weights commitment", () => {
      const text = serializeQuant(q);
      const back = parseQuant(text);
      expect(back.weightsCommitment).to.equal(q.weightsCommitment);
      expect(serializeQuant(back)).to.equal(text);
      for (const img of heldOutSample(4).images) expect(runQuantized(back, img).outputs).to.deep.equal(runQuantized(q, img).outputs);
    });
  });

  describe("errors a user hits", () => {
    const base = (): GraphModel => randomTransformer(9, { heads: 1, tokens: 3, width: 4, tail: "token-gather" });
    const calib = randomGraphInputs(9, 4, 12);
    /** g's nodes up to and including `last`, then `tail`, the last of which computes the output. */
    const cutAt = (g: GraphModel, last: string, ...tail: GraphNode[]): GraphModel => ({
      ...g, nodes: [...g.nodes.slice(0, g.nodes.findIndex((n) => n.name === last) + 1), ...tail], output: tail[tail.length - 1]!.output,
    });
    const head = (input: string, inF: number): GraphNode => ({
      name: "out", op: "dense", inputs: [input], output: "out", inFeatures: inF, outFeatures: 2, weight: new Float64Array(inF * 2).fill(0.1), bias: new Float64Array(2),
    });

    it("a mul by a constant vector names the node", () => {
      const g = base();
      const nodes = g.nodes.map((n) => (n.name === "scale" ? { ...n, op: "mul" as const, constant: { dims: [3], data: Float64Array.of(0.5, 0.5, 0.5) } } : n));
      expect(() => quantizeGraph({ ...g, nodes }, calib)).to.throw(/node scale \(mul\).*positive scalar/);
      const neg = g.nodes.map((n) => (n.name === "scale" ? { ...n, op: "mul" as const, constant: { dims: [], data: Float64Array.of(-0.5) } } : n));
      expect(() => quantizeGraph({ ...g, nodes: neg }, calib)).to.throw(/node scale \(mul\)/);
    });

    it("ReduceMean (mean pooling over tokens or features): engine near float, witness == engine, a tampered output rejected", function () {
      this.timeout(120_000);
      const dir = mkdtempSync(join(tmpdir(), "ozk-reduce-"));
      try {
        for (const [axes, keepDims, inF] of [[[1], true, 1], [[0], false, 4]] as const) {
          const g = cutAt(base(), "res2", { name: "pool_mean", op: "reduceMean", inputs: ["res2"], output: "pool_mean", axes: [...axes], keepDims }, head("pool_mean", inF));
          const q = quantize(asFloatModel(g), calib, { inputRange: [-1, 1] });
          const ctx = `axes [${axes.join(",")}]`;
          const pool = q.ops.find((op) => op.name === "pool_mean");
          expect(pool?.kind, ctx).to.equal("linear");
          for (const x of randomGraphInputs(21, 3, 12)) {
            // the error the mean itself adds: against the exact mean of the integer values it reads (upstream error
            // is the other ops' business), at most one output step plus the multiplier's rounding
            const layers = runQuantized(q, x).layers;
            const k = q.ops.indexOf(pool!);
            const src = pool!.inputs![0]!;
            const vals = Array.from(layers[src]!, (v) => Number(v) * opScale(q.ops[src]!));
            const n = vals.length / layers[k]!.length;
            const scale = opScale(pool!);
            const top = 2 ** ((pool as { outBits: number }).outBits - 1);
            layers[k]!.forEach((v, r) => {
              // (calibrated on four inputs, other inputs can saturate the output width: the mean is clamped as well)
              const mean = vals.slice(r * n, (r + 1) * n).reduce((a, b) => a + b, 0) / n;
              const exact = Math.min((top - 1) * scale, Math.max(-top * scale, mean));
              const err = Math.abs(Number(v) * scale - exact);
              expect(err, `${ctx} row ${r}: mean ${exact}, quantized ${Number(v) * scale}, step ${scale}`).to.be.at.most(scale + 1e-3 * Math.abs(exact));
            });
            // and it tracks the float model's mean
            const f = runGraphFloat(g, x).tensors.get("pool_mean")!;
            const worst = Math.max(...Array.from(f, (v, i) => Math.abs(v - Number(layers[k]![i]!) * scale)));
            const mag = Math.max(...Array.from(f, Math.abs));
            expect(worst, `${ctx}: |q - f| = ${worst}, max |f| = ${mag}`).to.be.below(0.25 * mag + 0.02);
          }
          const path = join(dir, `pool-${axes.join("")}.r1cs`);
          synthesize(q, { r1csPath: path });
          const r1cs = readR1cs(path);
          const xq = quantizeInput(q, randomGraphInputs(22, 1, 12)[0]!);
          const w = synthesize(q, { input: xq });
          expect(w.outputs, ctx).to.deep.equal(runQuantized(q, xq).outputs);
          expect(violatedConstraints(r1cs, w.witness!), ctx).to.deep.equal([]);
          const bad = [...w.witness!];
          bad[1] = bad[1]! + 1n; // the first packed output limb
          expect(violatedConstraints(r1cs, bad), ctx).to.have.length.above(0);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("a concat of two activations at different scales names the node", () => {
      const join2: GraphNode = { name: "join", op: "concat", inputs: ["fc1", "res1"], output: "join", axis: 1, parts: [{ input: 0 }, { input: 1 }] };
      const g = cutAt(base(), "fc1", join2, head("join", 8 + 4));
      expect(() => quantizeGraph(g, calib)).to.throw(/node join \(concat\).*different scales/);
    });

    it("a hostile quant.json: a non-integer string in a softmax param names the op", () => {
      const g = randomTransformer(9, { heads: 1, tokens: 3, width: 4, tail: "token-gather" });
      const q = quantize(asFloatModel(g), calib, { inputRange: [-1, 1] });
      const k = q.ops.findIndex((op) => op.kind === "softmax");
      const name = q.ops[k]!.name;
      const text = serializeQuant(q);
      for (const [field, value] of [["expMul", "12.5"], ["expMul", "abc"], ["expMul", 1.5], ["poly", ["1", "x"]]] as const) {
        const json = JSON.parse(text) as { ops: { params: Record<string, unknown> }[] };
        json.ops[k]!.params[field] = value;
        expect(() => parseQuant(JSON.stringify(json)), `${field} = ${JSON.stringify(value)}`).to.throw(new RegExp(`op ${k} \\(${name}\\): params\\.${field}.*not an integer`));
      }
    });

    // BigInt alone reads "" as 0n, " 7 " as 7n and "0x10" as 16n: the reader takes decimal digits only
    it("a hostile quant.json: an empty, padded or hexadecimal string in a softmax param names the op", () => {
      const g = randomTransformer(9, { heads: 1, tokens: 3, width: 4, tail: "token-gather" });
      const q = quantize(asFloatModel(g), calib, { inputRange: [-1, 1] });
      const k = q.ops.findIndex((op) => op.kind === "softmax");
      const json = JSON.parse(serializeQuant(q)) as { ops: { params: Record<string, unknown> }[] };
      for (const value of ["", " 7 ", "0x10", "0b11"]) {
        json.ops[k]!.params.expMul = value;
        expect(() => parseQuant(JSON.stringify(json)), JSON.stringify(value)).to.throw(/params\.expMul.*not an integer/);
      }
    });

    it("committed weights on a graph model, and the circom route, are refused with a clear error", () => {
      const g = randomTransformer(9, { heads: 1, tokens: 3, width: 4, tail: "token-gather" });
      const q = quantize(asFloatModel(g), calib, { inputRange: [-1, 1] });
      expect(() => synthesize(q, { visibility: "committed", countOnly: true })).to.throw(/committed weights are not supported for graph models/);
      expect(() => synthesize(q, { visibility: "committed", input: new Array<bigint>(12).fill(0n) })).to.throw(/committed weights are not supported for graph models/);
      expect(() => generateCircom(q)).to.throw(/direct route/);
      // the constant-weight direct route takes it
      expect(() => synthesize(q, { countOnly: true })).to.not.throw();
    });
  });
});
