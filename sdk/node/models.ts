// Model packages a daemon serves or checks, by on-chain modelId: the quantized model for the reference
// engine, the manifest (shapes, bit widths) and the package folder for proving.
import { resolve } from "node:path";
import type { Hex } from "viem";
import { loadPackage, type LoadedPackage } from "../../circuits/compiler/prove.ts";
import type { Deployment } from "../deployments.ts";
import { ConfigError } from "../errors.ts";

export interface ServedModel {
  modelId: Hex;
  name: string;
  pkg: LoadedPackage;
}

/**
 * Loads each package folder and finds its modelId: the explicit one, or the deployment's entry under the
 * manifest's name. A package the deployment does not know is a ConfigError naming it.
 */
export function loadModels(entries: ReadonlyArray<{ package: string; modelId?: string }>, deployment: Deployment): Map<Hex, ServedModel> {
  const out = new Map<Hex, ServedModel>();
  entries.forEach((e, i) => {
    const pkg = loadPackage(resolve(e.package));
    const name = pkg.manifest.name;
    const modelId = (e.modelId ?? deployment.models[name])?.toLowerCase() as Hex | undefined;
    if (!modelId) {
      throw new ConfigError(`models[${i}]: the deployment has no model named "${name}"; give its modelId`, [`models.${i}.modelId: missing`]);
    }
    out.set(modelId, { modelId, name, pkg });
  });
  return out;
}
