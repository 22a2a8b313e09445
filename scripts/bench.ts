// `npm run bench`: ozk's benchmarks (not tests), the one entry point. Parts, each run in its own process
// (scripts/bench/<part>.ts):
//   gas     whole-transaction gas per contract function against the gas targets and snapshots/gas.json
//   models  per shipped model package: constraints, witness / prove / verify time, on-chain gas, fidelity
//   load    claims per minute and proof latency with the provider and challenger daemons as processes
//   prover  the provers (snarkjs, native CPU, CUDA) on generated circuits and the shipped models; not with --quick
//   setup   phase-2 setup timings (initial key, contributions, verification); only when named
//   realmodel  a 421k-parameter PyTorch CNN with normalized inputs: build, fidelity, native proof (scripts/bench/real-model.ts); only when named
//   transformer  the MNIST vision transformer: the same figures and its constraints per part (scripts/bench/real-model.ts vit-mnist); only when named
//   soak    chaos soak (scripts/bench/soak.ts: kill -9, RPC faults, griefing); only as `npm run bench -- soak [its options]`
// A run names its parts (`npm run bench -- prover`, or --only gas,load); none named: gas, models, load and prover.
// Writes bench-results/bench.json (every figure, raw samples, machine) and its section of docs/benchmarks.md
// between <!-- bench:begin --> and <!-- bench:end -->; prints the tables. The setup part only prints its table.
// Usage: npm run bench -- [gas|models|load|prover|setup ...] [--only <part>[,...]] [--quick] [--jobs N] [--challenges K] [--burst B]
//          [--prover-backend native|snarkjs] [--ptau <file>] [--native-only (setup)] [<package>...  (setup: default every models/ package)]
//        npm run bench -- soak [--minutes M ...]
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type as osType } from "node:os";
import { join } from "node:path";
import type { GasResult } from "./bench/gas.ts";
import type { LoadResult } from "./bench/load.ts";
import type { ModelResult } from "./bench/models.ts";
import { argValue, RESULTS, ROOT, runPart } from "./bench/common.ts";
import { gasMarkdown, loadMarkdown, markdown, modelsMarkdown, writeDocs, type BenchResults, type PartMeta } from "./bench/report.ts";

const PARTS = ["gas", "models", "load", "prover", "setup", "realmodel", "transformer"] as const;
type Part = (typeof PARTS)[number];
/** The parts of a run that names none. */
const DEFAULT_PARTS: readonly Part[] = ["gas", "models", "load", "prover"];
/** Options that take a value. */
const VALUE_OPTIONS = ["--only", "--jobs", "--challenges", "--burst", "--prover-backend", "--ptau"];
const USAGE = "usage: npm run bench -- [gas|models|load|prover|setup|realmodel|transformer ...] [--only <part>[,...]] [--quick] [--jobs N] [--challenges K] [--burst B] [--prover-backend native|snarkjs] [--ptau <file>] [--native-only] [<package>...] | soak [--minutes M ...]";

function machine(): BenchResults["machine"] {
  let cpu = cpus()[0]?.model ?? "unknown CPU";
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux: os.cpus() is enough
  }
  return { cpu, cores: cpus().length, memoryGB: Math.round(totalmem() / 2 ** 30), os: `${osType()} ${release()}` };
}

interface Options {
  parts: Part[];
  quick: boolean;
  jobs?: string;
  challenges?: string;
  burst?: string;
  backend?: string;
  ptau?: string;
  /** Setup part: skip snarkjs's init and contribution. */
  nativeOnly: boolean;
  /** Package folders for the setup part. */
  packages: string[];
}

