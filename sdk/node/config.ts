// Daemon configuration: one zod schema, values from a JSON file overridden by environment variables,
// validated once at start. Every problem names its field and where the value can be set.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT_MS } from "./server.ts";

export interface LoadConfigOptions {
  /**
   * Env var prefix, e.g. "OZK_PROVIDER_": field `rpcUrl` is read from OZK_PROVIDER_RPC_URL. Any other variable
   * with this prefix is a config error (a misspelled name), except those in ENV_READ_ELSEWHERE.
   */
  envPrefix: string;
  /** The docs section listing this config's fields, named in every config error (e.g. "daemons.md#configuration"). */
  docsPath?: string;
  /** JSON config file; missing file is an error only when given explicitly. */
  file?: string;
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Values from CLI flags: they win over file and env. */
  overrides?: Record<string, unknown>;
}

/** camelCase field path -> SCREAMING_SNAKE env name: ["metrics","port"] -> METRICS__PORT. */
export function envName(prefix: string, path: readonly string[]): string {
  return prefix + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("__");
}

/**
 * OZK_* variables read for other purposes than a daemon's config: never reported as unknown config variables,
 * even where they share a daemon's prefix (OZK_PROVIDER_CONFIG names the provider's file, OZK_PROVER_BACKEND is
 * also read by the prover library). Every `process.env.OZK_*` read outside test/ is listed here (a test checks).
 */
export const ENV_READ_ELSEWHERE: ReadonlySet<string> = new Set([
  "OZK_CHALLENGER_CONFIG",
  "OZK_CUDA_PROVER",
  "OZK_DEBUG",
  "OZK_DEPLOYMENT",
  "OZK_LOG_LEVEL",
  "OZK_NATIVE_PROVER",
  "OZK_NATIVE_RESIDENT",
  "OZK_NATIVE_SETUP",
  "OZK_NO_FIXTURE_MODEL",
  "OZK_PRIVATE_KEY",
  "OZK_PROGRESS_MS",
  "OZK_PROVER_BACKEND",
  "OZK_PROVIDER_CONFIG",
  "OZK_PTAU",
  "OZK_RESIDENT_KEYS",
  "OZK_RPC_URL",
  "OZK_TOKEN",
  "OZK_TREASURY",
]);

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s.removeDefault();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else if (s instanceof z.ZodBranded) s = s.unwrap();
    else if (s instanceof z.ZodPipeline) s = s._def.in;
    else return s;
  }
}

