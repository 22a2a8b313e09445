// The configuration reference in docs/daemons.md and docs/prover-service.md against the zod schemas: every field
// documented (and nothing else), with its default and environment variable; config errors point at that section;
// every OZK_* variable the code reads for another purpose is in the allow-list of unknown-variable checks.
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ENV_READ_ELSEWHERE, envName } from "../../sdk/node/config.ts";
import { ConfigError } from "../../sdk/errors.ts";
import { loadChallengerConfig, challengerConfigSchema } from "../../challenger/config.ts";
import { loadProviderConfig, providerConfigSchema } from "../../provider/config.ts";
import { loadProverConfig, proverConfigSchema } from "../../prover/service/config.ts";

const ROOT = join(import.meta.dirname, "..", "..");

interface Field {
  /** Dot path; `models[].package` for a field of an array's entries. */
  path: string;
  /** Env name after the prefix: RPC_URL, MODELS__<i>__PACKAGE. */
  env: string;
  /** "required", "unset" or the default's text. */
  default: string;
}

/** Every field of a schema, as the docs list them: leaves, plus arrays of objects and their entries' fields. */
function fields(shape: z.ZodRawShape, path: string[] = [], env = ""): Field[] {
  const out: Field[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    let s: z.ZodTypeAny = schema;
    let def: string | undefined;
    let optional = false;
    for (;;) {
      if (s instanceof z.ZodOptional) [optional, s] = [true, s.unwrap()];
      else if (s instanceof z.ZodDefault) [def, s] = [defaultText(s._def.defaultValue()), s.removeDefault()];
      else if (s instanceof z.ZodEffects) s = s.innerType();
      else break;
    }
    const name = (env ? `${env}__` : "") + envName("", [key]);
    if (s instanceof z.ZodObject) {
      out.push(...fields(s.shape as z.ZodRawShape, [...path, key], name));
      continue;
    }
    out.push({ path: [...path, key].join("."), env: name, default: def ?? (optional ? "unset" : "required") });
    if (s instanceof z.ZodArray && s.element instanceof z.ZodObject) out.push(...fields(s.element.shape as z.ZodRawShape, [...path, `${key}[]`], `${name}__<i>`));
  }
  return out;
}

/** The rows of the tables under `## Configuration` (or one `### sub` of it) of a docs page, by field. */
function documented(page: string, sub?: string): Map<string, string[]> {
  const text = readFileSync(join(ROOT, "docs", page), "utf8");
  let section = text.split(/^## /m).find((s) => s.startsWith("Configuration\n"));
  expect(section, `${page} has a "## Configuration" section`).to.be.a("string");
  if (sub) section = section!.split(/^### /m).find((s) => s.startsWith(`${sub}\n`));
  expect(section, `${page}: ### ${sub}`).to.be.a("string");
  const rows = new Map<string, string[]>();
  for (const line of section!.split("\n")) {
    const m = /^\| `([^`]+)` \|(.*)\|$/.exec(line);
    if (!m) continue;
    expect(rows.has(m[1]!), `${page}: ${m[1]} documented twice`).to.equal(false);
    rows.set(m[1]!, m[2]!.split(" | ").map((c) => c.trim()));
  }
  return rows;
}

/** A default as the docs write it: the value, and an array as JSON (`[]`, not String([]) = ""). */
function defaultText(v: unknown): string {
  return Array.isArray(v) ? JSON.stringify(v) : String(v);
}

/** Checks one documented row (type, default, what it does, env) against the schema's field. */
function checkRow(page: string, field: Field, cells: string[], env: string): void {
  const [, def, what, envCell] = cells;
  expect(cells, `${page}: ${field.path} has type, default, what it does and env`).to.have.length(4);
  expect(what, `${page}: ${field.path}`).to.not.equal("");
  if (field.default === "required") expect(def, `${page}: ${field.path} default`).to.match(/^required/);
  else if (field.default === "unset") expect(def, `${page}: ${field.path} default`).to.equal("—");
  else expect(def, `${page}: ${field.path} default`).to.contain(`\`${field.default}\``);
  expect(envCell, `${page}: ${field.path} env`).to.match(new RegExp(`^\`${env.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\``));
}

