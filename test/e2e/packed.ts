// The published package as a user gets it, for the tests that use it from outside the repository
// (package.test.ts, new-user.test.ts): `npm run build:package`'s build packed with `npm pack`, and installed from
// the tarball into a fresh project.
//
// Offline install: the npm cache here holds no registry metadata, so `npm install --offline <tarball>` alone cannot
// resolve ozk's dependencies (ENOTCACHED). The fresh project's node_modules gets a link to the repository's copy of
// each dependency first; npm then finds them installed and only unpacks the tarball (and links its bin).
// --ignore-scripts: npm would otherwise run the linked packages' lifecycle scripts inside the repository's folders.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
const require = createRequire(import.meta.url);
export const pkgJson = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; bin: Record<string, string> };

/** A `node` of the given major version: the first on PATH or in the usual places. */
export function nodeOfMajor(major: number): string | undefined {
  const candidates = [...(process.env.PATH ?? "").split(":").map((d) => join(d, "node")), "/usr/bin/node", "/usr/local/bin/node", "/bin/node"];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const v = spawnSync(c, ["--version"], { encoding: "utf8" }).stdout?.trim();
    if (v?.startsWith(`v${major}.`)) return c;
  }
  return undefined;
}

export function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Builds the package (scripts/build-package.ts) and packs it into `dir`; returns the tarball's path. */
export function buildAndPack(dir: string): string {
  execFileSync(process.execPath, [require.resolve("tsx/cli"), "scripts/build-package.ts"], { cwd: ROOT, stdio: "pipe" });
  // --ignore-scripts: the prepack script would build a second time.
  run("npm", ["pack", "--ignore-scripts", "--pack-destination", dir, "--silent"], { cwd: ROOT });
  const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack wrote no tarball in ${dir}`);
  return join(dir, tarball);
}

/**
 * A fresh npm project in `project` with the tarball installed (offline, see above). `extra`: more packages of the
 * repository's node_modules the user installs next to ozk (solc, for the commands that compile Solidity).
 */
export function installOffline(project: string, tarball: string, extra: string[] = []): void {
  mkdirSync(join(project, "node_modules"), { recursive: true });
  // The extra packages are the project's own dependencies (as `npm install solc@<version>` records them): else npm
  // would remove them as extraneous when it installs the tarball.
  const version = (dep: string): string => (JSON.parse(readFileSync(join(ROOT, "node_modules", dep, "package.json"), "utf8")) as { version: string }).version;
  const dependencies = Object.fromEntries(extra.map((dep) => [dep, version(dep)]));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies }));
  for (const dep of [...Object.keys(pkgJson.dependencies), ...extra]) {
    mkdirSync(dirname(join(project, "node_modules", dep)), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", dep), join(project, "node_modules", dep), "dir");
  }
  run("npm", ["install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", tarball], { cwd: project });
}
