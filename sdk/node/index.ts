// Node-only daemon kit: config, logs, metrics, ops server, retries, event cursor, SQLite store, run loop.
export * from "./config.ts";
export * from "./logger.ts";
export * from "./metrics.ts";
export * from "./server.ts";
export * from "./retry.ts";
export * from "./cursor.ts";
export * from "./store.ts";
export * from "./daemon.ts";
export * from "./health.ts";
export * from "./deployments.ts";
