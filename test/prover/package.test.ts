// Model package discovery (prover/package.ts) and the models-root guard (prover/service/worker.ts).
import { expect } from "chai";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelPackage } from "../../prover/package.ts";
import { resolveModelDir } from "../../prover/service/worker.ts";
import { PackageError } from "../../prover/errors.ts";
import { InputError } from "../../sdk/errors.ts";

describe("prover/package", () => {
  it("reads artifact paths from manifest.json", () => {
    const pkg = loadModelPackage("test/fixtures/prover/tiny");
    expect(pkg).to.include({ name: "tiny", route: "circom" });
    expect(pkg.zkeyPath.endsWith("tiny/circuit.zkey")).to.equal(true);
    expect(pkg.wasmPath!.endsWith("tiny/circuit.wasm")).to.equal(true);
    expect(pkg.vkeyPath!.endsWith("tiny/vkey.json")).to.equal(true);
  });

  it("without a manifest, finds circom's output layout by convention", () => {
    const dir = mkdtempSync(join(tmpdir(), "ozk-pkg-"));
    mkdirSync(join(dir, "build", "m_js"), { recursive: true });
    writeFileSync(join(dir, "build", "m.zkey"), "");
    writeFileSync(join(dir, "build", "m_js", "m.wasm"), "");
    const pkg = loadModelPackage(dir);
    expect(pkg.route).to.equal("circom");
    expect(pkg.zkeyPath).to.equal(join(dir, "build", "m.zkey"));
    expect(pkg.wasmPath).to.equal(join(dir, "build", "m_js", "m.wasm"));
    expect(pkg.vkeyPath).to.equal(undefined);
  });

  it("names what is missing", () => {
    const dir = mkdtempSync(join(tmpdir(), "ozk-pkg-"));
    expect(() => loadModelPackage(dir)).to.throw(PackageError, /has no proving key \(\.zkey\)/);
    writeFileSync(join(dir, "c.zkey"), "");
    writeFileSync(join(dir, "manifest.json"), JSON.stringify({ name: "c", route: "circom" }));
    expect(() => loadModelPackage(dir)).to.throw(PackageError, /no witness generator/);
    writeFileSync(join(dir, "manifest.json"), "{");
    expect(() => loadModelPackage(dir)).to.throw(PackageError, /not valid JSON/);
    expect(() => loadModelPackage(join(dir, "nope"))).to.throw(PackageError, /not a directory/);
  });

  it("keeps job model directories inside the models root", () => {
    expect(resolveModelDir("/srv/models", "mnist-mlp")).to.equal("/srv/models/mnist-mlp");
    expect(resolveModelDir("/srv/models", "/srv/models/a/b")).to.equal("/srv/models/a/b");
    expect(() => resolveModelDir("/srv/models", "../etc")).to.throw(InputError, /outside the models root/);
    expect(() => resolveModelDir("/srv/models", "/srv/models-evil")).to.throw(InputError);
  });
});
