// The direct route: emits a model's constraint system (.r1cs) and/or its witness straight from TypeScript,
// gadget by gadget. Constant-weight layers fold into the requantization constraint (one linear constraint
// per output neuron, no wire per multiply-accumulate). The same code writes constraints and computes the
// witness, so the two cannot drift; tests compare the witness outputs with the reference engine.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { SPONGE_RATE, valuesPerLimb } from "../../sdk/hash.ts";
import { forEachOutput, forEachPadTap, padTerms, poolWindows } from "./engine.ts";
import { commitValues, isGraphModel, opInputs, type QLinear, type QOp, type QuantizedModel } from "./quantize.ts";
import { mod, R1csWriter } from "./r1cs.ts";

export type Visibility = "constant" | "committed";

export { addTo, Builder, konst, lin, maxGadget, requantGadget, sum, type ConstraintSink, type Lin } from "./builder.ts";
import { addTo, Builder, konst, lin, maxGadget, requantGadget, sum, ZERO_LIN, type Lin } from "./builder.ts";
import { graphOpGadget } from "./gadgets-nonlinear.ts";

export interface SynthesisOptions {
  visibility?: Visibility;
  /** Write the constraint system here (.r1cs). */
  r1csPath?: string;
  /** Compute the witness for this quantized input. */
  input?: readonly bigint[];
  /** Check every constraint as it is added (witness mode; slow, for tests). */
  check?: boolean;
  /** Called now and then with (constraints so far) on long runs. */
  progress?: (constraints: number) => void;
  /** Count constraints and wires only (no .r1cs, no witness): the multiply-accumulate terms of linear layers, which
   *  add no constraint, are not built. The counts and costs are exactly those of the full synthesis. */
  countOnly?: boolean;
}

export interface OpCost {
  name: string;
  kind: string;
  constraints: number;
  /** Graph models: the part of a transformer the op belongs to (attention, softmax, norm, MLP, residual, embedding,
   *  head; see opRoles). */
  role?: string;
}

export interface Synthesis {
  nWires: number;
  nConstraints: number;
  nPublic: number;
  nPrivateInputs: number;
  /** Constraints per op and per fixed part (input range checks, hashes, packing). */
  costs: OpCost[];
  /** Witness mode: every wire's value (integers; negative ones stand for p - |v|). */
  witness?: bigint[];
  /** Witness mode: the model outputs read from the circuit wires. */
  outputs?: bigint[];
  /** Witness mode: the public signals, as snarkjs reports them (mod p). */
  publicSignals?: bigint[];
}


// ---- Poseidon (t = 17, the parameters of poseidon-lite's poseidon16 and circomlib's Poseidon(16)) ----

interface PoseidonParams {
  C: bigint[];
  M: bigint[][];
}
let poseidonParams: PoseidonParams | undefined;
function poseidon17(): PoseidonParams {
  if (!poseidonParams) {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve("poseidon-lite"));
    const unstringify = require(join(root, "poseidon/unstringify.js")).default as (o: unknown) => PoseidonParams;
    poseidonParams = unstringify(require(join(root, "constants/16.js")).default);
  }
  return poseidonParams;
}
const N_ROUNDS_F = 8;
const N_ROUNDS_P_16 = 68;

/** countOnly: constraints and wires one Poseidon adds, by which inputs are long combinations (the only thing they depend on). */
const poseidonCounts = new Map<string, { constraints: number; wires: number }>();

