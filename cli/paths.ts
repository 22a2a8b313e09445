// Where a path the user typed is relative to. `npm run ozk -- …` runs the command in the package root, not where
// the user stood; npm records that folder in INIT_CWD. Every path argument and option of `ozk` goes through
// userPath, so `ozk prove ./pkg ./input.json` reads the user's files wherever npm runs the command.
import { isAbsolute, resolve } from "node:path";

/** The folder relative paths are resolved in: INIT_CWD when npm set it, else the process's working directory. */
export function userDir(): string {
  const init = process.env.INIT_CWD;
  return init && isAbsolute(init) ? init : process.cwd();
}

/** `p` as an absolute path, resolved in userDir() when relative. */
export function userPath(p: string): string {
  return resolve(userDir(), p);
}

/** userPath for an optional value. */
export function userPathIf(p: string | undefined): string | undefined {
  return p === undefined ? undefined : userPath(p);
}

/**
 * A --deployment value: a network name (deployments/<name>.json in the working directory, left as it is) or a .json file,
 * resolved in userDir().
 */
export function deploymentArg(v: string): string {
  return v.endsWith(".json") ? userPath(v) : v;
}
