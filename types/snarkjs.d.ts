// Typings for the parts of snarkjs 0.7 ozk uses (the package ships none): the compiler, the prover and tests; and,
// at the end, of ffjavascript, snarkjs's curve library (reading phase-2 contributions, the setup forgery test).
declare module "snarkjs" {
  export interface Logger {
    info(msg: string): void;
    debug(msg: string): void;
    warn(msg: string): void;
    error(msg: string): void;
  }
  export type FileRef = string | { type: "mem"; data?: Uint8Array };
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export type PublicSignals = string[];
  export type VerificationKey = Record<string, unknown> & { protocol?: string; curve?: string; nPublic?: number };
  export const zKey: {
    newZKey(r1cs: FileRef, ptau: FileRef, zkey: FileRef, logger?: Logger): Promise<unknown>;
    /** Returns the contribution hash, or false for a malformed beacon. */
    beacon(oldZkey: FileRef, newZkey: FileRef, name: string, beaconHashStr: string, numIterationsExp: number, logger?: Logger): Promise<Uint8Array | false>;
    /** Returns the contribution hash. */
    contribute(oldZkey: FileRef, newZkey: FileRef, name: string, entropy: string, logger?: Logger): Promise<Uint8Array>;
    verifyFromR1cs(r1cs: FileRef, ptau: FileRef, zkey: FileRef, logger?: Logger): Promise<boolean>;
    verifyFromInit(initZkey: FileRef, ptau: FileRef, zkey: FileRef, logger?: Logger): Promise<boolean>;
    exportVerificationKey(zkey: FileRef, logger?: Logger): Promise<VerificationKey>;
    exportSolidityVerifier(zkey: FileRef, templates: { groth16: string }, logger?: Logger): Promise<string>;
  };
  export const groth16: {
    prove(zkey: FileRef, witness: FileRef, logger?: Logger): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }>;
    fullProve(input: Record<string, unknown>, wasm: FileRef, zkey: FileRef, logger?: Logger): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }>;
    verify(vkey: VerificationKey, publicSignals: PublicSignals, proof: Groth16Proof, logger?: Logger): Promise<boolean>;
  };
  export const powersOfTau: {
    /** Adds the Lagrange sections 12-15 (phase-2 preparation). */
    preparePhase2(oldPtau: FileRef, newPtau: FileRef, logger?: Logger): Promise<void>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: FileRef, wtns: FileRef): Promise<void>;
  };
}

// BN254 point and scalar arithmetic (prover/setup/phase2.ts and contribute.ts, test/setup/forgery.test.ts, native prover tests).
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
    toRprLEM(buff: Uint8Array, offset: number, p: Elem): void;
    /** A point derived from the generator's output (snarkjs's hash-to-curve for proofs of knowledge). */
    fromRng(rng: ChaCha): Elem;
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
