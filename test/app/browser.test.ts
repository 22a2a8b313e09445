// The web page in Debian's Chromium (playwright-core, system browser) against the local chain with an honest
// provider and a challenger as processes: models and providers render, a digit drawn on the canvas is sent as
// requestInference from the page's test account, and the page follows the claim from Submitted to settled and
// shows the settled class — which must be the reference engine's class for the input the page put on chain.
// A batch posted with its data served to the page (and one whose dataURI is not a URL) shows in the batch table with
// its audit, the challenger's challenge of the unavailable one and a lookup of one claim, unsettled then settled.
// Screenshots go to a temporary folder, or to docs/screenshots/ with OZK_SCREENSHOTS=1 (refreshing the docs' pictures
// is a deliberate act: a test run leaves the checkout unchanged). Skips when /usr/bin/chromium is absent.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "chai";
import type { Browser, Page } from "playwright-core";
import { erc20Abi, keccak256, toHex, type Address, type Hex } from "viem";
import { decodeInputData, encodeInputData, inputHashOf } from "../../sdk/inputs.ts";
import { batchManagerAbi } from "../../sdk/abi.ts";
import { batchLeaf, buildBatchTree, type BatchStruct } from "../../sdk/batch.ts";
import { quantizeInput } from "../../circuits/compiler/engine.ts";
import { runQuantized } from "../../circuits/compiler/engine.ts";
import { buildApp, serveApp, type AppServer } from "../../runtime/page-server.ts";
import { BONDS, WINDOWS, daemon, digit, infer, startNet, status, waitFor, wallet, type Net } from "../e2e/harness.ts";
import { ClaimStatus } from "../../sdk/protocol.ts";
import type { DaemonProcess } from "../../runtime/processes.ts";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = process.env.OZK_SCREENSHOTS === "1" ? resolve("docs/screenshots") : mkdtempSync(join(tmpdir(), "ozk-screenshots-"));
const argmax = (xs: readonly bigint[]) => xs.reduce((best, v, i) => (v > xs[best]! ? i : best), 0);

/** Draws a 7 on the page's canvas with mouse moves: the top bar, then the long diagonal down to the left. */
async function drawSeven(page: Page): Promise<void> {
  const box = (await page.getByTestId("digit-canvas").boundingBox())!;
  const at = (x: number, y: number) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280] as const;
  await page.mouse.move(...at(70, 60));
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(...at(70 + i * 14, 60 + i * 1));
  for (let i = 1; i <= 16; i++) await page.mouse.move(...at(210 - i * 5.5, 70 + i * 11.5));
  await page.mouse.up();
}

/** Debian's Chromium, headless, through playwright-core. */
async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

