// Bench part "prover" (npm run bench -- prover; not a test): squaring-chain circuits y[i] = y[i-1]^2 + i
// (scripts/fixtures/squaring-chain.ts) at 2^k constraints, keys from the UNSAFE dev setup, whole-process prove time (median of BENCH_REPS) and peak RSS for snarkjs, the native CPU prover, the
// CUDA prover when a GPU answers, and rapidsnark when RAPIDSNARK=/path is given; then the same native provers
// resident (`serve`: key loaded once, per-proof time of warm proofs, the way the prover service runs them).
// Every prover's last proof at every size is checked with snarkjs verify; provers alternate within each
// repetition. Writes bench-results/prover.json and the prover table in docs/benchmarks.md.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { ResidentProver } from "../../prover/backends/resident.ts";
import { loadModelPackage } from "../../circuits/compiler/package.ts";
import { witnessCalculatorFor } from "../../prover/witness.ts";
import { unsafeDevSetup } from "../../prover/setup/devsetup.ts";
import { snarkjs } from "../../prover/snarkjs.ts";
import { squaringChainConstraintsForDomain, writeSquaringChainR1cs, writeSquaringChainWtns } from "../fixtures/squaring-chain.ts";
import { median, treePeakRssMB } from "./common.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const outDir = join(root, "bench-results");
const work = join(outDir, "circuits");
const sizes = (process.env.BENCH_SIZES ?? "12,14,16,18,20").split(",").map(Number);
const reps = Number(process.env.BENCH_REPS ?? 3);
const snarkjsMax = Number(process.env.BENCH_SNARKJS_MAX ?? 20);
const threads = process.env.BENCH_THREADS;
const native = join(root, "prover/native/build/ozk-prover");
const cuda = join(root, "prover/native/build/ozk-prover-cuda");
const rapidsnark = process.env.RAPIDSNARK;
const benchModels = (process.env.BENCH_MODELS ?? "mnist-mlp,mnist-cnn").split(",").filter((m) => m.length > 0);

interface Run {
  seconds: number;
  maxRssMB: number;
  load1: number;
}
interface Entry {
  prover: string;
  /** chain<k> or a model name */
  circuit: string;
  log2: number;
  constraints: number;
  runs: Run[];
  medianSeconds: number;
  peakRssMB: number;
  verified: boolean;
  /** Resident provers: time to load and check the key (and upload it, on the GPU) before the first proof. */
  loadSeconds?: number;
}

function timed(cmd: string[]): Run {
  const load1 = loadavg()[0]!;
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", ...cmd], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed:\n${r.stderr}`);
  const last = r.stderr.trim().split("\n").pop()!.split(" ");
  return { seconds: Number(last[0]), maxRssMB: Math.round(Number(last[1]) / 1024), load1: Math.round(load1 * 100) / 100 };
}

function gpuAnswers(): boolean {
  if (!existsSync(cuda)) return false;
  const r = spawnSync(cuda, ["probe"], { encoding: "utf8" });
  return r.status === 0;
}

