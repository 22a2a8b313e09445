// The compiled package (npm run build:package): TypeScript -> ESM JavaScript and .d.ts declarations in dist/
// (tsconfig.build.json), the `ozk` command as a plain Node script, and the page built by Vite into dist/app (what an
// installed `ozk dev` serves: the package has neither Vite nor app/). Run after `hardhat build`: the package ships the
// compiled contracts it deploys and the mnist-mlp model package `ozk dev` registers (package.json "files").
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildApp } from "../runtime/page-server.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { cwd: root, stdio: "inherit" });

// The source's shebang runs it with tsx; the compiled command needs only Node.
const bin = join(dist, "cli", "ozk.js");
const text = readFileSync(bin, "utf8");
writeFileSync(bin, "#!/usr/bin/env node\n" + text.replace(/^#![^\n]*\n/, ""));
chmodSync(bin, 0o755);
buildApp(join(dist, "app"));
console.log(`built ${dist}`);