/** Turns an env string into the type the schema expects, so "8080" validates as a number. */
function coerceEnv(schema: z.ZodTypeAny, raw: string): unknown {
  const s = unwrap(schema);
  if (s instanceof z.ZodNumber) {
    // Not a number: left a string, so the error says "received string" (and shows the variable's value).
    const n = Number(raw);
    return raw.trim() === "" || Number.isNaN(n) ? raw : n;
  }
  if (s instanceof z.ZodBigInt) return /^-?\d+$/.test(raw.trim()) ? BigInt(raw.trim()) : raw;
  if (s instanceof z.ZodBoolean) {
    const v = raw.trim().toLowerCase();
    return ["1", "true", "yes", "on"].includes(v) ? true : ["0", "false", "no", "off"].includes(v) ? false : raw;
  }
  if (s instanceof z.ZodArray || s instanceof z.ZodRecord || s instanceof z.ZodTuple) {
    try {
      return JSON.parse(raw);
    } catch {
      // A comma list is friendlier for arrays of strings.
      return s instanceof z.ZodArray ? raw.split(",").map((x) => x.trim()).filter(Boolean) : raw;
    }
  }
  return raw;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * What the env says about entries of an array of objects, by index (`MODELS__0__MODEL_ID`): merged into the
 * array from the file (or from the env's whole-array JSON) entry by entry, field by field.
 */
class IndexedEntries {
  constructor(readonly entries: Map<number, Record<string, unknown>>, readonly base?: unknown) {}
}

function deepMerge(base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(top)) {
    if (v === undefined) continue;
    if (v instanceof IndexedEntries) {
      const from = v.base ?? out[k];
      const list: unknown[] = Array.isArray(from) ? [...(from as unknown[])] : [];
      for (const [i, entry] of v.entries) list[i] = isPlainObject(list[i]) ? deepMerge(list[i] as Record<string, unknown>, entry) : entry;
      // An index past the end leaves holes: say which entry is missing rather than pass `undefined` on.
      out[k] = Array.from(list, (x) => x ?? null);
      continue;
    }
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/** What readEnv looked at: every variable name it read, and which one set each field path ("models.0.package"). */
interface EnvTrace {
  read: Set<string>;
  setBy: Map<string, string>;
}

/** Reads env vars for every field of an object schema (recursing into nested objects with "__"). */
function readEnv(
  shape: z.ZodRawShape,
  prefix: string,
  env: Record<string, string | undefined>,
  trace: EnvTrace,
  path: string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const p = [...path, key];
    const inner = unwrap(field);
    if (inner instanceof z.ZodObject) {
      const nested = readEnv(inner.shape as z.ZodRawShape, prefix, env, trace, p);
      if (Object.keys(nested).length) out[key] = nested;
      continue;
    }
    const name = envName(prefix, p);
    trace.read.add(name);
    const raw = env[name];
    if (raw !== undefined) trace.setBy.set(p.join("."), name);
    const whole = raw === undefined ? undefined : coerceEnv(field, raw);
    const element = inner instanceof z.ZodArray ? unwrap(inner.element as z.ZodTypeAny) : undefined;
    if (element instanceof z.ZodObject) {
      // One entry's field: PREFIX_MODELS__0__PACKAGE. The indices are whatever the env names.
      const head = `${envName(prefix, p)}__`;
      const indices = new Set<number>();
      for (const name of Object.keys(env)) {
        const m = name.startsWith(head) ? /^(\d{1,4})__/.exec(name.slice(head.length)) : null;
        if (m && env[name] !== undefined) indices.add(Number(m[1]));
      }
      if (indices.size) {
        const entries = new Map<number, Record<string, unknown>>();
        for (const i of [...indices].sort((a, b) => a - b)) entries.set(i, readEnv(element.shape as z.ZodRawShape, prefix, env, trace, [...p, String(i)]));
        out[key] = new IndexedEntries(entries, whole);
        continue;
      }
    }
    if (whole !== undefined) out[key] = whole;
  }
  return out;
}

function closest(name: string, candidates: string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const tmp = d[j]!;
        d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
        prev = tmp;
      }
    }
    return d[b.length]!;
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dd = dist(name, c);
    if (dd < bestD) [best, bestD] = [c, dd];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function shapeAt(schema: z.ZodTypeAny, path: readonly (string | number)[]): z.ZodRawShape | undefined {
  let s = unwrap(schema);
  for (const p of path) {
    if (s instanceof z.ZodArray && typeof p === "number") {
      s = unwrap(s.element as z.ZodTypeAny);
      continue;
    }
    if (!(s instanceof z.ZodObject)) return undefined;
    const next = (s.shape as z.ZodRawShape)[String(p)];
    if (!next) return undefined;
    s = unwrap(next);
  }
  return s instanceof z.ZodObject ? (s.shape as z.ZodRawShape) : undefined;
}

/** A field whose value must not be echoed into logs (a key, a password, the challenger's sampling seed). */
const SECRET_FIELD = /key|secret|password|token|seed/i;

/**
 * Loads and validates a config: file < env < overrides. The top-level object is made strict (declare nested
 * objects with .strict() too), so an unknown key — usually a typo — is an error that names it and suggests
 * the right one; so is an unknown variable with the env prefix (unless in ENV_READ_ELSEWHERE).
 * Throws ConfigError whose `issues` each start with the field path (or the unknown variable's name).
 */
export function loadConfig<S extends z.AnyZodObject>(schema: S, options: LoadConfigOptions): z.output<S> {
  const env = options.env ?? process.env;
  const docs = { docsPath: options.docsPath ?? "daemons.md#configuration" };
  let fromFile: Record<string, unknown> = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read config file ${options.file}`, [`(file): ${(err as Error).message}`], docs);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isPlainObject(parsed)) throw new Error("top level must be a JSON object");
      fromFile = parsed;
    } catch (err) {
      throw new ConfigError(`config file ${options.file} is not valid JSON`, [`(file): ${(err as Error).message}`], docs);
    }
  }
  const trace: EnvTrace = { read: new Set(), setBy: new Map() };
  const fromEnv = readEnv(schema.shape as z.ZodRawShape, options.envPrefix, env, trace);
  const overrides = options.overrides ?? {};
  const merged = deepMerge(deepMerge(fromFile, fromEnv), overrides);
  const result = schema.strict().safeParse(merged);

  // A variable with the prefix that no field reads is a typo, like an unknown key in the file.
  const prefix = options.envPrefix;
  const known = [...trace.read].map((n) => n.slice(prefix.length));
  const issues: string[] = Object.keys(env)
    .filter((n) => n.startsWith(prefix) && env[n] !== undefined && !trace.read.has(n) && !ENV_READ_ELSEWHERE.has(n))
    .sort()
    .map((n) => {
      const hint = closest(n.slice(prefix.length), known);
      return `${n}: unknown environment variable${hint ? ` (did you mean ${prefix}${hint}?)` : ""}`;
    });
  if (result.success && !issues.length) return result.data;

  const where = (path: (string | number)[]): string => {
    if (path.length === 1 && overrides[String(path[0])] !== undefined) return "given as a command-line option";
    // The variable that set this field, or the entry or array it is part of.
    for (let n = path.length; n > 0; n--) {
      const name = trace.setBy.get(path.slice(0, n).join("."));
      if (name === undefined) continue;
      const raw = env[name]!;
      const shown = SECRET_FIELD.test(String(path[n - 1])) ? ", value hidden" : `=${JSON.stringify(raw.length > 100 ? `${raw.slice(0, 100)}…` : raw)}`;
      return `from env ${name}${shown}`;
    }
    // An array entry as a whole is set field by field: PREFIX_MODELS__0__PACKAGE, ...
    const entry = typeof path.at(-1) === "number" ? "__<FIELD>" : "";
    const sources = [`env ${envName(prefix, path.map(String))}${entry}`];
    if (options.file) sources.unshift(`"${path.join(".")}" in ${options.file}`);
    return `set ${sources.join(" or ")}`;
  };
  for (const issue of result.success ? [] : result.error.issues) {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      const fields = Object.keys(shapeAt(schema, issue.path) ?? {});
      for (const k of issue.keys) {
        const field = [...issue.path, k].join(".");
        const hint = closest(k, fields);
        issues.push(`${field}: unknown field${hint ? ` (did you mean "${[...issue.path, hint].join(".")}"?)` : ""}`);
      }
      continue;
    }
    const field = issue.path.join(".") || "(root)";
    issues.push(`${field}: ${issue.message} (${where(issue.path)})`);
  }
  throw new ConfigError(`invalid config: ${issues[0]}`, issues, docs);
}

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "not a 0x-prefixed 32-byte hex string");

/**
 * A URL with one of `schemes` (without the colon). `localhost:8545` parses as a URL whose scheme is
 * "localhost", and `127.0.0.1:8545` does not parse at all: both are refused naming the scheme wanted.
 */
export function urlWithScheme(schemes: readonly string[], example: string): z.ZodType<string> {
  return z.string().superRefine((value, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      // not a URL
    }
    const scheme = url?.protocol.slice(0, -1);
    if (scheme && schemes.includes(scheme) && url!.host !== "") return;
    const wanted = schemes.map((x) => `${x}://`).join(" or ");
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `${JSON.stringify(value.slice(0, 200))} is not a URL with ${wanted} in front (e.g. ${example})`,
    });
  });
}