function parseArgs(argv: string[]): Options {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    process.exit(0);
  }
  // Positional words: part names, then (setup) package folders.
  const words = argv.filter((a, i) => !a.startsWith("--") && !VALUE_OPTIONS.includes(argv[i - 1] ?? ""));
  const named = words.filter((w) => (PARTS as readonly string[]).includes(w));
  const packages = words.filter((w) => !named.includes(w));
  const only = argValue(argv, "--only");
  const listed = [...named, ...(only ? only.split(",").map((s) => s.trim()) : [])];
  for (const p of listed) if (!(PARTS as readonly string[]).includes(p)) throw new Error(`unknown part "${p}" (parts: ${PARTS.join(", ")})`);
  const parts = listed.length ? PARTS.filter((p) => listed.includes(p)) : [...DEFAULT_PARTS];
  if (packages.length && !parts.includes("setup")) throw new Error(`unexpected argument "${packages[0]}": ${USAGE}`);
  return { parts, quick: argv.includes("--quick"), jobs: argValue(argv, "--jobs"), challenges: argValue(argv, "--challenges"), burst: argValue(argv, "--burst"), backend: argValue(argv, "--prover-backend"), ptau: argValue(argv, "--ptau"), nativeOnly: argv.includes("--native-only"), packages };
}

/** Model package folders under models/ (relative to the repository), sorted. */
function modelDirs(): string[] {
  return readdirSync(join(ROOT, "models"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, "models", d.name, "manifest.json")))
    .map((d) => join("models", d.name))
    .sort();
}

/** Runs a part that prints its own output (prover, setup); resolves with its exit code. */
async function runScript(script: string, args: string[] = []): Promise<number | null> {
  const tsx = join(ROOT, "node_modules", ".bin", "tsx");
  const child = spawn(tsx, [join(ROOT, script), ...args], { cwd: ROOT, stdio: "inherit", env: { ...process.env, NODE_NO_WARNINGS: "1" } });
  return new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
}

const PROVER_SCRIPT = "scripts/bench/prover.ts";

