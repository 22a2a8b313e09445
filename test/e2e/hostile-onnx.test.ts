// A hostile .onnx whose external-data location points outside the model's folder ("../../target.txt", an absolute
// path, or a link inside the folder to a file outside it): `ozk model build` must refuse it before copying anything,
// so a downloaded model cannot overwrite (or read) the user's files next to the package it builds.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { externalDataFiles } from "../../circuits/onnx/import.ts";

const ROOT = join(import.meta.dirname, "../..");

/** models/mnist-mlp/model.onnx with its first initializer moved to an external file at `location`. */
function withExternalData(location: string): { onnx: Uint8Array; data: Buffer } {
  const M = protobuf.loadSync(join(ROOT, "circuits/onnx/onnx.proto")).lookupType("onnx.ModelProto");
  const m = M.toObject(M.decode(readFileSync(join(ROOT, "models/mnist-mlp/model.onnx"))), { longs: Number, bytes: Buffer }) as {
    graph: { initializer: Array<{ rawData?: Buffer; dataLocation?: number; externalData?: Array<{ key: string; value: string }> }> };
  };
  const t = m.graph.initializer[0]!;
  const data = t.rawData!;
  delete t.rawData;
  t.dataLocation = 1;
  t.externalData = [{ key: "location", value: location }, { key: "offset", value: "0" }, { key: "length", value: String(data.length) }];
  return { onnx: M.encode(M.fromObject(m)).finish(), data };
}

function ozk(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, INIT_CWD: cwd, NODE_NO_WARNINGS: "1" } });
    let stderr = "";
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => resolve({ code, stderr }));
  });
}

describe("a hostile .onnx's external data cannot reach outside the model's folder", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "ozk-hostile-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("ozk model build refuses a location of ../../target.txt before copying: the user's file two levels up is untouched", async () => {
    mkdirSync(join(dir, "dl", "x", "y"), { recursive: true });
    mkdirSync(join(dir, "home", "pkgs"), { recursive: true });
    const { onnx, data } = withExternalData("../../target.txt");
    writeFileSync(join(dir, "dl", "target.txt"), Buffer.concat([Buffer.from("ATTACKER CONTENT "), data]));
    writeFileSync(join(dir, "home", "target.txt"), "victim's own file");
    writeFileSync(join(dir, "dl", "x", "y", "model.onnx"), onnx);
    const r = await ozk(["model", "build", join(dir, "dl", "x", "y", "model.onnx"), "--out", join(dir, "home", "pkgs", "m"), "--skip-setup"], join(dir, "home"));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/external data location "\.\.\/\.\.\/target\.txt" must be a relative path inside the model folder/);
    expect(readFileSync(join(dir, "home", "target.txt"), "utf8")).to.equal("victim's own file");
    expect(readdirSync(join(dir, "home", "pkgs"))).to.deep.equal([]);
  });

  it("an absolute location, and a link inside the folder to a file outside it, are refused by name", () => {
    const abs = withExternalData(join(dir, "secret.bin"));
    writeFileSync(join(dir, "secret.bin"), abs.data);
    mkdirSync(join(dir, "m1"));
    writeFileSync(join(dir, "m1", "model.onnx"), abs.onnx);
    expect(() => externalDataFiles(join(dir, "m1", "model.onnx"))).to.throw(/must be a relative path inside the model folder/);

    const linked = withExternalData("weights.bin");
    mkdirSync(join(dir, "m2"));
    writeFileSync(join(dir, "m2", "model.onnx"), linked.onnx);
    symlinkSync(join(dir, "secret.bin"), join(dir, "m2", "weights.bin"));
    expect(() => externalDataFiles(join(dir, "m2", "model.onnx"))).to.throw(/is a link to .*secret\.bin, outside the model folder/);

    // the twin: the same file inside the folder is fine
    rmSync(join(dir, "m2", "weights.bin"));
    writeFileSync(join(dir, "m2", "weights.bin"), linked.data);
    expect(externalDataFiles(join(dir, "m2", "model.onnx"))).to.deep.equal(["weights.bin"]);
  });
});
