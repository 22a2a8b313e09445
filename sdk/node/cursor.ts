// A reorg-aware event cursor: delivers a contract's logs from a deploy block up to head - confirmations
// in bounded ranges, persists its position in the store, and remembers block hashes at the blocks where it
// stopped. When a remembered hash no longer matches the chain (a reorg deeper than the confirmation depth,
// or a chain reset), it rewinds to the newest checkpoint still on the chain and says so, so consumers can
// drop what they derived from the orphaned blocks. Delivery is at-least-once: commit after processing.
import {
  BlockNotFoundError,
  parseEventLogs,
  type AbiEvent,
  type Address,
  type Hash,
  type Log,
  type PublicClient,
} from "viem";
import { RetryableError } from "../errors.ts";
import type { Logger } from "./logger.ts";
import type { Store } from "./store.ts";

export interface CursorOptions {
  client: PublicClient;
  store: Store;
  /** Name the position is stored under, e.g. "challenger/claims". */
  key: string;
  /** First block to read (the deployment's deployBlock). */
  fromBlock: bigint;
  /** Blocks below head that are treated as final (0 follows the head). */
  confirmations: number;
  address?: Address | Address[];
  /** When given, only these events are fetched and logs come back decoded (`eventName`, `args`). */
  events?: readonly AbiEvent[];
  /** Largest block range per eth_getLogs call (default 2000). */
  maxBlockRange?: bigint;
  /** How many checkpoint hashes to keep, i.e. how far back a rewind can land precisely (default 256). */
  keepCheckpoints?: number;
  logger?: Logger;
}

interface Checkpoint {
  number: bigint;
  hash: Hash;
}

interface CursorState {
  /** Next block to read. */
  next: bigint;
  /** Oldest first. */
  checkpoints: Checkpoint[];
}

export interface Rewind {
  /** The first block that was orphaned: everything derived from blocks >= this is stale. */
  fromBlock: bigint;
  /** The block that was last committed before the rewind. */
  previousHead: bigint;
}

export interface CursorBatch<L = Log> {
  fromBlock: bigint;
  toBlock: bigint;
  /** Hash of `toBlock`, stored as a checkpoint on commit. */
  toBlockHash: Hash;
  logs: L[];
  /** Set when this poll found a reorg and rewound before reading. */
  rewind?: Rewind;
}

export class EventCursor<L extends Log = Log> {
  private readonly o: Required<Pick<CursorOptions, "maxBlockRange" | "keepCheckpoints">> & CursorOptions;
  /** Current range per eth_getLogs: halved when the node refuses a range as too large, up to the maximum again. */
  private range: bigint;
  private readsSinceShrink = 0;

  constructor(options: CursorOptions) {
    if (options.confirmations < 0 || !Number.isInteger(options.confirmations)) {
      throw new RangeError(`confirmations must be a non-negative integer, got ${options.confirmations}`);
    }
    this.o = { maxBlockRange: 2000n, keepCheckpoints: 256, ...options };
    this.range = this.o.maxBlockRange;
  }

  private get stateKey(): string {
    return `cursor/${this.o.key}`;
  }

  /** The persisted position (or the start position). */
  state(): CursorState {
    return this.o.store.get<CursorState>(this.stateKey) ?? { next: this.o.fromBlock, checkpoints: [] };
  }

  /** Next block that will be read. */
  get nextBlock(): bigint {
    return this.state().next;
  }

