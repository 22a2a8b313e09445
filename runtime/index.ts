// The daemons' shared runtime: chain access for a daemon's account and the model packages it serves. Above the
// kit (sdk/node) and the prover library; used by the provider, the challenger and the CLI's chain commands.
export * from "./chain.ts";
export * from "./models.ts";
