// Hardhat 3 configuration: offline solc from the npm package (settings in solc.config.ts), mocha + ethers + TypeChain toolbox.
import { defineConfig } from "hardhat/config";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { SOLC_SETTINGS, SOLC_VERSION, soljsonPath } from "./solc.config.ts";

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: soljsonPath(),
        settings: SOLC_SETTINGS,
      },
    },
  },
  paths: {
    sources: "contracts",
    tests: { mocha: "test", solidity: "contracts/test" },
  },
  test: { mocha: { timeout: 600_000 } },
  networks: {
    localhost: { type: "http", url: process.env.OZK_RPC_URL ?? "http://127.0.0.1:8545" },
  },
});
