// Data-set formats for calibration and fidelity: JSON, .npy (float32, float64, uint8; sibling labels), image folders
// (PNG with every scanline filter, PGM), and the error each bad input gets.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
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

  describe("hostile files", function () {
    /** The chunks of a PNG (type, data), and a PNG made of chunks with correct CRCs unless `badCrc`. */
    const chunksOf = (b: Buffer): { type: string; data: Buffer }[] => {
      const out = [];
      for (let off = 8; off < b.length; ) {
        const len = b.readUInt32BE(off);
        out.push({ type: b.toString("latin1", off + 4, off + 8), data: b.subarray(off + 8, off + 8 + len) });
        off += 12 + len;
      }
      return out;
    };
    const pngOf = (chunks: { type: string; data: Buffer }[], badCrc = false): Buffer =>
      Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        ...chunks.map(({ type, data }) => {
          const len = Buffer.alloc(4);
          len.writeUInt32BE(data.length);
          const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
          const crc = Buffer.alloc(4);
          crc.writeUInt32BE((crc32(td) ^ (badCrc ? 1 : 0)) >>> 0);
          return Buffer.concat([len, td, crc]);
        }),
      ]);
    const good = png(3, 2, 1, Uint8Array.of(1, 2, 3, 4, 5, 6));
    const withIhdr = (f: (ihdr: Buffer) => Buffer): Buffer => pngOf(chunksOf(good).map((c) => (c.type === "IHDR" ? { ...c, data: f(Buffer.from(c.data)) } : c)));
    const sized = (w: number, h: number): Buffer =>
      withIhdr((d) => {
        d.writeUInt32BE(w, 0);
        d.writeUInt32BE(h, 4);
        return d;
      });

    it("PNG: the declared size is checked against the model before inflating, and bounds the inflated data", function () {
      const root = join(dir, "png-sizes");
      mkdirSync(root);
      const p = join(root, "x.png");
      // 100000 x 100000 declared, a few bytes of data: refused from the header
      writeFileSync(p, sized(100000, 100000));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /x\.png: a 100000x100000 grayscale image \(1, 100000, 100000\); the model takes \[1, 2, 3\]/);
      // a 3x2 header over 10 MB of zeros (a decompression bomb)
      writeFileSync(p, pngOf(chunksOf(good).map((c) => (c.type === "IDAT" ? { ...c, data: deflateSync(Buffer.alloc(10 * 2 ** 20)) } : c))));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /x\.png: PNG image data longer than its 3x2 header declares/);
      // compressed data followed by other bytes
      writeFileSync(p, pngOf(chunksOf(good).map((c) => (c.type === "IDAT" ? { ...c, data: Buffer.concat([c.data, Buffer.from("junk")]) } : c))));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /x\.png: 4 bytes after the PNG's compressed image data/);
      writeFileSync(p, Buffer.concat([good, Buffer.from("trailing")]));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /x\.png: 8 bytes after the PNG's end \(IEND\)/);
      writeFileSync(p, good);
      expect(readDataset(root, { inputShape: shape }).inputs).to.have.length(1);
    });

    it("PNG: bad CRCs, a short IHDR and a 0x0 image each get their own error", function () {
      throwsDataset(() => decodePng("c.png", pngOf(chunksOf(good), true)), /c\.png: corrupt PNG \(chunk "IHDR" fails its CRC check\)/);
      throwsDataset(() => decodePng("s.png", withIhdr((d) => d.subarray(0, 5))), /s\.png: corrupt PNG \(image header IHDR of 5 bytes, not 13\)/);
      throwsDataset(() => decodePng("z.png", sized(0, 0)), /z\.png: a 0x0 image \(no pixels\)/);
      throwsDataset(() => decodePng("t.png", good.subarray(0, good.length - 12)), /t\.png: truncated PNG \(no IEND chunk\)/);
    });

    it("image folders: symbolic links (file or folder) and non-regular files are refused, naming them", function () {
      const root = join(dir, "links");
      mkdirSync(join(root, "0"), { recursive: true });
      writeFileSync(join(dir, "outside.png"), good);
      symlinkSync(join(dir, "outside.png"), join(root, "0", "l.png"));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /links\/0\/l\.png: a symbolic link; ozk does not follow links/);
      rmSync(join(root, "0", "l.png"));
      writeFileSync(join(root, "0", "a.png"), good);
      symlinkSync(join(root, "0"), join(root, "1"));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /links\/1: a symbolic link/);
      rmSync(join(root, "1"));
      // a link inside a label folder, even one that is not an image (a loop back up)
      symlinkSync("..", join(root, "0", "up"));
      throwsDataset(() => readDataset(root, { inputShape: shape }), /links\/0\/up: a symbolic link/);
      rmSync(join(root, "0", "up"));
      execFileSync("mkfifo", [join(root, "0", "f.png")]);
      throwsDataset(() => readDataset(root, { inputShape: shape }), /links\/0\/f\.png: not a regular file \(a named pipe \(FIFO\)\)/);
      const fifo = join(dir, "fifo.npy");
      execFileSync("mkfifo", [fifo]);
      throwsDataset(() => readDataset(fifo, { inputShape: shape }), /fifo\.npy: not a regular file \(a named pipe \(FIFO\)\)/);
    });

    it(".npy: a negative or fractional dimension is refused, naming the file", function () {
      const p = join(dir, "dims.npy");
      for (const d of ["-1", "1.5"]) {
        writeFileSync(p, Buffer.from(npy("<f4", [1, 6], new Array(6).fill(0)).toString("latin1").replace("(1, 6)", `(${d}, 6)`), "latin1"));
        throwsDataset(() => readDataset(p, { inputShape: shape }), new RegExp(`dims\\.npy: \\.npy shape \\(${d.replace(".", "\\.")}, 6\\) has dimension ${d.replace(".", "\\.")}, not a non-negative integer`));
      }
    });

    it("labels outside [0, the model's outputs) are refused naming the file and index; --labels replaces a sibling file", function () {
      const p = join(dir, "cls.json");
      writeFileSync(p, JSON.stringify({ inputs: [new Array(6).fill(0), new Array(6).fill(1)], labels: [9, 12] }));
      throwsDataset(() => readDataset(p, { inputShape: shape, classes: 10 }), /cls\.json: label 1 is 12, but the model has 10 outputs \(labels 0 to 9\)/);
      const root = join(dir, "cls-images");
      mkdirSync(join(root, "10"), { recursive: true });
      writeFileSync(join(root, "10", "a.png"), good);
      throwsDataset(() => readDataset(root, { inputShape: shape, classes: 10 }), /cls-images\/10: label 10, but the model has 10 outputs/);
      const sub = join(dir, "explicit");
      mkdirSync(sub);
      writeFileSync(join(sub, "x.npy"), npy("<f4", [1, 6], new Array(6).fill(0)));
      writeFileSync(join(sub, "x.labels.npy"), npy("<i8", [3], [1, 2, 3]));
      writeFileSync(join(sub, "mine.json"), JSON.stringify([4]));
      expect(readDataset(join(sub, "x.npy"), { inputShape: shape, labels: join(sub, "mine.json") }).labels).to.deep.equal([4]);
      writeFileSync(join(sub, "mine.json"), JSON.stringify([40]));
      throwsDataset(() => readDataset(join(sub, "x.npy"), { inputShape: shape, labels: join(sub, "mine.json"), classes: 10 }), /mine\.json: label 0 is 40/);
    });
  });

  it("maps [0, 1] pixel data onto a declared input range (MNIST for a normalizing model)", function () {
    const [x] = mapUnitRange([Float32Array.of(0, 0.5, 1)], [-0.4242, 2.8215]);
    expect(Array.from(x!)).to.deep.equal([-0.4242, 1.19865, 2.8215].map((v) => Math.fround(v)));
  });
});
