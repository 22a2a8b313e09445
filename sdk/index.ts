// Browser-safe entry of the ozk SDK: hashing, claim encoding, input data, deployments, errors, client.
// No side effects on import; Node-only helpers (daemon kit) live in sdk/node/.
export * from "./hash.ts";
export * from "./signals.ts";
export * from "./errors.ts";
export * from "./deployments.ts";
export * from "./inputs.ts";
export * from "./client.ts";
