// The reorg-aware event cursor (sdk/node/cursor.ts) against Hardhat's in-process chain: confirmation depth,
// persistence across restarts, and a reorg made with evm_snapshot / evm_revert plus different blocks.
import { expect } from "chai";
import { network } from "hardhat";
import {
  createPublicClient,
  createWalletClient,
  custom,
  pad,
  toHex,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { EventCursor, type CursorBatch } from "../../sdk/node/cursor.ts";
import { Store } from "../../sdk/node/store.ts";
import { createSpyLogger } from "../../sdk/node/logger.ts";
import { RetryableError } from "../../sdk/errors.ts";

// A 9-byte contract that emits LOG1(topic0 = calldata[0:32]) with no data: any topic we like, one per tx.
const RUNTIME = "600035600060" + "00a100";
const INIT = ("0x6009806" + "00b6000396000f3" + RUNTIME) as Hex;

describe("sdk/node/cursor", function () {
  this.timeout(120_000);
  let client: PublicClient;
  let wallet: WalletClient;
  let account: Address;
  let emitter: Address;
  let provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> };

  before(async () => {
    const conn = await network.create();
    provider = conn.provider as typeof provider;
    client = createPublicClient({ transport: custom(conn.provider) }) as PublicClient;
    account = ((await provider.request({ method: "eth_accounts" })) as Address[])[0]!;
    wallet = createWalletClient({ account: account!, transport: custom(conn.provider) });
    const hash = await wallet.sendTransaction({ account: account!, chain: null, data: INIT });
    const receipt = await client.waitForTransactionReceipt({ hash });
    emitter = receipt.contractAddress!;
    expect(await client.getCode({ address: emitter })).to.equal("0x" + RUNTIME);
  });

  const emit = async (tag: number): Promise<bigint> => {
    const hash = await wallet.sendTransaction({ account, chain: null, to: emitter, data: pad(toHex(tag)) });
    return (await client.waitForTransactionReceipt({ hash })).blockNumber;
  };
  const mine = (n: number): Promise<unknown> => provider.request({ method: "hardhat_mine", params: [toHex(n)] });
  const tags = (batches: CursorBatch[]): number[] => batches.flatMap((b) => b.logs.map((l) => Number(BigInt(l.topics[0]!))));
  const drain = async (cursor: EventCursor): Promise<CursorBatch[]> => {
    const out: CursorBatch[] = [];
    await cursor.sync((b) => {
      out.push(b);
    });
    return out;
  };

  it("delivers logs only up to head - confirmations, in bounded ranges, and resumes from the store", async () => {
    const store = new Store(":memory:");
    const start = await client.getBlockNumber({ cacheTime: 0 });
    const b1 = await emit(1);
    await emit(2);
    await emit(3);
    const opts = { client, store, key: "depth", fromBlock: start, confirmations: 2, address: emitter, maxBlockRange: 2n };
    let cursor = new EventCursor(opts);
    const first = await drain(cursor);
    expect(tags(first)).to.deep.equal([1]); // head = b1 + 2: only b1 has 2 confirmations
    expect(first.every((b) => b.toBlock - b.fromBlock + 1n <= 2n)).to.equal(true);
    expect(cursor.nextBlock).to.equal(b1 + 1n);
    await mine(2);
    cursor = new EventCursor(opts); // a restart: position comes from the store
    expect(tags(await drain(cursor))).to.deep.equal([2, 3]);
    expect(await drain(cursor)).to.deep.equal([]);
  });

  it("poll() without commit re-delivers the same range (at-least-once)", async () => {
    const store = new Store(":memory:");
    const start = await client.getBlockNumber({ cacheTime: 0 });
    await emit(9);
    const cursor = new EventCursor({ client, store, key: "redeliver", fromBlock: start + 1n, confirmations: 0, address: emitter });
    const a = await cursor.poll();
    const b = await cursor.poll();
    expect(tags([a!])).to.deep.equal([9]);
    expect(b!.fromBlock).to.equal(a!.fromBlock);
    cursor.commit(b!);
    expect(await cursor.poll()).to.equal(undefined);
  });

  it("detects a reorg below its checkpoints, rewinds to the fork and delivers the new chain's logs", async () => {
    const spy = createSpyLogger();
    const store = new Store(":memory:");
    const base = await emit(100);
    const cursor = new EventCursor({ client, store, key: "reorg", fromBlock: base, confirmations: 0, address: emitter, logger: spy.logger });
    expect(tags(await drain(cursor))).to.deep.equal([100]); // checkpoint at `base`

    const snapshot = await provider.request({ method: "evm_snapshot" });
    const x1 = await emit(101);
    await emit(102);
    expect(tags(await drain(cursor))).to.deep.equal([101, 102]); // checkpoint at base + 2

    // The chain drops both blocks and grows a different branch from `base`, longer than the old one.
    expect(await provider.request({ method: "evm_revert", params: [snapshot] })).to.equal(true);
    await mine(1); // a different block at base + 1 (no log)
    const y = await emit(201); // base + 2 now holds a different block
    await emit(202);
    expect(y).to.equal(x1 + 1n);

    const batches = await drain(cursor);
    expect(batches[0]!.rewind).to.deep.equal({ fromBlock: base + 1n, previousHead: base + 2n });
    expect(tags(batches)).to.deep.equal([201, 202]);
    expect(spy.find("reorg detected: cursor rewound")).to.not.equal(undefined);
    // The stored checkpoint now carries the new branch's hash: no second rewind.
    const again = await cursor.poll();
    expect(again).to.equal(undefined);
  });

  it("rewinds to the deploy block when no checkpoint survives, even if the chain got shorter", async () => {
    const store = new Store(":memory:");
    const snapshot = await provider.request({ method: "evm_snapshot" });
    const start = (await client.getBlockNumber({ cacheTime: 0 })) + 1n;
    await emit(300);
    await emit(301);
    const cursor = new EventCursor({ client, store, key: "short", fromBlock: start, confirmations: 0, address: emitter });
    expect(tags(await drain(cursor))).to.deep.equal([300, 301]);
    await provider.request({ method: "evm_revert", params: [snapshot] });
    await emit(400); // the chain is now shorter than the cursor's last checkpoint
    const batches = await drain(cursor);
    expect(batches[0]!.rewind?.fromBlock).to.equal(start);
    expect(tags(batches)).to.deep.equal([400]);
  });

  it("decodes logs when given event ABIs", async () => {
    const store = new Store(":memory:");
    const start = await client.getBlockNumber({ cacheTime: 0 });
    // topic0 of `Ping()` is its selector hash: emit exactly that topic and let the cursor decode it.
    const { toEventSelector } = await import("viem");
    const ping = { type: "event", name: "Ping", inputs: [] } as const;
    const hash = await wallet.sendTransaction({ account, chain: null, to: emitter, data: toEventSelector(ping) });
    await client.waitForTransactionReceipt({ hash });
    await emit(5); // a log that matches no event: filtered out by topic
    const cursor = new EventCursor({ client, store, key: "abi", fromBlock: start + 1n, confirmations: 0, address: emitter, events: [ping] });
    const batches = await drain(cursor);
    const logs = batches.flatMap((b) => b.logs) as Array<{ eventName?: string }>;
    expect(logs.map((l) => l.eventName)).to.deep.equal(["Ping"]);
  });

  it("shrinks the getLogs range when the node refuses it, and still delivers everything once", async () => {
    const store = new Store(":memory:");
    const start = (await client.getBlockNumber({ cacheTime: 0 })) + 1n;
    for (const t of [500, 501, 502, 503]) await emit(t);
    const calls: bigint[] = [];
    // A node that caps eth_getLogs at 2 blocks.
    const capped = {
      ...client,
      getLogs: (async (args: { fromBlock: bigint; toBlock: bigint }) => {
        calls.push(args.toBlock - args.fromBlock + 1n);
        if (args.toBlock - args.fromBlock + 1n > 2n) throw new Error("query exceeds max block range 2");
        return client.getLogs(args as never);
      }) as PublicClient["getLogs"],
    } as PublicClient;
    const cursor = new EventCursor({ client: capped, store, key: "capped", fromBlock: start, confirmations: 0, address: emitter, maxBlockRange: 8n });
    const got: CursorBatch[] = [];
    let refusals = 0;
    for (let i = 0; i < 10; i++) {
      try {
        await cursor.sync((b) => {
          got.push(b);
        });
        break;
      } catch (err) {
        expect(err).to.be.instanceOf(RetryableError);
        refusals++;
      }
    }
    expect(refusals).to.equal(2); // 8 -> 4 -> 2 blocks
    expect(tags(got)).to.deep.equal([500, 501, 502, 503]);
    expect(calls.slice(0, 3)).to.deep.equal([4n, 4n, 2n]); // clipped to the 4 blocks there are, then halved
  });
});
