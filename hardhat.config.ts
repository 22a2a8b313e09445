// Hardhat 3 configuration: offline solc from the npm package, mocha + ethers + TypeChain toolbox.
import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";

const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    profiles: {
      default: {
        version: "0.8.30",
        path: require.resolve("solc/soljson.js"),
        settings: {
          optimizer: { enabled: true, runs: 10_000 },
          viaIR: false,
          evmVersion: "cancun",
          metadata: { bytecodeHash: "none" },
        },
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
