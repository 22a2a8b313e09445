// Node-side server of the built page (.ozk/app-dist): static files, /deployment.json (with the test account and
// the RPC path), /models/<name>/{manifest,training,fidelity}.json from the model packages, and /rpc proxied to the chain
// (the embedded chain sends no CORS headers; same-origin avoids the question). Used by `ozk dev` and the browser
// test. The page itself (app/) is built by Vite in a child process: nothing here imports its source.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, isAbsolute, join, normalize, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Deployment } from "../sdk/deployments.ts";
import { isCompiledModule, packageRootUrl } from "../sdk/package-root.ts";

const root = resolve(fileURLToPath(packageRootUrl(import.meta.url, 1)));
/** Whether the page can be built here: from the sources, with Vite (a development dependency of ozk). */
export const APP_BUILDS = !isCompiledModule(import.meta.url);
/** The built page: .ozk/app-dist from the sources; in the compiled package, dist/app, which npm run build:package
 *  builds into the package (an installed ozk serves that page as it is). */
export const APP_DIST = APP_BUILDS ? join(root, ".ozk", "app-dist") : join(root, "dist", "app");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
  ".png": "image/png", ".svg": "image/svg+xml", ".ico": "image/x-icon",
};

export interface AppServerOptions {
  rpcUrl: string;
  deployment: Deployment;
  /** Model package folders by model name (default: models/<name> for each model in the deployment). */
  packages?: Record<string, string>;
  /** Address the page's mock wallet connector uses (a dev account the local chain signs for). */
  testAccount?: string;
  dist?: string;
  port?: number;
  host?: string;
}

export interface AppServer {
  url: string;
  close(): Promise<void>;
}

/** Builds the page with Vite into `outDir` (default .ozk/app-dist), in a child process (Vite's workers would keep
 *  this one alive). From the sources only: the compiled package has no Vite and no app/ sources. */
export function buildApp(outDir?: string): void {
  if (!APP_BUILDS) throw new Error(`this ozk is the compiled package: it serves the page built into ${APP_DIST} and cannot build it (no Vite, no app/ sources)`);
  const out = outDir ? ["--outDir", outDir, "--emptyOutDir"] : [];
  execFileSync(join(root, "node_modules", ".bin", "vite"), ["build", "--config", join(root, "app", "vite.config.ts"), "--logLevel", "warn", ...out], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
}

export async function serveApp(o: AppServerOptions): Promise<AppServer> {
  const dist = o.dist ?? APP_DIST;
  if (!existsSync(join(dist, "index.html"))) throw new Error(`${dist} has no index.html: build the page first (vite build --config app/vite.config.ts)`);
  const rpc = new URL(o.rpcUrl);
  const deploymentJson = JSON.stringify({ ...o.deployment, rpcUrl: "/rpc", testAccount: o.testAccount }, null, 2);
  const packages = o.packages ?? Object.fromEntries(Object.keys(o.deployment.models).map((n) => [n, join(root, "models", n)]));

  // Any web page the developer visits can send requests here (a no-cors fetch): whatever they hold, the answer is a
  // status code, never an exception that would end the process (and ozk dev's chain and daemons with it).
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      res.writeHead(400).end("bad request path");
      return;
    }
    if (path === "/rpc") {
      // The proxy reaches a development node whose accounts are unlocked: only this page may use it. A cross-site
      // request cannot send JSON without a preflight (never answered here), and a rebound DNS name shows in Host.
      const host = (req.headers.host ?? "").replace(/:\d+$/, "");
      const origin = req.headers.origin;
      const own = origin === undefined || origin === `http://${req.headers.host}`;
      const json = /^application\/json\b/i.test(req.headers["content-type"] ?? "");
      if (req.method !== "POST" || !json || !own || !["127.0.0.1", "localhost", "[::1]"].includes(host)) {
        res.writeHead(403).end("the RPC proxy answers this page only (POST, application/json, same origin, a local host name)");
        return;
      }
      const up = httpRequest({ hostname: rpc.hostname, port: rpc.port, path: rpc.pathname, method: req.method, headers: { "content-type": "application/json" } }, (r) => {
        res.writeHead(r.statusCode ?? 502, { "content-type": r.headers["content-type"] ?? "application/json" });
        r.pipe(res);
      });
      up.on("error", (err) => (res.headersSent ? res.destroy() : res.writeHead(502).end(String(err))));
      req.on("error", () => up.destroy());
      req.pipe(up);
      return;
    }
    if (path === "/deployment.json") {
      res.writeHead(200, { "content-type": TYPES[".json"]!, "cache-control": "no-store" }).end(deploymentJson);
      return;
    }
    const model = /^\/models\/([\w.-]+)\/(manifest|training|fidelity)\.json$/.exec(path);
    if (model) {
      // own properties only: "constructor" or "__proto__" is no model
      const dir = Object.hasOwn(packages, model[1]!) ? packages[model[1]!] : undefined;
      const file = typeof dir === "string" ? join(dir, `${model[2]}.json`) : undefined;
      if (file && existsSync(file)) res.writeHead(200, { "content-type": TYPES[".json"]! }).end(readFileSync(file));
      else res.writeHead(404).end();
      return;
    }
    // a file inside dist, else the page (its routes are the page's)
    let file = resolve(dist, `.${normalize(`/${path}`)}`);
    const inside = relative(resolve(dist), file);
    if (path.includes("\0") || inside.startsWith("..") || isAbsolute(inside) || !existsSync(file) || !statSync(file).isFile()) file = join(dist, "index.html");
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  };
  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      if (res.headersSent) res.destroy();
      else res.writeHead(500).end("ozk page server: internal error");
    }
  });
  await new Promise<void>((r, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "EADDRINUSE" ? new Error(`the page's port ${o.port} is already in use: choose another port, or 0 for any free one`) : err));
    server.listen(o.port ?? 0, o.host ?? "127.0.0.1", r);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host ?? "127.0.0.1"}:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
