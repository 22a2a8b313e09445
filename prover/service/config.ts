// Prover service configuration: defaults < JSON file < OZK_PROVER_* env < CLI flags.
import { z } from "zod";
import { configFields, loadConfig, urlWithScheme } from "../../sdk/node/config.ts";

export const proverConfigSchema = z.object({
  /** HTTP API port (0 picks a free one). */
  port: z.number().int().min(0).max(65535).default(8547),
  host: z.string().default("127.0.0.1"),
  /** SQLite file for jobs. */
  db: z.string().default(".ozk/prover.db"),
  /** Root of model packages; jobs name a directory inside it. */
  modelsDir: z.string().default("models"),
  /** Proofs run at once by this process; 0 = API only. */
  workers: z.number().int().min(0).max(64).default(1),
  /** Redis URL: when set, jobs go through a shared BullMQ queue. */
  redisUrl: urlWithScheme(["redis", "rediss"], "redis://127.0.0.1:6379").optional(),
  queueName: z.string().default("ozk-prove"),
  /** "auto" (fastest available), "native" or "snarkjs". */
  backend: z.string().default("auto"),
  maxAttempts: z.number().int().min(1).max(20).default(3),
  /** Request size and time limits of the HTTP API (see configFields.http). */
  http: configFields.http,
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type ProverConfig = z.output<typeof proverConfigSchema>;

export const PROVER_ENV_PREFIX = "OZK_PROVER_";

export function loadProverConfig(options: { file?: string; overrides?: Record<string, unknown>; env?: Record<string, string | undefined> } = {}): ProverConfig {
  return loadConfig(proverConfigSchema, { envPrefix: PROVER_ENV_PREFIX, docsPath: "prover-service.md#configuration", ...options });
}
