// Daemon config loading (sdk/node/config.ts) and deployment files (sdk/deployments.ts): every error names its field.
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { loadConfig, envName } from "../../sdk/node/config.ts";
import { loadDeployment } from "../../sdk/node/deployments.ts";
import { parseDeployment, modelIdOf } from "../../sdk/deployments.ts";
import { ConfigError } from "../../sdk/errors.ts";

const schema = z.object({
  rpcUrl: z.string().url(),
  confirmations: z.number().int().min(0).default(2),
  dryRun: z.boolean().default(false),
  models: z.array(z.string()).default([]),
  metrics: z.object({ port: z.number().int().default(9100) }).strict().default({}),
});

function tmpFile(name: string, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "ozk-config-"));
  const p = join(dir, name);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("sdk/node/config", () => {
  it("maps field paths to env names", () => {
    expect(envName("OZK_", ["rpcUrl"])).to.equal("OZK_RPC_URL");
    expect(envName("OZK_", ["metrics", "port"])).to.equal("OZK_METRICS__PORT");
  });

  it("merges file < env < overrides, coercing env strings to the schema's types", () => {
    const file = tmpFile("c.json", { rpcUrl: "http://file:8545", confirmations: 5, models: ["a"] });
    const c = loadConfig(schema, {
      envPrefix: "OZK_",
      file,
      env: { OZK_CONFIRMATIONS: "7", OZK_DRY_RUN: "true", OZK_METRICS__PORT: "9200", OZK_MODELS: "x, y" },
      overrides: { rpcUrl: "http://flag:8545", confirmations: undefined },
    });
    expect(c).to.deep.equal({ rpcUrl: "http://flag:8545", confirmations: 7, dryRun: true, models: ["x", "y"], metrics: { port: 9200 } });
  });

  it("a misspelled key in the file names the field and suggests the right one", () => {
    const file = tmpFile("c.json", { rpcUrl: "http://x:1", confirmatons: 3 });
    const err = configError(() => loadConfig(schema, { envPrefix: "OZK_", file, env: {} }));
    expect(err.issues).to.deep.equal(['confirmatons: unknown field (did you mean "confirmations"?)']);
    expect(err.message).to.contain("confirmatons");
  });

  it("a misspelled nested key is named with its path", () => {
    const file = tmpFile("c.json", { rpcUrl: "http://x:1", metrics: { prot: 1 } });
    const err = configError(() => loadConfig(schema, { envPrefix: "OZK_", file, env: {} }));
    expect(err.issues[0]).to.equal('metrics.prot: unknown field (did you mean "metrics.port"?)');
  });

  it("a missing or wrongly typed value names the field and where to set it", () => {
    const err = configError(() => loadConfig(schema, { envPrefix: "OZK_", env: { OZK_CONFIRMATIONS: "many" } }));
    expect(err.issues.some((i) => i.startsWith("rpcUrl: Required") && i.includes("OZK_RPC_URL"))).to.equal(true, err.issues.join("\n"));
    expect(err.issues.some((i) => i.startsWith("confirmations:") && i.includes("OZK_CONFIRMATIONS"))).to.equal(true, err.issues.join("\n"));
  });

  it("a config file that is not JSON is a ConfigError, not a crash", () => {
    const file = tmpFile("c.json", "{ nope");
    expect(configError(() => loadConfig(schema, { envPrefix: "OZK_", file, env: {} })).shortMessage).to.match(/not valid JSON/);
  });
});

describe("sdk/deployments", () => {
  const good = {
    chainId: 31337,
    addresses: { registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3", game: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" },
    deployBlock: 1,
    models: { "mnist-mlp": "0x" + "ab".repeat(32) },
  };

  it("parses, checksums addresses and accepts `game` as the claims alias", () => {
    const d = parseDeployment(good);
    expect(d.addresses.claims).to.equal("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
    expect(d.deployBlock).to.equal(1);
    expect(modelIdOf(d, "mnist-mlp")).to.equal("0x" + "ab".repeat(32));
  });

  it("names the bad field", () => {
    const err = configError(() => parseDeployment({ ...good, addresses: { ...good.addresses, registry: "0x1234" } }));
    expect(err.issues[0]).to.match(/^addresses\.registry: not a 20-byte hex address/);
    const err2 = configError(() => parseDeployment({ ...good, models: { m: "0x12" } }));
    expect(err2.issues[0]).to.match(/^models\.m: /);
    const err3 = configError(() => parseDeployment({ ...good, addresses: { registry: good.addresses.registry } }));
    expect(err3.issues[0]).to.match(/^addresses: needs `claims`/);
  });

  it("an unknown model lists the known ones", () => {
    expect(() => modelIdOf(parseDeployment(good), "cifar")).to.throw(ConfigError, /unknown model "cifar"/);
  });

  it("loads deployments/<network>.json from a directory and says when it is missing", () => {
    const file = tmpFile("localhost.json", good);
    const dir = join(file, "..");
    expect(loadDeployment("localhost", dir).chainId).to.equal(31337);
    expect(() => loadDeployment("sepolia", dir)).to.throw(ConfigError, /no deployment file/);
  });
});
