// Challenger bot configuration: zod schema, read from a JSON file and OZK_CHALLENGER_* environment variables.
import { z } from "zod";
import { configFields, loadConfig } from "../sdk/node/config.ts";

const { hex32, amount } = configFields;

export const challengerConfigSchema = z
  .object({
    rpcUrl: configFields.rpcUrl,
    privateKey: hex32,
    deployment: z.string().min(1),
    /** Model packages whose claims are re-executed; claims of other models are ignored. */
    models: configFields.models,
    /** A folder of packages served as they are registered (see configFields.modelsDir). */
    modelsDir: configFields.modelsDir,
    modelsRescanMs: configFields.modelsRescanMs,
    /** Accept unsafe-dev registry entries off the development chain (see configFields.allowUnsafeSetup). */
    allowUnsafeSetup: configFields.allowUnsafeSetup,
    /**
     * Which claims to re-execute. all: every claim. probability: each with `probability`.
     * value: every claim whose bond (plus request fee) is at least `valueThreshold`, the rest with `probability`.
     * The draw is a hash of (claimId, seed), so a restart makes the same choice. Without a configured seed each
     * store gets a random one on first start: a seed a cheater knows tells them which claims go unchecked.
     */
    sampling: z
      .object({
        policy: z.enum(["all", "probability", "value"]).default("all"),
        probability: z.number().min(0).max(1).default(1),
        valueThreshold: amount.default(0n),
        seed: z.string().min(16, "a sampling seed a cheater can guess tells them which claims go unchecked: use at least 16 characters, or leave it unset for a random one").optional(),
      })
      .strict()
      .default({}),
    /** A sampled claim whose input data is missing or does not match its inputHash: report only, or challenge it. */
    missingInput: z.enum(["report", "challenge"]).default("report"),
    /**
     * A sampled batch whose data (at its dataURI) cannot be fetched, is malformed or does not rebuild its root:
     * challenge a position (0, or the first whose input is unusable), which only the provider's proof can answer; or
     * ignore it (logged).
     */
    unavailableData: z.enum(["challenge", "ignore"]).default("challenge"),
    /** Fetching a batch's data: the time and size limits of one fetch, and how many fetches that fail on the way are made. */
    batchData: z
      .object({
        timeoutMs: z.number().int().positive().default(10_000),
        maxBytes: z.number().int().min(1024).max(2 ** 30).default(64 * 1024 * 1024),
        attempts: z.number().int().positive().default(3),
        /**
         * Folder where the data of every batch that checked out against its root is kept (one file per root, as GET
         * /batches/:root serves it). The challenger then answers GET /batches/:root from it, read-only, so it can be
         * a provider's mirror (provider batching.mirrors) for a batch whose store was lost. Unset: nothing is kept.
         */
        archiveDir: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    /**
     * Slash claims and batches of watched models whose audit was missed (selected and unproven past its deadline, or
     * never drawn while its seed was readable) with slashMissedAudit, sampled or not. The whole bond goes to the treasury: this
     * bot earns nothing and pays the gas; it keeps audits binding when nobody else does.
     */
    slashMissedAudits: z.boolean().default(true),
    /** Settle a wrong claim at once with a proof of the right output (needs the package's zkey) instead of challenging. */
    counterProve: z.boolean().default(false),
    /**
     * Seconds before the end of a claim's challenge window under which a counter-prover whose commitment cannot be
     * revealed yet challenges first (keeping the claim open; its bond comes back when the counter-proof lands).
     */
    counterProveMarginSeconds: z.number().int().nonnegative().default(300),
    stakeTarget: amount.default(0n),
    store: z.string().default(".ozk/challenger.sqlite"),
    port: z.number().int().min(0).max(65535).default(0),
    intervalMs: z.number().int().positive().default(1000),
    confirmations: z.number().int().nonnegative().default(0),
    /** When /healthz reports degraded, and the RPC timeout at start (see configFields.health). */
    health: configFields.health,
    /** Request size and time limits of the HTTP API (see configFields.http). */
    http: configFields.http,
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "silent"]).default("info"),
  })
  .strict();

export type ChallengerConfig = z.output<typeof challengerConfigSchema>;

export function loadChallengerConfig(options: { file?: string; overrides?: Record<string, unknown>; env?: Record<string, string | undefined> } = {}): ChallengerConfig {
  return loadConfig(challengerConfigSchema, { envPrefix: "OZK_CHALLENGER_", docsPath: "daemons.md#configuration", ...options });
}
