// The direct route: emits a model's constraint system (.r1cs) and/or its witness straight from TypeScript,
// gadget by gadget. Constant-weight layers fold into the requantization constraint (one linear constraint
// per output neuron, no wire per multiply-accumulate). The same code writes constraints and computes the
// witness, so the two cannot drift; tests compare the witness outputs with the reference engine.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { FIELD_P, SPONGE_RATE, valuesPerLimb } from "../../sdk/hash.ts";
import { forEachOutput, forEachPadTap, padTerms, poolWindows } from "./engine.ts";
import type { QLinear, QOp, QuantizedModel } from "./quantize.ts";
import { commitValues } from "./quantize.ts";
import { mod, R1csWriter, type LC } from "./r1cs.ts";

export type Visibility = "constant" | "committed";

/** A linear combination under construction: wire -> coefficient (wire 0 is the constant 1). */
export type Lin = Map<number, bigint>;

const ZERO: LC = { wires: [], coeffs: [] };
const ZERO_LIN: Lin = new Map();
export const lin = (w: number, c = 1n): Lin => new Map([[w, c]]);
export const konst = (c: bigint): Lin => new Map([[0, c]]);

/** acc += k * l */
export function addTo(acc: Lin, l: Lin, k = 1n): Lin {
  for (const [w, c] of l) acc.set(w, (acc.get(w) ?? 0n) + k * c);
  return acc;
}
export const sum = (...terms: [Lin, bigint][]): Lin => {
  const acc: Lin = new Map();
  for (const [l, k] of terms) addTo(acc, l, k);
  return acc;
};
function toLC(l: Lin): LC {
  const out: LC = { wires: [], coeffs: [] };
  for (const [w, c] of l) {
    const r = mod(c);
    if (r !== 0n) {
      out.wires.push(w);
      out.coeffs.push(r);
    }
  }
  return out;
}

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

/** Where a Builder writes its constraints: an R1csWriter, or anything else that takes them (tests keep them in memory). */
export type ConstraintSink = Pick<R1csWriter, "add">;

/** Builds constraints and (in witness mode) the witness with the same code; the gadgets of both routes use it. */
export class Builder {
  nWires = 1;
  nConstraints = 0;
  readonly values: bigint[] | null;

  constructor(
    private readonly writer: ConstraintSink | null,
    witness: boolean,
    private readonly check: boolean,
    private readonly progress?: (n: number) => void,
    readonly countOnly = false,
  ) {
    this.values = witness ? [1n] : null;
  }

  get wit(): boolean {
    return this.values !== null;
  }

  alloc(value: () => bigint): number {
    const w = this.nWires++;
    if (this.values) this.values.push(value());
    return w;
  }

  set(w: number, v: bigint): void {
    if (this.values) this.values[w] = v;
  }

  /** Integer value of a combination of integer wires. */
  val(l: Lin): bigint {
    const vs = this.values!;
    let s = 0n;
    for (const [w, c] of l) s += c * vs[w]!;
    return s;
  }

  enforce(a: Lin | LC, b: Lin | LC, c: Lin | LC, what: string): void {
    if (!this.writer && !this.check) {
      // nothing reads the constraint: count it
      this.nConstraints++;
      if (this.progress && this.nConstraints % 100_000 === 0) this.progress(this.nConstraints);
      return;
    }
    const A = a instanceof Map ? toLC(a) : a;
    const B = b instanceof Map ? toLC(b) : b;
    const C = c instanceof Map ? toLC(c) : c;
    if (this.check && this.values) {
      const ev = (l: LC): bigint => {
        let s = 0n;
        for (let i = 0; i < l.wires.length; i++) s += l.coeffs[i]! * this.values![l.wires[i]!]!;
        return mod(s);
      };
      if (mod(ev(A) * ev(B)) !== ev(C)) throw new Error(`constraint ${this.nConstraints} (${what}) is not satisfied by the witness`);
    }
    this.writer?.add(A, B, C);
    this.nConstraints++;
    if (this.progress && this.nConstraints % 100_000 === 0) this.progress(this.nConstraints);
  }

  /** l == 0 */
  zero(l: Lin, what: string): void {
    // A = B = 0, C = l: a linear constraint adds no A/B coefficients to the proving key (smaller zkey, faster prover).
    this.enforce(ZERO, ZERO, l, what);
  }

