// `ozk prove` (one proof from a model package and an input file) and `ozk prover serve|worker` (the service).
// Heavy modules (snarkjs, node:sqlite, bullmq) load inside the actions so `ozk --help` stays fast and quiet.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { hostname } from "node:os";
import type { Command } from "commander";
import { group } from "./group.ts";
import { userPath, userPathIf } from "./paths.ts";
import { MAX_INPUT_BYTES, readSmallFile } from "./preprocess.ts";

function readJson(path: string): unknown {
  try {
    return JSON.parse(readSmallFile(path, "input file", MAX_INPUT_BYTES));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** A float input that clamps (outside the input range, or saturating an activation) is proved with a warning. */
async function warnProveClamps(quantPath: string | undefined, input: unknown): Promise<void> {
  const { floatsOf, warnClamps } = await import("./model-data.ts");
  const floats = floatsOf(input);
  if (!quantPath || !floats) return;
  const { parseQuant } = await import("../circuits/compiler/quantize.ts");
  const q = parseQuant(readFileSync(quantPath, "utf8"));
  if (floats.length === q.inputShape.reduce((a, b) => a * b, 1)) warnClamps(q, floats);
}

/** Resolves on SIGTERM/SIGINT. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
}

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`not an integer: ${v}`);
  return n;
}

export function register(program: Command): void {
  program
    .command("prove")
    .description("prove one input for a model package; writes snarkjs proof.json and public.json")
    .argument("<modelDir>", "model package directory (with a .zkey and a witness generator)")
    .argument(
      "<input>",
      'input JSON file: an array of floats (quantized here), {"input": [...]}, {"quantized": [...]} (integers) or {"inputData": "0x..."} ' +
        "(the on-chain encoding); arrays may be nested (a tensor's tolist(), read row-major); a circom-route package takes its circuit's signal names to values",
    )
    .option("--out <file>", "proof output", "proof.json")
    .option("--public <file>", "public signals output (default: public.json next to --out)")
    .option("--backend <name>", "auto | cuda | native | snarkjs", "auto")
    .action(async (modelDir: string, inputFile: string, opts: { out: string; public?: string; backend: string }) => {
      const { createLogger } = await import("../sdk/node/logger.ts");
      const { selectBackend } = await import("../prover/backends/index.ts");
      const { terminateSnarkjs } = await import("../prover/backends/snarkjs.ts");
      const { loadModelPackage } = await import("../circuits/compiler/package.ts");
      const { proveWithPackage } = await import("../prover/prove.ts");
      const logger = createLogger({ name: "ozk-prove", level: (process.env.OZK_LOG_LEVEL as "info" | undefined) ?? "warn", destination: process.stderr });
      const backend = await selectBackend({ prefer: opts.backend, logger });
      try {
        const pkg = loadModelPackage(userPath(modelDir));
        const input = readJson(userPath(inputFile));
        await warnProveClamps(pkg.quantPath, input);
        const proved = await proveWithPackage(pkg, input, { backend });
        const out = userPath(opts.out);
        const publicFile = opts.public !== undefined ? userPath(opts.public) : join(dirname(out), "public.json");
        mkdirSync(dirname(out), { recursive: true });
        mkdirSync(dirname(publicFile), { recursive: true });
        writeFileSync(out, JSON.stringify(proved.proof, null, 2) + "\n");
        writeFileSync(publicFile, JSON.stringify(proved.publicSignals, null, 2) + "\n");
        const t = proved.timings;
        console.log(`proved ${pkg.name} with ${proved.backend}: witness ${t.witnessMs} ms, prove ${t.proveMs} ms, verify ${t.verifyMs} ms`);
        console.log(`wrote ${out} and ${publicFile} (verified)`);
      } finally {
        await backend.close?.();
        await terminateSnarkjs();
      }
    });

  const prover = group(program, "prover", "the proving service: job API, SQLite job store, optional Redis queue");

  prover
    .command("serve")
    .description("run the prover service: POST /jobs, GET /jobs/:id, /healthz, /metrics")
    .option("-c, --config <file>", "JSON config file (keys: port, host, db, modelsDir, workers, redisUrl, queueName, backend, maxAttempts, logLevel)")
    .option("--port <n>", "HTTP port", int)
    .option("--host <host>", "HTTP bind address")
    .option("--db <file>", "SQLite job store")
    .option("--models <dir>", "models root (jobs name a directory inside it)")
    .option("--workers <n>", "proofs at once in this process (0: API only)", int)
    .option("--redis <url>", "share jobs through this Redis (BullMQ)")
    .option("--backend <name>", "auto | cuda | native | snarkjs")
    .action(async (opts: Record<string, unknown>) => {
      const { loadProverConfig } = await import("../prover/service/config.ts");
      const { createLogger } = await import("../sdk/node/logger.ts");
      const { Metrics } = await import("../sdk/node/metrics.ts");
      const { openStore } = await import("../sdk/node/store.ts");
      const { selectBackend } = await import("../prover/backends/index.ts");
      const { terminateSnarkjs } = await import("../prover/backends/snarkjs.ts");
      const { ProverService } = await import("../prover/service/service.ts");
      const config = loadProverConfig({
        file: userPathIf(opts.config as string | undefined),
        overrides: { port: opts.port, host: opts.host, db: userPathIf(opts.db as string | undefined), modelsDir: userPathIf(opts.models as string | undefined), workers: opts.workers, redisUrl: opts.redis, backend: opts.backend },
      });
      const logger = createLogger({ name: "ozk-prover", level: config.logLevel });
      const metrics = new Metrics({ prefix: "ozk_prover_" });
      const backend = await selectBackend({ prefer: config.backend, logger });
      const store = openStore(config.db);
      const service = new ProverService({
        store, logger, metrics, backend, modelsDir: config.modelsDir, workers: config.workers,
        redisUrl: config.redisUrl, queueName: config.queueName, maxAttempts: config.maxAttempts,
      });
      await service.start();
      await service.listen(config.port, config.host, config.http);
      const sig = await untilSignal();
      logger.info({ signal: sig }, "stopping");
      await service.stop();
      await backend.close?.();
      await terminateSnarkjs();
      store.close();
    });

  prover
    .command("worker")
    .description("run proving workers on a shared Redis queue (no job API); /healthz and /metrics on --port")
    .requiredOption("--redis <url>", "Redis URL, e.g. redis://10.0.0.5:6379")
    .option("--concurrency <n>", "proofs at once", int, 1)
    .option("--port <n>", "ops port for /healthz and /metrics (0: random)", int, 0)
    .option("--queue <name>", "queue name", "ozk-prove")
    .option("--backend <name>", "auto | cuda | native | snarkjs", "auto")
    .option("--models <dir>", "models root, the same package layout as the API side (default: models in the working directory: the ozk folder under npm run ozk)")
    .action(async (opts: { redis: string; models?: string; concurrency: number; port: number; queue: string; backend: string }) => {
      const modelsDir = opts.models === undefined ? "models" : userPath(opts.models);
      const { createLogger } = await import("../sdk/node/logger.ts");
      const { Metrics } = await import("../sdk/node/metrics.ts");
      const { startServer } = await import("../sdk/node/server.ts");
      const { selectBackend } = await import("../prover/backends/index.ts");
      const { terminateSnarkjs } = await import("../prover/backends/snarkjs.ts");
      const { startRedisWorker } = await import("../prover/service/queue.ts");
      const logger = createLogger({ name: "ozk-prover-worker" });
      const metrics = new Metrics({ prefix: "ozk_prover_" });
      const backend = await selectBackend({ prefer: opts.backend, logger });
      const { ensureCurve } = await import("../prover/snarkjs.ts");
      await ensureCurve(); // every proof is verified: build the curve before the first job
      const worker = startRedisWorker(
        { backend, modelsDir, logger, metrics, workerId: `${hostname()}-${process.pid}` },
        { url: opts.redis, queueName: opts.queue, concurrency: opts.concurrency },
      );
      await worker.waitUntilReady();
      const server = await startServer({ port: opts.port, metrics, health: () => ({ ok: worker.isRunning(), backend: backend.name }), logger });
      logger.info({ ops: server.url, backend: backend.name, concurrency: opts.concurrency }, "worker ready");
      const sig = await untilSignal();
      logger.info({ signal: sig }, "worker stopping");
      await worker.close(); // waits for the job in flight
      await server.close();
      await backend.close?.();
      await terminateSnarkjs();
    });
}
