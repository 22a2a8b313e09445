// Model packages a daemon serves or checks, by on-chain modelId: the quantized model for the reference
// engine, the manifest (shapes, bit widths) and the package folder for proving with the fastest backend.
import { resolve } from "node:path";
import type { Hex } from "viem";
import { loadPackage, type LoadedPackage } from "../../circuits/compiler/prove.ts";
import type { Deployment } from "../deployments.ts";
import { ConfigError, FatalError } from "../errors.ts";
import type { SnarkjsProof } from "../protocol.ts";
import type { Logger } from "./logger.ts";
import { runQuantized } from "../../circuits/compiler/engine.ts";
import { selectBackend } from "../../prover/backends/index.ts";
import { loadModelPackage } from "../../prover/package.ts";
import { proveWithPackage } from "../../prover/prove.ts";
import type { ProverBackend } from "../../prover/types.ts";

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

let backend: Promise<ProverBackend> | undefined;

/**
 * Proves a model on a quantized input with the fastest prover backend on this machine (native, else snarkjs;
 * OZK_PROVER_BACKEND picks one), checked against the package's verifying key before it is returned.
 * Refuses when `expected` outputs differ from the engine's: a wrong claim has no proof.
 */
export async function proveOutputs(
  model: ServedModel,
  values: readonly bigint[],
  expected: readonly bigint[],
  logger?: Logger,
): Promise<{ proof: SnarkjsProof; outputs: bigint[]; backend: string; ms: number }> {
  const outputs = runQuantized(model.pkg.quant, values).outputs;
  if (outputs.length !== expected.length || outputs.some((v, i) => v !== expected[i])) {
    throw new FatalError(`${model.name}: the outputs to prove are not what the model computes`);
  }
  backend ??= selectBackend({ logger });
  const result = await proveWithPackage(loadModelPackage(model.pkg.dir), { quantized: values.map(String) }, { backend: await backend });
  return { proof: result.proof as SnarkjsProof, outputs, backend: result.backend, ms: result.timings.totalMs };
}
