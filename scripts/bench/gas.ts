// Bench part 1: whole-transaction gas per ClaimManager / ModelRegistry function (scripts/gas-snapshot.ts
// measureGas(), a fresh in-process chain and the real fixture verifier), next to the gas targets and the
// committed snapshot (snapshots/gas.json); and the gas per claim of batched claims (scripts/bench/batch-gas.ts).
// Usage: tsx scripts/bench/gas.ts --out bench-results/gas.json
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GAS_TARGETS, measureGas } from "../gas-snapshot.ts";
import { measureBatchGas, type BatchGasResult } from "./batch-gas.ts";
import { argValue, isMain, peakRssMB, ROOT, since, runMain } from "./common.ts";

export interface GasRow {
  name: string;
  gas: number;
  target: number | null;
  withinTarget: boolean | null;
  snapshot: number | null;
  delta: number | null;
}
export interface GasResult {
  rows: GasRow[];
  overTarget: string[];
  snapshotFile: string;
  snapshotMatches: boolean;
  /** Batched claims: gas per claim by batch size, beside single claims and always-prove. */
  batches: BatchGasResult;
  seconds: number;
  peakRssMB: number;
}

export async function benchGas(): Promise<GasResult> {
  const t = performance.now();
  const gas = await measureGas();
  const file = join(ROOT, "snapshots/gas.json");
  const snap: Record<string, number> = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { gas: Record<string, number> }).gas : {};
  const names = [...new Set([...Object.keys(gas), ...Object.keys(snap)])];
  const rows: GasRow[] = names.map((name) => {
    const g = gas[name];
    const target = GAS_TARGETS[name] ?? null;
    const s = snap[name] ?? null;
    return {
      name,
      gas: g ?? NaN,
      target,
      withinTarget: target === null || g === undefined ? null : g <= target,
      snapshot: s,
      delta: s === null || g === undefined ? null : g - s,
    };
  });
  const batches = await measureBatchGas();
  return {
    rows,
    overTarget: [...rows.filter((r) => r.withinTarget === false).map((r) => r.name), ...batches.overTarget],
    snapshotFile: "snapshots/gas.json",
    snapshotMatches: rows.every((r) => r.delta === 0),
    batches,
    seconds: since(t) / 1000,
    peakRssMB: peakRssMB(),
  };
}

if (isMain(import.meta.url)) {
  const out = argValue(process.argv, "--out") ?? join(ROOT, "bench-results/gas.json");
  runMain(benchGas(), out);
}
