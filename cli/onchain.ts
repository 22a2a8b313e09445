// The commands that act on a deployed ozk instance: `ozk provider|challenger run`, and the one-shot on-chain
// commands: deploy, model register, model show, stake, request, claim, challenge, status, watch.
import type { Command } from "commander";
import { parseEventLogs, zeroAddress, type Address, type Hex, type Log } from "viem";
import { claimManagerAbi } from "../sdk/abi.ts";
import { getModelEntry, requestInference } from "../sdk/claims.ts";
import { checkInputData, encodeInputData } from "../sdk/inputs.ts";
import { hashVector } from "../sdk/hash.ts";
import { chainClients, ensureFreeStake, readClaims, readModelEntry, readRegistry, sendClaims, claimsAddress, type Chainable } from "../runtime/chain.ts";
import { loadDeployment } from "../sdk/node/deployments.ts";
import { createLogger } from "../sdk/node/logger.ts";
import { assertEntryMatches, loadModels, type ServedModel } from "../runtime/models.ts";
import { SETUP_KIND_MEANING, claimStatusName, type ClaimFields } from "../sdk/protocol.ts";
import { runQuantized, quantizeInput } from "../circuits/compiler/engine.ts";
import { readFileSync } from "node:fs";
import { group } from "./group.ts";
import { userPath } from "./model.ts";
import { deployerFor, deployOzk, registerPackage, saveDeployment } from "../runtime/deploy.ts";

interface ChainOpts {
  rpc: string;
  key?: string;
  deployment: string;
}

function withChainOptions(cmd: Command): Command {
  return cmd
    .option("--rpc <url>", "JSON-RPC endpoint", process.env.OZK_RPC_URL ?? "http://127.0.0.1:8545")
    .option("--key <hex>", "private key of the sending account (or OZK_PRIVATE_KEY)")
    .option("--deployment <name|file>", "deployments/<name>.json or a path", process.env.OZK_DEPLOYMENT ?? "localhost");
}

function connect(o: ChainOpts): Chainable {
  const deployment = loadDeployment(o.deployment);
  const key = (o.key ?? process.env.OZK_PRIVATE_KEY ?? `0x${"11".repeat(32)}`) as Hex;
  const clients = chainClients(o.rpc, key, deployment);
  return { ...clients, deployment, logger: createLogger({ name: "ozk", level: process.env.OZK_LOG_LEVEL as never ?? "warn" }) };
}

/** Finds a claim's submitted fields and outputs from its ClaimSubmitted event. */
async function findClaim(c: Chainable, claimId: Hex): Promise<{ claim: ClaimFields; outputs: readonly bigint[] }> {
  const logs = await c.publicClient.getLogs({ address: claimsAddress(c), fromBlock: BigInt(c.deployment.deployBlock) });
  for (const log of parseEventLogs({ abi: claimManagerAbi, logs: logs as Log[], eventName: "ClaimSubmitted" })) {
    if (log.args.claimId.toLowerCase() === claimId.toLowerCase()) return { claim: log.args.claim, outputs: log.args.outputs };
  }
  throw new Error(`no claim ${claimId} on this deployment`);
}

/** The served package of `pkgDir`, after checking that its registry entry is the package's (else a FatalError naming the field). */
async function checkedModel(c: Chainable, pkgDir: string): Promise<ServedModel> {
  const [model] = loadModels([{ package: pkgDir }], c.deployment).values();
  if (!model) throw new Error(`cannot load ${pkgDir}`);
  assertEntryMatches(model, await readModelEntry(c, model.modelId));
  return model;
}

