// Fuzzes the HTTP servers of every daemon, each run as its own process against a local chain: the provider
// (/infer, /jobs/:id, /batches/:root, /healthz, /metrics), the challenger (/claims/:id, /batches/:root, /healthz, /metrics) and the prover
// service (POST /jobs, /jobs/:id, /jobs?status&limit, /healthz, /metrics). Raw bytes on sockets: malformed
// request lines and headers, bad percent-encoding, wrong JSON types in every field, invalid JSON, bodies over
// the limit, slow clients and many connections at once. Every answer must be a 4xx (never a 5xx, never
// silence), and afterwards every process must still be up and answer /healthz.
// The cases come from a seeded PRNG: OZK_FUZZ_SEED=<n> replays a run, OZK_FUZZ_CASES=<n> sets the cases per
// endpoint (default 300).
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { JOB_ID } from "../../prover/service/jobs.ts";
import type { DaemonProcess } from "../../runtime/processes.ts";
import { daemon, digit, startNet, waitFor, type Net } from "./harness.ts";
import {
  WRONG_COMPOSITES,
  WRONG_SCALARS,
  chunked,
  exchange,
  int,
  invalidJson,
  malformedRequest,
  nested,
  objectText,
  paramCase,
  pick,
  prng,
  problem,
  request,
  runCases,
  seedFor,
  type Case,
  type Rng,
} from "../http-fuzz.ts";

const SEED = Number(process.env.OZK_FUZZ_SEED ?? 20_250_611);
const CASES = Number(process.env.OZK_FUZZ_CASES ?? 300);
/** The servers' request timeout in this test (the default is 30 s): a slow client is cut after this. */
const REQUEST_TIMEOUT_MS = 1_500;
/** No answer and no close within this long is a hang. */
const HANG_MS = 15_000;
const LIMIT = 16 * 1024 * 1024;

// ---- bodies ----

const parsed = (text: string): unknown => JSON.parse(text) as unknown;
/** A pixel /infer accepts: a finite number in [0, 1]. */
const pixelOk = (t: string): boolean => {
  const v = parsed(t);
  return typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1;
};
/** A quantized value /infer accepts for the 8-bit MNIST MLP. */
const quantOk = (t: string): boolean => {
  const v = parsed(t);
  const ok = (typeof v === "string" && /^-?\d{1,80}$/.test(v)) || (typeof v === "number" && Number.isSafeInteger(v));
  return ok && BigInt(v as string | number) >= -128n && BigInt(v as string | number) < 128n;
};
const NOT_STRING = [...WRONG_SCALARS.filter((t) => typeof parsed(t) !== "string"), ...WRONG_COMPOSITES];
const longString = (rng: Rng, min: number): string => JSON.stringify("x".repeat(min + int(rng, 2000)));
/** An array or object nested past any sane depth: code that walks it recursively overflows the stack. */
const deep = (rng: Rng): string => {
  const depth = pick(rng, [65, 1000, 10_000, 100_000]);
  return rng() < 0.5 ? nested(depth) : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
};

