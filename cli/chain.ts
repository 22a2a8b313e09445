// What the on-chain commands share: the --rpc/--key/--deployment options, the connection, reading a claim with
// its state and the chain's time, the countdown to its deadline, and the input files of `request` and `claim`.
import { ConfigError } from "../sdk/errors.ts";
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import type { Hex } from "viem";
import { getClaimAudit, getSubmittedClaim, type ClaimAudit } from "../sdk/claims.ts";
import { batchManagerAbi } from "../sdk/abi.ts";
import { ClaimStatus, claimStatusName, type ClaimFields } from "../sdk/protocol.ts";
import { loadDeployment } from "../sdk/node/deployments.ts";
import { createLogger } from "../sdk/node/logger.ts";
import { chainClients, readClaims, readModelEntry, type Chainable } from "../runtime/chain.ts";
import { assertEntryMatches, loadModels, type ServedModel } from "../runtime/models.ts";
import { quantizeInput } from "../circuits/compiler/engine.ts";
import { parseDirectInput } from "../prover/witness.ts";
import { deploymentArg, userPath } from "./paths.ts";
import { clampWarning } from "./model-data.ts";

export interface ChainOpts {
  rpc: string;
  key?: string;
  deployment: string;
}

/** Adds --rpc, --key and --deployment to an on-chain command. */
export function withChainOptions(cmd: Command): Command {
  return cmd
    .option("--rpc <url>", "JSON-RPC endpoint", process.env.OZK_RPC_URL ?? "http://127.0.0.1:8545")
    .option("--key <hex>", "private key of the sending account (or OZK_PRIVATE_KEY)")
    .option("--deployment <name|file>", "a name (deployments/<name>.json in the working directory: the ozk folder under npm run ozk) or a .json file", process.env.OZK_DEPLOYMENT ?? "localhost");
}

/**
 * Clients for the deployment. A command that sends transactions (`sends`, the default) needs a key: without one it
 * stops here, saying so (an unfunded placeholder account would fail later with the node's vague "invalid
 * parameters"); a read-only command reads with a placeholder account.
 */
export function connect(o: ChainOpts, opts: { sends?: boolean } = {}): Chainable {
  const deployment = loadDeployment(deploymentArg(o.deployment));
  const given = o.key ?? process.env.OZK_PRIVATE_KEY;
  if (!given && opts.sends !== false) throw new ConfigError("this command sends a transaction: give the sending account's key with --key <hex> or OZK_PRIVATE_KEY", ["--key: missing"]);
  const key = (given ?? `0x${"11".repeat(32)}`) as Hex;
  const clients = chainClients(o.rpc, key, deployment);
  return { ...clients, deployment, logger: createLogger({ name: "ozk", level: (process.env.OZK_LOG_LEVEL as never) ?? "warn" }) };
}

/** A token amount in base units (an integer; 1 token = 10^18 for the dev token), or an error naming what it is for. */
export function tokenAmount(what: string, v: string): bigint {
  if (!/^\d+$/.test(v)) throw new Error(`${what} wants a whole number of token base units (1 token = 10^18), got ${v}`);
  return BigInt(v);
}

/** JSON with bigints as decimal strings. */
export const json = (v: unknown, indent = 2): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x), indent);

/** A claim as the chain knows it now: its submitted fields and outputs, its state, and the latest block's time. */
export interface ClaimView {
  claimId: Hex;
  claim: ClaimFields;
  outputs: bigint[];
  /** Block of its ClaimSubmitted. */
  blockNumber: bigint;
  status: number;
  statusName: string;
  /** Challenge window end while Submitted, proof deadline while Challenged (unix seconds). */
  deadline: bigint;
  challenger: Hex;
  /** Timestamp of the latest block: what the contract's next checks are measured against. */
  now: bigint;
  /** Number of the latest block (an audit's seed is readable while it is at most submittedBlock + 257). */
  head: bigint;
  /** The claim's random audit (Clear with zeros for a claim without one). */
  audit: ClaimAudit;
  /** The name the deployment gives the claim's model, if any. */
  modelName?: string;
}

