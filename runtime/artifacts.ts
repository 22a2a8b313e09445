// Compiled contracts from Hardhat's artifacts/ folder (`npx hardhat build`): the ABI and bytecode the deploy
// library deploys, and the deployed bytecode whose hash the registry pins for a verifier.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Abi, Hex } from "viem";
import { packageRootUrl } from "../sdk/package-root.ts";

// The package root: the repository, or an installed package (which ships the artifacts it deploys).
const repoRoot = fileURLToPath(packageRootUrl(import.meta.url, 1));
const contractsDir = join(repoRoot, "artifacts", "contracts");

export interface Artifact {
  contractName: string;
  abi: Abi;
  bytecode: Hex;
  deployedBytecode: Hex;
}

function* artifactFiles(dir: string, name: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    if (e.name.endsWith(".sol")) {
      if (existsSync(join(p, `${name}.json`))) yield join(p, `${name}.json`);
    } else {
      yield* artifactFiles(p, name);
    }
  }
}

/**
 * The artifact file of a compiled contract of this repository: `name` is a contract name (found under
 * artifacts/contracts, whichever folder and source file declare it) or "path/File.sol:Name" relative to artifacts/.
 * Undefined when it is not built.
 */
export function findArtifact(name: string): string | undefined {
  if (name.includes(":")) {
    const [file, contract] = name.split(":") as [string, string];
    const path = join(repoRoot, "artifacts", file, `${contract}.json`);
    return existsSync(path) ? path : undefined;
  }
  const found = [...artifactFiles(contractsDir, name)];
  if (found.length > 1) throw new Error(`contract name ${name} is ambiguous (${found.join(", ")}): name it as "path/File.sol:${name}"`);
  return found[0];
}

/** ABI and bytecode of a compiled contract (see findArtifact); throws naming `npx hardhat build` when absent. */
export function loadArtifact(name: string): Artifact {
  const path = findArtifact(name);
  if (!path) throw new Error(`no artifact for ${name} under artifacts/contracts: run \`npx hardhat build\``);
  return JSON.parse(readFileSync(path, "utf8")) as Artifact;
}
