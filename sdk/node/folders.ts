// Folders a command must never empty or replace, whatever path it was given: the user's home, the working
// directory (and the one npm records in INIT_CWD), this package's root, and every folder holding one of them.
// `ozk dev --work` empties its work folder and `ozk model build --force` replaces its --out folder: a mistyped
// path (".", "..", "~") must not take the user's files with it.
import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRootUrl } from "../package-root.ts";

export interface GuardedFolder {
  path: string;
  /** What the folder is, for the error: "your home folder". */
  what: string;
}

/** `p` with its symbolic links resolved as far as it exists (a folder not made yet resolves through its parent). */
function real(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync.native(abs);
  } catch {
    const parent = resolve(abs, "..");
    return parent === abs ? abs : resolve(real(parent), relative(parent, abs));
  }
}

/** Home, the working directory, INIT_CWD (when set) and the package root, then `extra`. */
export function guardedFolders(extra: GuardedFolder[] = []): GuardedFolder[] {
  const list: GuardedFolder[] = [
    { path: homedir(), what: "your home folder" },
    { path: process.cwd(), what: "the working directory" },
  ];
  const init = process.env.INIT_CWD;
  if (init && isAbsolute(init)) list.push({ path: init, what: "the folder the command was run from" });
  list.push({ path: fileURLToPath(packageRootUrl(import.meta.url, 2)), what: "the ozk package's root" });
  return [...list, ...extra];
}

/**
 * Why `dir` must not be emptied or replaced: it is one of `guarded`, or it holds one (an ancestor, such as "/");
 * undefined when it is neither.
 */
export function guardedReason(dir: string, guarded: GuardedFolder[] = guardedFolders()): string | undefined {
  const d = real(dir);
  for (const g of guarded) {
    const rel = relative(d, real(g.path));
    if (rel === "") return `it is ${g.what}`;
    if (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)) return `it holds ${g.what} (${resolve(g.path)})`;
  }
  return undefined;
}