  /** n boolean wires holding the bits of the value (which must lie in [0, 2^n)). */
  bits(value: bigint, n: number, what: string): number[] {
    if (this.countOnly) {
      // n wires and n constraints (b * b = b each), without building them
      const first = this.nWires;
      this.nWires += n;
      this.nConstraints += n;
      return Array.from({ length: n }, (_, i) => first + i);
    }
    if (this.wit && (value < 0n || value >= 1n << BigInt(n))) throw new RangeError(`${what}: ${value} does not fit in ${n} bits`);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = this.alloc(() => (value >> BigInt(i)) & 1n);
      this.enforce(lin(b), lin(b), lin(b), what); // b * b = b: fewer proving-key coefficients than b * (b - 1) = 0
      out.push(b);
    }
    return out;
  }

  /** l == sum bits * 2^i, bits range-checked: l in [0, 2^n). */
  decompose(l: Lin, n: number, what: string): number[] {
    if (this.countOnly) {
      // the bits, and the one linear constraint binding them to l
      const bits = this.bits(0n, n, what);
      this.nConstraints++;
      return bits;
    }
    const bits = this.bits(this.wit ? this.val(l) : 0n, n, what);
    const eq = new Map(l);
    bits.forEach((b, i) => addTo(eq, lin(b), -(1n << BigInt(i))));
    this.zero(eq, what);
    return bits;
  }

  /** A wire equal to l (one linear constraint). */
  materialize(l: Lin, what: string, field = false): Lin {
    if (l.size === 1) {
      const [w, c] = l.entries().next().value!;
      if (c === 1n && w !== 0) return l;
    }
    const w = this.alloc(() => (field ? mod(this.val(l)) : this.val(l)));
    this.zero(addTo(new Map(l), lin(w), -1n), what);
    return lin(w);
  }

  /** a * b as a new wire (integer wires). */
  mul(a: Lin, b: Lin, what: string): number {
    const w = this.alloc(() => this.val(a) * this.val(b));
    this.enforce(a, b, lin(w), what);
    return w;
  }

  /** 1 if l == 0 else 0 (circomlib IsZero). */
  isZero(l: Lin, what: string): number {
    const v = this.wit ? mod(this.val(l)) : 0n;
    const inv = this.alloc(() => (v === 0n ? 0n : modInverse(v)));
    const z = this.alloc(() => (v === 0n ? 1n : 0n));
    this.enforce(l, lin(inv), sum([konst(1n), 1n], [lin(z), -1n]), what);
    this.enforce(l, lin(z), ZERO, what);
    return z;
  }
}

function modInverse(a: bigint): bigint {
  let [r0, r1] = [mod(a), FIELD_P];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const qt = r0 / r1;
    [r0, r1] = [r1, r0 - qt * r1];
    [s0, s1] = [s1, s0 - qt * s1];
  }
  return mod(s0);
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

/** Requantize M*acc (+ rounding) by a shift with a range-checked remainder, then clamp/relu. Returns y. */
export function requantGadget(cs: Builder, scaledAcc: Lin, s: number, Q: number, outBits: number, relu: boolean, what: string): Lin {
  const T = s + Q;
  const round = s > 0 ? 1n << BigInt(s - 1) : 0n;
  const v = addTo(scaledAcc, konst(round + (1n << BigInt(Q - 1 + s))));
  const c = cs.decompose(v, T, what);
  const q: Lin = konst(-(1n << BigInt(Q - 1)));
  for (let i = s; i < T; i++) addTo(q, lin(c[i]!), 1n << BigInt(i - s));
  const sign = lin(c[T - 1]!);
  const hi = (1n << BigInt(outBits - 1)) - 1n;
  const lo = -hi - 1n;
  if (Q <= outBits) return relu ? lin(cs.mul(sign, q, what)) : cs.materialize(q, what);
  const high: Lin = new Map();
  for (let i = s + outBits - 1; i <= T - 2; i++) addTo(high, lin(c[i]!));
  const none = cs.isZero(high, what);
  const over = cs.mul(sign, sum([konst(1n), 1n], [lin(none), -1n]), what);
  if (relu) {
    const t = cs.mul(sum([konst(1n), 1n], [lin(over), -1n]), q, what);
    return lin(cs.mul(sign, sum([lin(over), hi], [lin(t), 1n]), what));
  }
  const all = cs.isZero(addTo(new Map(high), konst(-BigInt(Q - outBits))), what);
  const under = cs.mul(sum([konst(1n), 1n], [sign, -1n]), sum([konst(1n), 1n], [lin(all), -1n]), what);
  const t = cs.mul(sum([konst(1n), 1n], [lin(over), -1n], [lin(under), -1n]), q, what);
  return sum([lin(over), hi], [lin(under), lo], [lin(t), 1n]);
}

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

export function maxGadget(cs: Builder, a: Lin, b: Lin, bits: number, what: string): Lin {
  // ge = (b >= a): b - a + 2^bits lies in [1, 2^(bits+1)) for bits-wide signed operands.
  const d = sum([b, 1n], [a, -1n], [konst(1n << BigInt(bits)), 1n]);
  const ge = cs.decompose(d, bits + 1, what)[bits]!;
  const m = cs.alloc(() => (cs.values![ge] ? cs.val(b) : cs.val(a)));
  cs.enforce(lin(ge), sum([b, 1n], [a, -1n]), sum([lin(m), 1n], [a, -1n]), what);
  return lin(m);
}

function opGadget(cs: Builder, op: QOp, x: Lin[], committed: CommittedWeights | null): Lin[] {
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
  }
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
  const cost = (name: string, kind: string): void => {
    costs.push({ name, kind, constraints: cs.nConstraints - mark });
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

  let x = x0;
  for (const op of q.ops) {
    x = opGadget(cs, op, x, perOp.get(op) ?? null);
    cost(op.name, op.kind === "linear" ? op.source : op.kind);
  }
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