/** Reads a claim, or fails naming the claim id and the deployment. */
export async function readClaim(c: Chainable, claimId: string): Promise<ClaimView> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(claimId)) throw new Error(`"${claimId}" is not a claim id (0x and 64 hex digits)`);
  const id = claimId.toLowerCase() as Hex;
  const [submitted, [status, deadline, challenger], block, audit] = await Promise.all([
    getSubmittedClaim(c, id),
    readClaims(c, "claimState", [id]),
    c.publicClient.getBlock({ blockTag: "latest" }),
    getClaimAudit(c, id),
  ]);
  if (!submitted || status === ClaimStatus.None) {
    // A batch id given where a claim id is expected (the id a batched job reports): say so rather than "no claim".
    const bm = c.deployment.addresses.batchManager as Hex | undefined;
    const batchStatus = bm
      ? await c.publicClient.readContract({ address: bm, abi: batchManagerAbi, functionName: "batchState", args: [id] }).then((r) => r[0], () => 0)
      : 0;
    if (batchStatus !== 0) {
      throw new Error(`${id} is a batch of BatchManager ${bm}, not a claim: the claim commands take single claims only (batches: docs/daemons.md, Batches)`);
    }
    throw new Error(`no claim ${id} on this deployment (claims contract ${c.deployment.addresses.claims})`);
  }
  const modelName = Object.entries(c.deployment.models).find(([, m]) => m.toLowerCase() === submitted.claim.modelId.toLowerCase())?.[0];
  return {
    claimId: id,
    claim: submitted.claim,
    outputs: submitted.outputs,
    blockNumber: submitted.blockNumber,
    status,
    statusName: claimStatusName(status),
    deadline,
    challenger,
    now: block.timestamp,
    head: block.number,
    audit,
    ...(modelName ? { modelName } : {}),
  };
}

/** Where a claim stands in time: what its deadline means now, and who may act. */
export interface Countdown {
  /** "challenge" while Submitted, "proof" while Challenged; absent once settled. */
  deadline?: "challenge" | "proof";
  /** Seconds until the deadline (0 once it passed). */
  secondsLeft?: bigint;
  /** Seconds since the deadline passed (0 while it has not). */
  secondsAgo?: bigint;
  /** One line for people. */
  text: string;
}

/** The countdown of a claim from the latest block's timestamp. */
export function countdown(v: Pick<ClaimView, "status" | "deadline" | "now">): Countdown {
  const left = v.deadline > v.now ? v.deadline - v.now : 0n;
  const ago = v.now >= v.deadline ? v.now - v.deadline : 0n;
  if (v.status === ClaimStatus.Submitted) {
    return left > 0n
      ? { deadline: "challenge", secondsLeft: left, secondsAgo: 0n, text: `challenge window open: ${left} s left, then anyone can finalize` }
      : { deadline: "challenge", secondsLeft: 0n, secondsAgo: ago, text: `challenge window passed ${ago} s ago: anyone can finalize now` };
  }
  if (v.status === ClaimStatus.Challenged) {
    return left > 0n
      ? { deadline: "proof", secondsLeft: left, secondsAgo: 0n, text: `challenged: a proof is due in ${left} s, else anyone can slash` }
      : { deadline: "proof", secondsLeft: 0n, secondsAgo: ago, text: `proof deadline passed ${ago} s ago: anyone can slash now` };
  }
  if (v.status === ClaimStatus.Slashed) return { text: "settled: slashed, the outputs are void" };
  return { text: `settled: ${claimStatusName(v.status)}, the outputs stand` };
}

/** Index of the largest output: the predicted class when the outputs are a vector of logits (undefined for one output). */
export function argmax(outputs: readonly bigint[]): number | undefined {
  if (outputs.length < 2) return undefined;
  let best = 0;
  outputs.forEach((v, i) => {
    if (v > outputs[best]!) best = i;
  });
  return best;
}

/** The served package of `pkgDir` (resolved in the user's folder), after checking that its registry entry is the package's. */
export async function checkedModel(c: Chainable, pkgDir: string): Promise<ServedModel> {
  const [model] = loadModels([{ package: userPath(pkgDir) }], c.deployment).values();
  if (!model) throw new Error(`cannot load ${pkgDir}`);
  assertEntryMatches(model, await readModelEntry(c, model.modelId));
  return model;
}

/**
 * The quantized input in `file` for `model`: an array of floats (quantized here), {"input": [...]},
 * {"quantized": [...]} or {"inputData": "0x..."}; a wrong shape is an error naming the file.
 */
export function readModelInput(model: ServedModel, file: string): bigint[] {
  const path = userPath(file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cannot read the input file ${path}: ${(err as Error).message}`);
  }
  const m = model.pkg.manifest;
  try {
    const values = parseDirectInput(raw, { length: m.inputLength, bits: m.inputBits, shape: m.inputShape });
    if (values instanceof Float32Array) {
      const warning = clampWarning(model.pkg.quant, values);
      if (warning) process.stderr.write(`${warning}\n`);
    }
    return values instanceof Float32Array ? quantizeInput(model.pkg.quant, values) : values;
  } catch (err) {
    throw new Error(`input file ${path}: ${(err as Error).message}`);
  }
}

/** The help text of an input-file argument. */
export const INPUT_HELP = 'JSON file: an array of floats (quantized here), {"input": [...]}, {"quantized": [...]} (integers) or {"inputData": "0x..."}';
