// `ozk model build` on the user's data: --calibration from a .npy file, --fidelity-data from a folder of labelled
// images, and a bad data file named with its problem before anything is built.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { npy, pgm, png } from "../data/formats.ts";

const ROOT = join(import.meta.dirname, "../..");
const MODEL = join(ROOT, "test/onnx/fixtures/mlp-argmax.onnx"); // input [1, 6, 6]

function ozk(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], { cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("ozk model build --calibration <file> --fidelity-data <folder>", function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), "ozk-build-data-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

  it("calibrates on a .npy file and gates on a folder of labelled PNG and PGM images", async function () {
    writeFileSync(join(dir, "cal.npy"), npy("<f4", [32, 1, 6, 6], Array.from({ length: 32 * 36 }, rand)));
    for (const label of ["0", "1"]) {
      mkdirSync(join(dir, "images", label), { recursive: true });
      for (let i = 0; i < 10; i++) {
        const px = Uint8Array.from({ length: 36 }, () => Math.floor(rand() * 256));
        writeFileSync(join(dir, "images", label, `${i}.${i % 2 ? "png" : "pgm"}`), i % 2 ? png(6, 6, 1, px) : pgm(6, 6, px));
      }
    }
    const r = await ozk([
      "model", "build", MODEL, "--out", join(dir, "pkg"), "--skip-setup",
      "--calibration", join(dir, "cal.npy"), "--fidelity-data", join(dir, "images"), "--min-agreement", "0.5",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/quantize mlp-argmax \(32 calibration inputs\)/);
    const m = JSON.parse(readFileSync(join(dir, "pkg", "manifest.json"), "utf8")) as { fidelityGate: { samples: number; data: string } };
    expect(m.fidelityGate.samples).to.equal(20);
    expect(m.fidelityGate.data).to.match(/images \(20 images, labels from 2 sub-folders\)/);
  });

  it("names a calibration file of the wrong shape and builds nothing", async function () {
    writeFileSync(join(dir, "bad.npy"), npy("<f4", [4, 5], new Array(20).fill(0.5)));
    const r = await ozk(["model", "build", MODEL, "--out", join(dir, "pkg2"), "--skip-setup", "--calibration", join(dir, "bad.npy")]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/bad\.npy: shape \(4, 5\) is not \[N, 1, 6, 6\]/);
    expect(r.stderr).to.not.match(/\n\s+at /);
    expect(existsSync(join(dir, "pkg2"))).to.equal(false);
  });
});
