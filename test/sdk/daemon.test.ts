// The run loop, ops server, metrics and spy logger (sdk/node/daemon.ts, server.ts, metrics.ts, logger.ts).
import { expect } from "chai";
import { rejects } from "node:assert/strict";
import { runDaemon, type StepContext } from "../../sdk/node/daemon.ts";
import { startServer, HttpError } from "../../sdk/node/server.ts";
import { Metrics } from "../../sdk/node/metrics.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { FatalError, RetryableError } from "../../sdk/errors.ts";
import { raw } from "../raw-http.ts";

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("sdk/node/daemon", () => {
  it("keeps stepping through transient and unknown errors, logging each", async () => {
    const spy = createSpyLogger();
    const metrics = new Metrics({ prefix: "t_", processMetrics: false });
    let calls = 0;
    const d = runDaemon<StepContext>({
      name: "t",
      context: { logger: spy.logger, signal: new AbortController().signal },
      intervalMs: 1,
      maxBackoffMs: 5,
      handleSignals: false,
      metrics,
      step: async () => {
        calls++;
        if (calls === 2) throw new RetryableError("rpc timeout");
        if (calls === 3) throw new TypeError("unexpected");
      },
    });
    await until(() => calls >= 5);
    await d.stop();
    expect(spy.entries.filter((e) => e.msg === "t: step failed").map((e) => e.levelName)).to.deep.equal(["warn", "error"]);
    const text = (await metrics.render()).body;
    expect(text).to.match(/t_daemon_steps_total\{result="retry"\} 1/);
    expect(text).to.match(/t_daemon_steps_total\{result="error"\} 1/);
    expect(d.health().consecutiveFailures).to.equal(0);
    expect(spy.find("t: stopped")).to.not.equal(undefined);
  });

  it("stops on a FatalError and rejects `done`", async () => {
    const spy = createSpyLogger();
    const d = runDaemon<StepContext>({
      name: "t",
      context: { logger: spy.logger, signal: new AbortController().signal },
      intervalMs: 1,
      handleSignals: false,
      step: async () => {
        throw new FatalError("config broken");
      },
    });
    await rejects(d.done, FatalError);
    expect(spy.entries.at(-1)?.levelName).to.equal("fatal");
  });

  it("stop() lets the step in flight finish, then exits", async () => {
    const spy = createSpyLogger();
    let finished = false;
    let started = false;
    const d = runDaemon<StepContext>({
      name: "t",
      context: { logger: spy.logger, signal: new AbortController().signal },
      intervalMs: 10_000,
      handleSignals: false,
      step: async () => {
        started = true;
        await new Promise((r) => setTimeout(r, 100));
        finished = true;
      },
    });
    await until(() => started);
    await d.stop();
    expect(finished).to.equal(true);
    expect(d.health().ok).to.equal(false);
  });

  it("SIGTERM stops the loop gracefully", async () => {
    const spy = createSpyLogger();
    const d = runDaemon<StepContext>({
      name: "t",
      context: { logger: spy.logger, signal: new AbortController().signal },
      intervalMs: 10_000,
      step: async () => undefined,
    });
    await until(() => spy.find("t: started") !== undefined);
    process.emit("SIGTERM", "SIGTERM");
    await d.done;
    expect(spy.find("t: stopping")?.signal).to.equal("SIGTERM");
  });
});