/** A POST /infer body with exactly one thing wrong (a field's type or value, a missing or extra field). */
function inferBody(rng: Rng, pixels: readonly number[]): { label: string; text: string } {
  const input = (): string => `[${pixels.join(",")}]`;
  const quantized = (): string => `[${pixels.map(() => `"${int(rng, 256) - 128}"`).join(",")}]`;
  const base: Record<string, string> = rng() < 0.5 ? { model: '"mnist-mlp"', input: input() } : { model: '"mnist-mlp"', quantized: quantized() };
  if (rng() < 0.3) base.tag = JSON.stringify("t".repeat(int(rng, 40)));
  const values = base.input ? "input" : "quantized";
  const at = int(rng, pixels.length);
  const element = (wrong: string): string => {
    const xs = base.input ? pixels.map(String) : pixels.map(() => '"0"');
    xs[at] = wrong;
    return `[${xs.join(",")}]`;
  };
  const kind = pick(rng, ["model", "values", "element", "length", "tag", "both", "missing", "duplicate"] as const);
  switch (kind) {
    case "model": {
      const v = pick(rng, [...NOT_STRING, ...WRONG_SCALARS, '"no-such-model"', '"MNIST-MLP"', '"mnist-mlp "', `"0x${"ab".repeat(32)}"`, longString(rng, 300), deep(rng)]);
      return { label: `model = ${v.slice(0, 30)}`, text: objectText({ ...base, model: v }) };
    }
    case "values": {
      const v = pick(rng, [...WRONG_SCALARS, ...WRONG_COMPOSITES, '"' + "1,".repeat(784) + '"', deep(rng)]);
      return { label: `${values} = ${v.slice(0, 30)}`, text: objectText({ ...base, [values]: v }) };
    }
    case "element": {
      const pool = [...WRONG_SCALARS, ...WRONG_COMPOSITES, '"128"', '"-129"', "128", "-129", "1.0000001", "-0.0000001", "2", '"0.5"', deep(rng)];
      const v = pick(rng, pool.filter((t) => !(base.input ? pixelOk(t) : quantOk(t))));
      return { label: `${values}[${at}] = ${v.slice(0, 30)}`, text: objectText({ ...base, [values]: element(v) }) };
    }
    case "length": {
      const n = pick(rng, [0, 1, int(rng, 784), 785, 784 + 1 + int(rng, 3000)]);
      const xs = Array.from({ length: n }, (_, i) => (base.input ? String(pixels[i % pixels.length]) : '"1"'));
      return { label: `${values} of length ${n}`, text: objectText({ ...base, [values]: `[${xs.join(",")}]` }) };
    }
    case "tag": {
      const v = pick(rng, [...NOT_STRING, longString(rng, 257), deep(rng)]);
      return { label: `tag = ${v.slice(0, 30)}`, text: objectText({ ...base, tag: v }) };
    }
    case "both":
      return { label: "input and quantized", text: objectText({ ...base, input: input(), quantized: quantized() }) };
    case "missing": {
      const drop = pick(rng, ["model", values]);
      const rest = Object.fromEntries(Object.entries(base).filter(([k]) => k !== drop));
      return { label: `no ${drop}`, text: objectText(rest) };
    }
    case "duplicate": {
      // JSON.parse keeps the last of a duplicated key: that one is wrong.
      const v = pick(rng, NOT_STRING);
      return { label: `model twice, last = ${v}`, text: `{"model":"mnist-mlp",${objectText(base).slice(1, -1)},"model":${v}}` };
    }
  }
}

/** Strings the prover service refuses as a job id. */
const idOk = (t: string): boolean => {
  const v = parsed(t);
  return typeof v === "string" && JOB_ID.test(v) && !/^\d+$/.test(v);
};
const BAD_IDS = ['""', '"a b"', '"123"', '"-x"', '".x"', `"${"x".repeat(129)}"`, '"é"', '"../x"', '"a/b"', '"\\u0000"', '"x\\n"'];

/** A POST /jobs body for the prover service with exactly one field wrong. */
function jobBody(rng: Rng): { label: string; text: string } {
  const base: Record<string, string> = { modelDir: '"mnist-mlp"', input: `{"quantized":[${Array.from({ length: 784 }, () => '"0"').join(",")}]}` };
  if (rng() < 0.5) base.id = `"fuzz-${int(rng, 1e9)}"`;
  const kind = pick(rng, ["modelDir", "input", "id", "missing"] as const);
  switch (kind) {
    case "modelDir": {
      const v = pick(rng, [...NOT_STRING, '""', '"../x"', '"/etc"', '".."', '"../../tmp"', '"a/../../b"', `"${"../".repeat(20)}"`, deep(rng)]);
      return { label: `modelDir = ${v.slice(0, 30)}`, text: objectText({ ...base, modelDir: v }) };
    }
    case "input": {
      const v = pick(rng, [...WRONG_SCALARS, deep(rng), `{"quantized":${deep(rng)}}`]);
      return { label: `input = ${v.slice(0, 30)}`, text: objectText({ ...base, input: v }) };
    }
    case "id": {
      const v = pick(rng, [...NOT_STRING, ...BAD_IDS, deep(rng)].filter((t) => !idOk(t)));
      return { label: `id = ${v.slice(0, 30)}`, text: objectText({ ...base, id: v }) };
    }
    case "missing": {
      const drop = pick(rng, ["modelDir", "input"]);
      return { label: `no ${drop}`, text: objectText(Object.fromEntries(Object.entries(base).filter(([k]) => k !== drop))) };
    }
  }
}

