// Imported first by the `ozk` command and the daemons' entry points: drops Node's one-line notice that node:sqlite
// is experimental (printed on every start, it reads as a problem to a user). Every other warning, including other
// experimental features, still prints. The import must come before any module that loads node:sqlite.
const SQLITE_NOTICE = /^SQLite is an experimental feature/;

/** Whether `warning` (as passed to process.emitWarning) is the node:sqlite notice this module drops. */
export function isSqliteNotice(warning: string | Error, typeOrOptions?: unknown): boolean {
  const message = typeof warning === "string" ? warning : warning.message;
  const type = typeof warning !== "string" ? warning.name : typeof typeOrOptions === "string" ? typeOrOptions : (typeOrOptions as { type?: string } | undefined)?.type;
  return type === "ExperimentalWarning" && SQLITE_NOTICE.test(message);
}

const emitWarning = process.emitWarning.bind(process);
process.emitWarning = function (warning: string | Error, ...rest: unknown[]): void {
  if (isSqliteNotice(warning, rest[0])) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
} as typeof process.emitWarning;
