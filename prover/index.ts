// The prover library: backends, packages, witnesses, one-shot proving and verification. The service that runs
// proofs as jobs (store, queue, workers, HTTP) is prover/service/.
export * from "./types.ts";
export * from "./errors.ts";
export { loadModelPackage, openPackage, requireProvable, type ModelPackage, type ProvablePackage } from "../circuits/compiler/package.ts";
export * from "./witness.ts";
export * from "./prove.ts";
export * from "./verify.ts";
export { selectBackend, knownBackends, loadNativeBackend } from "./backends/index.ts";
export { createSnarkjsBackend, terminateSnarkjs } from "./backends/snarkjs.ts";
