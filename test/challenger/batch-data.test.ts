// The challenger's checks of a batch's published data, tried the way a cheating or careless provider would serve it:
// not http(s), not answering, too large, not JSON, the wrong shape, missing or repeated positions, leaves that do not
// rebuild the root. Each is a BatchDataError naming the problem (never a crash); only failures on the way are passing.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { resolve } from "node:path";
import { BatchDataError, checkBatchData, fetchBatchData, firstWrongLeaf, unavailablePosition, type BatchData } from "../../challenger/batch.ts";
import { batchLeaf, buildBatchTree } from "../../sdk/batch.ts";
import { loadPackage } from "../../circuits/compiler/package.ts";
import { runQuantized } from "../../circuits/compiler/engine.ts";
import { encodeInputData } from "../../sdk/inputs.ts";
import { hashVector } from "../../sdk/hash.ts";
import type { ServedModel } from "../../runtime/models.ts";

const MODEL: Hex = `0x${"ab".repeat(32)}`;
const limits = { timeoutMs: 2000, maxBytes: 4096 };

function data(n: number): { data: BatchData; root: Hex } {
  const leaves = Array.from({ length: n }, (_, i) => ({ index: i, inputHash: String(1000 + i), outputs: [String(i), "-2"], inputData: "0x01" }));
  const root = buildBatchTree(leaves.map((l) => batchLeaf(MODEL, BigInt(l.inputHash), l.outputs.map(BigInt), l.index))).root;
  return { data: { size: n, leaves }, root };
}

async function failure(p: Promise<unknown> | (() => unknown)): Promise<BatchDataError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    expect(err).to.be.instanceOf(BatchDataError);
    return err as BatchDataError;
  }
  throw new Error("expected a BatchDataError");
}

