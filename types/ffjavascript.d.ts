// Typings for the parts of ffjavascript ozk uses (the package ships none): BN254 point and scalar arithmetic for
// reading phase-2 contributions out of a .zkey (circuits/compiler/setup.ts) and for the setup forgery test.
declare module "ffjavascript" {
  /** A field element or curve point in ffjavascript's internal (Montgomery, little-endian) representation. */
  export type Elem = Uint8Array;
  export interface Field {
    n8: number;
    e(v: bigint | number | string): Elem;
    inv(a: Elem): Elem;
    neg(a: Elem): Elem;
    add(a: Elem, b: Elem): Elem;
    mul(a: Elem, b: Elem): Elem;
    eq(a: Elem, b: Elem): boolean;
    isZero(a: Elem): boolean;
    one: Elem;
    fromRng(rng: ChaCha): Elem;
    toObject(a: Elem): bigint;
  }
  export interface Group {
    F: Field;
    g: Elem;
    zero: Elem;
    fromObject(o: bigint[] | bigint[][]): Elem;
    toObject(p: Elem): bigint[] | bigint[][];
    toAffine(p: Elem): Elem;
    add(a: Elem, b: Elem): Elem;
    neg(a: Elem): Elem;
    eq(a: Elem, b: Elem): boolean;
    timesFr(p: Elem, s: Elem): Elem;
    timesScalar(p: Elem, s: bigint): Elem;
    fromRprLEM(buff: Uint8Array, offset: number): Elem;
    toRprUncompressed(buff: Uint8Array, offset: number, p: Elem): void;
  }
  export interface Curve {
    G1: Group;
    G2: Group;
    Fr: Field;
    terminate(): Promise<void>;
  }
  export function buildBn128(singleThread?: boolean): Promise<Curve>;
  export class ChaCha {
    constructor(seed: number[]);
    nextU32(): number;
  }
}
