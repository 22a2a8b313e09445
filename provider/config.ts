// Provider daemon configuration: zod schema, read from a JSON file and OZK_PROVIDER_* environment variables.
import { z } from "zod";
import { configFields, loadConfig, urlWithScheme } from "../sdk/node/config.ts";

const { hex32, amount } = configFields;

/** When client jobs of one model are posted together as one Merkle batch (BatchManager) instead of one claim each. */
const batchRule = {
  /** Post client jobs (POST /infer) in batches; on-chain requests stay single claims. */
  enabled: z.boolean(),
  /** A batch is posted as soon as this many distinct claims are ready. */
  maxClaims: z.number().int().min(1).max(1 << 20),
  /** ... or once the oldest ready job is this old (ms). */
  maxAgeMs: z.number().int().nonnegative(),
  /**
   * The bond a batch locks (at least the model's minimum; unset: `bond`). One bond covers every claim of a batch, so
   * it should grow with the batch: docs/economics.md sizes it from the batch size and the audit rate.
   */
  bond: amount,
};

export const providerConfigSchema = z
  .object({
    /** JSON-RPC endpoint of the chain. */
    rpcUrl: configFields.rpcUrl,
    /** Key of the provider account (holds the bond token and gas). */
    privateKey: hex32,
    /** deployments/<network>.json: a network name or a path. */
    deployment: z.string().min(1),
    /** Model packages served; modelId defaults to the deployment's entry for the package's name. */
    models: configFields.models,
    /** A folder of packages served as they are registered (see configFields.modelsDir). */
    modelsDir: configFields.modelsDir,
    modelsRescanMs: configFields.modelsRescanMs,
    /** Accept unsafe-dev registry entries off the development chain (see configFields.allowUnsafeSetup). */
    allowUnsafeSetup: configFields.allowUnsafeSetup,
    /** Bond locked per claim (at least the model's minimum; 0 means the minimum). */
    bond: amount.default(0n),
    /**
     * Free stake kept ready: when free stake is below one bond, or below the bonds of the queued jobs, it is topped
     * up from the token balance to this much, or to the queued jobs' bonds when more.
     */
    stakeTarget: amount.default(0n),
    /**
     * The most this provider keeps staked, free stake and the bonds of its live claims together, however many jobs
     * are queued (0: no cap but the tokens held). Jobs beyond it wait until settled claims free their bonds.
     */
    stakeCap: amount.default(0n),
    /**
     * The most client jobs (POST /infer) queued at once; past it /infer answers 429 until some are claimed, so one
     * client cannot grow the job store (and the stake the queue asks for) without bound. On-chain requests are not
     * counted.
     */
    maxQueuedJobs: z.number().int().positive().default(10_000),
    /** SQLite file for jobs, claims and the event cursor. */
    store: z.string().default(".ozk/provider.sqlite"),
    /** Port for /healthz, /metrics and the inference API (0 picks a free one). */
    port: z.number().int().min(0).max(65535).default(0),
    intervalMs: z.number().int().positive().default(1000),
    /** Blocks behind head treated as final when reading events. */
    confirmations: z.number().int().nonnegative().default(0),
    /** Prove on a remote prover service (see configFields.prover); unset: prove in this process. */
    prover: configFields.prover,
    /**
     * Rebuilding the store from the chain (at start, and for a challenged claim whose input the store lacks): this
     * provider's claims and their inputs are read from `fromBlock` (default: the deployment's block), `blockRange`
     * blocks per eth_getLogs call.
     */
    recovery: z
      .object({
        fromBlock: z.number().int().nonnegative().optional(),
        blockRange: z.number().int().positive().default(2000),
      })
      .strict()
      .default({}),
    /** Answer on-chain InferenceRequested for served models. */
    answerRequests: z.boolean().default(true),
    /**
     * Which requests are worth answering. A request is a stranger's transaction: without bounds a 1-wei request
     * asking for a huge minimum bond would lock the whole stake for a challenge window, and a large callback makes
     * every settlement expensive. Requests outside these bounds are refused (the job fails, with the reason).
     */
    requestPolicy: z
      .object({
        /** Least fee (token units) a request must pay. */
        minFee: amount.default(0n),
        /** Largest bond a request may require; 0: no more than this provider's own bond for the model. */
        maxBond: amount.default(0n),
        /** Largest consumer callback gas this provider will supply at settlement. */
        maxCallbackGas: z.number().int().nonnegative().default(500_000),
      })
      .strict()
      .default({}),
    /**
     * Local proofs run at once (the rest wait, soonest proof deadline first). The native prover uses every core for
     * one proof, so more at once only shares the machine and its memory between them.
     */
    localProofConcurrency: z.number().int().positive().default(1),
    /**
     * Merkle-batched claims (docs/daemons.md#batches): client jobs of a model are collected and posted as one batch
     * when `maxClaims` are ready or the oldest is `maxAgeMs` old. `models` overrides these per model (by package name
     * or modelId).
     */
    batching: z
      .object({
        enabled: batchRule.enabled.default(false),
        maxClaims: batchRule.maxClaims.default(100),
        maxAgeMs: batchRule.maxAgeMs.default(30_000),
        bond: batchRule.bond.optional(),
        models: z.record(z.string().min(1), z.object(batchRule).partial().strict()).optional(),
        /**
         * Folder of the batch archive: each batch's data (its leaves and inputs) written to a file named by its root
         * and fsync'd before submitBatch is sent, outside the store, so a lost store does not lose the batch. Unset:
         * `<store>.batches` next to the store file (no archive for an in-memory store).
         */
        archiveDir: z.string().min(1).optional(),
        /**
         * Servers of GET /batches/:root (a challenger with batchData.archiveDir, or any static server over an archive
         * folder) asked, after the archive, for an open batch the store lacks; their data is used only when every leaf
         * rebuilds the root on chain and every input matches its hash and the model's shape.
         */
        mirrors: z.array(urlWithScheme(["http", "https"], "https://challenger.example.org")).default([]),
        /** Time and size limits of one fetch from a mirror. */
        mirrorFetch: z
          .object({
            timeoutMs: z.number().int().positive().default(10_000),
            maxBytes: z.number().int().min(1024).max(2 ** 30).default(64 * 1024 * 1024),
          })
          .strict()
          .default({}),
        /**
         * An on-chain request for a (model, input) that is a leaf of one of this provider's Finalized batches is
         * fulfilled from it (ClaimManager.fulfillFromBatch) instead of with a new claim; one in a batch still open is
         * kept until the batch finalizes when that comes before the request's expiry.
         */
        fulfilRequests: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /**
     * The provider's URL as others reach it: a batch's dataURI is `<publicUrl>/batches/<root>`. Unset: the URL this
     * process listens on (right only when challengers reach it there).
     */
    publicUrl: urlWithScheme(["http", "https"], "https://provider.example.org").optional(),
    /**
     * Fault injection for tests and the demo: the fraction of claims made with a wrong output, the batch positions
     * always made wrong (`wrongLeafIndexes`: a batch with exactly these wrong leaves, whatever the jobs), and a point
     * at which the process kills itself (SIGKILL) once, to test restarts. Never set them in production.
     */
    faults: z
      .object({
        wrongOutputRate: z.number().min(0).max(1).default(0),
        wrongLeafIndexes: z.array(z.number().int().nonnegative()).default([]),
        killAt: z.enum(["batch-stored", "batch-sent"]).optional(),
      })
      .strict()
      .default({}),
    /** When /healthz reports degraded, and the RPC timeout at start (see configFields.health). */
    health: configFields.health,
    /** Request size and time limits of the HTTP API (see configFields.http). */
    http: configFields.http,
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "silent"]).default("info"),
  })
  .strict();

export type ProviderConfig = z.output<typeof providerConfigSchema>;

export function loadProviderConfig(options: { file?: string; overrides?: Record<string, unknown>; env?: Record<string, string | undefined> } = {}): ProviderConfig {
  return loadConfig(providerConfigSchema, { envPrefix: "OZK_PROVIDER_", docsPath: "daemons.md#configuration", ...options });
}
