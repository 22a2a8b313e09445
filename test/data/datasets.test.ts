// Data-set formats for calibration and fidelity: JSON, .npy (float32, float64, uint8; sibling labels), image folders
// (PNG with every scanline filter, PGM), and the error each bad input gets.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { DatasetError, decodePng, mapUnitRange, readDataset } from "../../circuits/data/datasets.ts";
import { npy, pgm, png } from "./formats.ts";

describe("data sets (circuits/data/datasets.ts)", function () {
  const dir = mkdtempSync(join(tmpdir(), "ozk-datasets-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const shape = [1, 2, 3];
  const throwsDataset = (f: () => unknown, re: RegExp): void => {
    try {
      f();
    } catch (err) {
      expect(err).to.be.instanceOf(DatasetError);
      expect((err as Error).message).to.match(re);
      return;
    }
    expect.fail(`expected a DatasetError matching ${re}`);
  };

  describe("JSON", function () {
    it("reads inputs (flat or nested) and labels; labels are optional", function () {
      const p = join(dir, "d.json");
      writeFileSync(p, JSON.stringify({ inputs: [[1, 2, 3, 4, 5, 6], [[[0, 0.5, 1], [-1, -2, 7]]]], labels: [3, 1] }));
      const d = readDataset(p, { inputShape: shape });
      expect(d.inputs.map((x) => Array.from(x))).to.deep.equal([[1, 2, 3, 4, 5, 6], [0, 0.5, 1, -1, -2, 7]]);
      expect(d.labels).to.deep.equal([3, 1]);
      writeFileSync(p, JSON.stringify({ inputs: [[1, 2, 3, 4, 5, 6]] }));
      expect(readDataset(p, { inputShape: shape }).labels).to.equal(undefined);
    });

    it("names the file and the problem: wrong length, a non-number, empty, unequal labels, bad JSON", function () {
      const p = join(dir, "bad.json");
      writeFileSync(p, JSON.stringify({ inputs: [[1, 2, 3]] }));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.json: input 0 has 3 values; the model takes 6 \(\[1, 2, 3\]\)/);
      writeFileSync(p, JSON.stringify({ inputs: [[1, 2, null, 4, 5, 6]] }));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.json: input 0, value 2 is null, not a number/);
      writeFileSync(p, JSON.stringify({ inputs: [] }));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.json: "inputs" is empty/);
      writeFileSync(p, JSON.stringify({ inputs: [[1, 2, 3, 4, 5, 6]], labels: [1, 2] }));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.json: 2 labels for 1 inputs/);
      writeFileSync(p, "{ not json");
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.json: not valid JSON/);
      throwsDataset(() => readDataset(join(dir, "missing.json"), { inputShape: shape }), /missing\.json: no such file or folder/);
    });
  });

  describe(".npy", function () {
    const values = [0, 0.25, 0.5, 1, -1, 2, 3, 4, 5, 6, 7, 8];
    for (const descr of ["<f4", "<f8"]) {
      it(`reads ${descr} arrays of shape [N, ...input shape] with labels from a sibling .labels.npy`, function () {
        const sub = join(dir, `npy${descr.slice(1)}`);
        mkdirSync(sub);
        writeFileSync(join(sub, "x.npy"), npy(descr, [2, 1, 2, 3], values));
        writeFileSync(join(sub, "x.labels.npy"), npy("<i8", [2], [7, 2]));
        const d = readDataset(join(sub, "x.npy"), { inputShape: shape });
        expect(d.inputs.map((x) => Array.from(x))).to.deep.equal([values.slice(0, 6), values.slice(6)]);
        expect(d.labels).to.deep.equal([7, 2]);
      });
    }

    it("reads uint8 arrays as value / 255 (flattened sample shape accepted), labels from --labels", function () {
      const p = join(dir, "u8.npy");
      writeFileSync(p, npy("|u1", [2, 6], [0, 51, 255, 102, 0, 0, 255, 255, 255, 255, 255, 0]));
      writeFileSync(join(dir, "u8-labels.json"), JSON.stringify([1, 0]));
      const d = readDataset(p, { inputShape: shape, labels: join(dir, "u8-labels.json") });
      expect(Array.from(d.inputs[0]!)).to.deep.equal([0, 0.2, 1, 0.4, 0, 0].map((v) => Math.fround(v)));
      expect(d.labels).to.deep.equal([1, 0]);
    });

    it("names the file and the problem: wrong shape, NaN, unsupported dtype, Fortran order, no samples, not .npy", function () {
      const p = join(dir, "bad.npy");
      writeFileSync(p, npy("<f4", [2, 5], values.slice(0, 10)));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.npy: shape \(2, 5\) is not \[N, 1, 2, 3\]/);
      writeFileSync(p, npy("<f4", [1, 6], [0, 1, NaN, 0, 0, 0]));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.npy: sample 0, value 2 is NaN, not a finite number/);
      writeFileSync(p, npy("<i4", [1, 6], [0, 1, 2, 0, 0, 0]));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.npy: dtype <i4 is not a sample type \(float32, float64 or uint8\)/);
      writeFileSync(p, npy("<f8", [1, 6], values.slice(0, 6), true));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.npy: Fortran-order array/);
      writeFileSync(p, npy("<f4", [0, 6], []));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.npy: holds no samples/);
      writeFileSync(p, "not numpy");
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.npy: not a \.npy file/);
      writeFileSync(p, npy("<f4", [1, 6], values.slice(0, 6)));
      writeFileSync(join(dir, "bad.labels.npy"), npy("<i8", [3], [1, 2, 3]));
      throwsDataset(() => readDataset(p, { inputShape: shape }), /bad\.labels\.npy: 3 labels for the 1 samples/);
    });
  });

  describe("image folders", function () {
    it("decodes PNG rows of every filter type, gray and RGB(A), exactly", function () {
      const w = 5;
      const h = 7;
      for (const ch of [1, 3, 4] as const) {
        const px = Uint8Array.from({ length: w * h * ch }, (_, i) => (i * 37 + 11) % 256);
        const img = decodePng("t.png", png(w, h, ch, px));
        expect(img).to.include({ width: w, height: h, channels: ch === 1 ? 1 : 3 });
        // planes: channel c of pixel p
        const planes = ch === 1 ? 1 : 3;
        for (let c = 0; c < planes; c++) for (let p = 0; p < w * h; p++) expect(img.data[c * w * h + p]).to.equal(Math.fround(px[p * ch + c]! / 255));
      }
    });

    it("reads label sub-folders of PNG and PGM images into inputs and labels", function () {
      const root = join(dir, "digits");
      for (const label of ["0", "1", "10"]) mkdirSync(join(root, label), { recursive: true });
      writeFileSync(join(root, "0", "a.png"), png(3, 2, 1, Uint8Array.of(0, 255, 0, 255, 0, 51)));
      writeFileSync(join(root, "1", "b.pgm"), pgm(3, 2, Uint8Array.of(255, 255, 255, 0, 0, 0)));
      writeFileSync(join(root, "10", "c.png"), png(3, 2, 1, Uint8Array.of(1, 2, 3, 4, 5, 6)));
      const d = readDataset(root, { inputShape: shape });
      expect(d.labels).to.deep.equal([0, 1, 10]);
      expect(Array.from(d.inputs[0]!)).to.deep.equal([0, 1, 0, 1, 0, 0.2].map((v) => Math.fround(v)));
      expect(Array.from(d.inputs[1]!)).to.deep.equal([1, 1, 1, 0, 0, 0]);
      // a flat input shape of the same size takes the same images
      expect(readDataset(root, { inputShape: [6] }).inputs).to.have.length(3);
    });

    it("names the file and the problem: wrong size, RGB for a one-channel model, bad folder names, no images", function () {
      const root = join(dir, "bad-images");
      mkdirSync(join(root, "0"), { recursive: true });
      writeFileSync(join(root, "0", "big.png"), png(4, 2, 1, new Uint8Array(8)));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /big\.png: a 4x2 grayscale image \(1, 2, 4\); the model takes \[1, 2, 3\]/);
      writeFileSync(join(root, "0", "big.png"), png(3, 2, 3, new Uint8Array(18)));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /big\.png: a 3x2 RGB image \(3, 2, 3\); the model takes \[1, 2, 3\]/);
      expect(readDataset(root, { inputShape: [3, 2, 3] }).inputs[0]).to.have.length(18);
      mkdirSync(join(root, "cats"));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /cats: a sub-folder's name is its label/);
      const empty = join(dir, "empty");
      mkdirSync(empty);
      throwsDataset(() => readDataset(empty, { inputShape: shape }), /empty: no images/);
      writeFileSync(join(empty, "x.png"), Buffer.from("not a png"));
      throwsDataset(() => readDataset(empty, { inputShape: shape }), /x\.png: not a PNG file/);
    });
  });

  it("maps [0, 1] pixel data onto a declared input range (MNIST for a normalizing model)", function () {
    const [x] = mapUnitRange([Float32Array.of(0, 0.5, 1)], [-0.4242, 2.8215]);
    expect(Array.from(x!)).to.deep.equal([-0.4242, 1.19865, 2.8215].map((v) => Math.fround(v)));
  });
});