describe("web page in Chromium", function () {
  this.timeout(300_000);
  let net: Net | undefined;
  let server: AppServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let cheater: DaemonProcess;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`    (skipped: ${CHROMIUM} not found; install Debian's chromium package to run the browser test)`);
      this.skip();
    }
    const t0 = performance.now();
    net = await startNet("app");
    daemon(net, "honest");
    daemon(net, "challenger", { sampling: { policy: "all" } });
    cheater = daemon(net, "cheater");
    buildApp();
    server = await serveApp({ rpcUrl: net.chain.url, deployment: net.deployment, testAccount: net.addr.consumer });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
    page.on("pageerror", (err) => console.log(`    page error: ${err.message}`));
    mkdirSync(SHOTS, { recursive: true });
    console.log(`    chain, deploy, daemons, build and browser ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    // Graceful stop first: a SIGKILL reaches only the tsx wrapper, whose node child would outlive the test and
    // keep its stdout pipes (and so this process) open.
    await Promise.all((net?.daemons ?? []).map((d) => d.stop()));
    await net?.close();
  });

  it("shows the registered model with its constraint count, fidelity and setup kind, and the staked daemons, with no wallet", async () => {
    await page.goto(server!.url);
    const models = page.getByTestId("models");
    await models.waitFor();
    const text = await models.innerText();
    expect(text).to.contain("mnist-mlp");
    expect(text).to.contain(net!.pkg.manifest.constraints.toLocaleString("en-US"));
    expect(text).to.contain(`${WINDOWS.challengeWindow / 60}m 00s challenge`);
    expect(text).to.contain(`${BONDS.minProviderBond / 10n ** 18n} MBOND`); // amounts carry the token's unit
    expect((await page.getByTestId("model-select").inputValue()).toLowerCase()).to.equal(net!.modelId.toLowerCase());
    expect(text).to.contain("unsafe dev setup"); // the shipped package's development setup, as registered
    // Both daemons stake on start; the page lists them from Staked events with their free stake.
    await waitFor("two staked accounts on the page", async () => ((await page.getByTestId("providers").locator("tbody tr").count()) >= 2 ? true : undefined), 60_000);
    const providers = await page.getByTestId("providers").innerText();
    expect(providers.toLowerCase()).to.contain(net!.addr.honest.slice(0, 6).toLowerCase());
    expect(await page.getByTestId("connect").isVisible()).to.equal(true); // read with no wallet connected
  });

  it("draws a 7, requests it from the test account, and shows the claim going from Submitted to settled", async () => {
    await page.getByTestId("connect").click();
    await page.getByTestId("account").waitFor();
    await drawSeven(page);

    const send = page.getByTestId("send");
    await waitFor("the send button to enable", async () => ((await send.isEnabled()) ? true : undefined), 10_000);
    await page.screenshot({ path: join(SHOTS, "draw.png") });
    await send.click();

    // The honest provider answers the request; the page shows the claim live with a countdown.
    await page.getByTestId("my-claim-status").filter({ hasText: "Submitted" }).waitFor({ timeout: 120_000 });
    expect(await page.getByTestId("request-status").innerText()).to.equal("Claimed");
    // Until it settles the class is shown as claimed, not as a result.
    expect(await page.locator("[data-claim] [data-testid=claim-class]").first().innerText()).to.match(/claimed$/);
    expect(await page.getByTestId("claims").getByTestId("countdown").first().innerText()).to.match(/^\d+m \d\ds$|^\d+s$/);
    await page.screenshot({ path: join(SHOTS, "submitted.png"), fullPage: true });

    // What the page put on chain, run through the reference engine in Node.
    const requests = await net!.pc.getContractEvents({ ...net!.claims, eventName: "InferenceRequested", fromBlock: 0n });
    expect(requests).to.have.length(1);
    expect(requests[0]!.args.consumer!.toLowerCase()).to.equal(net!.addr.consumer.toLowerCase());
    const input = decodeInputData(requests[0]!.args.inputData!);
    expect(input.values).to.have.length(784);
    const expected = argmax(runQuantized(net!.pkg.quant, input.values).outputs);

    // Past the challenge window the provider finalizes; the page shows the settled class.
    await net!.chain.advance(WINDOWS.challengeWindow + 1);
    const settled = page.getByTestId("settled-class");
    await settled.waitFor({ timeout: 120_000 });
    expect(await page.getByTestId("my-claim-status").innerText()).to.equal("Finalized");
    expect(await page.getByTestId("request-status").innerText()).to.equal("Fulfilled");
    const shown = Number(await settled.innerText());
    expect(shown).to.equal(expected);
    expect(shown, "the drawn 7 should be classified as 7").to.equal(7);
    await page.screenshot({ path: join(SHOTS, "settled.png"), fullPage: true });
  });

  it("shows a cheater's claim challenged, then slashed, in the claim's history and the cheater's record", async () => {
    const claimId = await infer(net!, cheater, 2);
    const row = page.locator(`tr[data-claim="${claimId}"]`);
    await row.getByTestId("claim-status").filter({ hasText: "Challenged" }).waitFor({ timeout: 120_000 });
    expect(await row.innerText()).to.match(/proof \d+m \d\ds/);
    await net!.chain.advance(WINDOWS.proofWindow + 1);
    await row.getByTestId("claim-status").filter({ hasText: "Slashed" }).waitFor({ timeout: 120_000 });
    expect(await status(net!, claimId)).to.equal(ClaimStatus.Slashed);
    const history = await row.locator(".history li b").allInnerTexts();
    expect(history).to.deep.equal(["Submitted", "Challenged", "Slashed"]);
    const cheaterRow = page.getByTestId("providers").locator("tbody tr", { hasText: `${net!.addr.cheater.slice(0, 6)}` });
    await waitFor("the cheater's slash on the page", async () => ((await cheaterRow.locator("td").nth(4).innerText()) === "1" ? true : undefined), 10_000);
    expect(await cheaterRow.locator("td").nth(5).innerText()).to.equal(`${BONDS.minProviderBond / 10n ** 18n} MBOND`);
    // The slashed claim's class is void, not a result; the challenger's row counts its challenge, none lost.
    expect(await row.getByTestId("claim-class").innerText()).to.match(/void$/);
    const challengerRow = page.getByTestId("providers").locator("tbody tr", { hasText: `${net!.addr.challenger.slice(0, 6)}` });
    expect((await challengerRow.locator("td").allInnerTexts()).slice(6)).to.deep.equal(["1", "0", "0 MBOND"]);
    await page.screenshot({ path: join(SHOTS, "disputes.png"), fullPage: true });
  });

  it("shows batches with their audit and open challenges, links only an http(s) data URI, and looks up one claim: not settled, then settled", async () => {
    // Three honest claims of digits 4, 1, 7, their data served (with a CORS header) by a server of the test.
    const bits = net!.pkg.manifest.inputBits;
    const leaves = [4, 1, 7].map((label, index) => {
      const values = quantizeInput(net!.pkg.quant, digit(label));
      return { index, values, inputHash: inputHashOf(values, bits), outputs: runQuantized(net!.pkg.quant, values).outputs };
    });
    const tree = buildBatchTree(leaves.map((l) => batchLeaf(net!.modelId, l.inputHash, l.outputs, l.index)));
    const body = JSON.stringify({ modelId: net!.modelId, root: tree.root, size: 3, leaves: leaves.map((l) => ({ index: l.index, inputHash: l.inputHash.toString(), outputs: l.outputs.map(String), inputData: encodeInputData(l.values, bits) })) });
    const data: Server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json", "access-control-allow-origin": "*" }).end(body));
    await new Promise<void>((r) => data.listen(0, "127.0.0.1", r));
    try {
      const dataURI = `http://127.0.0.1:${(data.address() as AddressInfo).port}/batches/${tree.root}`;
      const batches = net!.deployment.addresses.batchManager as Address;
      const send = async (hash: Promise<Hex>) => net!.pc.waitForTransactionReceipt({ hash: await hash });
      // No audits for these batches (the treasury's policy), so the batch can settle without a proof.
      await send(wallet(net!, "deployer").writeContract({ address: batches, abi: batchManagerAbi, functionName: "setAuditPolicy", args: [net!.modelId, 0, 0n], chain: null }));
      const w = wallet(net!, "consumer");
      const bond = BONDS.minProviderBond;
      await send(w.writeContract({ address: net!.deployment.addresses.token as Address, abi: erc20Abi, functionName: "approve", args: [batches, 3n * bond], chain: null }));
      await send(w.writeContract({ address: batches, abi: batchManagerAbi, functionName: "stake", args: [3n * bond], chain: null }));
      await send(w.writeContract({ address: batches, abi: batchManagerAbi, functionName: "submitBatch", args: [net!.modelId, tree.root, 3, bond, dataURI], chain: null }));
      // A second batch, of claims nobody has seen (another root), whose dataURI is script, not a URL: the challenger
      // cannot get its data and challenges a position drawn from its secret seed. (The same root as the first batch
      // would take that batch's checked verdict: its claims are known to be right.)
      const withheldRoot = keccak256(toHex("claims whose data is withheld"));
      await send(w.writeContract({ address: batches, abi: batchManagerAbi, functionName: "submitBatch", args: [net!.modelId, withheldRoot, 3, bond + 1n, "javascript:alert(document.cookie)"], chain: null }));
      const [good, bad] = await net!.pc.getContractEvents({ address: batches, abi: batchManagerAbi, eventName: "BatchSubmitted", fromBlock: 0n, strict: true });
      const struct: BatchStruct = { ...good!.args.batch, size: Number(good!.args.batch.size), auditRateBps: Number(good!.args.batch.auditRateBps) };

      const goodRow = page.locator(`tr[data-batch="${good!.args.batchId}"]`);
      const badRow = page.locator(`tr[data-batch="${bad!.args.batchId}"]`);
      await goodRow.waitFor({ timeout: 30_000 });
      expect(await goodRow.getByTestId("batch-size").innerText()).to.equal("3");
      expect(await goodRow.getByTestId("batch-status").innerText()).to.equal("Submitted");
      expect(await goodRow.getByTestId("audit-status").innerText()).to.equal("clear");
      expect(await goodRow.locator("td").nth(6).innerText()).to.match(/^\d+m \d\ds$|^\d+s$/); // the challenge window's countdown
      expect(await goodRow.locator("a[data-testid=datauri]").getAttribute("href")).to.equal(dataURI);
      expect(await badRow.locator("a").count()).to.equal(0);
      expect(await badRow.getByTestId("datauri").innerText()).to.contain("javascript:alert(document.cookie)");
      await badRow.getByTestId("open-challenges").filter({ hasText: /position \d · proof \d+m \d\ds/ }).waitFor({ timeout: 120_000 });

      // Position 1 fetched from the data URI by the page: in the batch, but the batch is not finalized yet.
      await goodRow.getByTestId("lookup-batch").click();
      expect(await page.getByTestId("lookup-id").inputValue()).to.equal(good!.args.batchId);
      await page.getByTestId("lookup-index").fill("1");
      await page.getByTestId("lookup").click();
      const result = page.getByTestId("lookup-result");
      await result.waitFor({ timeout: 30_000 });
      expect(await result.getAttribute("data-settled")).to.equal("no");
      expect(await page.getByTestId("lookup-verdict").innerText()).to.match(/not finalized yet/);
      await page.screenshot({ path: join(SHOTS, "batches.png"), fullPage: true });

      await net!.chain.advance(WINDOWS.challengeWindow + 1);
      await send(w.writeContract({ address: batches, abi: batchManagerAbi, functionName: "finalizeBatch", args: [struct], chain: null }));
      await goodRow.getByTestId("batch-status").filter({ hasText: "Finalized" }).waitFor({ timeout: 30_000 });
      await page.getByTestId("lookup").click();
      await page.locator("[data-testid=lookup-result][data-settled=yes]").waitFor({ timeout: 30_000 });
      expect(await page.getByTestId("lookup-class").innerText()).to.equal(String(argmax(leaves[1]!.outputs)));
    } finally {
      data.closeAllConnections();
      await new Promise((r) => data.close(r));
    }
  });
});

