// Turns of local proofs: a burst of challenges must not start a prover per claim (they would share the machine and
// all finish late); they take turns, soonest proof deadline first.
import { expect } from "chai";
import { ProofSlots } from "../../provider/proving.ts";

const tick = () => new Promise((r) => setImmediate(r));

describe("provider: proof turns", () => {
  it("runs at most `concurrency` proofs, and gives each freed turn to the waiting proof whose deadline comes first", async () => {
    const slots = new ProofSlots(1);
    const order: string[] = [];
    const t = Date.now() + 3_600_000; // deadlines an hour ahead: all can be met
    const deadlines: Record<string, number> = { a: t + 100, b: t + 500, c: t + 200, d: t + 300 };
    const releases: Record<string, () => void> = {};
    const start = (name: string) =>
      slots.acquire(() => deadlines[name]!).then((release) => {
        order.push(name);
        releases[name] = release;
      });
    const all = ["a", "b", "c", "d"].map(start);
    await tick();
    expect(order).to.deep.equal(["a"]);
    expect(slots.queued).to.equal(3);
    // While they wait, d's deadline moves ahead of c's (the chain's clock moved): the order is taken at each turn.
    deadlines.d = t + 150;
    releases.a!();
    await tick();
    expect(order).to.deep.equal(["a", "d"]);
    releases.a!(); // a second release of the same turn does nothing
    await tick();
    expect(order).to.deep.equal(["a", "d"]);
    releases.d!();
    await tick();
    releases.c!();
    await tick();
    releases.b!();
    await Promise.all(all);
    expect(order).to.deep.equal(["a", "d", "c", "b"]);
    expect(slots.queued).to.equal(0);
  });

  it("with concurrency 2 two run at once; an aborted waiter leaves the queue and does not take a turn", async () => {
    const slots = new ProofSlots(2);
    const t = Date.now() + 3_600_000;
    const r1 = await slots.acquire(() => t + 1);
    const r2 = await slots.acquire(() => t + 2);
    const controller = new AbortController();
    const aborted = slots.acquire(() => t, controller.signal).then(
      () => "took a turn",
      (err: Error) => err.message,
    );
    let third = false;
    const waiting = slots.acquire(() => t + 3).then((r) => {
      third = true;
      return r;
    });
    expect(slots.queued).to.equal(2);
    controller.abort(new Error("claim no longer challenged"));
    expect(await aborted).to.equal("claim no longer challenged");
    expect(slots.queued).to.equal(1);
    r1();
    const r3 = await waiting;
    expect(third).to.equal(true);
    r2();
    r3();
    // Freed turns start at once again.
    (await slots.acquire(() => t + 9))();
  });

  it("a griefer's flood: a waiter whose deadline passed leaves the queue, and a deadline that can still be met goes before one that cannot", async () => {
    const slots = new ProofSlots(1);
    const now = Date.now();
    const first = await slots.acquire(() => now + 60_000);
    const order: string[] = [];
    const failed: string[] = [];
    const wait = (name: string, deadlineAt: number, needMs: number) =>
      slots.acquire(() => deadlineAt, undefined, () => needMs).then(
        (release) => {
          order.push(name);
          release();
        },
        (err: Error) => failed.push(`${name}: ${err.message}`),
      );
    const all = [
      wait("lost", now - 5_000, 3_000), // its deadline passed while it waited
      wait("too-late", now + 2_000, 10_000), // 2 s left, 10 s needed
      wait("saveable", now + 30_000, 10_000),
    ];
    first();
    await Promise.all(all);
    expect(failed).to.deep.equal(["lost: the proof deadline passed while the proof waited for its turn"]);
    expect(order).to.deep.equal(["saveable", "too-late"]);
  });
});