  private async hashAt(number: bigint): Promise<Hash | undefined> {
    try {
      const block = await this.o.client.getBlock({ blockNumber: number });
      return block.hash ?? undefined;
    } catch (err) {
      if (err instanceof BlockNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Checks the stored checkpoints against the chain; on a mismatch rewinds (persisting the new position)
   * and returns what was rewound.
   */
  async checkReorg(): Promise<Rewind | undefined> {
    const state = this.state();
    const latest = state.checkpoints.at(-1);
    if (!latest) return undefined;
    if ((await this.hashAt(latest.number)) === latest.hash) return undefined;
    const kept: Checkpoint[] = [];
    // Newest to oldest: the first checkpoint whose hash still matches is the fork point's lower bound.
    for (let i = state.checkpoints.length - 2; i >= 0; i--) {
      const cp = state.checkpoints[i]!;
      if ((await this.hashAt(cp.number)) === cp.hash) {
        kept.push(...state.checkpoints.slice(0, i + 1));
        break;
      }
    }
    const next = kept.length ? kept.at(-1)!.number + 1n : this.o.fromBlock;
    const rewind: Rewind = { fromBlock: next, previousHead: latest.number };
    this.o.store.set(this.stateKey, { next, checkpoints: kept } satisfies CursorState);
    this.o.logger?.warn({ cursor: this.o.key, ...rewind }, "reorg detected: cursor rewound");
    return rewind;
  }

  /**
   * Reads the next range of confirmed logs, or returns undefined when caught up. Does not move the cursor:
   * call commit(batch) once the logs are processed. A reorg found on the way is reported in `batch.rewind`
   * (and also when there is nothing new to read, as an empty batch).
   */
  async poll(): Promise<CursorBatch<L> | undefined> {
    const rewind = await this.checkReorg();
    const { next } = this.state();
    // cacheTime 0: viem caches the block number for its polling interval otherwise.
    const head = await this.o.client.getBlockNumber({ cacheTime: 0 });
    const safe = head - BigInt(this.o.confirmations);
    if (next > safe) {
      return rewind ? { fromBlock: next, toBlock: next - 1n, toBlockHash: "0x" as Hash, logs: [], rewind } : undefined;
    }
    const toBlock = safe - next + 1n > this.range ? next + this.range - 1n : safe;
    const before = await this.hashAt(toBlock);
    let raw: Log[];
    try {
      raw = await this.o.client.getLogs({
        address: this.o.address,
        ...(this.o.events ? { events: this.o.events } : {}),
        fromBlock: next,
        toBlock,
      } as Parameters<PublicClient["getLogs"]>[0]);
    } catch (err) {
      // Nodes cap eth_getLogs by range or result count: retry a smaller range next time.
      if (this.range > 1n && /range|too many|limit|exceed|10000 results/i.test(String((err as Error).message ?? err))) {
        this.range = this.range / 2n;
        this.readsSinceShrink = 0;
        throw new RetryableError(`eth_getLogs refused ${next}..${toBlock}; range now ${this.range} blocks`, { cause: err, meta: { cursor: this.o.key } });
      }
      throw err;
    }
    // Grow back slowly, so a node's cap costs one refusal per 16 reads rather than every other read.
    if (this.range < this.o.maxBlockRange && ++this.readsSinceShrink >= 16) {
      this.range = this.range * 2n > this.o.maxBlockRange ? this.o.maxBlockRange : this.range * 2n;
      this.readsSinceShrink = 0;
    }
    const after = await this.hashAt(toBlock);
    const torn = raw.some((l) => l.blockNumber === toBlock && l.blockHash !== after);
    if (before === undefined || before !== after || torn) {
      throw new RetryableError(`chain changed while reading blocks ${next}..${toBlock}`, { meta: { cursor: this.o.key } });
    }
    const logs = (this.o.events ? parseEventLogs({ abi: this.o.events, logs: raw, strict: false }) : raw) as L[];
    return { fromBlock: next, toBlock, toBlockHash: after, logs, rewind };
  }

  /** Records `batch` as processed: the cursor moves past it and remembers its end hash. */
  commit(batch: CursorBatch<L>): void {
    if (batch.toBlock < batch.fromBlock) return; // an empty rewind notice: already persisted
    const state = this.state();
    if (state.next !== batch.fromBlock) {
      throw new Error(`cursor ${this.o.key}: batch starts at ${batch.fromBlock}, cursor is at ${state.next}`);
    }
    const checkpoints = [...state.checkpoints, { number: batch.toBlock, hash: batch.toBlockHash }].slice(-this.o.keepCheckpoints);
    this.o.store.set(this.stateKey, { next: batch.toBlock + 1n, checkpoints } satisfies CursorState);
  }

  /**
   * Reads and processes batches until caught up: `handle` runs per batch, then the batch is committed.
   * Returns the number of logs handled.
   */
  async sync(handle: (batch: CursorBatch<L>) => Promise<void> | void): Promise<number> {
    let count = 0;
    for (;;) {
      const batch = await this.poll();
      if (!batch) return count;
      await handle(batch);
      this.commit(batch);
      count += batch.logs.length;
    }
  }
}
