// Markdown for `npm run bench`: the tables printed to stdout and written to docs/benchmarks.md between
// <!-- bench:begin --> and <!-- bench:end --> (the rest of the file, e.g. the prover section, is kept).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { GasResult } from "./gas.ts";
import { batchGasMarkdown } from "./batch-gas.ts";
import type { LoadResult } from "./load.ts";
import type { ModelResult } from "./models.ts";
import { fmtInt, fmtMs, fmtPct } from "./common.ts";

export interface PartMeta {
  date: string;
  quick: boolean;
  seconds: number;
  /** 1-minute load average when the part started. */
  load1?: number;
}
export interface BenchResults {
  machine: { cpu: string; cores: number; memoryGB: number; os: string };
  node: string;
  date: string;
  args: string[];
  seconds: number;
  gas?: GasResult & PartMeta;
  models?: { results: ModelResult[]; errors: string[] } & PartMeta;
  load?: (LoadResult | { error: string }) & PartMeta;
  prover?: { ran: boolean; note: string; exitCode?: number | null; results?: unknown } & PartMeta;
}

const BEGIN = "<!-- bench:begin -->";
const END = "<!-- bench:end -->";
const mode = (p: PartMeta) => `${p.quick ? "--quick, " : ""}${p.date.slice(0, 16).replace("T", " ")} UTC, ${p.seconds.toFixed(0)} s${p.load1 === undefined ? "" : `, load average ${p.load1.toFixed(2)} at start`}`;
const signed = (n: number | null) => (n === null ? "–" : n === 0 ? "0" : `${n > 0 ? "+" : ""}${n.toLocaleString("en-US")}`);
const fixed = (v: number | undefined, d = 4) => (v === undefined ? "–" : v === 0 ? "0" : Math.abs(v) >= 0.001 ? v.toFixed(d) : v.toExponential(2));

export function gasMarkdown(g: GasResult & PartMeta): string {
  const lines = [
    `### Gas per function (${mode(g)})`,
    "",
    "Whole-transaction `gasUsed` from `measureGas()` (scripts/gas-snapshot.ts: fresh in-process chain, real fixture verifier, 10 outputs), against the gas targets and the committed `snapshots/gas.json`.",
    "",
    "| function | gas | target | within target | snapshot | diff |",
    "|---|---:|---:|:---:|---:|---:|",
    ...g.rows.map((r) => `| ${r.name} | ${fmtInt(r.gas)} | ${r.target === null ? "" : fmtInt(r.target)} | ${r.withinTarget === null ? "" : r.withinTarget ? "yes" : "**no**"} | ${fmtInt(r.snapshot)} | ${signed(r.delta)} |`),
    "",
    g.overTarget.length ? `Over target: ${g.overTarget.join(", ")}.` : "Every function with a target is within it.",
    g.snapshotMatches ? "The snapshot matches the committed one." : "**The measured figures differ from the committed snapshot** (update it with `npx tsx scripts/gas-snapshot.ts`).",
    ...(g.batches ? ["", batchGasMarkdown(g.batches)] : []),
  ];
  return lines.join("\n");
}

export function modelsMarkdown(m: { results: ModelResult[]; errors: string[] } & PartMeta): string {
  const R = m.results;
  const lines = [
    `### Models (${mode(m)})`,
    "",
    "Each shipped package in `models/`, one process per model. Constraints and wires from the package's `.r1cs` header; witness: `witnessFor` (direct route, reference engine), median of 5 distinct digits after one warm-up; prove and verify: the prove and verify phases of the prover library's `proveWithPackage` (what a challenged provider runs: witness file, snarkjs backend, the proof checked against `vkey.json`) on the first digit, median of 3. Gas: one dispute on an embedded chain with the package's own Solidity verifier registered (submitClaim with the input in calldata, challenge, `prove` through ClaimManager), and the verifier's `verifyProof` alone (eth_estimateGas, whole transaction). Peak RSS: the model's process (getrusage), after proving.",
    "",
    "| model | constraints | wires | witness | prove (snarkjs) | verify (snarkjs) | `prove` gas (ClaimManager) | `verifyProof` gas | submitClaim gas (with input) | peak RSS |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...R.map((r) =>
      `| ${r.model} | ${fmtInt(r.constraints)} | ${fmtInt(r.wires)} | ${fmtMs(r.witness.medianMs)} | ${r.prove ? fmtMs(r.prove.medianMs) : "no zkey"} | ${r.verify ? fmtMs(r.verify.medianMs) : "–"} | ${fmtInt(r.gas?.prove)} | ${fmtInt(r.gas?.verifyProofEstimate)} | ${fmtInt(r.gas?.submitClaimWithInputData)} | ${fmtInt(r.peakRssMB.afterProve ?? r.peakRssMB.afterWitness)} MB |`,
    ),
    "",
    "Fidelity on the MNIST held-out split (`circuits/fidelity/report.ts`: float model in onnxruntime against the bit-exact integer engine; logit errors in real units, the quantized logits dequantized):",
    "",
    "| model | samples | float accuracy | quantized accuracy | top-1 agreement | mean abs logit error | max abs logit error | mean / max % error |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...R.filter((r) => r.fidelity).map((r) => {
      const f = r.fidelity!;
      return `| ${r.model} | ${fmtInt(f.samples)} | ${fmtPct(f.floatAccuracy)} | ${fmtPct(f.quantizedAccuracy)} | ${fmtPct(f.agreement)} | ${fixed(f.logitMeanAbsError)} | ${fixed(f.logitMaxAbsError)} | ${f.logitMeanPercentError.toFixed(3)}% / ${f.logitMaxPercentError.toFixed(3)}% |`;
    }),
  ];
  const notes = [...R.flatMap((r) => r.notes.map((n) => `${r.model}: ${n}`)), ...m.errors];
  if (notes.length) lines.push("", ...notes.map((n) => `- ${n}`));
  return lines.join("\n");
}