/** Field schemas the daemon configs share. */
export const configFields = {
  /** A 0x-prefixed 32-byte hex string (private keys, model ids). */
  hex32,
  /** A JSON-RPC endpoint: an http:// or https:// URL. */
  rpcUrl: urlWithScheme(["http", "https"], "http://127.0.0.1:8545"),
  /** A token amount: bigint, decimal string or non-negative integer, as a bigint. */
  amount: z.union([z.bigint(), z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((v) => BigInt(v)),
  /**
   * Serve or challenge models whose registry entry declares an unsafe-dev setup on a chain other than the local
   * development chain (31337). Off by default: the toxic waste of such a key is public, so anyone can forge a
   * counter-proof against an honest claim (or a proof of a false one).
   */
  allowUnsafeSetup: z.boolean().default(false),
  /** Model packages served or checked; modelId defaults to the deployment's entry for the package's name. At least
   *  one entry, or a `modelsDir`. */
  models: z.array(z.object({ package: z.string().min(1), modelId: hex32.optional() }).strict()).min(1).optional(),
  /**
   * A folder of model packages, rescanned every `modelsRescanMs`: a package copied in and registered (the deployment
   * file names its modelId and the registry entry matches) is served without a restart.
   */
  modelsDir: z.string().min(1).optional(),
  /** How often `modelsDir` is rescanned (ms). */
  modelsRescanMs: z.number().int().positive().default(5000),
  /**
   * A prover service (`ozk prover serve`, GPU-backed where there is one) that proves challenged claims instead of
   * this process. Its proofs are checked here (signals and verification key) before they are sent.
   */
  prover: z
    .object({
      /** Base URL of the service's job API. */
      url: urlWithScheme(["http", "https"], "http://127.0.0.1:8547"),
      /**
       * How long to wait for one proof (ms). Must be shorter than every served model's proof window (checked at
       * start); with fallbackLocal the wait also ends when a local proof must start to land before the deadline.
       */
      timeoutMs: z.number().int().positive().default(600_000),
      /**
       * Prove in this process when the service fails, is unreachable or silent for stallMs, loses the job, returns a
       * proof that does not check out, or has not delivered when a local proof must start.
       */
      fallbackLocal: z.boolean().default(true),
      /** The service counts as dead when no request to it was answered for this long (ms). */
      stallMs: z.number().int().positive().default(30_000),
      /** Time kept after a local proof for the `prove` transaction to be mined (ms). */
      txMarginMs: z.number().int().nonnegative().default(60_000),
      /** Local proof time to plan with (ms); default: the slowest of the last local proofs, else an estimate from the circuit size. */
      localProofMs: z.number().int().positive().optional(),
    })
    .strict()
    .optional(),
  /**
   * When /healthz turns degraded (503 with the reason), and how long RPC calls at start may take. The RPC is
   * probed every `probeIntervalMs`; two failed probes in a row make it unreachable (logged once, and once
   * more when it answers again).
   */
  health: z
    .object({
      /** Degraded when no step succeeded for this long (ms; default 10 x intervalMs, at least 60 000). */
      staleAfterMs: z.number().int().positive().optional(),
      /** Timeout of every RPC call made at start and of each liveness probe (ms). */
      rpcTimeoutMs: z.number().int().positive().default(5_000),
      /** Pause between liveness probes of the RPC (ms). */
      probeIntervalMs: z.number().int().positive().default(2_000),
    })
    .strict()
    .default({}),
  /**
   * Limits of the HTTP server, whoever the client: a body over `maxBodyBytes` is a 413, a request (headers
   * and body) not received within `requestTimeoutMs` a 408; either way the connection is closed.
   */
  http: z
    .object({
      /** Longest a client may take to send one whole request (ms). */
      requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(DEFAULT_REQUEST_TIMEOUT_MS),
      /** Largest accepted request body (bytes). */
      maxBodyBytes: z.number().int().min(1024).max(1024 ** 3).default(DEFAULT_MAX_BODY_BYTES),
    })
    .strict()
    .default({}),
};

/**
 * The command line of a daemon's process entry: `[--config <file>]`, else the file `envVar` names. `--help` prints
 * the usage and exits 0; anything else is a ConfigError naming the argument (exit code 2).
 */
export function daemonArgs(name: string, argv: readonly string[], envVar: string, docsPath: string): { file?: string } {
  const usage = `usage: ${name} [--config <file.json>]\n  config fields and their OZK_* environment variables: docs/${docsPath}\n  the file may also be named by ${envVar}`;
  let file = process.env[envVar];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") {
      console.log(usage);
      process.exit(0);
    }
    if (a === "--config" && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) file = argv[++i];
    else if (a.startsWith("--config=")) file = a.slice("--config=".length);
    else throw new ConfigError(`unexpected argument ${JSON.stringify(a)}${a === "--config" ? " (--config needs a file)" : ""}\n${usage}`, [`argument: ${a}`], { docsPath });
  }
  return file ? { file } : {};
}
