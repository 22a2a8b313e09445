// Restoring a batch the provider's store lost (provider/batch-restore.ts): its data is read back from the archive
// written before submitBatch, else from mirrors, and trusted only when every leaf rebuilds the root on chain and
// every input matches its hash and the model's shape. Mirrors are strangers: forged leaves, a wrong size, a huge or
// a never-ending body, inputs that do not match their hashes are each refused, naming the problem, and the next
// source is asked.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { batchTree, type OwnBatch } from "../../provider/batch.ts";
import { archiveDirOf, archiveOwnBatch, batchDataOf, findBatchData, type RestoreSources } from "../../provider/batch-restore.ts";
import { archivedBatchView } from "../../challenger/index.ts";
import { archivePath } from "../../runtime/batch-data.ts";
import { encodeInputData } from "../../sdk/inputs.ts";
import { hashVector } from "../../sdk/hash.ts";
import { HttpError } from "../../sdk/node/server.ts";

const MODEL: Hex = `0x${"ab".repeat(32)}`;
const SHAPE = { inputLength: 3, inputBits: 8 };

function ownBatch(n: number): OwnBatch {
  const leaves = Array.from({ length: n }, (_, i) => {
    const values = [BigInt(i), -3n, 7n];
    return { index: i, inputHash: hashVector(values, 8).toString(), outputs: [String(i), "-1"], values: values.map(String), jobIds: [`job-${i}`] };
  });
  const tree = batchTree({ modelId: MODEL, leaves });
  return { root: tree.root, modelId: MODEL, bits: 8, size: n, bond: "0", leaves, storedAtBlock: "1", createdAt: 0, status: "stored" };
}

