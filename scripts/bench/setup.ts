// Bench part "setup" (npm run bench -- setup [--ptau <file>] [--native-only] [<package>...]; not in a run that names
// no part). Phase-2 timings for built packages: the initial key (newZKey) with snarkjs and with `ozk-prover zkey-new`
// (which must write the same bytes; "-" when the native binary is not built), one secret contribution with snarkjs
// and one with the native scaler (prover/setup/contribute.ts; "-" when the native binary is not built), and the full
// verification of the native one against circuit.r1cs and the powers of tau (what `ozk ceremony verify` does).
// --native-only skips the two snarkjs columns ("-"): at 2^21 snarkjs's newZKey alone takes about 20 minutes.
// Usage: npx tsx scripts/bench/setup.ts --ptau <file> [--native-only] <package>...   (default ptau: OZK_PTAU's file)
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest } from "../../circuits/compiler/package.ts";
import { nativeNewZKey } from "../../prover/backends/zkey-new.ts";
import { contributeNative, nativeSetupAvailable } from "../../prover/setup/contribute.ts";
import { contributeSecret, defaultPtau, ptauPower, releaseCurve, verifyKey } from "../../prover/setup/phase2.ts";

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf("--ptau");
  const ptau = at >= 0 ? args.splice(at, 2)[1] : defaultPtau();
  const no = args.indexOf("--native-only");
  const nativeOnly = no >= 0 && args.splice(no, 1).length > 0;
  if (!ptau || args.length === 0) throw new Error("usage: npm run bench -- setup --ptau <file> [--native-only] <package>...");
  const work = mkdtempSync(join(tmpdir(), "ozk-bench-setup-"));
  const native = await nativeSetupAvailable();
  if (nativeOnly && !native) throw new Error("--native-only needs the native binary (npm run build:native) and OZK_NATIVE_SETUP not 0");
  console.log(`| package | constraints | ptau power | init, snarkjs | init, native | contribution, snarkjs | contribution, native | verify (from r1cs) | key size |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---:|`);
  try {
    for (const pkg of args) {
      const m = readManifest(pkg);
      const r1cs = join(pkg, "circuit.r1cs");
      const k0 = join(work, `${m.name}_0000.zkey`);
      const k1 = join(work, `${m.name}_0001.zkey`);
      const k1n = join(work, `${m.name}_0001_native.zkey`);
      const k0n = join(work, `${m.name}_0000_native.zkey`);
      // snarkjs's newZKey explicitly: initialKey itself is native when the binary is built
      const [, init] = nativeOnly ? [null, NaN] : await timed(() => nativeNewZKey(r1cs, ptau, k0, { snarkjs: true }));
      const [, initN] = native ? await timed(() => nativeNewZKey(r1cs, ptau, nativeOnly ? k0 : k0n)) : [null, NaN];
      if (native && !nativeOnly && !readFileSync(k0n).equals(readFileSync(k0))) throw new Error(`${pkg}: the native initial key differs from snarkjs's`);
      rmSync(k0n, { force: true });
      let contribute = NaN;
      if (!nativeOnly) {
        process.env.OZK_NATIVE_SETUP = "0";
        contribute = (await timed(() => contributeSecret(k0, k1, "bench")))[1];
        delete process.env.OZK_NATIVE_SETUP;
      }
      const [, contributeN] = native ? await timed(() => contributeNative(k0, k1n, "bench", "bench entropy")) : [null, NaN];
      rmSync(k0, { force: true });
      if (native) rmSync(k1, { force: true });
      const checked = native ? k1n : k1;
      const [ok, verify] = await timed(() => verifyKey(r1cs, ptau, checked));
      if (!ok) throw new Error(`${pkg}: the contributed key does not verify`);
      const mb = (statSync(checked).size / 1e6).toFixed(1);
      const n = native ? `${contributeN.toFixed(1)} s` : "-";
      const i = native ? `${initN.toFixed(1)} s` : "-";
      const sec = (x: number): string => (Number.isNaN(x) ? "-" : `${x.toFixed(1)} s`);
      console.log(`| ${m.name} | ${m.constraints} | ${ptauPower(ptau)} | ${sec(init)} | ${i} | ${sec(contribute)} | ${n} | ${verify.toFixed(1)} s | ${mb} MB |`);
      rmSync(checked, { force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await releaseCurve();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
