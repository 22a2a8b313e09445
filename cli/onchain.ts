// The commands that act on a deployed ozk instance: `ozk provider|challenger run`, and the one-shot on-chain
// commands: deploy, model register, model show, stake, request, claim, challenge, status, watch, verify-input
// (finalize, slash, prove-claim and withdraw are in settle.ts).
import type { Command } from "commander";
import { parseEventLogs, zeroAddress, type Address, type Hex } from "viem";
import { claimManagerAbi } from "../sdk/abi.ts";
import { AuditStatus } from "../sdk/batch.ts";
import { getModelEntry, requestInference } from "../sdk/claims.ts";
import { checkInputData, encodeInputData } from "../sdk/inputs.ts";
import { hashVector } from "../sdk/hash.ts";
import { ensureFreeStake, readClaims, readRegistry, sendClaims, stakeTokens, tokenBalance, claimsAddress, type Chainable } from "../runtime/chain.ts";
import { loadDeployment } from "../sdk/node/deployments.ts";
import { ClaimStatus, SETUP_KIND_MEANING } from "../sdk/protocol.ts";
import { runQuantized } from "../circuits/compiler/engine.ts";
import { MODEL_GROUP, group } from "./group.ts";
import { deployerFor, deployOzk, registerPackage, saveDeployment } from "../runtime/deploy.ts";
import { INPUT_HELP, argmax, tokenAmount, checkedModel, connect, countdown, json, readClaim, readModelInput, withChainOptions, type ChainOpts } from "./chain.ts";
import { deploymentArg, userPath } from "./paths.ts";

/** A positive integer option, or an error naming the flag. */
function seconds(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} wants a positive number of seconds, got ${v}`);
  return n;
}

/** Makes sure the account's free stake covers `bond`, staking from its tokens; else an error with the figures. */
async function coverBond(c: Chainable, bond: bigint, what: string): Promise<void> {
  const free = await ensureFreeStake(c, bond, bond);
  if (free >= bond) return;
  const balance = await tokenBalance(c);
  throw new Error(`${what} needs ${bond} of free stake; ${c.account.address} has ${free} staked free and ${balance} tokens`);
}

/** `0x1234…abcd` for a long hex value; other values as they are. */
export function short(v: string): string {
  return /^0x[0-9a-fA-F]{17,}$/.test(v) ? `${v.slice(0, 6)}…${v.slice(-4)}` : v;
}

/**
 * A string from the chain as it may be printed: as it is when it is only visible ASCII, else JSON-quoted with every
 * control, line-separating and direction-changing character escaped. Anyone can put a string into an event (a
 * request's inputURI): raw, a newline would forge a second event line and an escape sequence would reach the terminal.
 */
export function printable(v: string): string {
  if (/^[\x21-\x7e]*$/.test(v) && !v.startsWith('"')) return v;
  return JSON.stringify(v).replace(/[\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** One line for a claims-contract event: its name, block, ids shortened, byte counts instead of data, other strings
 *  made printable. */
export function eventLine(eventName: string, blockNumber: bigint | null, args: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(args)) {
    if (k === "claim") continue; // its fields are in the other arguments (claimId, modelId, provider)
    if (k === "inputData" && typeof v === "string") parts.push(`${k}=${(v.length - 2) / 2} bytes`);
    else if (k === "inputURI" || k === "outputHash") {
      if (v) parts.push(`${k}=${short(printable(String(v)))}`);
    } else if (Array.isArray(v)) parts.push(`${k}=[${v.length} values]`);
    else if (typeof v === "string") parts.push(`${k}=${short(printable(v))}`);
    else if (typeof v === "bigint" && v >= 10n ** 24n) parts.push(`${k}=${short(`0x${v.toString(16)}`)}`); // a hash (inputHash), not an amount
    else parts.push(`${k}=${String(v)}`);
  }
  return `${String(blockNumber ?? "?").padStart(6)} ${eventName} ${parts.join(" ")}`;
}

/** The `status` line of a claim's random audit. */
function auditLine(v: { now: bigint; audit: { status: number; statusName: string; rateBps: number; deadline: bigint } }): string {
  const rate = `rate ${v.audit.rateBps / 100}%`;
  if (v.audit.status === AuditStatus.Selected) {
    const when = v.now < v.audit.deadline ? `${v.audit.deadline - v.now} s left` : `passed ${v.now - v.audit.deadline} s ago: anyone can slash it`;
    return `Selected (${rate}): must be proven before its audit deadline, ${when}`;
  }
  if (v.audit.status === AuditStatus.Undrawn) return `Undrawn (${rate}): anyone may draw it (ozk draw-audit) within 256 blocks of the claim's block`;
  return `${v.audit.statusName} (${rate})`;
}

