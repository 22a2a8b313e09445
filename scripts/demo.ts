// `npm run demo`: the whole ozk story on an embedded chain, with the provider and challenger daemons as real
// processes. Deploy, register the MNIST model, an honest and a cheating provider, a challenger, a consumer.
// The cheater is challenged and slashed; the honest provider proves a challenged claim and keeps its bond;
// settled results are read back. Exits 0 only if every expectation held.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, erc20Abi, http, zeroAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { claimManagerAbi } from "../sdk/abi.ts";
import { encodeInputData } from "../sdk/inputs.ts";
import { hashVector } from "../sdk/hash.ts";
import { ClaimStatus, claimStatusName, type ClaimFields } from "../sdk/protocol.ts";
import { heldOutSample } from "../circuits/data/mnist.ts";
import { quantizeInput } from "../circuits/compiler/engine.ts";
import { loadPackage } from "../circuits/compiler/package.ts";
import { devKey, startLocalChain } from "../runtime/localnet.ts";
import { deployerFor, deployOzk, mintDevTokens, registerPackage, saveDeployment } from "../runtime/deploy.ts";
import { spawnDaemon } from "../runtime/processes.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const work = join(root, ".ozk", "demo");
const PKG = join(root, "models", "mnist-mlp");
const TOKEN = 10n ** 18n;
const WINDOWS = { challengeWindow: 600, proofWindow: 1800 };
const BONDS = { minProviderBond: 100n * TOKEN, minChallengerBond: 50n * TOKEN };