/** Poseidon16 of 16 field inputs, state[0] = 0 (what sdk poseidonSponge calls). Returns the output combination. */
function poseidonGadget(cs: Builder, inputs: Lin[]): Lin {
  if (cs.countOnly) {
    // The first round gives an input a wire of its own when it is a combination of more than two terms (the
    // constant added first included); every later count is fixed. Count each pattern once, then add it up.
    const key = inputs.map((l) => (l.size + (l.has(0) ? 0 : 1) > 2 ? "1" : "0")).join("");
    let n = poseidonCounts.get(key);
    if (!n) {
      const probe = new Builder(null, false, false, undefined, false);
      poseidonGadget(probe, inputs);
      n = { constraints: probe.nConstraints, wires: probe.nWires - 1 };
      poseidonCounts.set(key, n);
    }
    cs.nConstraints += n.constraints;
    cs.nWires += n.wires;
    // (a long combination, as the real output is: what follows materializes it the same way)
    return new Map([[0, 1n], [cs.nWires - 1, 1n]]);
  }
  const { C, M } = poseidon17();
  const t = 17;
  // Field-valued wires: witness values are kept mod p.
  const fval = (l: Lin): bigint => mod(cs.val(l));
  const sbox = (wide: Lin): Lin => {
    // x appears twice in A/B below: give it a wire first (one linear constraint) when it is a long combination.
    const x = wide.size > 2 ? cs.materialize(wide, "poseidon", true) : wide;
    const xv = cs.wit ? fval(x) : 0n;
    const x2 = cs.alloc(() => mod(xv * xv));
    cs.enforce(x, x, lin(x2), "poseidon");
    const x4 = cs.alloc(() => mod(cs.values![x2]! * cs.values![x2]!));
    cs.enforce(lin(x2), lin(x2), lin(x4), "poseidon");
    const x5 = cs.alloc(() => mod(cs.values![x4]! * xv));
    cs.enforce(lin(x4), x, lin(x5), "poseidon");
    return lin(x5);
  };
  let state: Lin[] = [konst(0n), ...inputs.map((l) => new Map(l))];
  for (let r = 0; r < N_ROUNDS_F + N_ROUNDS_P_16; r++) {
    const full = r < N_ROUNDS_F / 2 || r >= N_ROUNDS_F / 2 + N_ROUNDS_P_16;
    for (let y = 0; y < t; y++) {
      addTo(state[y]!, konst(C[r * t + y]!));
      if (full || y === 0) state[y] = sbox(state[y]!);
    }
    state = M.map((row) => {
      const acc: Lin = new Map();
      row.forEach((m, y) => addTo(acc, state[y]!, m));
      for (const [w, c] of acc) acc.set(w, mod(c));
      return acc;
    });
  }
  return state[0]!;
}

/** The sdk poseidonSponge over field-element combinations. */
function spongeGadget(cs: Builder, elements: Lin[]): Lin {
  let h: Lin = konst(0n);
  for (let i = 0; i < elements.length || i === 0; i += SPONGE_RATE) {
    const chunk: Lin[] = [h];
    for (let k = 0; k < SPONGE_RATE; k++) chunk.push(elements[i + k] ?? konst(0n));
    h = cs.materialize(poseidonGadget(cs, chunk), "poseidon", true);
    if (elements.length === 0) break;
  }
  return h;
}

/** The sdk packSigned limbs of range-checked signed values, as combinations. */
function packGadget(values: Lin[], bits: number): Lin[] {
  const k = valuesPerLimb(bits);
  const offset = 1n << BigInt(bits - 1);
  const limbs: Lin[] = [];
  for (let j = 0; j < values.length; j += k) {
    const limb: Lin = new Map();
    for (let t = 0; t < k && j + t < values.length; t++) {
      const sh = 1n << BigInt(bits * t);
      addTo(limb, values[j + t]!, sh);
      addTo(limb, konst(offset), sh);
    }
    limbs.push(limb);
  }
  return limbs;
}

// ---- layers ----

interface CommittedWeights {
  weights: Lin[];
  biases: Lin[];
}

function linearGadget(cs: Builder, op: QLinear, x: Lin[], committed: CommittedWeights | null): Lin[] {
  const nOut = op.outShape.reduce((a, b) => a * b, 1);
  const y: Lin[] = new Array(nOut);
  const mult = op.multiplier.map(BigInt);
  const bias = op.bias.map(BigInt);
  const w = op.weight.map(BigInt);
  // A conv padded with a preprocessed input's raw zero (padValue): each border tap adds weight * padValue, a constant
  // (or, with committed weights, a constant multiple of a weight wire): linear, so it costs no constraint.
  const padConst = committed ? null : padTerms(op);
  const padLin: Lin[] = [];
  if (committed && op.padValue) {
    const pad = op.padValue.map(BigInt);
    forEachPadTap(op, (o, c, wi) => addTo((padLin[o] ??= new Map()), committed.weights[wi]!, pad[c]!));
  }
  forEachOutput(op, (o, ch, inIdx, wIdx, n) => {
    if (cs.countOnly) {
      // The accumulator's terms add no constraint (only the committed weights' products do): leave them out.
      if (committed && op.source !== "avgpool") for (let k = 0; k < n; k++) cs.mul(ZERO_LIN, ZERO_LIN, op.name);
      y[o] = requantGadget(cs, new Map(), op.shift[ch]!, op.qBits[ch]!, op.outBits, op.relu, op.name);
      return;
    }
    const M = mult[ch]!;
    const acc: Lin = new Map();
    if (committed && op.source !== "avgpool") {
      addTo(acc, committed.biases[ch]!, M);
      if (padLin[o]) addTo(acc, padLin[o], M);
      for (let k = 0; k < n; k++) addTo(acc, lin(cs.mul(committed.weights[wIdx[k]!]!, x[inIdx[k]!]!, op.name)), M);
    } else {
      acc.set(0, M * (bias[ch]! + padConst![o]!));
      if (op.source === "avgpool") for (let k = 0; k < n; k++) addTo(acc, x[inIdx[k]!]!, M);
      else for (let k = 0; k < n; k++) addTo(acc, x[inIdx[k]!]!, M * w[wIdx[k]!]!);
    }
    y[o] = requantGadget(cs, acc, op.shift[ch]!, op.qBits[ch]!, op.outBits, op.relu, op.name);
  });
  return y;
}

