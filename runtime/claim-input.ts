// Reading a claim's input back from the chain. Everything a challenged claim needs to be proven is public: the
// claim and its outputs (ClaimSubmitted), and its input (ClaimInput of the same transaction, or the answered
// request's InferenceRequested). Used by the provider's rebuild (provider/recover.ts) and by `ozk prove-claim`.
// The input is checked against the claim's inputHash and the model's shape before it is returned: inputHash alone
// does not fix the input (it does not bind the input's length), and the data of a stranger's event is untrusted.
import { getAbiItem, type AbiEvent, type ContractEventArgsFromTopics, type ContractEventName, type Hex, type Log } from "viem";
import { claimManagerAbi } from "../sdk/abi.ts";
import { errorSummary } from "../sdk/errors.ts";
import { checkInputData } from "../sdk/inputs.ts";
import type { ClaimFields } from "../sdk/protocol.ts";
import { withRetry } from "../sdk/node/retry.ts";
import { claimsAddress, type Chainable } from "./chain.ts";

/** An event of the claims contract and its decoded log, typed from the generated ABI. */
export type ClaimsEventName = ContractEventName<typeof claimManagerAbi>;
export type DecodedLog<N extends ClaimsEventName> = Log & { args: ContractEventArgsFromTopics<typeof claimManagerAbi, N> };

/** How a log scan walks the chain. */
export interface LogScanOptions {
  /** Blocks per eth_getLogs (halved when the node refuses a range; default 2000). */
  blockRange?: number;
  /** Walk from `to` down to `from` (the results stay in chain order). */
  backwards?: boolean;
  /** Stop at the first range that has a match. */
  stopAtFirst?: boolean;
}

/** eth_getLogs of one claims-contract event over [from, to] in ranges of at most `blockRange` blocks, in order. */
export async function claimsLogs<N extends ClaimsEventName>(
  c: Pick<Chainable, "publicClient" | "deployment" | "signal">,
  eventName: N,
  args: Record<string, unknown> | undefined,
  from: bigint,
  to: bigint,
  o: LogScanOptions = {},
): Promise<Array<DecodedLog<N>>> {
  const event = getAbiItem({ abi: claimManagerAbi, name: eventName as ClaimsEventName }) as AbiEvent;
  let range = BigInt(o.blockRange ?? 2000);
  const out: Array<DecodedLog<N>> = [];
  let lo = o.backwards ? (to - range + 1n > from ? to - range + 1n : from) : from;
  let hi = o.backwards ? to : lo + range - 1n < to ? lo + range - 1n : to;
  while (from <= to && lo <= hi) {
    let logs: Array<DecodedLog<N>>;
    try {
      logs = (await withRetry(
        () => c.publicClient.getLogs({ address: claimsAddress(c as Chainable), event, args, fromBlock: lo, toBlock: hi, strict: true } as never),
        { retries: 4, signal: c.signal },
      )) as unknown as Array<DecodedLog<N>>;
    } catch (err) {
      // Nodes cap eth_getLogs by range or result count: try a smaller range.
      if (hi > lo && /range|too many|limit|exceed|10000 results/i.test(errorSummary(err))) {
        range = (hi - lo + 1n) / 2n;
        if (o.backwards) lo = hi - range + 1n;
        else hi = lo + range - 1n;
        continue;
      }
      throw err;
    }
    if (o.backwards) out.unshift(...logs);
    else out.push(...logs);
    if (o.stopAtFirst && logs.length > 0) break;
    if (o.backwards) {
      if (lo === from) break;
      hi = lo - 1n;
      lo = hi - range + 1n > from ? hi - range + 1n : from;
    } else {
      if (hi === to) break;
      lo = hi + 1n;
      hi = lo + range - 1n < to ? lo + range - 1n : to;
    }
  }
  return out;
}

/** Where a claim's input was found on chain, and the values when they check out. */
export interface ChainInput {
  values?: bigint[];
  source?: "ClaimInput" | "InferenceRequested";
  /** Why there are no values: nothing published, or data that does not match the claim. */
  problem?: string;
  /** The data was there but does not match the claim's commitment or the model's shape. */
  rejected?: boolean;
}

/** Where to look for a claim's input. */
export interface InputSearch {
  /** First block searched (the deployment's block, or a later one the caller knows is early enough). */
  fromBlock: bigint;
  blockRange?: number;
  /** The block (and transaction) of the claim's ClaimSubmitted when known; else searched back from head. */
  at?: { blockNumber: bigint; transactionHash?: Hex };
}

/**
 * Reads a claim's input from the chain and checks it against the claim's inputHash and the model's input shape
 * (`inputLength` values of `inputBits` bits). A claim answering a request takes the request's input data (the
 * request must be on the claim's model and inputHash); any other claim the ClaimInput of its own id, which only its
 * submission can emit.
 */
export async function inputFromChain(
  c: Pick<Chainable, "publicClient" | "deployment" | "signal">,
  shape: { inputLength: number; inputBits: number },
  claimId: Hex,
  claim: Pick<ClaimFields, "modelId" | "inputHash" | "requestId">,
  search: InputSearch,
): Promise<ChainInput> {
  const start = search.fromBlock;
  const at = search.at;
  const scan = { blockRange: search.blockRange };
  const head = at?.blockNumber ?? (await c.publicClient.getBlockNumber({ cacheTime: 0 }));
  let data: Hex | undefined;
  let source: ChainInput["source"];
  if (claim.requestId !== 0n) {
    source = "InferenceRequested";
    const [req] = await claimsLogs(c, "InferenceRequested", { requestId: claim.requestId }, start, head, { ...scan, backwards: true, stopAtFirst: true });
    if (!req) return { source, problem: `request ${claim.requestId} not found from block ${start}` };
    if (req.args.modelId.toLowerCase() !== claim.modelId.toLowerCase() || req.args.inputHash !== claim.inputHash) {
      return { source, rejected: true, problem: `request ${claim.requestId} is on another model or input than the claim` };
    }
    data = req.args.inputData;
    if (data === "0x") return { source, problem: req.args.inputURI ? `request input only by URI (${req.args.inputURI})` : "the request carries no input data" };
  } else {
    source = "ClaimInput";
    const logs = at
      ? await claimsLogs(c, "ClaimInput", { claimId }, at.blockNumber, at.blockNumber, scan)
      : await claimsLogs(c, "ClaimInput", { claimId }, start, head, { ...scan, backwards: true, stopAtFirst: true });
    const log = logs.find((l) => !at?.transactionHash || l.transactionHash === at.transactionHash) ?? logs[0];
    if (!log) return { source, problem: "the claim published no input (no ClaimInput)" };
    data = log.args.inputData;
    if (data === "0x") return { source, problem: log.args.inputURI ? `input only by URI (${log.args.inputURI})` : "the ClaimInput carries no data" };
  }
  try {
    const input = checkInputData(data, claim.inputHash, { length: shape.inputLength, bits: shape.inputBits });
    return { values: input.values, source };
  } catch (err) {
    return { source, rejected: true, problem: errorSummary(err) };
  }
}
