// The prover service: the job store, the queue and workers, the HTTP service and its client.
export * from "./jobs.ts";
export * from "./queue.ts";
export * from "./worker.ts";
export * from "./service.ts";
export * from "./config.ts";
export * from "./client.ts";
