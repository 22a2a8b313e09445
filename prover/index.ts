// The prover's public surface: backends, packages, one-shot proving, the job store and the service.
export * from "./types.ts";
export * from "./errors.ts";
export * from "./package.ts";
export * from "./witness.ts";
export * from "./prove.ts";
export * from "./verify.ts";
export * from "./jobs.ts";
export * from "./queue.ts";
export * from "./worker.ts";
export * from "./service.ts";
export { selectBackend, knownBackends, loadNativeBackend } from "./backends/index.ts";
export { createSnarkjsBackend, terminateSnarkjs } from "./backends/snarkjs.ts";
export * from "./config.ts";
export * from "./client.ts";
