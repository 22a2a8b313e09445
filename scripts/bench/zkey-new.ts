// Times the initial phase-2 key (newZKey) of circuits with snarkjs and with `ozk-prover zkey-new`, and checks
// that both wrote the same bytes. A standalone script rather than an `npm run bench` part: it takes bare .r1cs files
// and any ptau (the setup part times the same step on packages). The load average is printed with each row: on a
// shared machine the figures move.
// Usage: npx tsx scripts/bench/zkey-new.ts --ptau <file> [--native-only] [--threads N] <circuit.r1cs | package>...
// (default ptau: the file OZK_PTAU names). A power-21 powers of tau for trying large circuits, INSECURE (its
// toxic waste is derived from a public seed): prover/native/build/ozk-prover ptau-dev 21 INSECURE_dev_pot21.ptau
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { nativeNewZKey } from "../../prover/backends/zkey-new.ts";

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
}

function r1csHeader(path: string): { constraints: number; wires: number } {
  // sections: type u32, size u64, body; the header (type 1): n8, prime, nWires, nOut, nPubIn, nPrvIn, nLabels u64, nConstraints
  const fd = openSync(path, "r");
  const read = (n: number, at: number): Buffer => {
    const b = Buffer.alloc(n);
    readSync(fd, b, 0, n, at);
    return b;
  };
  try {
    let pos = 12;
    for (let i = 0, n = read(12, 0).readUInt32LE(8); i < n; i++) {
      const e = read(12, pos);
      const size = Number(e.readBigUInt64LE(4));
      if (e.readUInt32LE(0) === 1) {
        const h = read(Math.min(size, 128), pos + 12);
        const n8 = h.readUInt32LE(0);
        return { wires: h.readUInt32LE(4 + n8), constraints: h.readUInt32LE(4 + n8 + 24) };
      }
      pos += 12 + size;
    }
  } finally {
    closeSync(fd);
  }
  throw new Error(`${path}: no r1cs header section`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { ptau: { type: "string" }, "native-only": { type: "boolean" }, threads: { type: "string" } },
  });
  const ptau = values.ptau ?? process.env.OZK_PTAU;
  if (!ptau || positionals.length === 0) throw new Error("usage: npx tsx scripts/bench/zkey-new.ts --ptau <file> [--native-only] [--threads N] <circuit.r1cs | package>...");
  const threads = values.threads ? Number(values.threads) : undefined;
  const work = mkdtempSync(join(tmpdir(), "ozk-bench-zkey-new-"));
  console.log(`ptau: ${basename(ptau)}`);
  console.log(`| circuit | constraints | wires | snarkjs newZKey | native zkey-new | same bytes | load (1 min) |`);
  console.log(`|---|---:|---:|---:|---:|---|---:|`);
  try {
    for (const arg of positionals) {
      const r1cs = existsSync(join(arg, "circuit.r1cs")) ? join(arg, "circuit.r1cs") : arg;
      const name = r1cs.endsWith("/circuit.r1cs") ? basename(arg) : basename(r1cs, ".r1cs");
      const { constraints, wires } = r1csHeader(r1cs);
      const load0 = loadavg()[0]!;
      const nat = join(work, `${name}.native.zkey`);
      const [, tn] = await timed(() => nativeNewZKey(r1cs, ptau, nat, { threads }));
      let ts = "-";
      let same = "-";
      if (!values["native-only"]) {
        const ref = join(work, `${name}.snarkjs.zkey`);
        const [, t] = await timed(() => nativeNewZKey(r1cs, ptau, ref, { snarkjs: true }));
        ts = `${t.toFixed(1)} s`;
        same = statSync(ref).size === statSync(nat).size && readFileSync(ref).equals(readFileSync(nat)) ? "yes" : "NO";
        rmSync(ref);
      }
      rmSync(nat);
      const load = ((load0 + loadavg()[0]!) / 2).toFixed(1);
      console.log(`| ${name} | ${constraints} | ${wires} | ${ts} | ${tn.toFixed(1)} s | ${same} | ${load} |`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