describe("sdk/node/server", () => {
  it("stays up under malformed request targets, bad percent-encoding and failing handlers", async () => {
    const spy = createSpyLogger();
    const server = await startServer({
      port: 0,
      logger: spy.logger,
      routes: [
        { method: "GET", path: "/jobs/:id", handler: ({ params }) => ({ status: 200, body: { id: params.id } }) },
        { method: "GET", path: "/boom", handler: () => { throw new TypeError("cannot read properties of undefined"); } },
        { method: "GET", path: "/later", handler: async () => { await Promise.resolve(); throw new RangeError("async bug"); } },
        { method: "GET", path: "/circular", handler: () => { const o: Record<string, unknown> = {}; o.self = o; return { status: 200, body: o }; } },
      ],
    });
    try {
      // The request line that used to end every daemon: a target that does not parse as a URL.
      for (const target of ["http://[", "http://[::1", "//[/x"]) {
        const r = await raw(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect(r.status, target).to.equal(400);
        expect(JSON.parse(r.body).error).to.match(/malformed request target/);
      }
      const bad = await fetch(`${server.url}/jobs/%ZZ`);
      expect(bad.status).to.equal(400);
      expect(((await bad.json()) as { error: string }).error).to.match(/path parameter id is not valid percent-encoding: "%ZZ"/);
      for (const path of ["/boom", "/later", "/circular"]) {
        const r = await fetch(server.url + path);
        expect(r.status, path).to.equal(500);
        expect(((await r.json()) as { error: string }).error, path).to.be.a("string");
      }
      expect(spy.entries.filter((e) => e.msg === "http handler failed").map((e) => e.path)).to.deep.equal(["/boom", "/later"]);
      // Still serving.
      expect((await fetch(`${server.url}/jobs/a%20b`).then((r) => r.json()))).to.deep.equal({ id: "a b" });
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
    } finally {
      await server.close();
    }
  });

  it("answers a body over the limit with 413 and closes the connection, declared or streamed", async () => {
    const server = await startServer({ port: 0, maxBodyBytes: 1024, routes: [{ method: "POST", path: "/in", handler: () => ({ status: 200, body: {} }) }] });
    try {
      const chunk = Buffer.alloc(4096, "a");
      // A declared length over the limit, and then a body that keeps coming: the server must hang up.
      const declared = await raw(server.port, "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n", { body: chunk });
      // No length (chunked): the limit is found while reading.
      const streamed = await raw(server.port, "POST /in HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", {
        body: Buffer.concat([Buffer.from("1000\r\n"), chunk, Buffer.from("\r\n")]),
      });
      for (const r of [declared, streamed]) {
        expect(r.status).to.equal(413);
        expect(r.headers.toLowerCase()).to.contain("connection: close");
        expect(JSON.parse(r.body)).to.deep.equal({ error: "request body over 1024 bytes" });
        expect(r.closed, "the server closed the connection").to.equal(true);
      }
      expect((await fetch(`${server.url}/in`, { method: "POST", body: "{}" })).status).to.equal(200);
    } finally {
      await server.close();
    }
  });


  it("serves /healthz, /metrics and JSON routes; closes cleanly", async () => {
    const metrics = new Metrics({ prefix: "t_", processMetrics: false });
    metrics.counter("hits_total", "hits").inc(3);
    expect(metrics.counter("hits_total", "hits")).to.equal(metrics.counter("hits_total", "hits"));
    let healthy = true;
    const server = await startServer({
      port: 0,
      metrics,
      health: () => ({ ok: healthy }),
      routes: [
        { method: "POST", path: "/echo/:id", handler: ({ params, body }) => ({ status: 201, body: { id: params.id, body } }) },
        { method: "GET", path: "/teapot", handler: () => { throw new HttpError(418, "short and stout"); } },
      ],
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(200);
      healthy = false;
      expect((await fetch(`${server.url}/healthz`)).status).to.equal(503);
      expect(await (await fetch(`${server.url}/metrics`)).text()).to.contain("t_hits_total 3");
      const r = await fetch(`${server.url}/echo/a%20b`, { method: "POST", body: JSON.stringify({ n: 1 }) });
      expect(r.status).to.equal(201);
      expect(await r.json()).to.deep.equal({ id: "a b", body: { n: 1 } });
      expect((await fetch(`${server.url}/echo/x`, { method: "POST", body: "{bad" })).status).to.equal(400);
      expect((await fetch(`${server.url}/echo/x`)).status).to.equal(405);
      expect((await fetch(`${server.url}/nope`)).status).to.equal(404);
      const tea = await fetch(`${server.url}/teapot`);
      expect(tea.status).to.equal(418);
      expect(await tea.json()).to.deep.equal({ error: "short and stout" });
    } finally {
      await server.close();
    }
  });
});

describe("sdk/node/logger", () => {
  it("writes structured entries and stringifies bigints", () => {
    const spy = createSpyLogger();
    spy.logger.info({ claimId: 12345678901234567890n, nested: { v: [1n] } }, "claim seen");
    const e = spy.find("claim seen")!;
    expect(e.claimId).to.equal("12345678901234567890");
    expect(e.nested).to.deep.equal({ v: ["1"] });
    expect(e.levelName).to.equal("info");
  });
});