/** A server whose first path segment picks what it answers for GET /<kind>/batches/<root>. */
async function mirrors(b: OwnBatch): Promise<{ url: (kind: string) => string; close: () => Promise<void> }> {
  const good = batchDataOf(b);
  const bodies: Record<string, unknown> = {
    good,
    // One output changed: the leaves no longer rebuild the root.
    forged: { ...good, leaves: good.leaves.map((l, i) => (i === 1 ? { ...l, outputs: ["9", "-1"] } : l)) },
    // A leaf dropped and the size made to match: not the batch on chain.
    short: { ...good, size: b.size - 1, leaves: good.leaves.slice(0, -1) },
    // Leaves (hashes and outputs) that rebuild the root, but an input that is not the one hashed at position 2.
    badinput: { ...good, leaves: good.leaves.map((l, i) => (i === 2 ? { ...l, inputData: encodeInputData([5n, 5n, 5n], 8) } : l)) },
  };
  const server: Server = createServer((req, res) => {
    const kind = req.url!.split("/")[1]!;
    if (kind === "huge") {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, 32);
      const pump = (): void => {
        while (res.write(chunk)) {
          if (res.destroyed) return;
        }
        res.once("drain", pump);
      };
      res.on("error", () => undefined);
      pump();
      return;
    }
    if (kind === "slow") {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"size":');
      return; // never ends
    }
    const body = bodies[kind];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (kind) => `${base}/${kind}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const LIMITS = { timeoutMs: 1_500, maxBytes: 256 * 1024 };

describe("provider: restoring a lost batch", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), "ozk-batch-archive-"));
    dirs.push(d);
    return d;
  };

  it("the archive (a file per root, written once) gives back the leaves and inputs of a batch, checked against its root", async () => {
    const b = ownBatch(5);
    const dir = tmp();
    const path = archiveOwnBatch({ config: { store: "x.sqlite", batching: { archiveDir: dir } } as never }, b)!;
    expect(path).to.equal(archivePath(dir, b.root));
    const before = readFileSync(path, "utf8");
    archiveOwnBatch({ config: { store: "x.sqlite", batching: { archiveDir: dir } } as never }, { ...b, leaves: [] });
    expect(readFileSync(path, "utf8"), "never rewritten").to.equal(before);
    const found = await findBatchData({ archiveDir: dir, mirrors: [], limits: LIMITS }, b, SHAPE);
    expect(found).to.have.property("source", `archive ${dir}`);
    expect((found as { leaves: unknown[] }).leaves).to.deep.equal(b.leaves.map((l) => ({ ...l, jobIds: [] })));
    expect(archiveDirOf({ store: "/var/ozk/provider.sqlite" }), "default: next to the store").to.equal("/var/ozk/provider.sqlite.batches");
    expect(archiveDirOf({ store: ":memory:" })).to.equal(undefined);
    expect(() => archivePath(dir, "../../etc/passwd")).to.throw(/a batch root is 0x and 64 hex digits/);
  });

  it("hostile mirrors (forged leaves, wrong size, huge or never-ending body, an input not matching its hash) are refused; an honest one after them is used", async () => {
    const b = ownBatch(4);
    const m = await mirrors(b);
    try {
      const hostile = ["forged", "short", "huge", "slow", "badinput", "missing"].map(m.url);
      const src: RestoreSources = { mirrors: hostile, limits: LIMITS };
      const none = await findBatchData(src, b, SHAPE);
      expect(none).to.not.have.property("leaves");
      const problems = (none as { problems: string[] }).problems;
      expect(problems).to.have.length(6);
      expect(problems[0]).to.match(/forged\/batches\/0x[0-9a-f]{64}: the batch data's leaves rebuild root 0x[0-9a-f]+, not the batch's/);
      expect(problems[1]).to.match(/short.*batch data says size 3, the batch on chain has 4/);
      expect(problems[2]).to.match(/huge.*over the limit of 262144 bytes \(batching\.mirrorFetch\.maxBytes\)/);
      expect(problems[3]).to.match(/slow.*did not answer within 1500 ms/);
      expect(problems[4]).to.match(/badinput.*position 2: /);
      expect(problems[5]).to.match(/missing.*HTTP 404/);
      const found = await findBatchData({ ...src, mirrors: [...hostile, m.url("good")] }, b, SHAPE);
      expect(found).to.have.property("source", `mirror ${m.url("good")}/batches/${b.root}`);
      expect((found as { leaves: Array<{ values: string[] }> }).leaves.map((l) => l.values)).to.deep.equal(b.leaves.map((l) => l.values));
    } finally {
      await m.close();
    }
  });

  it("a tampered archive file is refused and the mirrors are asked; with no source at all the problem says so", async () => {
    const b = ownBatch(3);
    const dir = tmp();
    const path = archiveOwnBatch({ config: { store: "x.sqlite", batching: { archiveDir: dir } } as never }, b)!;
    const data = JSON.parse(readFileSync(path, "utf8")) as ReturnType<typeof batchDataOf>;
    data.leaves[0]!.outputs = ["7", "7"];
    writeFileSync(path, JSON.stringify(data));
    const m = await mirrors(b);
    try {
      const found = await findBatchData({ archiveDir: dir, mirrors: [m.url("good")], limits: LIMITS }, b, SHAPE);
      expect(found).to.have.property("source", `mirror ${m.url("good")}/batches/${b.root}`);
      const alone = await findBatchData({ archiveDir: dir, mirrors: [], limits: LIMITS }, b, SHAPE);
      expect((alone as { problems: string[] }).problems).to.deep.equal([`archive ${dir}: the batch data's leaves rebuild root ${(alone as { problems: string[] }).problems[0]!.match(/root (0x[0-9a-f]+)/)![1]}, not the batch's ${b.root}`]);
      expect(await findBatchData({ mirrors: [], limits: LIMITS }, b, SHAPE)).to.deep.equal({ problems: ["no archive (batching.archiveDir) and no mirrors (batching.mirrors) configured"] });
    } finally {
      await m.close();
    }
  });

  it("a challenger serves the batch data it kept at GET /batches/:root, read-only: 400 for a bad root, 404 when not kept", () => {
    const b = ownBatch(2);
    const dir = tmp();
    archiveOwnBatch({ config: { store: "x.sqlite", batching: { archiveDir: dir } } as never }, b);
    const res = archivedBatchView(dir, b.root.toUpperCase().replace("0X", "0x"));
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ size: 2, leaves: batchDataOf(b).leaves });
    const status = (d: string | undefined, root: string): number => {
      try {
        return archivedBatchView(d, root).status;
      } catch (err) {
        return err instanceof HttpError ? err.status : 500;
      }
    };
    expect(status(dir, "../etc/passwd")).to.equal(400);
    expect(status(dir, `0x${"cd".repeat(32)}`)).to.equal(404);
    expect(status(undefined, b.root)).to.equal(404);
  });
});
