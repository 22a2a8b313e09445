// `npm run bench -- realmodel` and `npm run bench -- transformer`: a real model as users export it, measured through
// the CLI as a user runs it. realmodel: the 421k-parameter MNIST CNN of test/fixtures/models/pytorch-cnn (trained on
// normalized pixels, PyTorch opset 11), built with its normalization. transformer: the vision transformer of
// test/fixtures/models/vit-mnist (opset 17: attention, softmax, LayerNorm, GELU), with its constraints per part.
// Each is built with the unsafe dev setup, then: build time per step (quantize, emit, setup) and the build's peak
// memory, fidelity on every held-out digit (wall time, agreement, float accuracy against onnxruntime), and native
// witness and proof time (three proofs, median). Load averages are recorded with each figure: on a shared machine the
// times are upper bounds. Prints a markdown table; writes bench-results/<fixture>.json.
// Usage: npx tsx scripts/bench/real-model.ts [pytorch-cnn|vit-mnist]
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadMnist } from "../../circuits/data/mnist.ts";
import { median, RESULTS, ROOT } from "./common.ts";

interface Fixture {
  what: string;
  /** `ozk model build` options beyond the common ones. */
  buildArgs: string[];
  /** The targets the table shows beside each figure. */
  targets: { build: string; fidelity: string; agreement: string; proof: string };
}

const FIXTURES: Record<string, Fixture> = {
  "pytorch-cnn": {
    what: "test/fixtures/models/pytorch-cnn (421,666 parameters, normalized inputs)",
    buildArgs: ["--input-mean", "0.1307", "--input-std", "0.3081"],
    targets: { build: "<= 30 s", fidelity: "<= 20 s", agreement: ">= 99.5%", proof: "<= 10 s" },
  },
  "vit-mnist": {
    what: "test/fixtures/models/vit-mnist (a vision transformer, 19,658 parameters)",
    buildArgs: [],
    targets: { build: "", fidelity: "", agreement: ">= 99%", proof: "<= 15 s" },
  },
};
const NAME = process.argv[2] ?? "pytorch-cnn";
const spec = FIXTURES[NAME];
if (!spec) throw new Error(`unknown fixture ${NAME} (one of ${Object.keys(FIXTURES).join(", ")})`);
const SPEC: Fixture = spec;
const FIXTURE = join(ROOT, "test/fixtures/models", NAME);

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
    const pkg = join(user, NAME);
    const build = must(await ozk(user, ["model", "build", join(FIXTURE, "model.onnx"), "--out", pkg, "--setup", "unsafe-dev", "--calibration", "mnist", ...SPEC.buildArgs, "--skip-fidelity"]), "build");
    const manifest = JSON.parse(readFileSync(join(pkg, "manifest.json"), "utf8")) as { constraints: number; costs: { constraints: number; role?: string }[] };
    const parts = new Map<string, number>();
    for (const c of manifest.costs) if (c.role) parts.set(c.role, (parts.get(c.role) ?? 0) + c.constraints);
    const quantize = stepSeconds(build.stderr, /quantize/);
    const emit = stepSeconds(build.stderr, /emit constraints/);

    const fid = must(await ozk(user, ["model", "fidelity", pkg, "--samples", "1996", "--json", "fidelity.json"]), "fidelity");
    const report = JSON.parse(readFileSync(join(user, "fidelity.json"), "utf8")) as { samples: number; floatAccuracy: number; quantizedAccuracy: number; agreement: number };
    const training = JSON.parse(readFileSync(join(FIXTURE, "training.json"), "utf8")) as { heldOutAccuracy: { onnxruntime: number } };

    const { heldOut } = loadMnist();
    writeFileSync(join(user, "digit.json"), JSON.stringify(Array.from(heldOut.images[0]!)));
    const proofs: Array<{ witnessMs: number; proveMs: number; load: number }> = [];
    for (let i = 0; i < 3; i++) {
      const r = must(await ozk(user, ["prove", pkg, "digit.json", "--backend", "native", "--out", "proof.json"]), "prove");
      const out = r.stdout + r.stderr;
      proofs.push({ witnessMs: Number(/witness ([\d.]+) ms/.exec(out)?.[1] ?? NaN), proveMs: Number(/prove ([\d.]+) ms/.exec(out)?.[1] ?? NaN), load: r.load });
    }

    const result = {
      model: SPEC.what,
      constraints: manifest.constraints,
      ...(parts.size ? { constraintsByPart: Object.fromEntries(parts) } : {}),
      build: { quantizeSeconds: quantize, emitSeconds: emit, totalSeconds: build.seconds, peakMB: build.peakMB, load: build.load },
      fidelity: { seconds: fid.seconds, samples: report.samples, agreement: report.agreement, floatAccuracy: report.floatAccuracy, onnxruntimeAccuracy: training.heldOutAccuracy.onnxruntime, quantizedAccuracy: report.quantizedAccuracy, load: fid.load },
      proof: { medianMs: median(proofs.map((p) => p.proveMs)), witnessMedianMs: median(proofs.map((p) => p.witnessMs)), runs: proofs },
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, NAME === "pytorch-cnn" ? "real-model.json" : `${NAME}.json`), `${JSON.stringify(result, null, 2)}\n`);
    const t = SPEC.targets;
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    console.log([
      `| figure (${result.model}) | value | target | load (1 min) |`,
      "|---|---:|---:|---:|",
      `| constraints | ${result.constraints.toLocaleString("en-US")} (2^${Math.log2(result.constraints).toFixed(2)}) | | |`,
      ...[...parts].sort((a, b) => b[1] - a[1]).map(([part, n]) => `| - ${part} | ${n.toLocaleString("en-US")} (${((100 * n) / result.constraints).toFixed(1)}%) | | |`),
      `| build: quantize + emit | ${(quantize + emit).toFixed(1)} s (${quantize.toFixed(1)} + ${emit.toFixed(1)}) | ${t.build} | ${build.load.toFixed(2)} |`,
      `| build: whole command with the unsafe dev setup, peak memory | ${build.seconds.toFixed(1)} s, ${build.peakMB} MB | <= 1 GB | ${build.load.toFixed(2)} |`,
      `| fidelity on ${report.samples} held-out digits | ${fid.seconds.toFixed(1)} s | ${t.fidelity} | ${fid.load.toFixed(2)} |`,
      `| top-1 agreement, quantized vs float | ${pct(report.agreement)} | ${t.agreement} | |`,
      `| float accuracy: ozk on raw pixels / onnxruntime${SPEC.buildArgs.length ? " on normalized pixels" : ""} | ${pct(report.floatAccuracy)} / ${pct(training.heldOutAccuracy.onnxruntime)} | equal | |`,
      `| witness (median of 3) | ${(result.proof.witnessMedianMs / 1000).toFixed(2)} s | | |`,
      `| native proof (median of 3) | ${(result.proof.medianMs / 1000).toFixed(2)} s | ${t.proof} | ${proofs.map((p) => p.load.toFixed(2)).join(", ")} |`,
    ].join("\n"));
  } finally {
    rmSync(user, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
