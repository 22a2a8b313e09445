// An input that clamps (outside the package's declared input range, or saturating an activation) is witnessed,
// proved and claimed with a warning on stderr, never silently.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { loadPackage } from "../../circuits/compiler/package.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { readModelInput } from "../../cli/chain.ts";
import type { ServedModel } from "../../runtime/models.ts";

const root = join(import.meta.dirname, "../..");
const run = promisify(execFile);
const ozk = (...args: string[]) => run(process.execPath, ["--import", "tsx", join(root, "cli/ozk.ts"), ...args], { cwd: root });

describe("clamp warnings (ozk model witness, ozk prove, claims)", function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), "ozk-clamp-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const digit = Array.from(heldOutSample(1).images[0]!);
  const inRange = join(dir, "in-range.json");
  const outOfRange = join(dir, "out-of-range.json");
  // a normalized digit ((x - 0.1307) / 0.3081) given to a package declared for [0, 1]
  writeFileSync(inRange, JSON.stringify(digit));
  writeFileSync(outOfRange, JSON.stringify(digit.map((v) => (v - 0.1307) / 0.3081)));
  const warning = /warning: mnist-mlp: \d+ input values outside the declared input range \[0, 1\] \(clamped to it\)/;

  it("ozk model witness warns on an out-of-range input and is quiet on an in-range one", async function () {
    const bad = await ozk("model", "witness", "models/mnist-mlp", "--input", outOfRange, "--out", join(dir, "w1.wtns"));
    expect(bad.stderr).to.match(warning);
    const good = await ozk("model", "witness", "models/mnist-mlp", "--input", inRange, "--out", join(dir, "w2.wtns"));
    expect(good.stderr).to.not.match(/warning/);
  });

  it("ozk prove warns before proving an out-of-range input", async function () {
    const { stdout, stderr } = await ozk("prove", "models/mnist-mlp", outOfRange, "--backend", "snarkjs", "--out", join(dir, "proof.json"));
    expect(stderr).to.match(warning);
    expect(stdout).to.match(/proved mnist-mlp/);
  });

  it("a claim's or request's input file (readModelInput) warns on stderr", function () {
    const model = { pkg: loadPackage(join(root, "models/mnist-mlp")) } as ServedModel;
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      readModelInput(model, inRange);
      expect(lines.join("")).to.equal("");
      readModelInput(model, outOfRange);
    } finally {
      process.stderr.write = write;
    }
    expect(lines.join("")).to.match(warning);
  });
});
