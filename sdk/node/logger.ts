// Structured JSON logs (pino) for daemons and the prover, and a spy logger that records entries for tests.
import { Writable } from "node:stream";
import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  name: string;
  level?: LevelWithSilent;
  /** Extra fields on every line, e.g. { worker: "gpu-3" }. */
  base?: Record<string, unknown>;
  /** Where lines go (default stdout). */
  destination?: NodeJS.WritableStream;
}

/** A pino logger writing one JSON object per line; bigint fields are logged as decimal strings. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? ((process.env.OZK_LOG_LEVEL as LevelWithSilent | undefined) ?? "info");
  const opts = {
    name: options.name,
    level,
    base: { name: options.name, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    hooks: {
      // pino's JSON.stringify cannot write bigints: make every bigint a string.
      logMethod(args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(this, args.map((a) => (typeof a === "object" && a !== null ? stringifyBigints(a) : a)));
      },
    },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

function stringifyBigints(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint") return value.toString();
  if (depth > 6 || typeof value !== "object" || value === null || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => stringifyBigints(v, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringifyBigints(v, depth + 1)]));
}

export interface LogEntry {
  level: number;
  levelName: string;
  msg?: string;
  [key: string]: unknown;
}

const LEVEL_NAMES: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** A logger that keeps every entry in memory, for tests asserting what a step logged. */
export function createSpyLogger(name = "test"): { logger: Logger; entries: LogEntry[]; find(msg: string | RegExp): LogEntry | undefined } {
  const entries: LogEntry[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        const e = JSON.parse(line) as LogEntry;
        e.levelName = LEVEL_NAMES[e.level] ?? String(e.level);
        entries.push(e);
      }
      cb();
    },
  });
  // Synchronous write path: pino writes straight to the stream, so entries are visible right after a call.
  const logger = createLogger({ name, level: "trace", destination: sink });
  return {
    logger,
    entries,
    find: (msg) => entries.find((e) => (typeof msg === "string" ? e.msg === msg : msg.test(e.msg ?? ""))),
  };
}
