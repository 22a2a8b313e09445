// The constraint builder both circuit routes' direct gadgets use: linear combinations over wires, a Builder that
// writes constraints and (in witness mode) computes the witness with the same code, and the two gadgets every layer
// ends in (requantization, max).
import { FIELD_P } from "../../sdk/hash.ts";
import { mod, type LC, type R1csWriter } from "./r1cs.ts";

/** A linear combination under construction: wire -> coefficient (wire 0 is the constant 1). */
export type Lin = Map<number, bigint>;

export const ZERO: LC = { wires: [], coeffs: [] };
export const ZERO_LIN: Lin = new Map();
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

export function maxGadget(cs: Builder, a: Lin, b: Lin, bits: number, what: string): Lin {
  // ge = (b >= a): b - a + 2^bits lies in [1, 2^(bits+1)) for bits-wide signed operands.
  const d = sum([b, 1n], [a, -1n], [konst(1n << BigInt(bits)), 1n]);
  const ge = cs.decompose(d, bits + 1, what)[bits]!;
  const m = cs.alloc(() => (cs.values![ge] ? cs.val(b) : cs.val(a)));
  cs.enforce(lin(ge), sum([b, 1n], [a, -1n]), sum([lin(m), 1n], [a, -1n]), what);
  return lin(m);
}

