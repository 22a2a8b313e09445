// `npm run bench -- realmodel`: a real model as users export it, measured through the CLI as a user runs it. The
// 421k-parameter MNIST CNN of test/fixtures/models/pytorch-cnn (trained on normalized pixels, PyTorch opset 11) is
// built with its normalization and the unsafe dev setup, then: build time per step (quantize, emit, setup) and the
// build's peak memory, fidelity on every held-out digit (wall time, agreement, float accuracy against onnxruntime),
// and native proof time (three proofs, median). Load averages are recorded with each figure: on a shared machine the
// times are upper bounds. Prints a markdown table; writes bench-results/real-model.json.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadMnist } from "../../circuits/data/mnist.ts";
import { median, RESULTS, ROOT } from "./common.ts";

const FIXTURE = join(ROOT, "test/fixtures/models/pytorch-cnn");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** Peak resident set (VmHWM) of the ozk process, MB. */
  peakMB: number;
  load: number;
}

/** `ozk <args>` in the repository root with INIT_CWD `user`; samples the process's VmHWM while it runs. */
function ozk(user: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const load = loadavg()[0]!;
    const started = performance.now();
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, INIT_CWD: user, NODE_NO_WARNINGS: "1", OZK_PROGRESS_MS: "0" },
    });
    let stdout = "";
    let stderr = "";
    let peakKB = 0;
    const sample = setInterval(() => {
      try {
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p.pid}/status`, "utf8"))?.[1] ?? 0);
        if (kb > peakKB) peakKB = kb;
      } catch {
        // not Linux, or the process is gone
      }
    }, 100);
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => {
      clearInterval(sample);
      resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000, peakMB: Math.round(peakKB / 1024), load });
    });
  });
}

function must(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}:\n${r.stderr}`);
  return r;
}

/** Seconds of a build step from its "<step>: done in N s" line. */
function stepSeconds(stderr: string, step: RegExp): number {
  const m = new RegExp(`${step.source}[^\\n]*: done in ([\\d.]+) s`).exec(stderr);
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<void> {
  const user = mkdtempSync(join(tmpdir(), "ozk-bench-real-"));
  try {
    const pkg = join(user, "pytorch-cnn");
    const build = must(await ozk(user, ["model", "build", join(FIXTURE, "model.onnx"), "--out", pkg, "--setup", "unsafe-dev", "--calibration", "mnist", "--input-mean", "0.1307", "--input-std", "0.3081", "--skip-fidelity"]), "build");
    const manifest = JSON.parse(readFileSync(join(pkg, "manifest.json"), "utf8")) as { constraints: number };
    const quantize = stepSeconds(build.stderr, /quantize/);
    const emit = stepSeconds(build.stderr, /emit constraints/);

    const fid = must(await ozk(user, ["model", "fidelity", pkg, "--samples", "1996", "--json", "fidelity.json"]), "fidelity");
    const report = JSON.parse(readFileSync(join(user, "fidelity.json"), "utf8")) as { samples: number; floatAccuracy: number; quantizedAccuracy: number; agreement: number };
    const training = JSON.parse(readFileSync(join(FIXTURE, "training.json"), "utf8")) as { heldOutAccuracy: { onnxruntime: number } };

    const { heldOut } = loadMnist();
    writeFileSync(join(user, "digit.json"), JSON.stringify(Array.from(heldOut.images[0]!)));
    const proofs: Array<{ proveMs: number; load: number }> = [];
    for (let i = 0; i < 3; i++) {
      const r = must(await ozk(user, ["prove", pkg, "digit.json", "--backend", "native", "--out", "proof.json"]), "prove");
      proofs.push({ proveMs: Number(/prove ([\d.]+) ms/.exec(r.stdout + r.stderr)?.[1] ?? NaN), load: r.load });
    }

    const result = {
      model: "test/fixtures/models/pytorch-cnn (421,666 parameters, normalized inputs)",
      constraints: manifest.constraints,
      build: { quantizeSeconds: quantize, emitSeconds: emit, totalSeconds: build.seconds, peakMB: build.peakMB, load: build.load },
      fidelity: { seconds: fid.seconds, samples: report.samples, agreement: report.agreement, floatAccuracy: report.floatAccuracy, onnxruntimeAccuracy: training.heldOutAccuracy.onnxruntime, quantizedAccuracy: report.quantizedAccuracy, load: fid.load },
      proof: { medianMs: median(proofs.map((p) => p.proveMs)), runs: proofs },
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "real-model.json"), `${JSON.stringify(result, null, 2)}\n`);
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    console.log([
      `| figure (${result.model}) | value | target | load (1 min) |`,
      "|---|---:|---:|---:|",
      `| constraints | ${result.constraints.toLocaleString("en-US")} | | |`,
      `| build: quantize + emit | ${(quantize + emit).toFixed(1)} s (${quantize.toFixed(1)} + ${emit.toFixed(1)}) | <= 30 s | ${build.load.toFixed(2)} |`,
      `| build: whole command with the unsafe dev setup, peak memory | ${build.seconds.toFixed(1)} s, ${build.peakMB} MB | <= 1 GB | ${build.load.toFixed(2)} |`,
      `| fidelity on ${report.samples} held-out digits | ${fid.seconds.toFixed(1)} s | <= 20 s | ${fid.load.toFixed(2)} |`,
      `| top-1 agreement, quantized vs float | ${pct(report.agreement)} | >= 99.5% | |`,
      `| float accuracy (ozk, raw pixels) / onnxruntime on normalized pixels | ${pct(report.floatAccuracy)} / ${pct(training.heldOutAccuracy.onnxruntime)} | equal | |`,
      `| native proof (median of 3) | ${(result.proof.medianMs / 1000).toFixed(2)} s | <= 10 s | ${proofs.map((p) => p.load.toFixed(2)).join(", ")} |`,
    ].join("\n"));
  } finally {
    rmSync(user, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
