// Browser-safe entry of the ozk SDK: hashing, claim encoding, input data and quantization, deployments, errors,
// client, protocol types and the generated contract ABIs. No side effects on import; Node-only helpers (daemon kit)
// live in sdk/node/ and are not re-exported here.
export * from "./hash.ts";
export * from "./signals.ts";
export * from "./errors.ts";
export * from "./deployments.ts";
export * from "./inputs.ts";
export * from "./quantize.ts";
export * from "./client.ts";
export * from "./protocol.ts";
export * from "./abi.ts";
export * from "./claims.ts";
export * from "./batch.ts";
