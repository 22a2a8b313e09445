// SQLite store (sdk/node/store.ts): migrations run once, bigints survive, and a kill -9 mid-write leaves a
// consistent database.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { openStore, Store } from "../../sdk/node/store.ts";

const storeUrl = pathToFileURL(resolve("sdk/node/store.ts")).href;

describe("sdk/node/store", () => {
  it("applies each migration once, in order, per scope", () => {
    const path = join(mkdtempSync(join(tmpdir(), "ozk-store-")), "s.db");
    const calls: number[] = [];
    const migrations = [
      "CREATE TABLE a (x INTEGER)",
      () => calls.push(2),
    ];
    let s = openStore(path, { mod: migrations });
    expect(calls).to.deep.equal([2]);
    s.close();
    s = openStore(path, { mod: [...migrations, "ALTER TABLE a ADD COLUMN y TEXT"] });
    expect(calls).to.deep.equal([2]);
    s.db.prepare("INSERT INTO a (x, y) VALUES (1, 'z')").run();
    s.close();
    // Old code opening a newer schema refuses instead of corrupting it.
    expect(() => openStore(path, { mod: migrations })).to.throw(/newer version/);
  });

  it("keeps bigints and nested values in the key-value table", () => {
    const s = new Store(":memory:");
    s.set("cursor/x", { next: 123456789012345678901234567890n, list: [1n, { y: 2n }] });
    expect(s.get("cursor/x")).to.deep.equal({ next: 123456789012345678901234567890n, list: [1n, { y: 2n }] });
    expect(s.entries("cursor/").map(([k]) => k)).to.deep.equal(["cursor/x"]);
    s.delete("cursor/x");
    expect(s.get("cursor/x")).to.equal(undefined);
  });

  it("finds rows by their status field, in key order, and counts them by status", () => {
    const s = new Store(":memory:");
    s.set("job/c", { status: "pending", n: 3n });
    s.set("job/a", { status: "claimed" });
    s.set("job/b", { status: "waiting-stake" });
    s.set("job/d", { other: 1 });
    s.set("jobs", { status: "pending" });
    s.set("claim/a", { status: "pending" });
    expect(s.entriesByStatus("job/", ["pending", "waiting-stake"])).to.deep.equal([["job/b", { status: "waiting-stake" }], ["job/c", { status: "pending", n: 3n }]]);
    expect(s.entriesByStatus("job/", ["claimed"], { not: true }).map(([k]) => k)).to.deep.equal(["job/b", "job/c", "job/d"]);
    expect([...s.countByStatus("job/")].sort()).to.deep.equal([["claimed", 1], ["pending", 1], ["waiting-stake", 1]]);
    s.set("job/c", { status: "claimed" });
    expect(s.entriesByStatus("job/", ["pending"])).to.deep.equal([]);
    expect(s.countByStatus("job/").get("claimed")).to.equal(2);
  });

  it("rolls back a failed transaction", () => {
    const s = new Store(":memory:");
    s.set("n", 1);
    expect(() => s.transaction(() => {
      s.set("n", 2);
      throw new Error("boom");
    })).to.throw("boom");
    expect(s.get("n")).to.equal(1);
  });

  it("survives kill -9 in the middle of writes: every committed pair is whole", async function () {
    this.timeout(60_000);
    const path = join(mkdtempSync(join(tmpdir(), "ozk-store-")), "s.db");
    // The child commits pairs (a = b = i) in transactions as fast as it can, and is killed mid-stream.
    const code = `
      import { openStore } from ${JSON.stringify(storeUrl)};
      const s = openStore(${JSON.stringify(path)});
      for (let i = 1; ; i++) {
        s.transaction(() => { s.set("a", i); s.set("b", i); });
        if (i === 50) process.stdout.write("ready\\n");
      }`;
    const child = spawn(process.execPath, ["--no-warnings", "--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((res, rej) => {
      child.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && res());
      child.on("exit", (c) => rej(new Error(`writer exited early with ${c}`)));
    });
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    const s = openStore(path);
    const a = s.get<number>("a");
    expect(a).to.be.a("number").and.to.be.at.least(50);
    expect(s.get("b")).to.equal(a);
    expect((s.db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).to.equal("ok");
    s.close();
  });
});
