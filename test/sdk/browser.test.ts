// The SDK's browser entry (sdk/index.ts) bundles for the browser — no Node built-ins anywhere in its import
// graph — and importing it does nothing but define exports.
import { expect } from "chai";
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

describe("sdk/index (browser entry)", function () {
  this.timeout(60_000);

  it("bundles with platform=browser, without node: modules", async function () {
    let esbuild: typeof import("esbuild");
    try {
      // esbuild comes with tsx; resolve it the same way so the test does not need its own dependency.
      esbuild = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
    } catch {
      console.log("    skipped: esbuild not installed");
      return this.skip();
    }
    const result = await esbuild.build({
      entryPoints: ["sdk/index.ts"],
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    expect(result.errors).to.deep.equal([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => p.startsWith("node:") || p.includes("sdk/node/") || p.includes("prover/"))).to.deep.equal([]);
  });

  it("importing it in a fresh process adds no globals and prints nothing", async () => {
    const entry = JSON.stringify(pathToFileURL(resolve("sdk/index.ts")).href);
    const code = `
      const before = new Set(Object.getOwnPropertyNames(globalThis));
      const sdk = await import(${entry});
      const added = Object.getOwnPropertyNames(globalThis).filter((k) => !before.has(k));
      process.stderr.write(JSON.stringify({ added, exports: Object.keys(sdk).length }));`;
    const out = spawnSync(process.execPath, ["--no-warnings", "--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8" });
    expect(out.status, out.stderr).to.equal(0);
    expect(out.stdout).to.equal("");
    const report = JSON.parse(out.stderr) as { added: string[]; exports: number };
    expect(report.added).to.deep.equal([]);
    expect(report.exports).to.be.greaterThan(20);
  });
});
