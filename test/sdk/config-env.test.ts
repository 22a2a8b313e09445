// Config from the environment for entries of arrays (PREFIX_MODELS__0__PACKAGE), URL fields that need a
// scheme, and the JSON depth bound of the HTTP server: the pieces behind "a config error names its field".
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { configFields, loadConfig } from "../../sdk/node/config.ts";
import { loadProviderConfig } from "../../provider/config.ts";
import { loadChallengerConfig } from "../../challenger/config.ts";
import { jsonDepth } from "../../sdk/node/server.ts";
import { ConfigError } from "../../sdk/errors.ts";

const schema = z.object({
  rpcUrl: configFields.rpcUrl,
  models: configFields.models,
  tags: z.array(z.string()).default([]),
});
const ID = "0x" + "ab".repeat(32);

function file(content: unknown): string {
  const p = join(mkdtempSync(join(tmpdir(), "ozk-config-env-")), "c.json");
  writeFileSync(p, JSON.stringify(content));
  return p;
}

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error("expected a ConfigError");
}

describe("sdk/node/config: env for array entries, URL schemes", () => {
  it("PREFIX_MODELS__<i>__<FIELD> sets one field of one entry, over the file's entry", () => {
    const f = file({ rpcUrl: "http://x:1", models: [{ package: "a" }, { package: "b" }] });
    const c = loadConfig(schema, { envPrefix: "T_", file: f, env: { T_MODELS__1__MODEL_ID: ID, T_MODELS__0__PACKAGE: "a2" } });
    expect(c.models).to.deep.equal([{ package: "a2" }, { package: "b", modelId: ID }]);
  });

  it("entries can come from the env alone, or over the env's whole-array JSON", () => {
    const alone = loadConfig(schema, { envPrefix: "T_", env: { T_RPC_URL: "http://x:1", T_MODELS__0__PACKAGE: "p", T_MODELS__0__MODEL_ID: ID } });
    expect(alone.models).to.deep.equal([{ package: "p", modelId: ID }]);
    const over = loadConfig(schema, { envPrefix: "T_", env: { T_RPC_URL: "http://x:1", T_MODELS: '[{"package":"a"},{"package":"b"}]', T_MODELS__1__PACKAGE: "c" } });
    expect(over.models).to.deep.equal([{ package: "a" }, { package: "c" }]);
  });

  it("a bad entry from the env is named with the variable that set it; a skipped index is named too", () => {
    const bad = issues(() => loadConfig(schema, { envPrefix: "T_", env: { T_RPC_URL: "http://x:1", T_MODELS__0__PACKAGE: "p", T_MODELS__0__MODEL_ID: "0x12" } }));
    expect(bad).to.deep.equal(['models.0.modelId: not a 0x-prefixed 32-byte hex string (from env T_MODELS__0__MODEL_ID="0x12")']);
    const hole = issues(() => loadConfig(schema, { envPrefix: "T_", env: { T_RPC_URL: "http://x:1", T_MODELS__1__PACKAGE: "p" } }));
    expect(hole[0]).to.match(/^models\.0: Expected object, received null \(set env T_MODELS__0__<FIELD>\)/);
  });

  it("an RPC URL needs http:// or https://, and says so", () => {
    for (const rpcUrl of ["localhost:8545", "127.0.0.1:8545", "ws://127.0.0.1:8545", "http://", ""]) {
      const got = issues(() => loadConfig(schema, { envPrefix: "T_", env: {}, overrides: { rpcUrl, models: [{ package: "p" }] } }));
      expect(got[0], rpcUrl).to.equal(`rpcUrl: ${JSON.stringify(rpcUrl)} is not a URL with http:// or https:// in front (e.g. http://127.0.0.1:8545) (given as a command-line option)`);
    }
    expect(loadConfig(schema, { envPrefix: "T_", env: {}, overrides: { rpcUrl: "https://user:pw@rpc.example/v2/key", models: [{ package: "p" }] } }).rpcUrl).to.equal("https://user:pw@rpc.example/v2/key");
  });

  it("a bad value from the env names the variable and shows its value; one from the file names the file", () => {
    const s = z.object({ intervalMs: z.number().int().default(1000), confirmations: z.number().int().default(0), privateKey: configFields.hex32.optional() });
    const f = file({ confirmations: "two" });
    const got = issues(() => loadConfig(s, { envPrefix: "T_", file: f, env: { T_INTERVAL_MS: "abc", T_PRIVATE_KEY: "0x1234" } }));
    expect(got).to.deep.equal([
      'intervalMs: Expected number, received string (from env T_INTERVAL_MS="abc")',
      `confirmations: Expected number, received string (set "confirmations" in ${f} or env T_CONFIRMATIONS)`,
      "privateKey: not a 0x-prefixed 32-byte hex string (from env T_PRIVATE_KEY, value hidden)",
    ]);
    const flag = issues(() => loadConfig(s, { envPrefix: "T_", file: f, env: { T_CONFIRMATIONS: "1" }, overrides: { intervalMs: 1.5 } }));
    expect(flag).to.deep.equal(["intervalMs: Expected integer, received float (given as a command-line option)"]);
  });

  it("a rejected sampling seed is never echoed, from the env or from the file (it is secret like the key)", () => {
    const seed = "sEcReT-seed";
    const base = { OZK_CHALLENGER_RPC_URL: "http://x:1", OZK_CHALLENGER_PRIVATE_KEY: ID, OZK_CHALLENGER_DEPLOYMENT: "localhost" };
    const fromEnv = issues(() => loadChallengerConfig({ env: { ...base, OZK_CHALLENGER_SAMPLING__SEED: seed } }));
    expect(fromEnv).to.have.length(1);
    expect(fromEnv[0]).to.match(/^sampling\.seed: a sampling seed a cheater can guess/).and.contain("(from env OZK_CHALLENGER_SAMPLING__SEED, value hidden)");
    const f = file({ sampling: { seed } });
    const fromFile = issues(() => loadChallengerConfig({ file: f, env: base }));
    expect(fromFile).to.have.length(1);
    for (const line of [...fromEnv, ...fromFile]) expect(line).to.not.contain(seed);
  });

  it("an unknown variable with the prefix is an error suggesting the right name; variables read elsewhere are not", () => {
    const base = { T_RPC_URL: "http://x:1", T_MODELS__0__PACKAGE: "p" };
    const got = issues(() => loadConfig(schema, { envPrefix: "T_", env: { ...base, T_TAGZ: "a", T_MODELS__0__PAKAGE: "q", T_ZZZZZZZZZZZZ: "1" } }));
    expect(got).to.deep.equal([
      "T_MODELS__0__PAKAGE: unknown environment variable (did you mean T_MODELS__0__PACKAGE?)",
      "T_TAGZ: unknown environment variable (did you mean T_TAGS?)",
      "T_ZZZZZZZZZZZZ: unknown environment variable",
    ]);
    const env = { OZK_PROVIDER_RPC_URL: "http://x:1", OZK_PROVIDER_PRIVATE_KEY: ID, OZK_PROVIDER_DEPLOYMENT: "localhost", OZK_PROVIDER_MODELS__0__PACKAGE: "p" };
    const provider = issues(() => loadProviderConfig({ env: { ...env, OZK_PROVIDER_CONFIRMATONS: "3" } }));
    expect(provider).to.deep.equal(["OZK_PROVIDER_CONFIRMATONS: unknown environment variable (did you mean OZK_PROVIDER_CONFIRMATIONS?)"]);
    const ok = loadProviderConfig({ env: { ...env, OZK_PROVIDER_CONFIG: "p.json", OZK_PROVER_BACKEND: "native", OZK_DEBUG: "1", OZK_PTAU: "x.ptau" } });
    expect(ok.models).to.deep.equal([{ package: "p" }]);
  });

  it("an unknown key inside an array entry suggests the right one", () => {
    const f = file({ rpcUrl: "http://x:1", models: [{ package: "a" }, { pakage: "b" }] });
    expect(issues(() => loadConfig(schema, { envPrefix: "T_", file: f, env: {} }))).to.include('models.1.pakage: unknown field (did you mean "models.1.package"?)');
  });

  it("jsonDepth counts nesting outside strings", () => {
    expect(jsonDepth('{"a":[1,{"b":[]}]}')).to.equal(4);
    expect(jsonDepth('{"a":"[[[[{{{{"}')).to.equal(1);
    expect(jsonDepth('["\\"[[[", [[]]]')).to.equal(3);
    expect(jsonDepth("1")).to.equal(0);
  });
});