const t0 = performance.now();
const secs = (t = t0) => ((performance.now() - t) / 1000).toFixed(1).padStart(5) + " s";
const short = (h: string) => `${h.slice(0, 10)}…`;
const fmt = (v: bigint) => `${(Number(v) / 1e18).toLocaleString("en-US", { maximumFractionDigits: 2 })}`;
let stepNo = 0;
function say(title: string, text: string, since?: number): void {
  stepNo++;
  console.log(`${String(stepNo).padStart(2)}. ${title.padEnd(10)} ${text}${since !== undefined ? `  [${secs(since)}]` : ""}`);
}
const expectations: Array<{ what: string; ok: boolean }> = [];
function expect(what: string, ok: boolean): void {
  expectations.push({ what, ok });
  console.log(`    ${ok ? "✔" : "✘"} ${what}`);
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (see logs in ${work})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  console.log("ozk demo: optimistic zkML on an embedded chain\n");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  if (!existsSync(join(PKG, "circuit.zkey"))) throw new Error(`${PKG} has no circuit.zkey: run ozk model build models/mnist-mlp`);

  let t = performance.now();
  const chain = await startLocalChain();
  const pc = createPublicClient({ transport: http(chain.url), pollingInterval: 100 });
  say("chain", `Hardhat EDR in process, JSON-RPC at ${chain.url} (chain ${await pc.getChainId()})`, t);

  const keys = { deployer: devKey(0), honest: devKey(1), cheater: devKey(2), challenger: devKey(3), consumer: devKey(4), skeptic: devKey(5) };
  const addr = Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, privateKeyToAccount(v).address])) as Record<keyof typeof keys, Address>;

  t = performance.now();
  const deployer = await deployerFor(chain.url, keys.deployer);
  const deployment = await deployOzk(deployer, { network: "demo", protocolFeeBps: 500, slashRewardBps: 5000 });
  const A = deployment.addresses;
  say("deploy", `token ${short(A.token)}, registry ${short(A.registry)}, claims ${short(A.claims)} (protocol fee 5%, slash reward 50%)`, t);

  t = performance.now();
  const pkg = loadPackage(PKG);
  const { modelId, verifier, setupKind } = await registerPackage(deployer, deployment, PKG, { ...WINDOWS, ...BONDS });
  const deploymentFile = saveDeployment(deployment, join(work, "deployment.json"));
  say("register", `${pkg.manifest.name}: ${pkg.manifest.constraints.toLocaleString()} constraints, verifier ${short(verifier)}, model ${short(modelId)} (${setupKind} setup: fine on the dev chain, refused elsewhere without --allow-unsafe-setup), registered with an example proof; windows ${WINDOWS.challengeWindow}s challenge / ${WINDOWS.proofWindow}s proof; bonds ${fmt(BONDS.minProviderBond)} provider / ${fmt(BONDS.minChallengerBond)} challenger`, t);

  for (const who of ["honest", "cheater", "challenger", "consumer", "skeptic"] as const) {
    await mintDevTokens(deployer, deployment, addr[who], 10_000n * TOKEN);
  }
  say("fund", "honest provider, cheating provider, challenger, consumer and skeptic get 10,000 tokens each");

  // Daemons: real processes over JSON-RPC, each with its own SQLite store.
  const common = { rpcUrl: chain.url, deployment: deploymentFile, models: [{ package: PKG }], intervalMs: 300 };
  t = performance.now();
  const daemons = {
    honest: spawnDaemon("provider", "honest", work, { ...common, privateKey: keys.honest, stakeTarget: "1000000000000000000000" }),
    cheater: spawnDaemon("provider", "cheater", work, { ...common, privateKey: keys.cheater, stakeTarget: "1000000000000000000000", answerRequests: false, faults: { wrongOutputRate: 1 } }),
    challenger: spawnDaemon("challenger", "challenger", work, { ...common, privateKey: keys.challenger, stakeTarget: "500000000000000000000", sampling: { policy: "all" } }),
  };
  const claims = { address: A.claims, abi: claimManagerAbi } as const;
  await waitFor("daemons to stake", async () => {
    const s = await Promise.all((["honest", "cheater", "challenger"] as const).map((w) => pc.readContract({ ...claims, functionName: "freeStake", args: [addr[w]] })));
    return s.every((x) => x > 0n) ? true : undefined;
  });
  say("daemons", `honest provider, cheating provider and challenger running as processes; staked 1,000 / 1,000 / 500 (logs: .ozk/demo/*.log)`, t);

  const digits = heldOutSample(20);
  const pick = (label: number) => digits.images[digits.labels.indexOf(label)]!;
  const bits = pkg.manifest.inputBits;

  // A consumer requests a classification on chain; the honest provider answers it.
  t = performance.now();
  const consumer = createWalletClient({ account: privateKeyToAccount(keys.consumer), transport: http(chain.url), chain: undefined });
  const fee = 10n * TOKEN;
  await pc.waitForTransactionReceipt({ hash: await consumer.writeContract({ address: A.token, abi: erc20Abi, functionName: "approve", args: [A.claims, fee], chain: null }) });
  const seven = quantizeInput(pkg.quant, pick(7));
  const now = (await pc.getBlock()).timestamp;
  const params = { modelId, inputHash: hashVector(seven, bits), fee, expiry: now + 3600n, callbackGasLimit: 0, provider: zeroAddress, minBond: 0n };
  const reqHash = await consumer.writeContract({ ...claims, functionName: "requestInference", args: [params, encodeInputData(seven, bits), ""], chain: null });
  await pc.waitForTransactionReceipt({ hash: reqHash });
  const requestId = await pc.readContract({ ...claims, functionName: "requestCount" });
  const requestClaim = await waitFor("the honest provider to answer the request", async () => {
    const id = await pc.readContract({ ...claims, functionName: "claimOfRequest", args: [requestId] });
    return BigInt(id) === 0n ? undefined : id;
  });
  const submitted = async (claimId: Hex) => {
    const logs = await pc.getContractEvents({ ...claims, eventName: "ClaimSubmitted", args: { claimId }, fromBlock: 0n });
    const a = logs[0]!.args;
    return { claim: a.claim! as ClaimFields, outputs: a.outputs! as readonly bigint[] };
  };
  const argmax = (xs: readonly bigint[]) => xs.reduce((best, v, i) => (v > xs[best]! ? i : best), 0);
  const r = await submitted(requestClaim);
  // The answer was committed first (hashAnswer with a secret salt) and revealed in a later block.
  const [commitLog] = await pc.getContractEvents({ ...claims, eventName: "Committed", args: { account: addr.honest }, fromBlock: 0n });
  const [answerLog] = await pc.getContractEvents({ ...claims, eventName: "ClaimSubmitted", args: { claimId: requestClaim }, fromBlock: 0n });
  say("request", `consumer asks for a digit (a 7) with a ${fmt(fee)}-token fee → honest provider commits to its answer (block ${commitLog?.blockNumber}), reveals it in block ${answerLog?.blockNumber}: class ${argmax(r.outputs)} (claim ${short(requestClaim)})`, t);
  expect("the request's answer was revealed in a later block than its commitment", commitLog !== undefined && answerLog !== undefined && answerLog.blockNumber > commitLog.blockNumber);

  // Both providers get a client job over their HTTP API: the cheater lies about its output.
  t = performance.now();
  const infer = async (name: "honest" | "cheater", image: Float32Array) => {
    const url = await daemons[name].url();
    const res = await fetch(`${url}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "mnist-mlp", input: Array.from(image) }) });
    if (res.status !== 202) throw new Error(`${name} /infer answered ${res.status}: ${await res.text()}`);
    const job = (await res.json()) as { jobId: string };
    return waitFor(`${name} to claim job ${job.jobId}`, async () => {
      const j = (await (await fetch(`${url}/jobs/${job.jobId}`)).json()) as { status: string; claimId?: Hex; claim?: { status: string } };
      if (j.status === "failed" || j.status === "refused") throw new Error(`${name} job failed: ${JSON.stringify(j)}`);
      if (!j.claimId) return undefined;
      const [status] = await pc.readContract({ ...claims, functionName: "claimState", args: [j.claimId] });
      return status === ClaimStatus.None ? undefined : j.claimId;
    });
  };
  const honestClaim = await infer("honest", pick(3));
  const cheatClaim = await infer("cheater", pick(2));
  const h = await submitted(honestClaim);
  const c = await submitted(cheatClaim);
  say("claims", `honest provider: a 3 is class ${argmax(h.outputs)} (${short(honestClaim)}); cheater: a 2 is class ${argmax(c.outputs)} (${short(cheatClaim)}), a lie`, t);

  // The challenger re-executes every claim; only the cheater's is wrong.
  t = performance.now();
  const cheatState = await waitFor("the challenger to dispute the cheater", async () => {
    const s = await pc.readContract({ ...claims, functionName: "claimState", args: [cheatClaim] });
    return s[0] === ClaimStatus.Challenged ? s : undefined;
  });
  say("challenge", `challenger re-executed the claims bit-exactly: the cheater's is wrong → challenged with a ${fmt(BONDS.minChallengerBond)}-token bond`, t);
  expect("the challenger disputed the wrong claim", cheatState[2].toLowerCase() === addr.challenger.toLowerCase());

  // A skeptic challenges the honest claim; the provider answers with a Groth16 proof checked on chain.
  t = performance.now();
  const skeptic = createWalletClient({ account: privateKeyToAccount(keys.skeptic), transport: http(chain.url), chain: undefined });
  await pc.waitForTransactionReceipt({ hash: await skeptic.writeContract({ address: A.token, abi: erc20Abi, functionName: "approve", args: [A.claims, BONDS.minChallengerBond], chain: null }) });
  await pc.waitForTransactionReceipt({ hash: await skeptic.writeContract({ ...claims, functionName: "stake", args: [BONDS.minChallengerBond], chain: null }) });
  const honestBefore = await pc.readContract({ ...claims, functionName: "freeStake", args: [addr.honest] });
  await pc.waitForTransactionReceipt({ hash: await skeptic.writeContract({ ...claims, functionName: "challenge", args: [h.claim], chain: null }) });
  say("grief", `a skeptic challenges the honest claim ${short(honestClaim)} (bond ${fmt(BONDS.minChallengerBond)})`);
  await waitFor("the honest provider's proof", async () => {
    const s = await pc.readContract({ ...claims, functionName: "claimState", args: [honestClaim] });
    return s[0] === ClaimStatus.Proven ? true : undefined;
  });
  const proven = (await pc.getContractEvents({ ...claims, eventName: "ClaimProven", args: { claimId: honestClaim }, fromBlock: 0n }))[0]!;
  const gas = (await pc.getTransactionReceipt({ hash: proven.transactionHash })).gasUsed;
  const answered = await daemons.honest.waitForLog("challenge answered with a proof", 10_000).catch(() => undefined);
  const how = answered ? ` (${String(answered.backend)} backend, ${String(answered.proveSeconds)} s)` : "";
  say("proof", `honest provider proved the claim with Groth16${how}; verified on chain for ${gas.toLocaleString()} gas → Proven`, t);
  const honestAfterProof = await pc.readContract({ ...claims, functionName: "freeStake", args: [addr.honest] });
  expect("the honest provider proved its challenged claim", true);
  expect("the honest provider kept its bond and won the skeptic's", honestAfterProof > honestBefore);

  // The cheater cannot prove a wrong output; after the proof window the challenger slashes it.
  t = performance.now();
  const challengerBefore = await pc.readContract({ ...claims, functionName: "freeStake", args: [addr.challenger] });
  await chain.advance(WINDOWS.proofWindow + 1);
  await waitFor("the challenger to slash the cheater", async () => {
    const s = await pc.readContract({ ...claims, functionName: "claimState", args: [cheatClaim] });
    return s[0] === ClaimStatus.Slashed ? true : undefined;
  });
  const slashed = (await pc.getContractEvents({ ...claims, eventName: "ClaimSlashed", args: { claimId: cheatClaim }, fromBlock: 0n }))[0]!.args;
  say("slash", `+${WINDOWS.proofWindow + 1}s: the cheater missed its proof deadline → slashed: ${fmt(slashed.reward!)} to the challenger, ${fmt(slashed.toTreasury!)} to the treasury`, t);
  const challengerAfter = await pc.readContract({ ...claims, functionName: "freeStake", args: [addr.challenger] });
  expect("the cheater was slashed and the challenger paid", challengerAfter > challengerBefore);

  // The request's claim was never challenged: its window has passed, the provider finalizes it (or, if the model's
  // random audit selected it, 1% of claims at the default rate, has proven it).
  t = performance.now();
  const settledAs = await waitFor("the request's claim to settle", async () => {
    const s = await pc.readContract({ ...claims, functionName: "claimState", args: [requestClaim] });
    return s[0] === ClaimStatus.Finalized || s[0] === ClaimStatus.Proven ? s[0] : undefined;
  });
  const request = await pc.readContract({ ...claims, functionName: "getRequest", args: [requestId] });
  const settled = await pc.readContract({ ...claims, functionName: "isSettledOutput", args: [r.claim, r.outputs] });
  say("settle", `the request's claim ${settledAs === ClaimStatus.Proven ? "was selected by its random audit and proven" : "finalized unchallenged"}; the consumer reads class ${argmax(r.outputs)} (settled: ${settled}), the fee went to the provider`, t);
  expect("the request settled with the right digit", settled && request.status === 3 && argmax(r.outputs) === 7);
  expect("the honest claim's class is right", argmax(h.outputs) === 3);

  // Money check: with every claim settled, the contract holds exactly free stakes + credits + the claim audit pool.
  // (every read at one block: the daemons keep sending, and a withdraw landing between two reads is no insolvency)
  const actors = [...Object.values(addr)];
  const blockNumber = await pc.getBlockNumber({ cacheTime: 0 });
  const holdings = await Promise.all(actors.map(async (a) => (await pc.readContract({ ...claims, functionName: "freeStake", args: [a], blockNumber })) + (await pc.readContract({ ...claims, functionName: "credits", args: [a], blockNumber }))));
  const balance = await pc.readContract({ address: A.token, abi: erc20Abi, functionName: "balanceOf", args: [A.claims], blockNumber });
  const pool = await pc.readContract({ ...claims, functionName: "auditPool", blockNumber });
  expect("solvency: the contract's tokens equal stakes + credits + audit pool", balance === holdings.reduce((x, y) => x + y, pool));
  const challengedHonest = (await pc.getContractEvents({ ...claims, eventName: "ClaimChallenged", fromBlock: 0n })).filter((e) => e.args.challenger?.toLowerCase() === addr.challenger.toLowerCase() && e.args.claimId !== cheatClaim);
  expect("the challenger never challenged a correct claim", challengedHonest.length === 0);

  const status = async (id: Hex) => claimStatusName((await pc.readContract({ ...claims, functionName: "claimState", args: [id] }))[0]);
  console.log(`\n    claims: request ${await status(requestClaim)}, honest ${await status(honestClaim)}, cheater ${await status(cheatClaim)}`);
  await Promise.all(Object.values(daemons).map((d) => d.stop()));
  await chain.close();
  const failed = expectations.filter((e) => !e.ok);
  console.log(`\n${failed.length === 0 ? "✔" : "✘"} ${expectations.length - failed.length} of ${expectations.length} expectations held in ${secs()}`);
  process.exit(failed.length === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`\ndemo failed: ${message.length > 400 ? `${message.slice(0, 400)}…` : message}`);
  if (process.env.OZK_DEBUG && err instanceof Error) console.error(err.stack);
  process.exit(1);
});
