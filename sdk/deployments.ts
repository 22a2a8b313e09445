// deployments/<network>.json: the one description of a deployed ozk instance (chain, addresses, deploy
// block, model ids), validated with zod so a typo fails at start with the field named.
import { z } from "zod";
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { ConfigError } from "./errors.ts";

const address = z
  .string()
  .refine((s) => isAddress(s, { strict: false }), { message: "not a 20-byte hex address" })
  .transform((s) => getAddress(s));

const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "not a 0x-prefixed 32-byte hex string")
  .transform((s) => s.toLowerCase() as Hex);

const blockNumber = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+$/, "not a decimal block number").transform(Number),
]);

export const deploymentSchema = z
  .object({
    /** Free-form label, e.g. "localhost", "sepolia". */
    network: z.string().optional(),
    chainId: z.number().int().positive(),
    /** Contract addresses by role. `registry` and a claims contract are required; others are optional. */
    addresses: z
      .object({
        registry: address,
        /** The claim/game contract. `game` is accepted as an alias. */
        claims: address.optional(),
        game: address.optional(),
        token: address.optional(),
        /** BatchManager: Merkle-batched claims and random audits (deployments made before it have none). */
        batchManager: address.optional(),
      })
      .catchall(address)
      .refine((a) => a.claims !== undefined || a.game !== undefined, {
        message: "needs `claims` (or its alias `game`): the claim contract address",
      })
      .transform(({ game, claims, ...rest }) => ({ ...rest, claims: (claims ?? game)! })),
    /** Block of the first contract's deployment: where event cursors start. */
    deployBlock: blockNumber,
    /** Registered models by name, e.g. { "mnist-mlp": "0x…" }. */
    models: z.record(z.string(), bytes32).default({}),
  })
  .passthrough();

export type Deployment = z.output<typeof deploymentSchema>;
export type DeploymentInput = z.input<typeof deploymentSchema>;

/** Validates a parsed deployments JSON value. Throws ConfigError naming every bad field. */
export function parseDeployment(json: unknown, source = "deployment"): Deployment {
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`invalid ${source}: ${issues[0]}`, issues, { docsPath: "sdk.md#deployments" });
  }
  return parsed.data;
}

/** The modelId registered under `name`; throws naming the known models otherwise. */
export function modelIdOf(deployment: Deployment, name: string): Hex {
  const id = deployment.models[name];
  if (id === undefined) {
    const known = Object.keys(deployment.models);
    throw new ConfigError(`unknown model "${name}"`, [
      `models.${name}: not in this deployment (known: ${known.length ? known.join(", ") : "none"})`,
    ], { docsPath: "sdk.md#deployments" });
  }
  return id;
}

/** Address of a contract role ("registry", "claims", "token", ...). */
export function addressOf(deployment: Deployment, role: string): Address {
  const a = (deployment.addresses as Record<string, Address | undefined>)[role];
  if (a === undefined) {
    throw new ConfigError(`deployment has no "${role}" address`, [`addresses.${role}: missing`], {
      docsPath: "sdk.md#deployments",
    });
  }
  return a;
}

/**
 * Throws ConfigError when the chain an RPC reports is not the deployment's: a deployment file from another chain
 * would make every call revert or read nothing. `where` names the RPC and the file in the message.
 */
export function assertChainId(rpcChainId: number, deployment: Deployment, where: { rpc?: string; file?: string } = {}): void {
  if (rpcChainId === deployment.chainId) return;
  const rpc = where.rpc ? `the RPC ${where.rpc}` : "RPC";
  const file = where.file ? ` ${where.file}` : "";
  throw new ConfigError(`${rpc} is on chain ${rpcChainId}, the deployment${file} is on chain ${deployment.chainId}`, [
    `chainId: RPC reports ${rpcChainId}, deployment says ${deployment.chainId}`,
  ]);
}
