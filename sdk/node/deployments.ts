// Loads deployments/<network>.json from disk (Node only; the browser passes parsed JSON to parseDeployment).
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { parseDeployment, type Deployment } from "../deployments.ts";

/**
 * `networkOrPath` is a network name ("localhost" -> <dir>/localhost.json) or a path to a .json file.
 * `dir` defaults to ./deployments.
 */
export function loadDeployment(networkOrPath: string, dir = "deployments"): Deployment {
  const file = deploymentFile(networkOrPath, dir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new ConfigError(`no deployment file ${file}`, [`deployment: ${file} not found (deploy first, or pass --deployment <file>)`], {
      docsPath: "sdk.md#deployments",
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`deployment file ${file} is not valid JSON`, [`deployment: ${(err as Error).message}`]);
  }
  return parseDeployment(json, file);
}

/** The file `loadDeployment(networkOrPath, dir)` reads, as an absolute path (for messages about it). */
export function deploymentFile(networkOrPath: string, dir = "deployments"): string {
  return networkOrPath.endsWith(".json")
    ? (isAbsolute(networkOrPath) ? networkOrPath : resolve(networkOrPath))
    : join(resolve(dir), `${networkOrPath}.json`);
}
