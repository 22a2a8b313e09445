// Where a path the user typed is relative to. `npm run ozk -- …` runs the command in the package root, not where
// the user stood; npm records that folder in INIT_CWD. Every path argument and option of `ozk` goes through
// userPath, so `ozk prove ./pkg ./input.json` reads the user's files wherever npm runs the command.
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRootUrl } from "../sdk/package-root.ts";

const PACKAGE_ROOT = resolve(fileURLToPath(packageRootUrl(import.meta.url, 1)));

/**
 * The folder relative paths are resolved in: INIT_CWD when npm moved the command into this package's root (which
 * `npm run ozk` does), else the process's working directory. INIT_CWD is inherited by every child process, so it
 * is trusted only when the working directory is the package root: an `ozk` started by some other npm script in
 * another folder keeps its own working directory.
 */
export function userDir(): string {
  const init = process.env.INIT_CWD;
  return init && isAbsolute(init) && resolve(process.cwd()) === PACKAGE_ROOT ? init : process.cwd();
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

/**
 * Moves the process into userDir(), so every relative path (arguments, and those inside a daemon's config file)
 * means the user's folder. Not when this process was started with a relative `--import`/`--require`/`--loader`
 * (`node --import tsx …`, as tests and scripts start it): Node resolves those against the working folder again in
 * every worker thread, which inherits the flags, so snarkjs's curve workers would fail to start in the new folder
 * and the command would hang. `npm run ozk` (tsx passes absolute loader paths) and the compiled bin (no loader) move;
 * arguments are resolved with userPath either way.
 */
export function enterUserDir(): void {
  const dir = userDir();
  if (resolve(dir) === resolve(process.cwd())) return;
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const flag = /^--(import|require|loader|experimental-loader)(=(.*))?$/.exec(argv[i]!);
    if (!flag) continue;
    const spec = flag[3] ?? argv[++i];
    if (spec !== undefined && !spec.startsWith("file:") && !isAbsolute(spec)) return;
  }
  process.chdir(dir);
}
