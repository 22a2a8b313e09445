// A package's Solidity verifier: exported from the proving key with snarkjs's template, named after the model, and
// compiled with the repository's own solc settings (solc.config.ts, shared with hardhat.config.ts) so the manifest
// can record the keccak256 of the runtime code that a deployment of it has.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as snarkjs from "snarkjs";
import { keccak256 } from "viem";
import { SOLC_SETTINGS, soljsonPath } from "../../solc.config.ts";

const require = createRequire(import.meta.url);

/** Writes vkey.json and Verifier.sol (contract `name`) into `out`, and a copy of the verifier into `contractsDir`. */
export async function exportVerifier(zkeyPath: string, out: string, name: string, contractsDir: string | null): Promise<void> {
  const vkey = await snarkjs.zKey.exportVerificationKey(zkeyPath);
  writeFileSync(join(out, "vkey.json"), JSON.stringify(vkey, null, 1) + "\n");
  const templates = join(dirname(require.resolve("snarkjs")), "../templates");
  const sol = await snarkjs.zKey.exportSolidityVerifier(zkeyPath, { groth16: readFileSync(join(templates, "verifier_groth16.sol.ejs"), "utf8") });
  const named = sol.replace(/contract Groth16Verifier\b/, `contract ${name}`).replace(/pragma solidity [^;]+;/, "pragma solidity >=0.8.0 <0.9.0;");
  writeFileSync(join(out, "Verifier.sol"), named);
  if (contractsDir) {
    mkdirSync(contractsDir, { recursive: true });
    writeFileSync(join(contractsDir, `${name}.sol`), named);
  }
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
}

export interface CompiledVerifier {
  abi: unknown[];
  /** Creation code (deploy it). */
  bytecode: `0x${string}`;
  /** Runtime code (what a deployment holds). */
  deployedBytecode: `0x${string}`;
}

/** Contract `name` in `source`, compiled exactly as Hardhat compiles the repository's contracts. */
export function compileVerifier(source: string, name: string): CompiledVerifier {
  const solc = (require("solc/wrapper.js") as (soljson: unknown) => { compile(input: string): string })(require(soljsonPath()));
  const file = `contracts/verifiers/${name}.sol`;
  const input = {
    language: "Solidity",
    sources: { [file]: { content: source } },
    settings: { ...SOLC_SETTINGS, outputSelection: { [file]: { [name]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(`solc failed on ${name}: ${errors.map((e) => e.formattedMessage).join("\n")}`);
  const c = output.contracts?.[file]?.[name];
  if (!c) throw new Error(`solc produced no contract ${name}`);
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}`, deployedBytecode: `0x${c.evm.deployedBytecode.object}` };
}

/** keccak256 of the runtime code of contract `name` in `source` (what EXTCODEHASH returns for a deployment). */
export function verifierCodeHash(source: string, name: string): `0x${string}` {
  return keccak256(compileVerifier(source, name).deployedBytecode);
}