/** A case for a POST route: a wrong body (400), sent with a length or chunked, or a malformed request (4xx). */
function postCase(rng: Rng, path: string, body: (rng: Rng) => { label: string; text: string }): Case {
  const r = rng();
  let label: string;
  let text: string;
  if (r < 0.6) ({ label, text } = body(rng));
  else if (r < 0.8) {
    text = invalidJson(rng, body(rng).text);
    label = "invalid JSON";
  } else if (r < 0.85) {
    const depth = pick(rng, [65, 100, 1000, 100_000]);
    text = pick(rng, [nested(depth), `{"model":${nested(depth)}}`, `{"input":${nested(depth)}}`, `{"a":${"{\"a\":".repeat(depth)}1${"}".repeat(depth)}}`]);
    label = `nested ${depth} deep`;
  } else if (r < 0.9) {
    text = pick(rng, ["[]", "null", "1", '"s"', "true", "[{}]", ""]);
    label = `top level ${JSON.stringify(text)}`;
  } else return malformedRequest(rng, "POST", path);
  const bytes = Buffer.from(text, "utf8");
  const asChunks = rng() < 0.3 && bytes.length > 0;
  return { label: `${label}${asChunks ? " (chunked)" : ""}`, chunks: [asChunks ? chunked(rng, "POST", path, bytes) : request("POST", path, { body: bytes })], want: 400 };
}

/** A GET /jobs with a status or limit the service refuses (400), or a malformed request. */
function jobsQueryCase(rng: Rng): Case {
  if (rng() < 0.15) return malformedRequest(rng, "GET", "/jobs");
  const badStatus = pick(rng, ["", "QUEUED", "done%20", "running%20", "%ZZ", "all", "0", "queued,done", "failed%00", "x".repeat(300)]);
  const badLimit = pick(rng, ["", "0", "1001", "-1", "1.5", "abc", "1e3", "99999", "%201", "0x10", "%ZZ", "10000000000000000000000"]);
  const which = int(rng, 3);
  const q = which === 0 ? `status=${badStatus}` : which === 1 ? `limit=${badLimit}` : `status=${pick(rng, ["queued", "done", badStatus])}&limit=${badLimit}`;
  return { label: `GET /jobs?${q.slice(0, 60)}`, chunks: [request("GET", `/jobs?${q}`)], want: 400 };
}

// ---- processes ----

interface Server {
  name: string;
  proc: ChildProcess;
  url: string;
  port: number;
  log(): string;
  /** Endpoint name -> one case. */
  endpoints: Record<string, (rng: Rng) => Case>;
  /** A POST route that reads a body (for the slow-body cases), if any. */
  bodyRoute?: string;
}

/** `ozk prover serve` as a process (API only: no worker, so no proof is ever made), its log in the work folder. */
async function spawnProver(work: string): Promise<{ proc: ChildProcess; url: string; log(): string }> {
  const logFile = join(work, "prover.log");
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", resolve("cli/ozk.ts"), "prover", "serve", "--port", "0", "--db", join(work, "prover.db"), "--models", resolve("models"), "--workers", "0"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1", OZK_PROVER_HTTP__REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) } },
  );
  const out = createWriteStream(logFile);
  proc.stdout!.pipe(out);
  proc.stderr!.pipe(out);
  const log = (): string => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  const url = await waitFor("the prover service to listen", async () => {
    if (proc.exitCode !== null) throw new Error(`prover exited (${proc.exitCode}): ${log()}`);
    return /"url":"(http:[^"]+)","msg":"prover API listening"/.exec(log())?.[1];
  }, 60_000);
  return { proc, url, log };
}

const alive = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null;