function opGadget(cs: Builder, op: QOp, ins: Lin[][], committed: CommittedWeights | null): Lin[] {
  const x = ins[0]!;
  switch (op.kind) {
    case "linear":
      return linearGadget(cs, op, x, committed);
    case "maxpool":
      return poolWindows(op).map((win) => win.slice(1).reduce((m, i) => maxGadget(cs, m, x[i]!, op.bits, op.name), x[win[0]!]!));
    case "relu":
      return x.map((v) => {
        const sign = cs.decompose(sum([v, 1n], [konst(1n << BigInt(op.bits - 1)), 1n]), op.bits, op.name)[op.bits - 1]!;
        return lin(cs.mul(lin(sign), v, op.name));
      });
    case "argmax": {
      let cur = x[0]!;
      let idx: Lin = konst(0n);
      for (let i = 1; i < op.n; i++) {
        // gt = (x_i > cur): x_i - cur - 1 + 2^bits lies in [0, 2^(bits+1)).
        const d = sum([x[i]!, 1n], [cur, -1n], [konst((1n << BigInt(op.bits)) - 1n), 1n]);
        const gt = lin(cs.decompose(d, op.bits + 1, op.name)[op.bits]!);
        const nextCur = cs.alloc(() => (cs.val(gt) ? cs.val(x[i]!) : cs.val(cur)));
        cs.enforce(gt, sum([x[i]!, 1n], [cur, -1n]), sum([lin(nextCur), 1n], [cur, -1n]), op.name);
        const nextIdx = cs.alloc(() => (cs.val(gt) ? BigInt(i) : cs.val(idx)));
        cs.enforce(gt, sum([konst(BigInt(i)), 1n], [idx, -1n]), sum([lin(nextIdx), 1n], [idx, -1n]), op.name);
        cur = lin(nextCur);
        idx = lin(nextIdx);
      }
      return [idx];
    }
    default:
      return graphOpGadget(cs, op, ins);
  }
}

/**
 * The part of a transformer each op of a graph model belongs to, for `ozk model inspect`: products of activations are
 * attention, and so is a linear layer that feeds one or reads one (through data moves only: Q, K, V, the output
 * projection); softmax, LayerNorm ("norm") and adds ("residual") by kind; GELU and the other linear layers are the
 * MLP, except a conv or a layer reading the input (embedding) and the op producing the output (head).
 */
export function opRoles(ops: readonly QOp[]): string[] {
  const readers: number[][] = ops.map(() => []);
  ops.forEach((_, k) => opInputs(ops, k).forEach((i) => i >= 0 && readers[i]!.push(k)));
  // through layouts: the first non-layout ops reached going down (readers) or up (inputs)
  const down = (k: number): number[] => readers[k]!.flatMap((r) => (ops[r]!.kind === "layout" ? down(r) : [r]));
  const up = (k: number): number[] => opInputs(ops, k).flatMap((i) => (i < 0 ? [i] : ops[i]!.kind === "layout" ? up(i) : [i]));
  return ops.map((op, k) => {
    switch (op.kind) {
      case "matmul":
        return "attention";
      case "softmax":
        return "softmax";
      case "layerNorm":
        return "norm";
      case "add":
        // an activation plus a constant (a positional embedding) belongs to the embedding; two activations meet in a residual
        return opInputs(ops, k).length === 1 && op.bias.length > 0 ? "embedding" : "residual";
      case "gelu":
        return "MLP";
      case "layout":
        return "data movement";
      case "linear": {
        if (k === ops.length - 1) return "head";
        if (op.source === "conv" || up(k).includes(-1)) return "embedding";
        if (down(k).some((r) => ops[r]!.kind === "matmul") || up(k).some((i) => i >= 0 && ops[i]!.kind === "matmul")) return "attention";
        return "MLP";
      }
      default:
        return op.kind;
    }
  });
}

/** Number of public signals: packed output limbs, inputHash, weightsCommitment. */
export function publicCount(q: QuantizedModel): number {
  return Math.ceil(q.outputCount / valuesPerLimb(q.outputBits)) + 2;
}

/**
 * Builds the model circuit: writes the .r1cs when opts.r1csPath is set, computes the witness when opts.input is set.
 * Wires: 0 = 1; 1..P = public outputs [packedOutputs..., inputHash, weightsCommitment]; then the private inputs
 * (the quantized input, then in committed mode the weights and biases); then internal wires.
 */