async function runProverBench(quick: boolean, explicit: boolean): Promise<NonNullable<BenchResults["prover"]>> {
  const t = performance.now();
  const meta = () => ({ date: new Date().toISOString(), quick, seconds: (performance.now() - t) / 1000 });
  if (quick && !explicit) {
    return { ran: false, note: "Skipped with --quick (the prover benchmark takes minutes and rewrites its own table): run `npm run bench -- prover`. Its figures are in the Prover section of this file.", ...meta() };
  }
  console.log(`\n== prover (${PROVER_SCRIPT}) ==`);
  const exitCode = await runScript(PROVER_SCRIPT);
  const file = join(RESULTS, "prover.json");
  const results = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as unknown) : undefined;
  return {
    ran: true,
    exitCode,
    results,
    note: exitCode === 0
      ? `\`${PROVER_SCRIPT}\` ran as part of this benchmark; its table is in the Prover section of this file and its figures in \`bench-results/prover.json\`.`
      : `\`${PROVER_SCRIPT}\` exited with ${exitCode}: see its output.`,
    ...meta(),
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === "soak") return (await import("./bench/soak.ts")).soakMain(process.argv.slice(3)); // chaos soak: scripts/bench/soak.ts
  const t0 = performance.now();
  const o = parseArgs(process.argv.slice(2));
  if (o.parts.includes("setup")) {
    console.log("== setup ==");
    const code = await runScript("scripts/bench/setup.ts", [...(o.ptau ? ["--ptau", o.ptau] : []), ...(o.nativeOnly ? ["--native-only"] : []), ...(o.packages.length ? o.packages : modelDirs())]);
    if (code !== 0) process.exitCode = 1;
    // The setup part prints its table and writes no results: a run of it alone leaves bench.json and the docs be.
    if (o.parts.length === 1) return;
  }
  if (o.parts.includes("realmodel")) {
    console.log("== realmodel ==");
    // Prints its table and writes bench-results/real-model.json (docs/benchmarks.md quotes it by hand).
    if ((await runScript("scripts/bench/real-model.ts")) !== 0) process.exitCode = 1;
  }
  if (o.parts.includes("transformer")) {
    console.log("== transformer ==");
    // Prints its table and writes bench-results/vit-mnist.json (docs/benchmarks.md quotes it by hand).
    if ((await runScript("scripts/bench/real-model.ts", ["vit-mnist"])) !== 0) process.exitCode = 1;
  }
  if (o.parts.every((p) => p === "realmodel" || p === "transformer" || p === "setup")) return;
  const parts = o.parts.filter((p) => p !== "setup" && p !== "realmodel" && p !== "transformer");
  mkdirSync(RESULTS, { recursive: true });
  const jsonFile = join(RESULTS, "bench.json");
  // A partial run (some parts named) keeps the other parts' last figures, each with its own date and mode.
  const previous: Partial<BenchResults> = parts.length < DEFAULT_PARTS.length && existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, "utf8")) as BenchResults) : {};
  const r: BenchResults = { ...previous, machine: machine(), node: process.version, date: new Date().toISOString(), args: process.argv.slice(2), seconds: 0 };
  const q = o.quick ? ["--quick"] : [];
  // load1: the 1-minute load average when the part started (the machine may be shared with other work)
  let load1 = 0;
  const start = (): number => ((load1 = Math.round(loadavg()[0]! * 100) / 100), performance.now());
  const meta = (t: number): PartMeta => ({ date: new Date().toISOString(), quick: o.quick, seconds: (performance.now() - t) / 1000, load1 });
  let failed = false;

  if (parts.includes("gas")) {
    console.log("== gas ==");
    const t = start();
    const g = await runPart<GasResult>("scripts/bench/gas.ts", join(RESULTS, "gas.json"));
    r.gas = { ...g, ...meta(t) };
    console.log(`\n${gasMarkdown(r.gas)}\n`);
    if (g.overTarget.length) failed = true;
  }

  if (parts.includes("models")) {
    console.log("== models ==");
    const t = start();
    const dirs = modelDirs();
    const results: ModelResult[] = [];
    const errors: string[] = [];
    for (const dir of dirs) {
      try {
        results.push(await runPart<ModelResult>("scripts/bench/models.ts", join(RESULTS, `model-${dir.split("/").pop()}.json`), ["--model", dir, ...q]));
      } catch (err) {
        errors.push(`${dir}: ${(err as Error).message}`);
        failed = true;
      }
    }
    r.models = { results, errors, ...meta(t) };
    console.log(`\n${modelsMarkdown(r.models)}\n`);
  }

  if (parts.includes("load")) {
    console.log("== load ==");
    const t = start();
    const extra = [...(o.jobs ? ["--jobs", o.jobs] : []), ...(o.challenges ? ["--challenges", o.challenges] : []), ...(o.burst ? ["--burst", o.burst] : []), ...(o.backend ? ["--prover-backend", o.backend] : [])];
    try {
      const l = await runPart<LoadResult>("scripts/bench/load.ts", join(RESULTS, "load.json"), [...q, ...extra], 8 * 60_000);
      r.load = { ...l, ...meta(t) };
      if (l.errors.length || !l.allProven || l.reexecute.challengesOfHonestClaims || (l.burst && (l.burst.failed || l.burst.claims < l.burst.jobs))) failed = true;
    } catch (err) {
      r.load = { error: (err as Error).message, ...meta(t) };
      failed = true;
    }
    console.log(`\n${loadMarkdown(r.load)}\n`);
  }

  if (parts.includes("prover")) {
    r.prover = await runProverBench(o.quick, parts.length === 1);
    console.log(`prover: ${r.prover.note}`);
    if (r.prover.ran && r.prover.exitCode !== 0) failed = true;
  } else {
    const note = `Not part of this run (parts named without \`prover\`): \`npm run bench -- prover\` runs \`${PROVER_SCRIPT}\`, which writes the Prover section of this file.`;
    r.prover = { ran: false, note, date: new Date().toISOString(), quick: o.quick, seconds: 0 };
  }

  r.seconds = (performance.now() - t0) / 1000;
  writeFileSync(jsonFile, JSON.stringify(r, null, 2) + "\n");
  writeDocs(join(ROOT, "docs/benchmarks.md"), markdown(r));
  console.log(`bench: ${r.seconds.toFixed(0)} s; wrote bench-results/bench.json and docs/benchmarks.md (between <!-- bench:begin --> and <!-- bench:end -->)`);
  if (failed) {
    console.error("bench: some part failed or missed a target (see above)");
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
