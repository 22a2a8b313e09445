// The `ozk` command as a new user runs it, without the daemons, against a local chain: `npm run ozk -- …` runs in
// the package root with INIT_CWD set to the user's folder, so every run here starts in the repository with
// INIT_CWD pointing at a scratch folder holding the input, the deployment and a link to the package, all given
// as relative paths. A claim prints its id; status shows its state, class and countdown; finalize, slash and
// prove-claim refuse early with the seconds left and succeed once the chain's clock allows; withdraw pulls the
// tokens back; no run prints Node's node:sqlite notice.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { erc20Abi, type Hex } from "viem";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { eventLine } from "../../cli/onchain.ts";
import { deploymentArg, userDir, userPath } from "../../cli/paths.ts";
import { isSqliteNotice } from "../../sdk/node/quiet-sqlite.ts";
import { answerCommitment, answerRequest, commit, type OzkReader } from "../../sdk/claims.ts";
import { randomSalt } from "../../sdk/protocol.ts";
import { BONDS, PKG, WINDOWS, freeStake, startNet, waitFor, wallet, type Net } from "../../scripts/lib/devnet.ts";

const ROOT = resolve(".");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `ozk args` as `npm run ozk` runs it: in the repository root, INIT_CWD the user's folder. Warnings are not muted. */
function ozk(net: Net, who: keyof Net["keys"], args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, INIT_CWD: net.work, OZK_RPC_URL: net.chain.url, OZK_PRIVATE_KEY: net.keys[who], OZK_DEPLOYMENT: "deployment.json" };
  delete env.NODE_NO_WARNINGS;
  delete env.NODE_OPTIONS;
  return new Promise((done, fail) => {
    const p = spawn(TSX, ["cli/ozk.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("error", fail);
    p.once("exit", (code) => done({ code, stdout, stderr }));
  });
}

/** A run that must succeed, without any warning on stderr; its stdout. */
async function ok(net: Net, who: keyof Net["keys"], args: string[]): Promise<string> {
  const r = await ozk(net, who, args);
  expect(r.code, `ozk ${args.join(" ")} failed:\n${r.stderr}`).to.equal(0);
  expect(r.stderr).to.not.match(/ExperimentalWarning|Warning:/);
  return r.stdout;
}

/** A run that must fail with exit 1 and one `ozk:` line naming the problem (no revert dump); its stderr. */
async function refused(net: Net, who: keyof Net["keys"], args: string[]): Promise<string> {
  const r = await ozk(net, who, args);
  expect(r.code, `ozk ${args.join(" ")} should have been refused:\n${r.stdout}`).to.equal(1);
  expect(r.stderr).to.match(/^ozk: /);
  expect(r.stderr).to.not.match(/revert|ExperimentalWarning/i);
  return r.stderr;
}

interface StatusJson {
  status: string;
  settled: boolean;
  settledOutput: boolean;
  secondsLeft?: string;
  secondsAgo?: string;
  countdown: string;
  outputs: string[];
  class: number | null;
  requestId: string | null;
}

async function status(net: Net, claimId: string): Promise<StatusJson> {
  return JSON.parse(await ok(net, "consumer", ["status", claimId, "--json"])) as StatusJson;
}

describe("ozk command line: settling claims by hand", function () {
  this.timeout(600_000);
  let net: Net;
  const images = heldOutSample(3).images;
  /** Writes digit `i` as a float array into the user's folder; returns its relative name. */
  const digit = (i: number): string => {
    const name = `digit-${i}.json`;
    writeFileSync(join(net.work, name), JSON.stringify(Array.from(images[i]!)));
    return name;
  };
  /** `ozk claim` by the honest provider on digit `i`: its parsed output. */
  const claim = async (i: number): Promise<{ claimId: Hex; outputs: string[]; class: number }> =>
    JSON.parse(await ok(net, "honest", ["claim", "mlp", digit(i), "--deployment", "deployment.json"])) as { claimId: Hex; outputs: string[]; class: number };

  before(async () => {
    net = await startNet("cli");
    symlinkSync(PKG, join(net.work, "mlp")); // the user's own relative path to the package
  });
  after(async () => net?.close());

  it("claim prints its claimId; status shows the state, the predicted class and the countdown; finalize waits for the window", async () => {
    const c = await claim(0);
    expect(c.claimId).to.match(/^0x[0-9a-f]{64}$/);
    const want = runQuantized(net.pkg.quant, quantizeInput(net.pkg.quant, images[0]!)).outputs;
    expect(c.outputs).to.deep.equal(want.map(String));
    const best = want.indexOf(want.reduce((a, b) => (b > a ? b : a)));
    expect(c.class).to.equal(best);

    const s = await status(net, c.claimId);
    expect(s).to.include({ status: "Submitted", settled: false, class: best, requestId: null });
    expect(Number(s.secondsLeft)).to.be.greaterThan(0).and.at.most(WINDOWS.challengeWindow);
    const text = await ok(net, "consumer", ["status", c.claimId]);
    expect(text).to.match(/state\s+Submitted \(live\)/);
    expect(text).to.match(/challenge window open: \d+ s left/);
    expect(text).to.match(new RegExp(`class\\s+${best} `));

    expect(await refused(net, "consumer", ["finalize", c.claimId])).to.match(/challenge window is still open, \d+ s left \(chain time\)/);
    await net.chain.advance(WINDOWS.challengeWindow + 1);
    expect(await status(net, c.claimId)).to.include({ status: "Submitted" }).and.to.have.property("countdown").that.matches(/passed \d+ s ago: anyone can finalize now/);
    await ok(net, "consumer", ["finalize", c.claimId]);
    expect(await status(net, c.claimId)).to.include({ status: "Finalized", settled: true, settledOutput: true });
    expect(await refused(net, "consumer", ["finalize", c.claimId])).to.match(/already settled \(Finalized\)/);
    expect(await refused(net, "consumer", ["finalize", `0x${"ab".repeat(32)}`])).to.match(/no claim 0xabab/);
  });

  it("a challenged claim is proven with prove-claim, its input read from the chain", async () => {
    const c = await claim(1);
    expect(await refused(net, "consumer", ["slash", c.claimId])).to.match(/was not challenged/);
    await ok(net, "challenger", ["challenge", c.claimId]);
    expect(await status(net, c.claimId)).to.include({ status: "Challenged" }).and.to.have.property("countdown").that.matches(/a proof is due in \d+ s/);
    expect(await refused(net, "consumer", ["finalize", c.claimId])).to.match(/is Challenged: it settles by a proof/);
    const before = await freeStake(net, net.addr.honest);
    // Anyone can send the proof; the provider gets the challenger's bond.
    const out = JSON.parse(await ok(net, "consumer", ["prove-claim", c.claimId, "--package", "mlp"])) as { status: string; input: string };
    expect(out).to.include({ status: "Proven", input: "ClaimInput" });
    expect(await status(net, c.claimId)).to.include({ status: "Proven", settled: true, settledOutput: true });
    expect(await freeStake(net, net.addr.honest)).to.be.greaterThan(before);
  });

  it("slash refuses before the proof deadline, with the seconds left, and pays the challenger after it", async () => {
    const c = await claim(2);
    await ok(net, "challenger", ["challenge", c.claimId]);
    expect(await refused(net, "consumer", ["slash", c.claimId])).to.match(/proof deadline has not passed, \d+ s left \(chain time\)/);
    await net.chain.advance(WINDOWS.proofWindow + 1);
    expect(await refused(net, "consumer", ["prove-claim", c.claimId, "--package", "mlp"])).to.match(/proof deadline passed \d+ s ago/);
    const before = await freeStake(net, net.addr.challenger);
    await ok(net, "consumer", ["slash", c.claimId]);
    const s = await status(net, c.claimId);
    expect(s).to.include({ status: "Slashed", settled: true, settledOutput: false });
    expect(await ok(net, "consumer", ["status", c.claimId])).to.match(/Slashed \(void/);
    // The challenger got its bond back and the reward on top.
    expect(await freeStake(net, net.addr.challenger) - before).to.be.greaterThan(BONDS.minChallengerBond);
  });

  it("a challenged answer to a request is proven with prove-claim, its input read from the request; status names the request", async () => {
    const req = JSON.parse(await ok(net, "consumer", ["request", "mlp", digit(0), "--fee", "1000"])) as { requestId: string };
    const requestId = BigInt(req.requestId);
    // The provider's answer by commit-reveal (what the provider daemon does), with stake from `ozk stake`.
    await ok(net, "honest", ["stake", String(BONDS.minProviderBond)]);
    const outputs = runQuantized(net.pkg.quant, quantizeInput(net.pkg.quant, images[0]!)).outputs;
    const answer = { requestId, outputs, bond: BONDS.minProviderBond, salt: randomSalt() };
    const reader = { publicClient: net.pc, deployment: net.deployment } as unknown as OzkReader;
    const { blockNumber } = await commit(reader, wallet(net, "honest"), answerCommitment(answer));
    await waitFor("a block after the commitment", async () => ((await net.pc.getBlockNumber()) > blockNumber ? true : undefined));
    const { claimId } = await answerRequest(reader, wallet(net, "honest"), answer);

    await ok(net, "challenger", ["challenge", claimId]);
    expect(await status(net, claimId)).to.include({ status: "Challenged", requestId: String(requestId) });
    expect(await ok(net, "consumer", ["status", claimId])).to.match(new RegExp(`request\\s+${requestId}\n`));
    const out = JSON.parse(await ok(net, "consumer", ["prove-claim", claimId, "--package", "mlp"])) as { status: string; input: string };
    expect(out).to.include({ status: "Proven", input: "InferenceRequested" });
    expect(await status(net, claimId)).to.include({ status: "Proven", settledOutput: true });
  });

  it("withdraw moves credits and free stake back to the account's tokens; more than there is is refused with the figures", async () => {
    const me = net.addr.honest;
    const free = await freeStake(net, me);
    const credits = await net.pc.readContract({ ...net.claims, functionName: "credits", args: [me] }); // the request's fee
    expect(free).to.be.greaterThan(0n);
    expect(credits).to.be.greaterThan(0n);
    const total = free + credits;
    const balance = () => net.pc.readContract({ address: net.deployment.addresses.token!, abi: erc20Abi, functionName: "balanceOf", args: [me] });
    expect(await refused(net, "honest", ["withdraw", String(total + 1n)])).to.match(new RegExp(`has only ${total} in credits and free stake \\(credits ${credits}, free stake ${free}\\)`));
    const b0 = await balance();
    await ok(net, "honest", ["withdraw", "5"]); // from the credits first
    expect(await balance()).to.equal(b0 + 5n);
    expect(await net.pc.readContract({ ...net.claims, functionName: "credits", args: [me] })).to.equal(credits - 5n);
    await ok(net, "honest", ["withdraw"]);
    expect(await balance()).to.equal(b0 + total);
    expect(await freeStake(net, me)).to.equal(0n);
    expect(await net.pc.readContract({ ...net.claims, functionName: "credits", args: [me] })).to.equal(0n);
    expect(await refused(net, "honest", ["withdraw"])).to.match(/nothing to withdraw/);
  });

  it("watch prints the events so far one line each, input data as a byte count", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, INIT_CWD: net.work, OZK_RPC_URL: net.chain.url, OZK_DEPLOYMENT: "deployment.json" };
    delete env.NODE_NO_WARNINGS;
    const p = spawn(TSX, ["cli/ozk.ts", "watch"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    try {
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`watch printed no ClaimSlashed in 60 s:\n${stdout}\n${stderr}`)), 60_000);
        p.stdout.on("data", (c: Buffer) => {
          stdout += c.toString();
          if (stdout.includes(" ClaimSlashed ")) {
            clearTimeout(timer);
            done();
          }
        });
      });
    } finally {
      p.kill();
    }
    const lines = stdout.trim().split("\n");
    const inputs = lines.filter((l) => / ClaimInput /.test(l));
    expect(inputs).to.have.length(3);
    for (const l of inputs) expect(l).to.match(/^\s*\d+ ClaimInput claimId=0x[0-9a-f]{4}…[0-9a-f]{4} inputData=\d+ bytes$/);
    for (const l of lines) expect(l).to.not.match(/0x[0-9a-fA-F]{65,}/);
    expect(stderr).to.not.match(/ExperimentalWarning/);
  });
});