export function synthesize(q: QuantizedModel, opts: SynthesisOptions = {}): Synthesis {
  const visibility = opts.visibility ?? "constant";
  const writer = opts.r1csPath ? new R1csWriter(opts.r1csPath) : null;
  if (opts.countOnly && (opts.r1csPath || opts.input)) throw new Error("synthesize: countOnly writes no .r1cs and computes no witness");
  const cs = new Builder(writer, opts.input !== undefined, opts.check ?? false, opts.progress, opts.countOnly);
  const costs: OpCost[] = [];
  let mark = 0;
  const roles = isGraphModel(q) ? opRoles(q.ops) : [];
  const cost = (name: string, kind: string, role?: string): void => {
    costs.push({ name, kind, constraints: cs.nConstraints - mark, ...(role ? { role } : {}) });
    mark = cs.nConstraints;
  };
  const nPublic = publicCount(q);
  const publicWires = Array.from({ length: nPublic }, () => cs.alloc(() => 0n));

  const nIn = q.inputShape.reduce((a, b) => a * b, 1);
  if (opts.input && opts.input.length !== nIn) throw new Error(`${q.name}: input has ${opts.input.length} values, expected ${nIn}`);
  const inputWires = Array.from({ length: nIn }, (_, i) => cs.alloc(() => opts.input![i]!));
  const committedVals = visibility === "committed" ? commitValues(q) : [];
  const committedWires = committedVals.map((v) => cs.alloc(() => v));
  const nPrivateInputs = nIn + committedWires.length;

  /** Public wire j := l (computed first in witness mode so checks see it), then enforce it. */
  const bindPublic = (j: number, l: Lin, what: string): void => {
    if (cs.wit) cs.set(publicWires[j]!, mod(cs.val(l)));
    cs.zero(sum([l, 1n], [lin(publicWires[j]!), -1n]), what);
  };

  // Range checks of the private inputs.
  const x0 = inputWires.map((w) => lin(w));
  for (const x of x0) cs.decompose(sum([x, 1n], [konst(1n << BigInt(q.inputBits - 1)), 1n]), q.inputBits, "input range");
  cost("input", "input range check");

  const perOp = new Map<QOp, CommittedWeights>();
  if (visibility === "committed" && isGraphModel(q)) {
    throw new Error(`${q.name}: committed weights are not supported for graph models (transformers) yet; build it with constant weights`);
  }
  if (visibility === "committed") {
    // Weights are private inputs: range-check them and bind them to the public commitment.
    const lins = committedWires.map((w) => lin(w));
    let k = 0;
    for (const op of q.ops) {
      if (op.kind !== "linear" || op.source === "avgpool") continue;
      const weights = lins.slice(k, k + op.weight.length);
      k += op.weight.length;
      const biases = lins.slice(k, k + op.bias.length);
      k += op.bias.length;
      for (const l of weights) cs.decompose(sum([l, 1n], [konst(1n << BigInt(q.weightBits - 1)), 1n]), q.weightBits, "weight range");
      for (const l of biases) cs.decompose(sum([l, 1n], [konst(1n << BigInt(q.commitBits - 1)), 1n]), q.commitBits, "bias range");
      perOp.set(op, { weights, biases });
    }
    cost("weights", "weight range check");
    bindPublic(nPublic - 1, spongeGadget(cs, packGadget(lins, q.commitBits)), "weights commitment");
  } else {
    // Constant weights: the public weightsCommitment is pinned to the compile-time value.
    bindPublic(nPublic - 1, konst(BigInt(q.weightsCommitment)), "weights commitment");
  }
  cost("weightsCommitment", "weight commitment");

  const outs: Lin[][] = [];
  let x = x0;
  q.ops.forEach((op, k) => {
    x = opGadget(cs, op, opInputs(q.ops, k).map((i) => (i < 0 ? x0 : outs[i]!)), perOp.get(op) ?? null);
    outs.push(x);
    cost(op.name, op.kind === "linear" ? op.source : op.kind, roles[k]);
  });
  const outputs = x;
  packGadget(outputs, q.outputBits).forEach((l, j) => bindPublic(j, l, "output packing"));
  cost("outputs", "output packing");
  bindPublic(nPublic - 2, spongeGadget(cs, packGadget(x0, q.inputBits)), "input hash");
  cost("inputHash", "input hash");

  writer?.close({ nWires: cs.nWires, nPubOut: nPublic, nPubIn: 0, nPrvIn: nPrivateInputs });
  const result: Synthesis = { nWires: cs.nWires, nConstraints: cs.nConstraints, nPublic, nPrivateInputs, costs };
  if (cs.values) {
    result.witness = cs.values;
    result.outputs = outputs.map((l) => cs.val(l));
    result.publicSignals = publicWires.map((w) => cs.values![w]!);
  }
  return result;
}
