// Typings for the parts of snarkjs 0.7 ozk uses (the package ships none): the compiler, the prover and tests.
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
    beacon(oldZkey: FileRef, newZkey: FileRef, name: string, beaconHashStr: string, numIterationsExp: number, logger?: Logger): Promise<unknown>;
    /** One phase-2 contribution with the caller's secret `entropy`; returns the contribution hash. */
    contribute(oldZkey: FileRef, newZkey: FileRef, name: string, entropy: string, logger?: Logger): Promise<unknown>;
    exportVerificationKey(zkey: FileRef, logger?: Logger): Promise<VerificationKey>;
    exportSolidityVerifier(zkey: FileRef, templates: { groth16: string }, logger?: Logger): Promise<string>;
  };
  export const groth16: {
    prove(zkey: FileRef, witness: FileRef, logger?: Logger): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }>;
    fullProve(input: Record<string, unknown>, wasm: FileRef, zkey: FileRef, logger?: Logger): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }>;
    verify(vkey: VerificationKey, publicSignals: PublicSignals, proof: Groth16Proof, logger?: Logger): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: FileRef, wtns: FileRef): Promise<void>;
  };
}
