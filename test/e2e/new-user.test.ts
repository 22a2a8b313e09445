// A new user's first hour, scripted with the documented commands only: the packed package installed into a fresh
// folder, `npx ozk dev` started there (the installed, compiled ozk: no tsx, no clone), tokens from `ozk faucet`, an
// own model built from an ONNX file with `ozk model build`, registered on the dev chain with `ozk model register`,
// a claim on it with `ozk claim`, and the claim settled: `ozk finalize` once the chain's own blocks have carried its
// time past the challenge window, and `ozk status` says Finalized. Prints the wall time from the install to the
// first settled claim. The model part needs a powers of tau (OZK_PTAU, as docs/own-model.md says), and is skipped,
// saying so, without one.
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { defaultPtau } from "../../prover/setup/phase2.ts";
import { ROOT, buildAndPack, installOffline } from "./packed.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface DevJson {
  rpcUrl: string;
  deploymentFile: string;
  pageUrl?: string;
  models: Record<string, string>;
  daemons: { role: string; url: string; pid: number }[];
}

describe("a new user: install the package, npx ozk dev, faucet, own model built, registered, claimed and settled", function () {
  this.timeout(900_000);
  let work: string;
  let user: string;
  let env: NodeJS.ProcessEnv;
  let dev: ChildProcess | undefined;
  let devOut = "";
  let installedAt = 0;
  let info: DevJson;
  const userKey = generatePrivateKey();
  const userAddress = privateKeyToAccount(userKey).address;

  /** `npx ozk <args>` in the user's folder, as the docs say to run it. */
  const ozk = (args: string[]): Promise<Run> =>
    new Promise((done) => {
      const p = spawn("npx", ["ozk", ...args], { cwd: user, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      p.once("exit", (code) => done({ code, stdout, stderr }));
    });
  const chain = (): string[] => ["--rpc", info.rpcUrl, "--deployment", info.deploymentFile];

  before(function () {
    work = mkdtempSync(join(tmpdir(), "ozk-new-user-"));
    const tarball = buildAndPack(work);
    user = join(work, "me");
    installedAt = Date.now();
    // solc: the model build and registration compile Solidity, and docs/sdk.md has the user install it next to ozk.
    installOffline(user, tarball, ["solc"]);
    // The Node that runs the tests (22: the daemons keep SQLite stores) and the system's npx; nothing of the
    // repository's node_modules/.bin (tsx) on PATH.
    env = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: process.env.HOME ?? work, NODE_NO_WARNINGS: "1", npm_config_offline: "true", npm_config_update_notifier: "false" };
    expect(spawnSync("sh", ["-c", "command -v tsx"], { env }).status, "tsx must not be on PATH").to.not.equal(0);
  });

  after(async () => {
    if (dev && dev.exitCode === null && dev.signalCode === null) {
      const exited = new Promise((r) => dev!.once("exit", r));
      process.kill(-dev.pid!, "SIGINT");
      const timer = setTimeout(() => process.kill(-dev!.pid!, "SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("npx ozk dev in the user's folder: the installed package starts the chain, registers mnist-mlp, runs both daemons and serves its page", async () => {
    // Its own process group: npx and the node it starts are stopped together.
    dev = spawn("npx", ["ozk", "dev", "--chain-port", "0", "--port", "0", "--challenge-window", "5"], { cwd: user, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    dev.stdout!.on("data", (c: Buffer) => (devOut += c.toString()));
    dev.stderr!.on("data", (c: Buffer) => (devOut += c.toString()));
    const until = Date.now() + 300_000;
    while (!/ozk dev ready/.test(devOut)) {
      if (dev.exitCode !== null) throw new Error(`ozk dev exited ${dev.exitCode} before ready:\n${devOut}`);
      if (Date.now() > until) throw new Error(`ozk dev not ready in 300 s:\n${devOut}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`    ozk dev ready ${((Date.now() - installedAt) / 1000).toFixed(1)} s after the install`);
    // The work folder is the user's (.ozk/dev), not inside node_modules/ozk.
    info = JSON.parse(readFileSync(join(user, ".ozk", "dev", "dev.json"), "utf8")) as DevJson;
    expect(info.deploymentFile).to.equal(join(user, ".ozk", "dev", "deployment.json"));
    expect(Object.keys(info.models)).to.deep.equal(["mnist-mlp"]);
    expect(info.daemons.map((d) => d.role)).to.deep.equal(["provider", "challenger"]);
    expect(devOut).to.match(/npx ozk faucet <address>/);
    // The daemons run the compiled JavaScript with Node alone.
    for (const d of info.daemons) {
      const cmdline = readFileSync(`/proc/${d.pid}/cmdline`, "utf8").split("\0");
      expect(cmdline.join(" ")).to.match(/node_modules\/ozk\/dist\/(provider|challenger)\/main\.js --config/).and.not.match(/tsx/);
    }
    // The page it ships, with the deployment.
    const page = await fetch(info.pageUrl!);
    expect(await page.text()).to.match(/<html/i);
    const served = (await (await fetch(`${info.pageUrl}/deployment.json`)).json()) as { models: Record<string, string> };
    expect(served.models["mnist-mlp"]).to.equal(info.models["mnist-mlp"]);
  });

  it("ozk faucet gives the user's own account tokens and gas", async function () {
    if (!info) throw new Error("ozk dev did not start (the first test says why)");
    const r = await ozk(["faucet", userAddress, ...chain()]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(new RegExp(`minted 10000\\.?0* dev tokens to ${userAddress}`)).and.match(/gave 10 ETH for gas/);
  });

  it("an own model from an ONNX file: built, registered on the dev chain, claimed, and the claim settles (needs OZK_PTAU)", async function () {
    if (!info) throw new Error("ozk dev did not start (the first test says why)");
    const ptau = defaultPtau();
    if (!ptau) {
      console.log("    OZK_PTAU does not name a powers-of-tau file: skipping the own model");
      this.skip();
    }
    copyFileSync(join(ROOT, "test/onnx/fixtures/mlp-pytorch-opset20.onnx"), join(user, "my-model.onnx"));
    const built = await ozk(["model", "build", "my-model.onnx", "--out", "pkgs/my-model", "--ptau", resolve(ptau!)]);
    expect(built.code, built.stderr).to.equal(0);
    expect(existsSync(join(user, "pkgs", "my-model", "manifest.json"))).to.equal(true);

    const reg = await ozk(["model", "register", "pkgs/my-model", ...chain(), "--key", userKey, "--challenge-window", "5"]);
    expect(reg.code, reg.stderr).to.equal(0);
    const { modelId } = JSON.parse(reg.stdout) as { modelId: string };
    expect((JSON.parse(readFileSync(info.deploymentFile, "utf8")) as DevJson).models["my-model"]).to.equal(modelId);

    const manifest = JSON.parse(readFileSync(join(user, "pkgs", "my-model", "manifest.json"), "utf8")) as { inputLength: number };
    writeFileSync(join(user, "input.json"), JSON.stringify(Array.from({ length: manifest.inputLength }, (_, i) => (i % 7) / 7)));
    const claimed = await ozk(["claim", "pkgs/my-model", "input.json", ...chain(), "--key", userKey]);
    expect(claimed.code, claimed.stderr).to.equal(0);
    const { claimId } = JSON.parse(claimed.stdout) as { claimId: string };

    // Nobody mines: the dev chain's interval mining moves chain time past the 5 s window.
    const until = Date.now() + 120_000;
    let finalized: Run;
    for (;;) {
      finalized = await ozk(["finalize", claimId, ...chain(), "--key", userKey]);
      if (finalized.code === 0) break;
      expect(finalized.stderr, "the only refusal before the window ends").to.match(/challenge window|still open|not yet|ends in/i);
      if (Date.now() > until) throw new Error(`the claim could not be finalized in 120 s: ${finalized.stderr}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const status = await ozk(["status", claimId, ...chain(), "--json"]);
    expect(status.code, status.stderr).to.equal(0);
    expect(JSON.parse(status.stdout)).to.include({ status: "Finalized", settled: true, model: "my-model" });
    console.log(`    install to first settled claim on an own model: ${((Date.now() - installedAt) / 1000).toFixed(1)} s`);
  });

  it("Ctrl-C stops it: the page, both daemons and the chain", async function () {
    if (!info) throw new Error("ozk dev did not start (the first test says why)");
    // What a terminal's Ctrl-C does: SIGINT to the foreground process group (npx, ozk dev and its daemons). npx
    // itself ends by the signal; ozk dev prints "ozk dev stopped" when everything it started has stopped.
    const exited = new Promise((r) => dev!.once("exit", r));
    process.kill(-dev!.pid!, "SIGINT");
    await exited;
    expect(devOut).to.match(/ozk dev stopped/);
    for (const d of info.daemons) expect(existsSync(`/proc/${d.pid}`), `${d.role} pid ${d.pid}`).to.equal(false);
  });
});
