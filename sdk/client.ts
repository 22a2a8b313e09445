// The typed ozk client: a deployment plus viem clients, with contract instances built from ABIs that plug
// in from the generated sdk/abi.ts (scripts/gen-abi.ts), and the one write path daemons use: simulate, send,
// wait for confirmations.
import {
  BaseError,
  ContractFunctionRevertedError,
  getContract,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type GetContractReturnType,
  type Hash,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { addressOf, assertChainId, modelIdOf, type Deployment } from "./deployments.ts";
import { FatalError, RetryableError, isRetryable } from "./errors.ts";

/** ABIs by deployment role; `registry` and `claims` are what every client needs. */
export interface OzkAbis {
  registry: Abi;
  claims: Abi;
  token?: Abi;
  [role: string]: Abi | undefined;
}

type Clients = { public: PublicClient; wallet?: WalletClient };
export type OzkContracts<abis extends OzkAbis> = {
  [role in keyof abis]: abis[role] extends Abi ? GetContractReturnType<abis[role], Clients> : never;
};

export interface OzkClientOptions<abis extends OzkAbis> {
  deployment: Deployment;
  publicClient: PublicClient;
  walletClient?: WalletClient;
  abis: abis;
}

export interface OzkClient<abis extends OzkAbis> {
  deployment: Deployment;
  publicClient: PublicClient;
  walletClient?: WalletClient;
  contracts: OzkContracts<abis>;
  /** modelId registered under a model name in the deployment. */
  modelId(name: string): `0x${string}`;
  /** Throws ConfigError when the RPC's chain id is not the deployment's. */
  checkChain(): Promise<void>;
}

/** Builds contract instances for every role that has both an ABI and an address in the deployment. */
export function createOzkClient<const abis extends OzkAbis>(options: OzkClientOptions<abis>): OzkClient<abis> {
  const { deployment, publicClient, walletClient, abis } = options;
  const client = walletClient ? { public: publicClient, wallet: walletClient } : { public: publicClient };
  const contracts = {} as Record<string, unknown>;
  for (const [role, abi] of Object.entries(abis)) {
    if (abi === undefined) continue;
    contracts[role] = getContract({ abi, address: addressOf(deployment, role), client });
  }
  return {
    deployment,
    publicClient,
    walletClient,
    contracts: contracts as OzkContracts<abis>,
    modelId: (name) => modelIdOf(deployment, name),
    async checkChain() {
      assertChainId(await publicClient.getChainId(), deployment);
    },
  };
}

export interface WriteParams<abi extends Abi, fn extends ContractFunctionName<abi, "nonpayable" | "payable">> {
  address: Address;
  abi: abi;
  functionName: fn;
  args?: ContractFunctionArgs<abi, "nonpayable" | "payable", fn>;
  value?: bigint;
  /** Gas limit; when absent the node estimates it. Settlements that run a consumer callback set it: a node's
   *  estimate may refuse a transaction in which the callback runs out of its own gas, although the contract
   *  tolerates that. */
  gas?: bigint;
  /** Blocks on top of the inclusion block to wait for (default 1: the receipt itself). */
  confirmations?: number;
}

/**
 * Simulate, then send, then wait for the receipt. A revert in simulation is a FatalError carrying the
 * decoded reason (custom error name and args) — nothing is sent. A mined transaction that reverted is
 * also fatal. Transport failures are RetryableError so callers wrap this in withRetry.
 */
export async function simulateAndWrite<
  const abi extends Abi,
  fn extends ContractFunctionName<abi, "nonpayable" | "payable">,
>(
  publicClient: PublicClient<Transport, Chain | undefined>,
  walletClient: WalletClient<Transport, Chain | undefined, Account>,
  params: WriteParams<abi, fn>,
): Promise<{ hash: Hash; receipt: TransactionReceipt }> {
  const { confirmations = 1, ...call } = params;
  let request;
  try {
    // The cast keeps viem's deep generics from exploding; the public signature above is fully typed.
    ({ request } = await publicClient.simulateContract({ ...(call as object), account: walletClient.account } as never));
  } catch (err) {
    throw toOzkError(err, `simulation of ${String(params.functionName)} failed`);
  }
  let hash: Hash;
  try {
    hash = await walletClient.writeContract(request as never);
  } catch (err) {
    throw toOzkError(err, `sending ${String(params.functionName)} failed`);
  }
  const receipt = await publicClient.waitForTransactionReceipt({ hash, confirmations });
  if (receipt.status !== "success") {
    throw new FatalError(`${String(params.functionName)} reverted on chain`, { meta: { hash } });
  }
  return { hash, receipt };
}

/** The revert reason of a viem contract error: custom error name (with args) or the reason string. */
export function revertReason(err: unknown): string | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!(reverted instanceof ContractFunctionRevertedError)) return undefined;
  if (reverted.data?.errorName) {
    const args = (reverted.data.args ?? []).map((a) => String(a)).join(", ");
    return `${reverted.data.errorName}(${args})`;
  }
  return reverted.reason ?? reverted.shortMessage;
}

function toOzkError(err: unknown, what: string): Error {
  const reason = revertReason(err);
  if (reason !== undefined) return new FatalError(`${what}: ${reason}`, { cause: err, meta: { reason } });
  const short = err instanceof BaseError ? err.shortMessage : err instanceof Error ? err.message : String(err);
  return isRetryable(err)
    ? new RetryableError(`${what}: ${short}`, { cause: err })
    : new FatalError(`${what}: ${short}`, { cause: err });
}