export function register(program: Command): void {
  for (const role of ["provider", "challenger"] as const) {
    program
      .command(role)
      .description(`the ${role} daemon`)
      .command("run")
      .description(`run the ${role} daemon (config: --config file and OZK_${role.toUpperCase()}_* env)`)
      .option("--config <file>", "JSON config file")
      .action(async (o: { config?: string }) => {
        process.argv = [process.argv[0]!, role, ...(o.config ? ["--config", userPath(o.config)] : [])];
        await import(`../${role}/main.ts`);
      });
  }

  withChainOptions(
    program
      .command("deploy")
      .description("deploy the registry and claims contracts; writes deployments/<network>.json")
      .requiredOption("--network <name>", "name of the deployment file to write")
      .option("--token <address>", "ERC20 bond token (default: deploy a mintable development token)")
      .option("--treasury <address>", "receives protocol fees (default: the deployer)")
      .option("--fee-bps <n>", "protocol fee in basis points", "500")
      .option("--slash-bps <n>", "challenger's share of a slashed bond in basis points", "5000"),
  ).action(async (o: ChainOpts & { network: string; token?: Address; treasury?: Address; feeBps: string; slashBps: string }) => {
    const key = (o.key ?? process.env.OZK_PRIVATE_KEY) as Hex | undefined;
    if (!key) throw new Error("deploy needs --key or OZK_PRIVATE_KEY");
    const d = await deployOzk(await deployerFor(o.rpc, key), { network: o.network, token: o.token, treasury: o.treasury, protocolFeeBps: Number(o.feeBps), slashRewardBps: Number(o.slashBps) });
    saveDeployment(d);
    console.log(json(d));
  });

  withChainOptions(
    group(program, "model", MODEL_GROUP)
      .command("register")
      .description(
        "deploy a package's verifier, prove the model once (all-zero input) and register it with that example proof and the package's setup kind; " +
          "records its modelId in the deployment file. An unsafe-dev package is refused on any chain but the local development chain (31337).",
      )
      .argument("<package>", "model package folder")
      .option("--challenge-window <s>", "seconds a claim can be challenged (default: 3600 on a local chain, 7 days elsewhere)")
      .option("--proof-window <s>", "seconds to prove once challenged (default: 7200 on a local chain, 1 day elsewhere)")
      .option("--allow-unsafe-setup", "register an unsafe-dev package on a chain other than 31337 (anyone can forge its proofs)")
      .option("--provider-bond <amount>", "minimum provider bond (base units: 1 token = 10^18)", String(100n * 10n ** 18n))
      .option("--challenger-bond <amount>", "challenger bond (base units: 1 token = 10^18)", String(10n * 10n ** 18n))
      .option("--metadata-uri <uri>", "where the package is published"),
  ).action(async (pkgDir: string, o: ChainOpts & { challengeWindow?: string; proofWindow?: string; allowUnsafeSetup?: boolean; providerBond: string; challengerBond: string; metadataUri?: string }) => {
    const key = (o.key ?? process.env.OZK_PRIVATE_KEY) as Hex | undefined;
    if (!key) throw new Error("model register needs --key or OZK_PRIVATE_KEY");
    const deployment = deploymentArg(o.deployment);
    const d = loadDeployment(deployment);
    const r = await registerPackage(await deployerFor(o.rpc, key), d, userPath(pkgDir), {
      challengeWindow: seconds("--challenge-window", o.challengeWindow),
      proofWindow: seconds("--proof-window", o.proofWindow),
      minProviderBond: BigInt(o.providerBond),
      minChallengerBond: BigInt(o.challengerBond),
      metadataURI: o.metadataUri,
      allowUnsafeSetup: !!o.allowUnsafeSetup,
      log: (line) => console.error(line),
    });
    const file = saveDeployment(d, deployment.endsWith(".json") ? deployment : undefined);
    console.log(json({ ...r, deployment: file }));
  });

  withChainOptions(
    group(program, "model", MODEL_GROUP)
      .command("show")
      .description("a model's registry entry: verifier and its pinned code hash, shapes, windows, bonds, setup kind")
      .argument("<model>", "a model name in the deployment or a modelId"),
  ).action(async (model: string, o: ChainOpts) => {
    const c = connect(o, { sends: false });
    const modelId = (/^0x[0-9a-fA-F]{64}$/.test(model) ? model : c.deployment.models[model]) as Hex | undefined;
    if (!modelId) throw new Error(`unknown model "${model}": give a modelId or one of ${Object.keys(c.deployment.models).join(", ") || "(none registered)"}`);
    const entry = await getModelEntry(c, modelId);
    console.log(json({ ...entry, setupMeaning: SETUP_KIND_MEANING[entry.setupKindName] }));
  });

  withChainOptions(program.command("stake").summary("stake bond tokens into the claims contract").description("stake <amount> of the account's bond tokens into the claims contract (approving it first)").argument("<amount>", "base units (1 token = 10^18)"))
    .action(async (amount: string, o: ChainOpts) => {
      const c = connect(o);
      const n = tokenAmount("stake", amount);
      const balance = await tokenBalance(c);
      if (n === 0n) throw new Error("stake wants an amount above 0");
      if (balance < n) throw new Error(`stake ${n}: ${c.account.address} holds only ${balance} tokens`);
      await stakeTokens(c, n);
      console.log(`free stake of ${c.account.address}: ${await readClaims(c, "freeStake", [c.account.address])}`);
    });

  withChainOptions(
    program
      .command("request")
      .description("pay a fee for an inference of a registered model on an input (published in calldata); prints the request id")
      .argument("<package>", "model package folder, e.g. models/mnist-mlp")
      .argument("<input.json>", INPUT_HELP)
      .requiredOption("--fee <amount>", "fee paid to the provider whose answer settles (base units: 1 token = 10^18)")
      .option("--expires-in <s>", "seconds the request stays open", "3600")
      .option("--provider <address>", "the only provider allowed to answer (default: anyone)")
      .option("--min-bond <amount>", "least bond an answer must lock (default: the model's minimum)")
      .option("--callback-gas <n>", "gas for IOzkConsumer.onInferenceSettled on the sender (0: no callback)", "0"),
  ).action(async (pkgDir: string, inputFile: string, o: ChainOpts & { fee: string; expiresIn: string; provider?: Address; minBond?: string; callbackGas: string }) => {
    const c = connect(o);
    const model = await checkedModel(c, pkgDir);
    const values = readModelInput(model, inputFile);
    const now = (await c.publicClient.getBlock()).timestamp;
    const r = await requestInference(c, c.walletClient, {
      modelId: model.modelId,
      values,
      bits: model.pkg.manifest.inputBits,
      fee: tokenAmount("--fee", o.fee),
      expiry: now + BigInt(seconds("--expires-in", o.expiresIn)!),
      callbackGasLimit: Number(o.callbackGas),
      provider: o.provider ?? zeroAddress,
      minBond: o.minBond === undefined ? 0n : BigInt(o.minBond),
    });
    console.log(json(r));
  });

  withChainOptions(
    program
      .command("claim")
      .summary("run a package on an input and submit the claim; prints its claimId")
      .description(
        "run a model package on an input and submit the claim (input data published in calldata), staking the bond from the account's tokens when its free stake is short; " +
          "prints JSON with the claimId, the outputs, the predicted class (the largest output) and the challenge deadline",
      )
      .argument("<package>", "model package folder, e.g. models/mnist-mlp")
      .argument("<input.json>", INPUT_HELP)
      .option("--bond <amount>", "bond to lock (default: the model's minimum)"),
  ).action(async (pkgDir: string, inputFile: string, o: ChainOpts & { bond?: string }) => {
    const c = connect(o);
    const model = await checkedModel(c, pkgDir);
    const values = readModelInput(model, inputFile);
    const outputs = runQuantized(model.pkg.quant, values).outputs;
    const bits = model.pkg.manifest.inputBits;
    const bond = o.bond !== undefined ? tokenAmount("--bond", o.bond) : (await readRegistry(c, "claimParams", [model.modelId]))[4];
    await coverBond(c, bond, "the claim's bond");
    const hash = await sendClaims(c, "submitClaim", [model.modelId, hashVector(values, bits), outputs, bond, encodeInputData(values, bits), ""]);
    const receipt = await c.publicClient.getTransactionReceipt({ hash });
    const [event] = parseEventLogs({ abi: claimManagerAbi, logs: receipt.logs, eventName: "ClaimSubmitted" });
    if (!event) throw new Error(`submitClaim ${hash} emitted no ClaimSubmitted event`);
    const cls = argmax(outputs);
    console.log(json({ claimId: event.args.claimId, tx: hash, outputs, ...(cls === undefined ? {} : { class: cls }), challengeDeadline: event.args.challengeDeadline }));
  });

  withChainOptions(program.command("challenge").summary("challenge a claim inside its window (locks the challenger bond)").description("challenge a Submitted claim inside its challenge window (locks the model's challenger bond, staking it from the account's tokens when short)").argument("<claimId>"))
    .action(async (claimId: string, o: ChainOpts) => {
      const c = connect(o);
      const v = await readClaim(c, claimId);
      if (v.status !== ClaimStatus.Submitted) throw new Error(`claim ${v.claimId} is ${v.statusName}: only a Submitted claim can be challenged`);
      if (v.now >= v.deadline) throw new Error(`claim ${v.claimId}: its challenge window closed ${v.now - v.deadline} s ago (chain time)`);
      const [, bond] = await readRegistry(c, "disputeParams", [v.claim.modelId]);
      await coverBond(c, bond, "the challenger bond");
      console.log(json({ tx: await sendClaims(c, "challenge", [v.claim]) }));
    });

  withChainOptions(
    program
      .command("status")
      .summary("a claim's state, countdown to its deadline, outputs and class")
      .description(
        "a claim's state (settled or live), the countdown to its deadline from the latest block's time, its outputs and predicted class, and its request id",
      )
      .argument("<claimId>")
      .option("--json", "print JSON (bigints as decimal strings)"),
  ).action(async (claimId: string, o: ChainOpts & { json?: boolean }) => {
    const c = connect(o, { sends: false });
    const v = await readClaim(c, claimId);
    const model = await getModelEntry(c, v.claim.modelId);
    const cd = countdown(v);
    const cls = model.outputLength > 1 ? argmax(v.outputs) : undefined;
    const settled = v.status === ClaimStatus.Finalized || v.status === ClaimStatus.Proven || v.status === ClaimStatus.Slashed;
    const settledOutput = v.status === ClaimStatus.Finalized || v.status === ClaimStatus.Proven;
    const challenged = v.challenger !== zeroAddress;
    if (o.json) {
      console.log(
        json({
          claimId: v.claimId,
          status: v.statusName,
          settled,
          settledOutput,
          ...(cd.deadline ? { deadlineKind: cd.deadline, deadline: v.deadline, secondsLeft: cd.secondsLeft, secondsAgo: cd.secondsAgo } : {}),
          chainTime: v.now,
          countdown: cd.text,
          model: v.modelName ?? null,
          modelId: v.claim.modelId,
          provider: v.claim.provider,
          bond: v.claim.bond,
          requestId: v.claim.requestId === 0n ? null : v.claim.requestId,
          challenger: challenged ? v.challenger : null,
          outputs: v.outputs,
          class: cls ?? null,
          setupKind: model.setupKindName,
          blockNumber: v.blockNumber,
          audit: v.audit.statusName,
          ...(v.audit.status === AuditStatus.Selected ? { auditDeadline: v.audit.deadline } : {}),
        }),
      );
      return;
    }
    const rows: Array<[string, string]> = [
      ["claim", v.claimId],
      ["state", `${v.statusName}${settled ? (settledOutput ? " (settled: the outputs stand)" : " (void: the provider was slashed)") : " (live)"}`],
      ["deadline", cd.text],
      ["model", `${v.modelName ?? "?"} ${v.claim.modelId} (setup ${model.setupKindName})`],
      ["provider", `${v.claim.provider}, bond ${v.claim.bond}`],
    ];
    if (v.claim.requestId !== 0n) rows.push(["request", String(v.claim.requestId)]);
    if (challenged) rows.push(["challenger", v.challenger]);
    if (v.audit.rateBps !== 0) rows.push(["audit", auditLine(v)]);
    rows.push(["outputs", v.outputs.join(", ")]);
    if (cls !== undefined) rows.push(["class", `${cls} (the largest output)`]);
    for (const [k, val] of rows) console.log(`${k.padEnd(11)}${val}`);
  });

  withChainOptions(
    program
      .command("watch")
      .summary("print protocol events, one line each")
      .description("print protocol events as they happen, one line each (ids shortened, input data as a byte count)")
      .option("--from <block>", "first block (default: the deployment's block)")
      .option("--json", "one JSON object per event with every argument in full"),
  ).action(async (o: ChainOpts & { from?: string; json?: boolean }) => {
    const c = connect(o, { sends: false });
    if (o.from !== undefined && !/^\d+$/.test(o.from)) throw new Error(`--from wants a block number, got ${o.from}`);
    c.publicClient.watchContractEvent({
      address: claimsAddress(c),
      abi: claimManagerAbi,
      fromBlock: BigInt(o.from ?? c.deployment.deployBlock),
      onLogs: (logs) => {
        for (const l of logs) {
          const args = l.args as Record<string, unknown>;
          console.log(o.json ? json({ block: l.blockNumber, event: l.eventName, tx: l.transactionHash, args }, 0) : eventLine(l.eventName, l.blockNumber, args));
        }
      },
    });
    await new Promise(() => undefined);
  });

  program
    .command("verify-input")
    .description("check that input data (hex, the on-chain encoding) matches an inputHash")
    .argument("<inputHash>")
    .argument("<data>")
    .action((inputHash: string, data: Hex) => {
      const input = checkInputData(data, BigInt(inputHash));
      console.log(`ok: ${input.values.length} values of ${input.bits} bits`);
    });
}
