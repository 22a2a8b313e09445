// The client and the one write path (sdk/client.ts) on Hardhat's in-process chain: contracts built from
// deployment + ABIs, chain id check, simulate-before-send with decoded custom-error reverts.
import { expect } from "chai";
import { network } from "hardhat";
import {
  createPublicClient,
  createWalletClient,
  custom,
  getAddress,
  toFunctionSelector,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { hardhat } from "viem/chains";
import { createOzkClient, simulateAndWrite } from "../../sdk/client.ts";
import { parseDeployment } from "../../sdk/deployments.ts";
import { ConfigError, FatalError } from "../../sdk/errors.ts";

// Emits LOG1(calldata[0:32]); never reverts.
const EMITTER_INIT = "0x600980600b6000396000f3600035600060" + "00a100";
// Always reverts with the 4-byte custom error Paused().
const paused = toFunctionSelector("Paused()").slice(2);
const REVERTER_INIT = `0x601080600b6000396000f363${paused}60e01b60005260046000fd`;

const emitterAbi = [{ type: "function", name: "ping", stateMutability: "nonpayable", inputs: [{ name: "x", type: "uint256" }], outputs: [] }] as const;
const reverterAbi = [
  { type: "function", name: "doIt", stateMutability: "nonpayable", inputs: [], outputs: [] },
  { type: "error", name: "Paused", inputs: [] },
] as const;

describe("sdk/client", function () {
  this.timeout(120_000);
  let publicClient: PublicClient<Transport, Chain | undefined>;
  let walletClient: WalletClient<Transport, Chain | undefined, Account>;
  let emitter: Address;
  let reverter: Address;

  before(async () => {
    const conn = await network.create();
    const provider = conn.provider as { request(a: { method: string }): Promise<unknown> };
    const account = ((await provider.request({ method: "eth_accounts" })) as Address[])[0]!;
    publicClient = createPublicClient({ chain: hardhat, transport: custom(conn.provider) });
    walletClient = createWalletClient({ chain: hardhat, account, transport: custom(conn.provider) });
    const deploy = async (data: string): Promise<Address> => {
      const hash = await walletClient.sendTransaction({ chain: null, data: data as Hex });
      return (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
    };
    emitter = await deploy(EMITTER_INIT);
    reverter = await deploy(REVERTER_INIT);
  });

  it("builds contract instances for each role and checks the chain id", async () => {
    const deployment = parseDeployment({ chainId: 31337, addresses: { registry: emitter, claims: reverter }, deployBlock: 0, models: { m: "0x" + "11".repeat(32) } });
    const client = createOzkClient({ deployment, publicClient: publicClient as PublicClient, abis: { registry: emitterAbi, claims: reverterAbi } });
    expect(client.contracts.registry.address).to.equal(getAddress(emitter));
    expect(client.contracts.claims.address).to.equal(getAddress(reverter));
    expect(client.modelId("m")).to.equal("0x" + "11".repeat(32));
    await client.checkChain();
    const wrong = createOzkClient({ deployment: { ...deployment, chainId: 1 }, publicClient: publicClient as PublicClient, abis: { registry: emitterAbi, claims: reverterAbi } });
    let err: unknown;
    try {
      await wrong.checkChain();
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).shortMessage).to.equal("RPC is on chain 31337, the deployment is on chain 1");
  });

  it("simulates, sends and waits for the receipt", async () => {
    const { receipt } = await simulateAndWrite(publicClient, walletClient, { address: emitter, abi: emitterAbi, functionName: "ping", args: [7n] });
    expect(receipt.status).to.equal("success");
    expect(receipt.logs).to.have.length(1);
  });

  it("a revert in simulation is a FatalError with the decoded custom error, and nothing is sent", async () => {
    const nonce = await publicClient.getTransactionCount({ address: walletClient.account.address });
    let err: unknown;
    try {
      await simulateAndWrite(publicClient, walletClient, { address: reverter, abi: reverterAbi, functionName: "doIt" });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(FatalError);
    expect((err as FatalError).shortMessage).to.equal("simulation of doIt failed: Paused()");
    expect(await publicClient.getTransactionCount({ address: walletClient.account.address })).to.equal(nonce);
  });
});