describe("config reference in the docs", () => {
  it("docs/daemons.md lists every provider and challenger field, with its default and env variable", () => {
    const both = documented("daemons.md", "Both daemons");
    const daemons = [
      { schema: providerConfigSchema, sub: "Provider only", prefix: "OZK_PROVIDER_" },
      { schema: challengerConfigSchema, sub: "Challenger only", prefix: "OZK_CHALLENGER_" },
    ];
    const all = daemons.map((d) => fields(d.schema.shape as z.ZodRawShape));
    for (const [i, d] of daemons.entries()) {
      const own = documented("daemons.md", d.sub);
      const listed = [...both.keys(), ...own.keys()];
      expect(listed.sort(), `${d.sub}: documented fields vs the schema`).to.deep.equal(all[i]!.map((f) => f.path).sort());
      for (const f of all[i]!) {
        if (both.has(f.path)) checkRow("daemons.md", f, both.get(f.path)!, `…${f.env}`);
        else checkRow("daemons.md", f, own.get(f.path)!, d.prefix + f.env);
      }
    }
    for (const path of both.keys()) expect(all.every((fs) => fs.some((f) => f.path === path)), `${path} is in both schemas`).to.equal(true);
  });

  it("docs/prover-service.md lists every prover service field, with its default and env variable", () => {
    const rows = documented("prover-service.md");
    const all = fields(proverConfigSchema.shape as z.ZodRawShape);
    expect([...rows.keys()].sort()).to.deep.equal(all.map((f) => f.path).sort());
    for (const f of all) checkRow("prover-service.md", f, rows.get(f.path)!, `OZK_PROVER_${f.env}`);
  });

  it("every config error points at a section that exists", () => {
    const slugs = (page: string): string[] =>
      [...readFileSync(join(ROOT, "docs", page), "utf8").matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-"));
    const loaders = [() => loadProviderConfig({ env: {} }), () => loadChallengerConfig({ env: {} }), () => loadProverConfig({ env: { OZK_PROVER_PORT: "x" } })];
    const pages = loaders.map((load) => {
      try {
        load();
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        const [page, anchor] = (err as ConfigError).docsPath!.split("#");
        expect(slugs(page!), (err as ConfigError).docsPath).to.include(anchor);
        expect((err as ConfigError).message).to.contain(`Docs: docs/${page}#${anchor}`);
        return `${page}#${anchor}`;
      }
      throw new Error("expected a ConfigError");
    });
    expect(pages).to.deep.equal(["daemons.md#configuration", "daemons.md#configuration", "prover-service.md#configuration"]);
  });

  it("every OZK_* variable read outside test/ is a config field or in ENV_READ_ELSEWHERE", () => {
    const files = execFileSync("git", ["ls-files", "*.ts", "*.tsx", "*.mjs", "*.js", "*.cjs"], { cwd: ROOT, encoding: "utf8" })
      .split("\n")
      .filter((f) => f && !f.startsWith("test/"));
    const read = new Set<string>();
    for (const f of files) for (const m of readFileSync(join(ROOT, f), "utf8").matchAll(/process\.env(?:\.|\[["'])(OZK_[A-Z0-9_]+)/g)) read.add(m[1]!);
    const fieldEnv = new Set<string>();
    for (const [schema, prefix] of [[providerConfigSchema, "OZK_PROVIDER_"], [challengerConfigSchema, "OZK_CHALLENGER_"], [proverConfigSchema, "OZK_PROVER_"]] as const) {
      for (const f of fields(schema.shape as z.ZodRawShape)) fieldEnv.add(prefix + f.env);
    }
    expect(read.size).to.be.greaterThan(5);
    expect([...read].filter((n) => !ENV_READ_ELSEWHERE.has(n) && !fieldEnv.has(n))).to.deep.equal([]);
  });
  it("the example configs in docs/examples load, with the key from the environment as the docs say", () => {
    const env = { OZK_PROVIDER_PRIVATE_KEY: `0x${"11".repeat(32)}`, OZK_CHALLENGER_PRIVATE_KEY: `0x${"22".repeat(32)}` };
    const provider = loadProviderConfig({ file: join(ROOT, "docs", "examples", "provider.json"), env });
    expect(provider.requestPolicy.minFee > 0n, "the example sets a minFee").to.equal(true);
    const challenger = loadChallengerConfig({ file: join(ROOT, "docs", "examples", "challenger.json"), env });
    expect(challenger.sampling.policy).to.equal("value");
    expect(challenger.sampling.seed, "no public seed in an example").to.equal(undefined);
  });
});
