// Model package discovery (circuits/compiler/package.ts) and the models-root guard (prover/service/worker.ts).
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModelPackage, loadPackage, readManifest } from "../../circuits/compiler/package.ts";
import { resolveModelDir } from "../../prover/service/worker.ts";
import { PackageError } from "../../prover/errors.ts";
import { InputError } from "../../sdk/errors.ts";

describe("model package discovery", () => {
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

  it("validates a compiler manifest and names each missing or wrong field; twin: the shipped one passes", () => {
    const shipped = JSON.parse(readFileSync("models/mnist-mlp/manifest.json", "utf8")) as Record<string, unknown>;
    expect(readManifest("models/mnist-mlp").name).to.equal("mnist-mlp");
    const dir = mkdtempSync(join(tmpdir(), "ozk-pkg-"));
    const write = (m: Record<string, unknown>): void => writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
    const { inputBits: _bits, ...noBits } = shipped;
    write({ ...noBits, outputLength: "10" });
    expect(() => readManifest(dir)).to.throw(PackageError, /missing or has invalid fields: inputBits, outputLength/);
    expect(() => loadPackage(dir)).to.throw(PackageError, /inputBits/);
    write({ ...shipped, format: "something-else" });
    expect(() => readManifest(dir)).to.throw(PackageError, /not an ozk model package manifest/);
    write(shipped);
    expect(() => loadPackage(dir)).to.throw(PackageError, /has no quantized model \(quant\.json\)/);
  });

  it("keeps job model directories inside the models root", () => {
    expect(resolveModelDir("/srv/models", "mnist-mlp")).to.equal("/srv/models/mnist-mlp");
    expect(resolveModelDir("/srv/models", "/srv/models/a/b")).to.equal("/srv/models/a/b");
    expect(() => resolveModelDir("/srv/models", "../etc")).to.throw(InputError, /outside the models root/);
    expect(() => resolveModelDir("/srv/models", "/srv/models-evil")).to.throw(InputError);
  });
});