// `ozk dev` as a new user starts it (a process: chain with interval mining, provider, challenger, page), and its
// page driven through a whole request: connect, draw, send, and the class settles with nobody moving chain time.
describe("ozk dev's page in Chromium", function () {
  this.timeout(600_000);
  let dev: ChildProcess | undefined;
  let output = "";
  let browser: Browser | undefined;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`    (skipped: ${CHROMIUM} not found; install Debian's chromium package to run the browser test)`);
      this.skip();
    }
    const work = join(mkdtempSync(join(tmpdir(), "ozk-dev-page-")), "work");
    dev = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", "dev", "--chain-port", "0", "--port", "0", "--work", work, "--challenge-window", "8"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    });
    dev.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    dev.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    await waitFor("ozk dev ready", async () => {
      if (dev!.exitCode !== null) throw new Error(`ozk dev exited (${dev!.exitCode}): ${output}`);
      return output.includes("ozk dev ready") ? true : undefined;
    }, 400_000);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    if (dev && dev.exitCode === null && dev.signalCode === null) {
      dev.kill("SIGINT");
      await new Promise((r) => dev!.once("exit", r));
    }
  });

  it("a 7 drawn on the printed page is requested, answered by ozk dev's provider and settles as 7 after the window", async () => {
    const pageUrl = /page\s+(http:\/\/\S+)/.exec(output)?.[1];
    expect(pageUrl, `the page URL in ozk dev's output:\n${output}`).to.be.a("string");
    const page = await browser!.newPage({ viewport: { width: 1180, height: 900 } });
    page.on("pageerror", (err) => console.log(`    page error: ${err.message}`));
    await page.goto(pageUrl!);
    await page.getByTestId("models").waitFor();
    expect(await page.getByTestId("model-select").inputValue()).to.match(/^0x[0-9a-fA-F]{64}$/);
    await page.getByTestId("connect").click();
    await page.getByTestId("account").waitFor();
    await drawSeven(page);
    const send = page.getByTestId("send");
    await waitFor("the send button to enable", async () => ((await send.isEnabled()) ? true : undefined), 10_000);
    await send.click();
    await page.getByTestId("my-claim-status").waitFor({ timeout: 120_000 });
    // No evm_increaseTime, no skip button: interval mining carries chain time past the 8-second window.
    const settled = page.getByTestId("settled-class");
    await settled.waitFor({ timeout: 120_000 });
    expect(await page.getByTestId("request-status").innerText()).to.equal("Fulfilled");
    expect(Number(await settled.innerText())).to.equal(7);
    await page.close();
  });
});