async function main(): Promise<void> {
  mkdirSync(work, { recursive: true });
  if (!existsSync(native)) throw new Error("native prover not built: run prover/native/build.sh");
  const provers: [string, (z: string, w: string, p: string, pub: string) => string[]][] = [
    ["snarkjs", (z, w, p, pub) => [process.execPath, join(root, "node_modules/snarkjs/cli.js"), "groth16", "prove", z, w, p, pub]],
    ["native-cpu", (z, w, p, pub) => [native, "prove", z, w, p, pub, ...(threads ? ["--threads", threads] : [])]],
  ];
  if (gpuAnswers()) provers.push(["cuda", (z, w, p, pub) => [cuda, "prove", z, w, p, pub]]);
  if (rapidsnark) provers.push(["rapidsnark", (z, w, p, pub) => [rapidsnark, z, w, p, pub]]);

  const residents: [string, string, string[]][] = [["native-cpu-resident", native, threads ? ["--threads", threads] : []]];
  if (provers.some(([name]) => name === "cuda")) residents.push(["cuda-resident", cuda, []]);

  const entries: Entry[] = [];
  /** Every prover on one circuit: one-shot provers taking turns within each repetition (so a load spike from
   * other work on the machine hits all alike), then each resident prover for `reps` warm proofs. */
  const measure = async (label: string, log2: number, constraints: number, zkey: string, wtns: string, skipSnarkjs: boolean): Promise<void> => {
    const vkey = await snarkjs.zKey.exportVerificationKey(zkey);
    const files = (name: string): [string, string] => [join(work, `proof-${name}-${label}.json`), join(work, `public-${name}-${label}.json`)];
    const check = async (name: string): Promise<boolean> => {
      const [proof, pub] = files(name);
      const ok = await snarkjs.groth16.verify(vkey, JSON.parse(readFileSync(pub, "utf8")), JSON.parse(readFileSync(proof, "utf8")));
      if (!ok) console.error(`[bench] ${label} ${name}: PROOF DID NOT VERIFY`);
      return ok;
    };
    const push = (name: string, rs: Run[], verified: boolean, loadSeconds?: number): void => {
      entries.push({
        prover: name, circuit: label, log2, constraints, runs: rs, medianSeconds: median(rs.map((r) => r.seconds)),
        peakRssMB: Math.max(...rs.map((r) => r.maxRssMB)), verified, ...(loadSeconds === undefined ? {} : { loadSeconds }),
      });
    };
    const active = provers.filter(([name]) => !(name === "snarkjs" && skipSnarkjs));
    const runs = new Map<string, Run[]>(active.map(([name]) => [name, []]));
    for (let i = 0; i < reps; i++) {
      for (const [name, cmd] of active) {
        const run = timed(cmd(zkey, wtns, ...files(name)));
        runs.get(name)!.push(run);
        console.error(`[bench] ${label} ${name} run ${i + 1}: ${run.seconds}s ${run.maxRssMB}MB (load ${run.load1})`);
      }
    }
    for (const [name] of active) push(name, runs.get(name)!, await check(name));
    for (const [name, bin, args] of residents) {
      const server = new ResidentProver(bin, zkey, args);
      const t0 = performance.now();
      const info = await server.ready;
      const loadSeconds = Math.round(performance.now() - t0) / 1000;
      const rs: Run[] = [];
      for (let i = 0; i < reps; i++) {
        const load1 = Math.round(loadavg()[0]! * 100) / 100;
        const t = performance.now();
        await server.prove(wtns, ...files(name));
        rs.push({ seconds: Math.round(performance.now() - t) / 1000, maxRssMB: treePeakRssMB(server.pid) ?? 0, load1 });
        console.error(`[bench] ${label} ${name} proof ${i + 1}: ${rs.at(-1)!.seconds}s (key load ${info.loadMs} ms, load ${load1})`);
      }
      server.close();
      push(name, rs, await check(name), loadSeconds);
    }
  };

  for (const k of sizes) {
    const n = squaringChainConstraintsForDomain(k);
    const r1cs = join(work, `chain${k}.r1cs`), wtns = join(work, `chain${k}.wtns`), zkey = join(work, `chain${k}.zkey`);
    if (!existsSync(zkey)) {
      console.error(`[bench] 2^${k}: writing circuit (${n} constraints) and UNSAFE dev key`);
      writeSquaringChainR1cs(r1cs, n);
      writeSquaringChainWtns(wtns, n, 7n);
      await unsafeDevSetup(r1cs, zkey, { quiet: true });
    }
    await measure(`chain${k}`, k, n, zkey, wtns, k > snarkjsMax);
  }
  // The shipped models (when their keys are built): real witnesses, mostly 0 and 1, on a held-out digit.
  const models: string[] = [];
  for (const model of benchModels) {
    const dir = join(root, "models", model);
    if (!existsSync(join(dir, "circuit.zkey"))) {
      console.error(`[bench] ${model}: circuit.zkey not built, skipped`);
      continue;
    }
    const pkg = loadModelPackage(dir);
    const wtns = join(work, `${model}.wtns`);
    await (await witnessCalculatorFor(pkg))(pkg, Array.from(heldOutSample(1).images[0]!), wtns);
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { constraints?: number };
    const constraints = manifest.constraints ?? 0;
    await measure(model, Math.ceil(Math.log2(Math.max(2, constraints))), constraints, join(dir, "circuit.zkey"), wtns, false);
    models.push(model);
  }
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();

  const cpuModel = (() => {
    try {
      const l = execFileSync("lscpu", { encoding: "utf8" }).split("\n").find((x) => x.startsWith("Model name"));
      return l ? l.split(":")[1]!.trim() : cpus()[0]!.model;
    } catch {
      return cpus()[0]!.model;
    }
  })();
  const gpuName = (() => {
    if (!provers.some((p) => p[0] === "cuda")) return "none";
    const r = spawnSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { encoding: "utf8" });
    return r.status === 0 && r.stdout.trim() ? r.stdout.trim().split("\n")[0]! : "yes (name unknown)";
  })();
  const machine = { cpu: cpuModel, cores: cpus().length, gpu: gpuName };
  const result = { date: new Date().toISOString(), machine, reps, circuit: "chain y[i] = y[i-1]^2 + i, UNSAFE dev key", entries };
  writeFileSync(join(outDir, "prover.json"), JSON.stringify(result, null, 2) + "\n");

  // markdown table: one row per size, one column pair per prover
  const names = [...provers.map((p) => p[0]), ...residents.map((r) => r[0])];
  const cell = (c: string, p: string): string => {
    const e = entries.find((x) => x.circuit === c && x.prover === p);
    return e ? `${e.medianSeconds.toFixed(2)} s / ${e.peakRssMB} MB${e.verified ? "" : " (INVALID)"}` : "-";
  };
  const ratio = (c: string, a: string, b: string): string => {
    const x = entries.find((e) => e.circuit === c && e.prover === a), y = entries.find((e) => e.circuit === c && e.prover === b);
    return x && y ? `${(y.medianSeconds / x.medianSeconds).toFixed(2)}x` : "-";
  };
  const vsRapid = names.includes("rapidsnark") ? names.filter((p) => p !== "snarkjs" && p !== "rapidsnark") : [];
  const extra = vsRapid.map((p) => `${p} vs rapidsnark`);
  const rows: [string, string][] = [
    ...sizes.map((k): [string, string] => [`chain${k}`, `2^${k} (${squaringChainConstraintsForDomain(k).toLocaleString("en-US")})`]),
    ...models.map((m): [string, string] => {
      const e = entries.find((x) => x.circuit === m)!;
      return [m, `${m} (${e.constraints.toLocaleString("en-US")})`];
    }),
  ];
  const lines = [
    `Machine: ${machine.cpu}, ${machine.cores} cores, GPU: ${machine.gpu}. ${result.date.slice(0, 16)}Z, median of ${reps}, whole process (time / peak RSS); *-resident: one warm proof of a \`serve\` process with the key loaded (key load time in bench-results/prover.json). Chain rows: UNSAFE dev keys, random-looking witness; model rows: the shipped keys, a held-out digit. Load average (1 min) at each run is in bench-results/prover.json.`,
    "",
    `| constraints | ${names.join(" | ")} | native vs snarkjs | ${extra.join(" | ")}${extra.length ? " |" : ""}`,
    `|---|${names.map(() => "---|").join("")}---|${extra.map(() => "---|").join("")}`,
    ...rows.map(([c, title]) => {
      const cols = names.map((p) => cell(c, p));
      const ex = vsRapid.map((p) => ratio(c, p, "rapidsnark"));
      return `| ${title} | ${cols.join(" | ")} | ${ratio(c, "native-cpu", "snarkjs")} | ${ex.join(" | ")}${ex.length ? " |" : ""}`;
    }),
  ];
  const docPath = join(root, "docs/benchmarks.md");
  const start = "<!-- prover-bench:start -->", end = "<!-- prover-bench:end -->";
  const block = `${start}\n${lines.join("\n")}\n${end}`;
  let doc = existsSync(docPath) ? readFileSync(docPath, "utf8") : "# Benchmarks\n\n## Prover\n\n" + block + "\n";
  if (doc.includes(start) && doc.includes(end)) doc = doc.slice(0, doc.indexOf(start)) + block + doc.slice(doc.indexOf(end) + end.length);
  else doc += `\n## Prover\n\n${block}\n`;
  mkdirSync(join(root, "docs"), { recursive: true });
  writeFileSync(docPath, doc);
  console.log(lines.join("\n"));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
