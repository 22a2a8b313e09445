// Local state in SQLite (node:sqlite): a key-value table and per-module migrations on one file. WAL with
// synchronous=FULL, and every multi-row change inside a transaction, so a kill -9 leaves either the old
// or the new state, never half.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { DatabaseSync } from "node:sqlite";

/** One schema step: SQL text or a function given the database. Applied once, in order, inside a transaction. */
export type Migration = string | ((db: DatabaseSync) => void);

/** JSON that keeps bigints ({"$bigint":"…"}) — chain values are bigints everywhere. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v));
}

/**
 * Reads toJson's text back. A reviver makes JSON.parse several times slower (a job row of 784 input strings: about
 * 0.5 ms against 0.07), so text with no `"$bigint"` key (toJson writes that key only for a bigint, and never escapes
 * it) is parsed without one.
 */
export function fromJson<T = unknown>(text: string): T {
  if (!text.includes('"$bigint"')) return JSON.parse(text) as T;
  return JSON.parse(text, (_k, v: unknown) =>
    typeof v === "object" && v !== null && typeof (v as { $bigint?: unknown }).$bigint === "string" && Object.keys(v).length === 1
      ? BigInt((v as { $bigint: string }).$bigint)
      : v,
  ) as T;
}

/**
 * node:sqlite, loaded when a store is opened rather than when this module is imported: the rest of the kit
 * (loadDeployment, config, logger, ...) also runs on Node versions without it (Node 20).
 */
function databaseSync(): typeof DatabaseSync {
  const mod = process.getBuiltinModule?.("node:sqlite") as { DatabaseSync: typeof DatabaseSync } | undefined;
  if (!mod) {
    throw new Error(`the SQLite store needs node:sqlite (Node 22.13 or later); this is Node ${process.versions.node}`);
  }
  return mod.DatabaseSync;
}

/** The indexed expression: a row's `status` field (NULL when its value has none). Queries must spell it the same. */
const STATUS = "json_extract(value, '$.status')";

export class Store {
  readonly db: DatabaseSync;
  readonly path: string;
  private depth = 0;

  /** Opens (creating if needed) the database at `path`; ":memory:" for tests. */
  constructor(path: string) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.db = new (databaseSync())(path);
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = FULL");
    // Several processes may open the file (CLI next to a daemon): wait for locks instead of failing.
    this.db.exec("PRAGMA busy_timeout = 5000");
    this.db.exec("PRAGMA foreign_keys = ON");
    this.db.exec(`CREATE TABLE IF NOT EXISTS _migrations (scope TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (scope, version))`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL)`);
    // Rows by their `status` field, so that a daemon's step finds its open jobs and claims without decoding the
    // settled ones, which only grow (entriesByStatus).
    this.db.exec(`CREATE INDEX IF NOT EXISTS kv_status ON kv (${STATUS}, key)`);
  }

  /** Applies the migrations of `scope` not yet applied (version = index + 1). Returns how many ran. */
  migrate(scope: string, migrations: readonly Migration[]): number {
    const row = this.db.prepare("SELECT MAX(version) AS v FROM _migrations WHERE scope = ?").get(scope) as { v: number | null };
    const current = row.v ?? 0;
    if (current > migrations.length) {
      throw new Error(`${this.path}: ${scope} schema is version ${current}, this code knows ${migrations.length}: a newer version wrote it`);
    }
    for (let v = current + 1; v <= migrations.length; v++) {
      const m = migrations[v - 1]!;
      this.transaction(() => {
        if (typeof m === "string") this.db.exec(m);
        else m(this.db);
        this.db.prepare("INSERT INTO _migrations (scope, version, applied_at) VALUES (?, ?, ?)").run(scope, v, Date.now());
      });
    }
    return migrations.length - current;
  }

  /** Runs `fn` in one transaction (BEGIN IMMEDIATE: takes the write lock up front). Nested calls join the outer one. */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) {
      this.depth++;
      try {
        return fn();
      } finally {
        this.depth--;
      }
    }
    this.db.exec("BEGIN IMMEDIATE");
    this.depth = 1;
    try {
      const out = fn();
      this.db.exec("COMMIT");
      return out;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    } finally {
      this.depth = 0;
    }
  }

  get<T = unknown>(key: string): T | undefined {
    const row = this.db.prepare("SELECT value FROM kv WHERE key = ?").get(key) as { value: string } | undefined;
    return row ? fromJson<T>(row.value) : undefined;
  }

  set(key: string, value: unknown): void {
    this.db
      .prepare("INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
      .run(key, toJson(value), Date.now());
  }

  delete(key: string): void {
    this.db.prepare("DELETE FROM kv WHERE key = ?").run(key);
  }

  /** Keys starting with `prefix`, with values, in key order. */
  entries<T = unknown>(prefix = ""): Array<[string, T]> {
    const rows = this.db
      .prepare("SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key")
      .all(prefix, prefix + "\uffff") as Array<{ key: string; value: string }>;
    return rows.map((r) => [r.key, fromJson<T>(r.value)]);
  }

  /**
   * Keys starting with `prefix` whose value's `status` field is one of `statuses` (or, with `not`, is none of them
   * or absent), with values, in key order. Only the matching rows are read and decoded (index kv_status): a step
   * that looks for open work does not pay for the history next to it.
   */
  entriesByStatus<T = unknown>(prefix: string, statuses: readonly string[], opts: { not?: boolean } = {}): Array<[string, T]> {
    const marks = statuses.map(() => "?").join(", ");
    const test = opts.not ? `(${STATUS} IS NULL OR ${STATUS} NOT IN (${marks}))` : `${STATUS} IN (${marks})`;
    const rows = this.db
      .prepare(`SELECT key, value FROM kv INDEXED BY kv_status WHERE ${test} AND key >= ? AND key < ? ORDER BY key`)
      .all(...statuses, prefix, prefix + "\uffff") as Array<{ key: string; value: string }>;
    return rows.map((r) => [r.key, fromJson<T>(r.value)]);
  }

  /** How many rows under `prefix` have each `status` value (absent: not counted), without decoding a row. */
  countByStatus(prefix: string): Map<string, number> {
    const rows = this.db
      .prepare(`SELECT ${STATUS} AS status, COUNT(*) AS n FROM kv INDEXED BY kv_status WHERE ${STATUS} IS NOT NULL AND key >= ? AND key < ? GROUP BY ${STATUS}`)
      .all(prefix, prefix + "\uffff") as Array<{ status: unknown; n: number }>;
    return new Map(rows.map((r) => [String(r.status), r.n]));
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/** Opens a store and applies migrations for each scope given. */
export function openStore(path: string, migrations: Record<string, readonly Migration[]> = {}): Store {
  const store = new Store(path);
  for (const [scope, list] of Object.entries(migrations)) store.migrate(scope, list);
  return store;
}