describe("challenger: batch data checks", () => {
  let server: Server;
  let url: string;
  const answers: Record<string, (res: import("node:http").ServerResponse) => void> = {};
  before(async () => {
    server = createServer((req, res) => (answers[req.url!] ?? ((r) => r.writeHead(404).end()))(res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("accepts data whose leaves cover 0..size-1 and rebuild the root, in any order", () => {
    const { data: d, root } = data(5);
    const leaves = checkBatchData({ ...d, leaves: [...d.leaves].reverse() }, { modelId: MODEL, root, size: 5 });
    expect(leaves.map((l) => l.index)).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it("refuses a wrong root, missing, repeated or extra positions and a wrong size", async () => {
    const { data: d, root } = data(4);
    const batch = { modelId: MODEL, root, size: 4 };
    const lied = { ...d, leaves: d.leaves.map((l, i) => (i === 2 ? { ...l, outputs: ["9", "9"] } : l)) };
    expect((await failure(() => checkBatchData(lied, batch))).message).to.match(/rebuild root 0x[0-9a-f]{64}, not the batch's/);
    expect((await failure(() => checkBatchData({ ...d, leaves: d.leaves.slice(0, 3) }, batch))).message).to.match(/missing leaves: position 3/);
    expect((await failure(() => checkBatchData({ ...d, leaves: [d.leaves[0]!, d.leaves[0]!, d.leaves[1]!, d.leaves[2]!] }, batch))).message).to.match(/position 0 twice/);
    expect((await failure(() => checkBatchData({ ...d, leaves: [...d.leaves, { ...d.leaves[0]!, index: 4 }] }, batch))).message).to.match(/position 4, past the batch's size 4/);
    expect((await failure(() => checkBatchData(d, { ...batch, size: 5 }))).message).to.match(/size 4, the batch on chain has 5/);
    // The same leaves under another model do not rebuild the root (the model is in every leaf).
    expect((await failure(() => checkBatchData(d, { ...batch, modelId: `0x${"cd".repeat(32)}` }))).message).to.match(/rebuild root/);
  });

  it("fetches good data, and refuses oversized bodies, bad JSON, the wrong shape and HTTP errors, naming the problem", async () => {
    const { data: d } = data(2);
    answers["/good"] = (res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(d));
    answers["/big"] = (res) => res.writeHead(200).end("x".repeat(limits.maxBytes + 1));
    answers["/big-chunked"] = (res) => {
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write("[".repeat(1000));
      res.end();
    };
    answers["/notjson"] = (res) => res.writeHead(200).end("{ not json");
    answers["/shape"] = (res) => res.writeHead(200).end(JSON.stringify({ size: 1, leaves: [{ index: 0, inputHash: "1e5", outputs: [], inputData: "0x" }] }));
    answers["/down"] = (res) => res.writeHead(503).end();
    expect(await fetchBatchData(`${url}/good`, limits)).to.deep.equal(d);
    expect((await failure(fetchBatchData(`${url}/big`, limits))).message).to.match(/over the limit of 4096/);
    expect((await failure(fetchBatchData(`${url}/big-chunked`, limits))).message).to.match(/over the limit of 4096/);
    expect((await failure(fetchBatchData(`${url}/notjson`, limits))).message).to.equal("batch data is not JSON");
    expect((await failure(fetchBatchData(`${url}/shape`, limits))).message).to.match(/leaves\.0\.inputHash: not a decimal integer string/);
    const missing = await failure(fetchBatchData(`${url}/nothing`, limits));
    expect([missing.message, missing.passing]).to.deep.equal(["dataURI answered HTTP 404", false]);
    const down = await failure(fetchBatchData(`${url}/down`, limits));
    expect([down.message, down.passing]).to.deep.equal(["dataURI answered HTTP 503", true]);
  });

  it("re-executes the leaves in order: the first wrong position, or the first whose input does not match its hash", () => {
    const pkg = loadPackage(resolve("models/mnist-mlp"));
    const model: ServedModel = { modelId: MODEL, name: "mnist-mlp", pkg };
    const { inputLength, inputBits } = pkg.manifest;
    const leaf = (index: number, seed: number, lie = false) => {
      const values = Array.from({ length: inputLength }, (_, i) => BigInt(((i * 7 + seed * 13) % 50) - 10));
      const outputs = runQuantized(pkg.quant, values).outputs;
      if (lie) outputs[0] = outputs[0]! + 1n;
      return { index, inputHash: hashVector(values, inputBits), outputs, inputData: encodeInputData(values, inputBits) };
    };
    const right = [0, 1, 2, 3].map((i) => leaf(i, i));
    expect(firstWrongLeaf(model, right)).to.equal(undefined);
    const lies = [leaf(0, 0), leaf(1, 1), leaf(2, 2, true), leaf(3, 3, true)];
    expect(firstWrongLeaf(model, lies)).to.include({ index: 2, kind: "wrong" });
    // Position 1 publishes another input than the one its inputHash commits to: unavailable there when no lie is found.
    const swapped = [lies[0]!, { ...lies[1]!, inputData: lies[0]!.inputData }, right[2]!, right[3]!];
    const found = firstWrongLeaf(model, swapped)!;
    expect(found).to.include({ index: 1, kind: "unavailable" });
    expect(found.unusable).to.deep.equal([1]);
    expect(found.reason).to.match(/position 1: input data does not match its commitment/);
  });

  it("refuses other schemes and non-URLs, and gives up on a server that never answers (a passing failure)", async () => {
    expect((await failure(fetchBatchData("file:///etc/passwd", limits))).message).to.match(/scheme file: is not http or https/);
    expect((await failure(fetchBatchData("ipfs://Qm", limits))).message).to.match(/scheme ipfs:/);
    expect((await failure(fetchBatchData("not a url", limits))).message).to.match(/is not a URL/);
    answers["/hang"] = () => undefined; // never answers
    const hung = await failure(fetchBatchData(`${url}/hang`, { ...limits, timeoutMs: 300 }));
    expect([hung.message, hung.passing]).to.deep.equal(["dataURI did not answer within 300 ms", true]);
  });

  it("a cheater cannot choose the position a withheld batch is challenged at: not always 0, secret per bot, the same after a restart", () => {
    // Withheld data (404, a wrong root, missing positions) is challenged at one position. Were it always 0, a cheater
    // would put a true claim there and its lies elsewhere: it proves position 0, keeps the challenger's bond, and the
    // lies finalize (test/contracts/BatchExploits.test.ts shows one then fulfilling a request).
    const ids = Array.from({ length: 64 }, (_, i) => `0x${i.toString(16).padStart(64, "0")}` as Hex);
    const a = ids.map((id) => unavailablePosition(id, 8, "0x01"));
    const b = ids.map((id) => unavailablePosition(id, 8, "0x02"));
    expect(new Set(a).size).to.be.greaterThan(4);
    expect(a.every((i) => i >= 0 && i < 8)).to.equal(true);
    expect(a).to.not.deep.equal(b);
    expect(ids.map((id) => unavailablePosition(id, 8, "0x01"))).to.deep.equal(a);
    expect(unavailablePosition(ids[5]!, 1, "0x01")).to.equal(0);
  });

  it("a leaf whose input does not match its hash does not shield a wrong leaf after it", () => {
    // The cheater publishes a mismatching input at a true position 1 and lies at 2: the bot must challenge the lie
    // (it loses nothing there), not position 1 (which the cheater proves, taking the bot's bond).
    const pkg = loadPackage(resolve("models/mnist-mlp"));
    const model: ServedModel = { modelId: MODEL, name: "mnist-mlp", pkg };
    const { inputLength, inputBits } = pkg.manifest;
    const leaf = (index: number, seed: number, lie = false) => {
      const values = Array.from({ length: inputLength }, (_, i) => BigInt(((i * 7 + seed * 13) % 50) - 10));
      const outputs = runQuantized(pkg.quant, values).outputs;
      if (lie) outputs[0] = outputs[0]! + 1n;
      return { index, inputHash: hashVector(values, inputBits), outputs, inputData: encodeInputData(values, inputBits) };
    };
    const l0 = leaf(0, 0);
    const shielded = [l0, { ...leaf(1, 1), inputData: l0.inputData }, leaf(2, 2, true)];
    expect(firstWrongLeaf(model, shielded)).to.include({ index: 2, kind: "wrong" });
  });
});
