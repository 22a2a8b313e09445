// The ops HTTP server of a daemon: GET /healthz and GET /metrics, plus optional JSON routes (the prover's
// job API), with a body size limit and a graceful close that waits for requests in flight. The handler is
// total: no request, however malformed, can make it throw or crash the process.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "./metrics.ts";
import type { Logger } from "./logger.ts";
import { OzkError, errorSummary } from "../errors.ts";

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

export interface JsonRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path with `:name` segments, e.g. "/jobs/:id". */
  path: string;
  handler(req: JsonRequest): Promise<JsonResponse> | JsonResponse;
}

/** Thrown from a route handler to answer with a status and message (4xx, or 503 for "not now"). */
export class HttpError extends OzkError {
  override name = "HttpError";
  /** Close the connection after answering (a 413: the rest of the body is not worth reading). */
  readonly closeConnection: boolean;
  constructor(readonly status: number, message: string, options: { closeConnection?: boolean } = {}) {
    super(message);
    this.closeConnection = options.closeConnection ?? false;
  }
}

export interface ServerOptions {
  port: number;
  host?: string;
  metrics?: Metrics;
  health?: () => Health | Promise<Health>;
  routes?: Route[];
  logger?: Logger;
  /** Largest accepted request body (default 16 MiB). */
  maxBodyBytes?: number;
}

export interface OpsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

function compile(path: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  const re = path.replace(/:([A-Za-z_]\w*)/g, (_, n: string) => {
    names.push(n);
    return "([^/]+)";
  });
  return { re: new RegExp(`^${re}/?$`), names };
}

/** The request target as a URL; a target that does not parse (`http://[`) is the client's error, a 400. */
function parseTarget(target: string | undefined): URL {
  try {
    return new URL(target ?? "/", "http://localhost");
  } catch {
    throw new HttpError(400, `malformed request target ${JSON.stringify(String(target).slice(0, 200))}`);
  }
}

/** A `:name` path segment, percent-decoded; bad percent-encoding (`%ZZ`) is a 400 naming the segment. */
function decodeSegment(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `path parameter ${name} is not valid percent-encoding: ${JSON.stringify(raw.slice(0, 200))}`);
  }
}

/** Over the size limit: answered with a 413, after which the connection is closed (the rest is not read). */
function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body over ${limit} bytes`, { closeConnection: true });
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  // A declared length over the limit is refused before a byte of the body is read.
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function serialize(body: unknown, contentType: string): string {
  return contentType === "application/json"
    ? JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))
    : String(body);
}

/**
 * Writes one response. Never throws: a body that cannot be serialized becomes a 500, and a response whose
 * headers already went out (a handler that wrote itself, then failed) is cut off. With `close`, the
 * connection is closed once the response is written, whatever the client still sends.
 */
function send(res: ServerResponse, status: number, body: unknown, options: { contentType?: string; close?: boolean } = {}): void {
  if (res.headersSent || res.writableEnded) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  let contentType = options.contentType ?? "application/json";
  let text: string;
  try {
    text = serialize(body, contentType);
  } catch (err) {
    status = 500;
    contentType = "application/json";
    text = JSON.stringify({ error: `response not serializable: ${errorSummary(err)}` });
  }
  const headers: Record<string, string | number> = { "content-type": contentType, "content-length": Buffer.byteLength(text) };
  if (options.close) {
    headers.connection = "close";
    // Once the answer is flushed, drop the socket: the unread rest of a refused body is never read.
    res.once("finish", () => res.socket?.destroy());
  }
  res.writeHead(status, headers);
  res.end(text);
}

/** Starts the server; port 0 picks a free one (read it back from `.port`). */
export async function startServer(options: ServerOptions): Promise<OpsServer> {
  const routes = (options.routes ?? []).map((r) => ({ ...r, ...compile(r.path) }));
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  // Every failure is logged somewhere, with or without a logger.
  const logError = (fields: Record<string, unknown>, msg: string): void => {
    if (options.logger) options.logger.error(fields, msg);
    else console.error(msg, fields);
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method === "GET" && url.pathname === "/healthz") {
      const health = options.health ? await options.health() : { ok: true };
      return send(res, health.ok ? 200 : 503, health);
    }
    if (req.method === "GET" && url.pathname === "/metrics" && options.metrics) {
      const { contentType, body } = await options.metrics.render();
      return send(res, 200, body, { contentType });
    }
    let pathMatched = false;
    for (const route of routes) {
      const m = route.re.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      const params = Object.fromEntries(route.names.map((n, i) => [n, decodeSegment(n, m[i + 1]!)]));
      let body: unknown = undefined;
      if (req.method === "POST" || req.method === "PUT") {
        const text = await readBody(req, limit);
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          throw new HttpError(400, "request body is not valid JSON");
        }
      }
      const out = await route.handler({ method: req.method, path: url.pathname, params, query: url.searchParams, body });
      return send(res, out.status, out.body);
    }
    send(res, pathMatched ? 405 : 404, { error: pathMatched ? "method not allowed" : "not found" });
  };

  // Total: whatever the request, the handler answers (4xx for the client's errors, 500 with a log line for
  // ours) and settles; nothing it does can throw out of it or leave a rejection floating.
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // A client that goes away mid-request errors its streams: that is its business, not a crash.
    req.on("error", () => undefined);
    res.on("error", () => undefined);
    let path: string | undefined;
    try {
      const url = parseTarget(req.url);
      path = url.pathname;
      await dispatch(req, res, url);
    } catch (err) {
      if (err instanceof HttpError) return send(res, err.status, { error: err.shortMessage }, { close: err.closeConnection });
      logError({ err, method: req.method, path: path ?? req.url }, "http handler failed");
      send(res, 500, { error: `internal error: ${errorSummary(err)}` });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Reached only when logging itself failed: say it on stderr, cut the response, never float a rejection.
      console.error("http handler failed while answering:", err);
      if (!res.writableEnded) res.destroy();
    });
  });
  // Keep-alive sockets would hold close() open; idle ones are dropped on close.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
  // Once listening, a server error (accept failing with EMFILE under a connection flood) is logged, not
  // thrown: with no listener Node would end the process.
  server.on("error", (err) => logError({ err }, "http server error"));
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  return {
    port,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
