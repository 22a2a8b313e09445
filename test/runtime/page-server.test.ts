// The page server of `ozk dev` (runtime/page-server.ts) played by an attacker: any web page the developer visits can
// send it requests (a no-cors fetch). None of them may end the process, which holds ozk dev's chain and daemons.
import { expect } from "chai";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveApp, type AppServer } from "../../runtime/page-server.ts";
import type { Deployment } from "../../sdk/deployments.ts";
import { raw } from "../raw-http.ts";

describe("runtime/page-server: hostile requests", () => {
  let server: AppServer;
  let port: number;
  let base: string;

  before(async () => {
    base = mkdtempSync(join(tmpdir(), "ozk-page-server-"));
    const dist = join(base, "dist");
    mkdirSync(join(dist, "assets"), { recursive: true });
    writeFileSync(join(dist, "index.html"), "<html>the page</html>");
    writeFileSync(join(dist, "assets", "app.js"), "console.log(1)");
    writeFileSync(join(base, "secret.txt"), "outside dist");
    const pkg = join(base, "pkg");
    mkdirSync(pkg);
    writeFileSync(join(pkg, "manifest.json"), '{"name":"m"}');
    const deployment = { network: "dev", chainId: 31337, addresses: {}, models: {} } as unknown as Deployment;
    server = await serveApp({ rpcUrl: "http://127.0.0.1:1", deployment, dist, packages: { m: pkg } });
    port = Number(new URL(server.url).port);
  });
  after(async () => server?.close());

  const get = (target: string) => raw(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

  it("a bad percent-encoding, a bad URL, and model names that are Object's own properties get a 4xx; the page is still served", async () => {
    const hostile = [
      "/%ZZ", "/%E0%A4%A", "/models/%ZZ/manifest.json", "http://[/x",
      "/models/constructor/manifest.json", "/models/__proto__/manifest.json", "/models/toString/training.json",
      "/models/hasOwnProperty/fidelity.json", "/models/valueOf/manifest.json",
    ];
    for (const target of hostile) {
      const r = await get(target);
      expect(r.status, target).to.be.within(400, 499);
    }
    const page = await get("/");
    expect(page.status).to.equal(200);
    expect(page.body).to.contain("the page");
    const model = await get("/models/m/manifest.json");
    expect(model.status).to.equal(200);
    expect(model.body).to.contain('{"name":"m"}');
  });

  it("static files come from inside dist only: a traversal gets the page, not the file", async () => {
    expect((await get("/assets/app.js")).body).to.contain("console.log(1)");
    for (const target of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/..%5csecret.txt", "/assets%00/app.js", "/assets"]) {
      const r = await get(target);
      expect(r.body, target).to.not.contain("outside dist");
      expect(r.status, target).to.be.oneOf([200, 400, 404]);
    }
  });

  it("the /rpc proxy answers the page only: a cross-site no-cors POST (text/plain), another Origin, a rebound host name or a GET get 403", async () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"hardhat_setBalance","params":["0x0000000000000000000000000000000000000001","0x1"]}';
    const post = (headers: string) => raw(port, `POST /rpc HTTP/1.1\r\n${headers}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    const status = (r: { status: number }) => r.status;
    expect(status(await post("Host: 127.0.0.1\r\nContent-Type: text/plain\r\nOrigin: http://evil.example\r\n"))).to.equal(403);
    expect(status(await post(`Host: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nOrigin: http://evil.example\r\n`))).to.equal(403);
    expect(status(await post("Host: evil.example\r\nContent-Type: application/json\r\n"))).to.equal(403);
    expect(status(await raw(port, `GET /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`))).to.equal(403);
    // The page itself (same origin, JSON) reaches the node: here there is none, so the proxy says 502.
    expect(status(await post(`Host: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nOrigin: http://127.0.0.1:${port}\r\n`))).to.equal(502);
  });
});
