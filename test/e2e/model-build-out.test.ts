// `ozk model build --out <dir> --force` played the way a careless (or misled) user runs it: `--out .` in a project
// folder, an --out that holds the source model, a repository, or a folder of notes. None of these may lose a file;
// --force replaces only a folder holding nothing but an earlier build's files.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "../..");
const MODEL = join(ROOT, "test/onnx/fixtures/mlp-argmax.onnx");
const QUICK = ["--force", "--skip-setup", "--skip-fidelity"];

/** `ozk <args>` as `npm run ozk --` runs it: in the repository root, with INIT_CWD the user's folder. */
function ozk(user: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", "cli/ozk.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, INIT_CWD: user, NODE_NO_WARNINGS: "1" },
    });
    let stderr = "";
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.once("exit", (code) => resolve({ code, stderr }));
  });
}

/** A project folder: a repository with notes and the model in a subfolder. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "ozk-build-out-"));
  mkdirSync(join(dir, ".git"));
  writeFileSync(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
  writeFileSync(join(dir, "notes.txt"), "mine");
  mkdirSync(join(dir, "sub"));
  copyFileSync(MODEL, join(dir, "sub", "model.onnx"));
  return dir;
}

function intact(dir: string): void {
  expect(readFileSync(join(dir, ".git", "HEAD"), "utf8")).to.equal("ref: refs/heads/main\n");
  expect(readFileSync(join(dir, "notes.txt"), "utf8")).to.equal("mine");
  expect(existsSync(join(dir, "sub", "model.onnx"))).to.equal(true);
}

describe("ozk model build --out --force: never a folder of the user's", function () {
  this.timeout(300_000);

  it("refuses --out . (the folder it was run from, holding the source model and a .git), naming it; nothing is lost", async () => {
    const dir = project();
    const r = await ozk(dir, ["model", "build", "sub/model.onnx", "--out", ".", ...QUICK]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.contain(`refusing --out ${dir}: it is the folder the command was run from`);
    intact(dir);
    expect(readdirSync(dir).sort()).to.deep.equal([".git", "notes.txt", "sub"]);
  });

  it("refuses, run from elsewhere, a folder holding the source model, one holding a .git, one of notes; replaces a broken package", async () => {
    const dir = project();
    const elsewhere = mkdtempSync(join(tmpdir(), "ozk-build-cwd-"));
    const src = join(dir, "sub", "model.onnx");
    const holds = await ozk(elsewhere, ["model", "build", src, "--out", dir, ...QUICK]);
    expect(holds.code, holds.stderr).to.equal(1);
    expect(holds.stderr).to.contain(`refusing --out ${dir}: it holds the source model`);
    intact(dir);

    const repo = mkdtempSync(join(tmpdir(), "ozk-build-repo-"));
    mkdirSync(join(repo, ".git"));
    const git = await ozk(elsewhere, ["model", "build", src, "--out", repo, ...QUICK]);
    expect(git.code, git.stderr).to.equal(1);
    expect(git.stderr).to.contain(`refusing --out ${repo}: it holds a .git`);
    expect(existsSync(join(repo, ".git"))).to.equal(true);

    const notes = mkdtempSync(join(tmpdir(), "ozk-build-notes-"));
    writeFileSync(join(notes, "manifest.json"), "{}");
    writeFileSync(join(notes, "thesis.tex"), "mine");
    const foreign = await ozk(elsewhere, ["model", "build", src, "--out", notes, ...QUICK]);
    expect(foreign.code, foreign.stderr).to.equal(1);
    expect(foreign.stderr).to.contain(`refusing --out ${notes}: it holds thesis.tex, not files a build writes`);
    expect(readdirSync(notes).sort()).to.deep.equal(["manifest.json", "thesis.tex"]);

    // what --force does replace: a folder holding only an earlier build's files (a broken package)
    const broken = join(dir, "pkg");
    mkdirSync(broken);
    writeFileSync(join(broken, "manifest.json"), "{ not json");
    writeFileSync(join(broken, "circuit.r1cs"), "junk");
    const r = await ozk(dir, ["model", "build", "sub/model.onnx", "--out", "pkg", ...QUICK]);
    expect(r.code, r.stderr).to.equal(0);
    expect((JSON.parse(readFileSync(join(broken, "manifest.json"), "utf8")) as { format: string }).format).to.equal("ozk-model-package");
    intact(dir);
  });
});