export function loadMarkdown(l: (LoadResult | { error: string }) & PartMeta): string {
  if ("error" in l) return [`### Load (${mode(l)})`, "", `Failed: ${l.error}`].join("\n");
  const p = l.proofLatency;
  const lines = [
    `### Load (${mode(l)})`,
    "",
    `Local net with the daemons as processes (\`scripts/lib/devnet.ts\`: embedded chain over JSON-RPC, the MNIST MLP registered; provider and challenger polling every ${l.providerIntervalMs} ms). ${l.jobs} inference jobs (distinct held-out digits and tags) posted at once to the honest provider's \`POST /infer\`; the challenger (policy "all") re-executes every claim. Then ${l.challenges} of the claims are challenged at once by a third party and the provider proves them. Rates run from the first POST to the last claim on chain / re-executed; proof latency from the challenge's receipt to \`ClaimProven\` seen on chain.`,
    "",
    "| jobs | claims/min submitted | claims/min re-executed | correct claims challenged | challenged | proof latency median | proof latency max | provider prove time median (backend) | `prove` gas |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    `| ${l.jobs} | ${fmtInt(l.submit.claimsPerMinute)} (${l.submit.seconds.toFixed(1)} s) | ${fmtInt(l.reexecute.claimsPerMinute)} (${l.reexecute.seconds.toFixed(1)} s) | ${l.reexecute.challengesOfHonestClaims} | ${l.challenges} (${p.samplesMs.length} proven) | ${fmtMs(p.medianMs)} | ${fmtMs(p.maxMs)} | ${fmtMs(p.proverMedianMs)} (${p.proverBackends.join(", ") || "–"}) | ${p.proveGas.length ? `${fmtInt(Math.min(...p.proveGas))}–${fmtInt(Math.max(...p.proveGas))}` : "–"} |`,
  ];
  const b = l.burst;
  if (b) {
    const reasons = Object.entries(b.failedReasons).map(([r, n]) => `${n} x ${r}`).join("; ");
    lines.push(
      "",
      `Burst (a net of its own): ${b.jobs} distinct jobs posted ${b.parallel} at a time to a provider with \`stakeTarget\` ${BigInt(b.stakeTarget) / 10n ** 18n} tokens (five bonds) and tokens for every bond; it stakes for what is queued. Time from the first POST until every job is claimed on chain or failed.`,
      "",
      "| jobs | accepted in | claims | failed | seconds | claims/min | stake transactions |",
      "|---:|---:|---:|---:|---:|---:|---:|",
      `| ${b.jobs} | ${b.acceptedSeconds.toFixed(1)} s | ${b.claims} | ${b.failed} | ${b.seconds.toFixed(1)} | ${fmtInt(b.claimsPerMinute)} | ${b.stakeTransactions} |`,
      ...(reasons ? ["", `Failed: ${reasons}`] : []),
    );
  }
  const rss = l.daemonPeakRssMB ?? {};
  lines.push("", `Peak RSS: provider daemon ${rss.provider ?? "–"} MB, challenger daemon ${rss.challenger ?? "–"} MB (live process trees at the end of the run), bench process with the embedded chain ${l.benchProcessPeakRssMB} MB.`);
  if (l.errors.length) lines.push("", ...l.errors.map((e) => `- error: ${e}`));
  return lines.join("\n");
}

export function markdown(r: BenchResults): string {
  const parts = [
    "## Protocol, models and load",
    "",
    `\`npm run bench\` (\`scripts/bench.ts\`, parts in \`scripts/bench/\`; one part: \`npm run bench -- gas|models|load|prover\`, \`--quick\`). Every figure below is measured by the run; \`bench-results/bench.json\` has them all with the raw samples. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGB} GB, ${r.machine.os}; Node ${r.node}. The machine may be shared with other work.`,
  ];
  if (r.gas) parts.push("", gasMarkdown(r.gas));
  if (r.models) parts.push("", modelsMarkdown(r.models));
  if (r.load) parts.push("", loadMarkdown(r.load));
  if (r.prover) parts.push("", `### Prover`, "", r.prover.note);
  return parts.join("\n");
}

/** Writes `body` between the bench markers of docs/benchmarks.md (appending them when absent). */
export function writeDocs(file: string, body: string): void {
  const block = `${BEGIN}\n${body}\n${END}`;
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  const out = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : `${text.replace(/\n*$/, "\n\n")}${block}\n`;
  writeFileSync(file, out);
}