describe("e2e: HTTP fuzz of the daemons as processes", function () {
  let net: Net;
  let prover: ChildProcess | undefined;
  const servers: Server[] = [];

  before(async function () {
    net = await startNet("http-fuzz");
    const http = { requestTimeoutMs: REQUEST_TIMEOUT_MS };
    const provider: DaemonProcess = daemon(net, "honest", { http });
    const challenger: DaemonProcess = daemon(net, "challenger", { http, batchData: { archiveDir: join(net.work, "challenger-batches") } });
    const [p, providerUrl, challengerUrl] = await Promise.all([spawnProver(net.work), provider.url(), challenger.url()]);
    prover = p.proc;
    const pixels = Array.from(digit(3));
    const port = (url: string): number => Number(new URL(url).port);
    const randomId = (rng: Rng): string => `x${int(rng, 1e9)}`;
    servers.push(
      {
        name: "provider",
        proc: provider.proc,
        url: providerUrl,
        port: port(providerUrl),
        log: () => provider.log(),
        bodyRoute: "/infer",
        endpoints: {
          "POST /infer": (rng) => postCase(rng, "/infer", (r) => inferBody(r, pixels)),
          "GET /jobs/:id": (rng) => (rng() < 0.7 ? paramCase(rng, "/jobs/") : malformedRequest(rng, "GET", `/jobs/${randomId(rng)}`)),
          // A root that is not 0x and 64 hex digits is a 400, an unknown one a 404.
          "GET /batches/:root": (rng) => {
            if (rng() >= 0.7) return malformedRequest(rng, "GET", `/batches/0x${"ab".repeat(32)}`);
            const c = paramCase(rng, "/batches/");
            return c.want === 404 && !/^unknown id 0x[0-9a-f]{38}$/.test(c.label) ? { ...c, want: 400 } : c;
          },
          "GET /healthz": (rng) => malformedRequest(rng, "GET", "/healthz"),
          "GET /metrics": (rng) => malformedRequest(rng, "GET", "/metrics"),
        },
      },
      {
        name: "challenger",
        proc: challenger.proc,
        url: challengerUrl,
        port: port(challengerUrl),
        log: () => challenger.log(),
        endpoints: {
          "GET /claims/:id": (rng) => (rng() < 0.7 ? paramCase(rng, "/claims/") : malformedRequest(rng, "GET", `/claims/${randomId(rng)}`)),
          // Batch data it kept (batchData.archiveDir): as the provider's, 400 for a bad root, 404 for an unknown one.
          "GET /batches/:root": (rng) => {
            if (rng() >= 0.7) return malformedRequest(rng, "GET", `/batches/0x${"ab".repeat(32)}`);
            const c = paramCase(rng, "/batches/");
            return c.want === 404 && !/^unknown id 0x[0-9a-f]{38}$/.test(c.label) ? { ...c, want: 400 } : c;
          },
          "GET /healthz": (rng) => malformedRequest(rng, "GET", "/healthz"),
          "GET /metrics": (rng) => malformedRequest(rng, "GET", "/metrics"),
        },
      },
      {
        name: "prover",
        proc: p.proc,
        url: p.url,
        port: port(p.url),
        log: p.log,
        bodyRoute: "/jobs",
        endpoints: {
          "POST /jobs": (rng) => postCase(rng, "/jobs", jobBody),
          "GET /jobs/:id": (rng) => (rng() < 0.7 ? paramCase(rng, "/jobs/") : malformedRequest(rng, "GET", `/jobs/${randomId(rng)}`)),
          "GET /jobs?status&limit": jobsQueryCase,
          "GET /healthz": (rng) => malformedRequest(rng, "GET", "/healthz"),
          "GET /metrics": (rng) => malformedRequest(rng, "GET", "/metrics"),
        },
      },
    );
  });

  after(async () => {
    if (prover && alive(prover)) {
      const exited = new Promise((r) => prover!.once("exit", r));
      prover.kill("SIGKILL");
      await exited;
    }
    await net?.close();
  });

  const failuresOf = (failures: string[]): string =>
    `${failures.length} failing cases (replay with OZK_FUZZ_SEED=${SEED}):\n${failures.slice(0, 25).map((f) => f.slice(0, 600)).join("\n")}`;

  it(`every endpoint answers ${CASES} malformed requests each with a 4xx`, async () => {
    const perServer = await Promise.all(
      servers.map(async (s) => {
        const failures: string[] = [];
        for (const [endpoint, gen] of Object.entries(s.endpoints)) {
          const rng = prng(seedFor(SEED, `${s.name} ${endpoint}`));
          const cases = Array.from({ length: CASES }, () => gen(rng));
          const f = await runCases(s.port, cases, { parallel: 8, hangMs: HANG_MS });
          failures.push(...f.map((x) => `${s.name} ${endpoint}: ${x}`));
        }
        return failures;
      }),
    );
    const failures = perServer.flat();
    expect(failures, failuresOf(failures)).to.deep.equal([]);
  });

  it("a body over the limit is a 413 and the connection is closed, on every server", async () => {
    const cases = (s: Server): Case[] => {
      const route = s.bodyRoute ?? "/claims/x";
      const method = s.bodyRoute ? "POST" : "GET";
      const out: Case[] = [
        // Declared over the limit: refused before a byte is read, while the client goes on sending.
        { label: "declared 1 GB", chunks: [Buffer.from(`${method} ${route} HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 1000000000\r\n\r\n`)], pumpBytes: 64 * 1024 * 1024, want: { status: 413, close: true } },
        { label: "declared limit + 1", chunks: [Buffer.from(`${method} ${route} HTTP/1.1\r\nHost: fuzz\r\nContent-Length: ${LIMIT + 1}\r\n\r\n`)], pumpBytes: LIMIT + 1, want: { status: 413, close: true } },
      ];
      // Chunked, so the size shows only while reading: refused once it passes the limit.
      if (s.bodyRoute) {
        const piece = Buffer.concat([Buffer.from("100000\r\n"), Buffer.alloc(0x100000, 0x31), Buffer.from("\r\n")]);
        out.push({ label: "chunked, 20 MiB", chunks: [Buffer.from(`POST ${route} HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n`), ...Array<Buffer>(20).fill(piece)], want: { status: 413, close: true } });
      }
      return out;
    };
    const failures = (await Promise.all(servers.map(async (s) => (await runCases(s.port, cases(s), { parallel: 3, hangMs: HANG_MS })).map((f) => `${s.name}: ${f}`)))).flat();
    expect(failures, failuresOf(failures)).to.deep.equal([]);
  });

  it("slow clients (headers or body dribbled, or nothing sent) are cut with a 408 while others are served", async () => {
    const slow = (s: Server): Case[] => {
      const head = (method: string, path: string, extra = ""): Buffer => Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: fuzz\r\n${extra}\r\n`);
      const bytes = (b: Buffer): Buffer[] => [...b].map((x) => Buffer.from([x]));
      const out: Case[] = [];
      for (let i = 0; i < 6; i++) {
        // One byte every 200 ms: the head would take about 8 s, far past the request timeout.
        out.push({ label: "head dribbled", chunks: bytes(head("GET", "/healthz", "X-Slow: " + "s".repeat(10) + "\r\n")), gapMs: 200, want: { status: 408, close: true } });
        out.push({ label: "nothing sent", chunks: [], want: { status: 408, close: true } });
        if (s.bodyRoute) {
          const body = Buffer.from(`{"model":"mnist-mlp","input":[${"0,".repeat(40)}0]}`);
          out.push({ label: "body dribbled", chunks: [head("POST", s.bodyRoute, `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`), ...bytes(body)], gapMs: 200, want: { status: 408, close: true } });
        }
      }
      return out;
    };
    const failures = (
      await Promise.all(
        servers.map(async (s) => {
          const cases = slow(s);
          const attack = runCases(s.port, cases, { parallel: cases.length, hangMs: HANG_MS });
          // Meanwhile the server answers everyone else.
          const health = await fetch(`${s.url}/healthz`);
          expect(health.status, `${s.name} /healthz during the slow clients`).to.equal(200);
          return (await attack).map((f) => `${s.name}: ${f}`);
        }),
      )
    ).flat();
    expect(failures, failuresOf(failures)).to.deep.equal([]);
  });

  it("300 connections at once, each a malformed request, all get a 4xx", async () => {
    const failures = (
      await Promise.all(
        servers.map(async (s) => {
          const rng = prng(seedFor(SEED, `${s.name} concurrent`));
          const gens = Object.values(s.endpoints);
          const cases = Array.from({ length: 300 }, () => pick(rng, gens)(rng));
          return (await runCases(s.port, cases, { parallel: 300, hangMs: HANG_MS })).map((f) => `${s.name}: ${f}`);
        }),
      )
    ).flat();
    expect(failures, failuresOf(failures)).to.deep.equal([]);
  });

  it("afterwards every process is up, answers /healthz, and logged no handler failure", async () => {
    for (const s of servers) {
      expect(alive(s.proc), `${s.name} is running`).to.equal(true);
      const health = await exchange(s.port, { label: "healthz", chunks: [request("GET", "/healthz")], want: 200 }, HANG_MS);
      expect(problem({ label: "healthz", chunks: [], want: 200 }, health), `${s.name} /healthz`).to.equal(undefined);
      expect(s.log(), `${s.name} log`).to.not.match(/http handler failed|http server error/);
    }
  });
});