describe("ozk command line: paths, warnings, event lines", () => {
  const saved = process.env.INIT_CWD;
  afterEach(() => {
    if (saved === undefined) delete process.env.INIT_CWD;
    else process.env.INIT_CWD = saved;
  });

  it("a relative path resolves in INIT_CWD when npm set it, else in the working directory; a deployment name stays a name", () => {
    const inherited = process.env.INIT_CWD;
    process.env.INIT_CWD = "/home/user/work";
    expect(userDir()).to.equal("/home/user/work");
    expect(userPath("input.json")).to.equal("/home/user/work/input.json");
    expect(userPath("../pkg")).to.equal("/home/user/pkg");
    expect(userPath("/abs/file.json")).to.equal("/abs/file.json");
    expect(deploymentArg("d/local.json")).to.equal("/home/user/work/d/local.json");
    expect(deploymentArg("localhost")).to.equal("localhost");
    // An INIT_CWD inherited by an ozk started in another folder (by a test, a script) is not where its user stands.
    const here = process.cwd();
    process.chdir(tmpdir());
    try {
      expect(userDir()).to.equal(process.cwd());
    } finally {
      process.chdir(here);
    }
    delete process.env.INIT_CWD;
    expect(userPath("input.json")).to.equal(join(process.cwd(), "input.json"));
    if (inherited !== undefined) process.env.INIT_CWD = inherited;
  });

  it("only node:sqlite's experimental notice is dropped", () => {
    expect(isSqliteNotice("SQLite is an experimental feature and might change at any time", "ExperimentalWarning")).to.equal(true);
    expect(isSqliteNotice("SQLite is an experimental feature and might change at any time", { type: "ExperimentalWarning" })).to.equal(true);
    expect(isSqliteNotice("WASI is an experimental feature and might change at any time", "ExperimentalWarning")).to.equal(false);
    expect(isSqliteNotice("SQLite is an experimental feature", "DeprecationWarning")).to.equal(false);
  });

  it("watch prints one short line per event: the input data as a byte count, ids shortened", () => {
    const data = `0x${"7f".repeat(785)}`;
    const line = eventLine("ClaimInput", 42n, { claimId: `0x${"ab".repeat(32)}`, inputData: data, inputURI: "" });
    expect(line).to.equal("    42 ClaimInput claimId=0xabab…abab inputData=785 bytes");
    const inputHash = BigInt(`0x${"3e".repeat(31)}`);
    const req = eventLine("InferenceRequested", 7n, { requestId: 3n, modelId: `0x${"12".repeat(32)}`, consumer: `0x${"cd".repeat(20)}`, inputHash, fee: 10n ** 19n, inputData: data, inputURI: "ipfs://x" });
    expect(req).to.contain("requestId=3").and.contain("inputHash=0x3e3e…3e3e").and.contain("fee=10000000000000000000").and.contain("modelId=0x1212…1212").and.contain("consumer=0xcdcd…cdcd").and.contain("inputData=785 bytes").and.contain("inputURI=ipfs://x");
    expect(req.length).to.be.lessThan(200);
  });

  it("watch prints a hostile inputURI quoted and escaped: no forged line, no escape sequence reaches the terminal", () => {
    const forged = "ipfs://x\n    43 ClaimFinalized claimId=0xdead\u001b]0;owned\u0007\u001b[2J\u009b31m\u202e";
    const line = eventLine("InferenceRequested", 7n, { requestId: 3n, inputURI: forged, tag: "a b\rc" });
    expect(line.split("\n")).to.have.length(1);
    expect(line).to.not.match(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    const uri = /inputURI=("(?:[^"\\]|\\.)*")/.exec(line);
    expect(uri, line).to.not.equal(null);
    expect(JSON.parse(uri![1]!)).to.equal(forged);
    expect(line).to.contain('tag="a b\\rc"');
    // a plain URI is printed as it is, one that looks quoted is quoted
    expect(eventLine("E", 1n, { inputURI: "ipfs://x" })).to.equal("     1 E inputURI=ipfs://x");
    expect(eventLine("E", 1n, { inputURI: '"x"' })).to.equal('     1 E inputURI="\\"x\\""');
  });
});
