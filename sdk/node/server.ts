// The ops HTTP server of a daemon: GET /healthz and GET /metrics, plus optional JSON routes (the prover's
// job API), with a body size limit and a graceful close that waits for requests in flight.
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

/** Thrown from a route handler to answer with a status and message (4xx). */
export class HttpError extends OzkError {
  override name = "HttpError";
  constructor(readonly status: number, message: string) {
    super(message);
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

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(res: ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = contentType === "application/json"
    ? JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))
    : String(body);
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Starts the server; port 0 picks a free one (read it back from `.port`). */
export async function startServer(options: ServerOptions): Promise<OpsServer> {
  const routes = (options.routes ?? []).map((r) => ({ ...r, ...compile(r.path) }));
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      try {
        if (req.method === "GET" && url.pathname === "/healthz") {
          const health = options.health ? await options.health() : { ok: true };
          return send(res, health.ok ? 200 : 503, health);
        }
        if (req.method === "GET" && url.pathname === "/metrics" && options.metrics) {
          const { contentType, body } = await options.metrics.render();
          return send(res, 200, body, contentType);
        }
        let pathMatched = false;
        for (const route of routes) {
          const m = route.re.exec(url.pathname);
          if (!m) continue;
          pathMatched = true;
          if (route.method !== req.method) continue;
          const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
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
      } catch (err) {
        if (err instanceof HttpError) return send(res, err.status, { error: err.shortMessage });
        options.logger?.error({ err, path: url.pathname }, "http handler failed");
        send(res, 500, { error: errorSummary(err) });
      }
    })();
  });
  // Keep-alive sockets would hold close() open; idle ones are dropped on close.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
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