/** A positive integer option, or an error naming the flag. */
function seconds(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} wants a positive number of seconds, got ${v}`);
  return n;
}

const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x), 2);

export function register(program: Command): void {
  for (const role of ["provider", "challenger"] as const) {
    program
      .command(role)
      .description(`the ${role} daemon`)
      .command("run")
      .description(`run the ${role} daemon (config: --config file and OZK_${role.toUpperCase()}_* env)`)
      .option("--config <file>", "JSON config file")
      .action(async (o: { config?: string }) => {
        process.argv = [process.argv[0]!, role, ...(o.config ? ["--config", o.config] : [])];
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
    group(program, "model", "Compile, inspect and evaluate models")
      .command("register")
      .description(
        "deploy a package's verifier, prove the model once (all-zero input) and register it with that example proof and the package's setup kind; " +
          "records its modelId in the deployment file. An unsafe-dev package is refused on any chain but the local development chain (31337).",
      )
      .argument("<package>", "model package folder")
      .option("--challenge-window <s>", "seconds a claim can be challenged (default: 3600 on a local chain, 7 days elsewhere)")
      .option("--proof-window <s>", "seconds to prove once challenged (default: 7200 on a local chain, 1 day elsewhere)")
      .option("--allow-unsafe-setup", "register an unsafe-dev package on a chain other than 31337 (anyone can forge its proofs)")
      .option("--provider-bond <amount>", "minimum provider bond (token units)", String(100n * 10n ** 18n))
      .option("--challenger-bond <amount>", "challenger bond (token units)", String(10n * 10n ** 18n))
      .option("--metadata-uri <uri>", "where the package is published"),
  ).action(async (pkgDir: string, o: ChainOpts & { challengeWindow?: string; proofWindow?: string; allowUnsafeSetup?: boolean; providerBond: string; challengerBond: string; metadataUri?: string }) => {
    const key = (o.key ?? process.env.OZK_PRIVATE_KEY) as Hex | undefined;
    if (!key) throw new Error("model register needs --key or OZK_PRIVATE_KEY");
    const d = loadDeployment(o.deployment);
    const r = await registerPackage(await deployerFor(o.rpc, key), d, userPath(pkgDir), {
      challengeWindow: seconds("--challenge-window", o.challengeWindow),
      proofWindow: seconds("--proof-window", o.proofWindow),
      minProviderBond: BigInt(o.providerBond),
      minChallengerBond: BigInt(o.challengerBond),
      metadataURI: o.metadataUri,
      allowUnsafeSetup: !!o.allowUnsafeSetup,
      log: (line) => console.error(line),
    });
    const file = saveDeployment(d, o.deployment.endsWith(".json") ? o.deployment : undefined);
    console.log(json({ ...r, deployment: file }));
  });

  withChainOptions(
    group(program, "model", "Compile, inspect and evaluate models")
      .command("show")
      .description("a model's registry entry: verifier and its pinned code hash, shapes, windows, bonds, setup kind")
      .argument("<model>", "a model name in the deployment or a modelId"),
  ).action(async (model: string, o: ChainOpts) => {
    const c = connect(o);
    const modelId = (/^0x[0-9a-fA-F]{64}$/.test(model) ? model : c.deployment.models[model]) as Hex | undefined;
    if (!modelId) throw new Error(`unknown model "${model}": give a modelId or one of ${Object.keys(c.deployment.models).join(", ") || "(none registered)"}`);
    const entry = await getModelEntry(c, modelId);
    console.log(json({ ...entry, setupMeaning: SETUP_KIND_MEANING[entry.setupKindName] }));
  });

  withChainOptions(program.command("stake").description("stake bond tokens into the claims contract").argument("<amount>", "token units"))
    .action(async (amount: string, o: ChainOpts) => {
      const c = connect(o);
      const free = await ensureFreeStake(c, BigInt(amount), BigInt(amount));
      console.log(`free stake of ${c.account.address}: ${free}`);
    });

  withChainOptions(
    program
      .command("request")
      .description("pay a fee for an inference of a registered model on an input (published in calldata); prints the request id")
      .argument("<package>", "model package folder, e.g. models/mnist-mlp")
      .argument("<input.json>", "JSON array of floats (quantized here) or {\"quantized\": [...]}")
      .requiredOption("--fee <amount>", "fee paid to the provider whose answer settles (token units)")
      .option("--expires-in <s>", "seconds the request stays open", "3600")
      .option("--provider <address>", "the only provider allowed to answer (default: anyone)")
      .option("--min-bond <amount>", "least bond an answer must lock (default: the model's minimum)")
      .option("--callback-gas <n>", "gas for IOzkConsumer.onInferenceSettled on the sender (0: no callback)", "0"),
  ).action(async (pkgDir: string, inputFile: string, o: ChainOpts & { fee: string; expiresIn: string; provider?: Address; minBond?: string; callbackGas: string }) => {
    const c = connect(o);
    const model = await checkedModel(c, pkgDir);
    const raw = JSON.parse(readFileSync(inputFile, "utf8")) as number[] | { quantized: string[] };
    const values = Array.isArray(raw) ? quantizeInput(model.pkg.quant, raw) : raw.quantized.map(BigInt);
    const now = (await c.publicClient.getBlock()).timestamp;
    const r = await requestInference(c, c.walletClient, {
      modelId: model.modelId,
      values,
      bits: model.pkg.manifest.inputBits,
      fee: BigInt(o.fee),
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
      .description("run a model package on an input and submit the claim (input data published in calldata)")
      .argument("<package>", "model package folder, e.g. models/mnist-mlp")
      .argument("<input.json>", "JSON array of floats (quantized here) or {\"quantized\": [...]}")
      .option("--bond <amount>", "bond to lock (default: the model's minimum)"),
  ).action(async (pkgDir: string, inputFile: string, o: ChainOpts & { bond?: string }) => {
    const c = connect(o);
    const model = await checkedModel(c, pkgDir);
    const raw = JSON.parse(readFileSync(inputFile, "utf8")) as number[] | { quantized: string[] };
    const values = Array.isArray(raw) ? quantizeInput(model.pkg.quant, raw) : raw.quantized.map(BigInt);
    const outputs = runQuantized(model.pkg.quant, values).outputs;
    const bits = model.pkg.manifest.inputBits;
    const bond = o.bond !== undefined ? BigInt(o.bond) : (await readRegistry(c, "claimParams", [model.modelId]))[4];
    await ensureFreeStake(c, bond, bond);
    const hash = await sendClaims(c, "submitClaim", [model.modelId, hashVector(values, bits), outputs, bond, encodeInputData(values, bits), ""]);
    console.log(json({ tx: hash, outputs }));
  });

  withChainOptions(program.command("challenge").description("challenge a claim (locks the model's challenger bond)").argument("<claimId>"))
    .action(async (claimId: Hex, o: ChainOpts) => {
      const c = connect(o);
      const { claim } = await findClaim(c, claimId);
      const [, bond] = await readRegistry(c, "disputeParams", [claim.modelId]);
      await ensureFreeStake(c, bond, bond);
      console.log(json({ tx: await sendClaims(c, "challenge", [claim]) }));
    });

  withChainOptions(program.command("status").description("a claim's status, deadline and outputs").argument("<claimId>"))
    .action(async (claimId: Hex, o: ChainOpts) => {
      const c = connect(o);
      const { claim, outputs } = await findClaim(c, claimId);
      const [status, deadline, challenger] = await readClaims(c, "claimState", [claimId]);
      const now = (await c.publicClient.getBlock()).timestamp;
      const model = await getModelEntry(c, claim.modelId);
      console.log(json({ claimId, status: claimStatusName(status), deadline, secondsLeft: deadline > now ? deadline - now : 0n, challenger, claim, outputs, setupKind: model.setupKindName }));
    });

  withChainOptions(
    program.command("watch").description("print protocol events as they happen").option("--from <block>", "first block", undefined),
  ).action(async (o: ChainOpts & { from?: string }) => {
    const c = connect(o);
    c.publicClient.watchContractEvent({
      address: claimsAddress(c),
      abi: claimManagerAbi,
      fromBlock: BigInt(o.from ?? c.deployment.deployBlock),
      onLogs: (logs) => {
        for (const l of logs) console.log(json({ block: l.blockNumber, event: l.eventName, args: l.args }));
      },
    });
    await new Promise(() => undefined);
  });

  withChainOptions(
    program
      .command("verify-input")
      .description("check that input data (hex, sdk format) matches an inputHash")
      .argument("<inputHash>")
      .argument("<data>"),
  ).action((inputHash: string, data: Hex) => {
    const input = checkInputData(data, BigInt(inputHash));
    console.log(`ok: ${input.values.length} values of ${input.bits} bits`);
  });
}
