// Dev tool: deploys ozk (runtime/deploy.ts deployOzk) with Hardhat's first account to a Hardhat network and writes
// deployments/<network>.json. The unsafe-dev tiny fixture model is registered on the local development chain only.
// Usage: npx hardhat run scripts/deploy.ts [--network localhost]   (env: OZK_TOKEN, OZK_TREASURY, OZK_NO_FIXTURE_MODEL=1)
// Any other chain: `ozk deploy --rpc <url> --key <hex> --network <name>`.
import { network } from "hardhat";
import { custom, type Address } from "viem";
import { DEV_CHAIN_ID } from "../sdk/protocol.ts";
import { connectDeployer, deployOzk, saveDeployment } from "../runtime/deploy.ts";
import { tinyFixtureModel } from "./fixtures/tiny-model.ts";

async function main(): Promise<void> {
  const connection = await network.create();
  const [account] = (await connection.provider.request({ method: "eth_accounts" })) as Address[];
  if (!account) throw new Error(`network ${connection.networkName} has no account to deploy with`);
  const deployer = await connectDeployer(custom(connection.provider), account);
  // The fixture model's key is unsafe-dev (public toxic waste): registered on the local development chain only.
  const local = deployer.publicClient.chain.id === DEV_CHAIN_ID;
  const deployment = await deployOzk(deployer, {
    network: connection.networkName,
    token: process.env.OZK_TOKEN as Address | undefined,
    treasury: process.env.OZK_TREASURY as Address | undefined,
    models: process.env.OZK_NO_FIXTURE_MODEL || !local ? [] : [tinyFixtureModel()],
    log: (line) => console.log(line),
  });
  console.log(`wrote ${saveDeployment(deployment)}`);
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
