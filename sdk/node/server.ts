// The ops HTTP server of a daemon: GET /healthz and GET /metrics, plus optional JSON routes (the prover's
// job API), with a body size limit and a graceful close that waits for requests in flight. The handler is
// total: no request, however malformed, can make it throw or crash the process.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Metrics } from "./metrics.ts";
import type { Logger } from "./logger.ts";
import { ConfigError, OzkError, errorSummary } from "../errors.ts";

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
  body?: unknown;
  /** The body already serialized as JSON, sent as is (a large answer served from a cache): takes `body`'s place. */
  json?: string;
  /** Extra response headers (e.g. `access-control-allow-origin` on a route serving public data to web pages). */
  headers?: Record<string, string>;
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
  /**
   * Longest a client may take to send one whole request, headers and body (ms, default 30 000): a slower one
   * (a slowloris dribbling its bytes) gets a 408 and the connection is closed.
   */
  requestTimeoutMs?: number;
}

/** Deepest JSON nesting a request body may have: deeper, it is a 400 before it is parsed. */
export const MAX_JSON_DEPTH = 64;
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

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

/**
 * Reads a request body up to `limit` bytes. Over the limit it rejects with a 413 and drops the rest of what
 * the client sends instead of keeping it; the request is not destroyed here, since that would reset the
 * connection before the 413 is written.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      req.removeListener("data", onData);
      req.on("data", () => undefined);
      reject(tooLarge(limit));
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
    // Closed before its end (the client hung up, or Node timed the request out): settled here at the latest.
    req.once("close", () => reject(new Error("request aborted before its body ended")));
  });
}

/** How long a refused upload's connection is drained after the answer, before it is closed (ms). */
const LINGER_MS = 2_000;

/**
 * Closes a connection after its answer without losing the answer: the write side is ended (FIN) and what the
 * client still sends is read and dropped until it hangs up or LINGER_MS pass. Closing at once with unread
 * bytes would make the kernel reset the connection, and a reset discards the answer the client has not read.
 */
function lingeringClose(socket: Socket): void {
  // Node's destroySoon() (a `Connection: close` answer) destroys the socket once its FIN is out: not yet.
  socket.removeListener("finish", socket.destroy);
  socket.end();
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(timer));
}

/**
 * The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not count). A body
 * nested thousands deep parses, but any code that walks it recursively (JSON.stringify of the value in an
 * error message, a store that serializes it) overflows the stack: such a body is refused up front.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** A request body as JSON: empty is undefined; not JSON, or nested deeper than MAX_JSON_DEPTH, is a 400. */
function parseJsonBody(text: string): unknown {
  if (!text) return undefined;
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new HttpError(400, `request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "request body is not valid JSON");
  }
}

/** Whether the client went away (reset, hung up, timed out) before it finished sending its request. */
function clientGone(req: IncomingMessage): boolean {
  return !req.complete && (req.destroyed || req.socket === null || req.socket.destroyed);
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
function send(res: ServerResponse, status: number, body: unknown, options: { contentType?: string; close?: boolean; raw?: boolean; headers?: Record<string, string> } = {}): void {
  if (res.headersSent || res.writableEnded) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  let contentType = options.contentType ?? "application/json";
  let text: string;
  try {
    text = options.raw && typeof body === "string" ? body : serialize(body, contentType);
  } catch (err) {
    status = 500;
    contentType = "application/json";
    text = JSON.stringify({ error: `response not serializable: ${errorSummary(err)}` });
  }
  const headers: Record<string, string | number> = { ...options.headers, "content-type": contentType, "content-length": Buffer.byteLength(text) };
  if (options.close) {
    headers.connection = "close";
    // Once the answer is flushed, close the connection: the rest of a refused body is dropped, never read.
    const socket = res.socket;
    res.once("finish", () => socket && lingeringClose(socket));
  }
  res.writeHead(status, headers);
  res.end(text);
}

/** A port or address the server cannot listen on is a config error naming the field (`port`, `host`). */
function listenError(err: NodeJS.ErrnoException, port: number, host: string): Error {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  if (err.code === "EADDRINUSE") {
    return new ConfigError(`port: ${where} is already in use by another process`, [`port: ${port} is in use on ${host}; pick another port, or 0 for a free one`], { cause: err });
  }
  if (err.code === "EACCES") {
    return new ConfigError(`port: not allowed to listen on ${where}`, [`port: ${port} needs privileges on this machine; use a port above 1023`], { cause: err });
  }
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") {
    return new ConfigError(`host: cannot listen on ${where}: no such local address`, [`host: ${host} is not an address of this machine (${err.code})`], { cause: err });
  }
  return err;
}

/** Starts the server; port 0 picks a free one (read it back from `.port`). */
export async function startServer(options: ServerOptions): Promise<OpsServer> {
  const routes = (options.routes ?? []).map((r) => ({ ...r, ...compile(r.path) }));
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Every failure is logged somewhere, with or without a logger.
  const logError = (fields: Record<string, unknown>, msg: string): void => {
    if (options.logger) options.logger.error(fields, msg);
    else console.error(msg, fields);
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    // A request whose body length cannot be told (a Transfer-Encoding that does not end in chunked) or whose
    // declared length is over the limit is refused on any route, and the connection closed (RFC 9112 6.3).
    const te = req.headers["transfer-encoding"];
    if (te !== undefined && !/(^|,)[ \t]*chunked[ \t]*$/i.test(te)) {
      throw new HttpError(400, `unsupported Transfer-Encoding ${JSON.stringify(te.slice(0, 80))}: only chunked`, { closeConnection: true });
    }
    // A declared length over the limit is refused before a byte of the body is read.
    if (Number(req.headers["content-length"]) > limit) throw tooLarge(limit);
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
        body = parseJsonBody(await readBody(req, limit));
      }
      const out = await route.handler({ method: req.method, path: url.pathname, params, query: url.searchParams, body });
      return out.json !== undefined ? send(res, out.status, out.json, { raw: true, headers: out.headers }) : send(res, out.status, out.body, { headers: out.headers });
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
      // A client that reset, hung up or timed out mid-body (Node answered a 408 or a 400 itself): nothing to
      // answer and nothing wrong here, so no error line an attacker could flood the log with.
      if (clientGone(req)) {
        options.logger?.debug({ method: req.method, path: path ?? req.url, err: errorSummary(err) }, "client went away mid-request");
        if (!res.writableEnded) res.destroy();
        return;
      }
      logError({ err, method: req.method, path: path ?? req.url }, "http handler failed");
      send(res, 500, { error: `internal error: ${errorSummary(err)}` });
    }
  };

  // Node checks the request timeout on an interval (30 s by default): check often enough that the bound holds.
  const server = createServer({ requestTimeout, connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))) }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Reached only when logging itself failed: say it on stderr, cut the response, never float a rejection.
      console.error("http handler failed while answering:", err);
      if (!res.writableEnded) res.destroy();
    });
  });
  // Keep-alive sockets would hold close() open; idle ones are dropped on close.
  server.keepAliveTimeout = 5_000;
  // CONNECT (a proxy tunnel) is not served: answered, not dropped without a word.
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    socket.on("error", () => undefined);
    socket.end("HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => reject(listenError(err, options.port, host));
    server.once("error", failed);
    server.listen(options.port, host, () => {
      server.removeListener("error", failed);
      resolve();
    });
  });
  // Once listening, a server error (accept failing with EMFILE under a connection flood) is logged, not
  // thrown: with no listener Node would end the process.
  server.on("error", (err) => logError({ err }, "http server error"));
  const { port } = server.address() as AddressInfo;
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
