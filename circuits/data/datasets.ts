// Data sets for calibration and fidelity in the formats users have: a JSON file, NumPy .npy arrays, or a folder of
// images (PNG or PGM/PPM, labels from sub-folder names). One reader, `readDataset`, checks every sample against the
// model's input shape and says which file holds what problem. Pixel data (uint8 arrays, images) is read as
// value / max (0..255 -> [0, 1]); float arrays are taken as they are.
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { crc32, inflateSync } from "node:zlib";
import type { LabelledSet } from "./mnist.ts";

/** A bad data file or folder: the message names the path and the problem. */
export class DatasetError extends Error {
  override name = "DatasetError";
}

export interface Dataset {
  inputs: Float32Array[];
  /** One integer label per input, when the source has them. */
  labels?: number[];
  /** What was read, for reports: "data/x.npy (1000 samples, labels from data/x.labels.npy)". */
  name: string;
}

export interface ReadDatasetOptions {
  /** The model's input shape (batch axis removed): every sample must hold exactly its number of values. */
  inputShape: readonly number[];
  /** A labels file (.npy or .json: an array of integers) for sources without their own; given, no sibling labels
   *  file of a .npy is read. */
  labels?: string;
  /** The model's number of outputs (classes): every label must lie in [0, classes). */
  classes?: number;
}

/** The most bytes ozk reads from one data or labels file (a .npy of 60,000 MNIST float32 digits is 188 MB). */
export const MAX_DATA_FILE_BYTES = 2 ** 31 - 1;
/** The most bytes of one image file. */
export const MAX_IMAGE_FILE_BYTES = 64 * 2 ** 20;

/**
 * The bytes of a file a user named, after checking it is a regular file (not a FIFO, which would block the read
 * forever, nor a device such as /dev/zero, which never ends) of at most `maxBytes`. `noSymlink`: refuse a symbolic
 * link itself (inside an image folder, where a link could pull in any file of the machine).
 */
export function readUserFile(path: string, maxBytes: number, what = "file", noSymlink = false): Buffer {
  let st;
  try {
    st = noSymlink ? lstatSync(path) : statSync(path);
  } catch (err) {
    throw new DatasetError(`${path}: cannot read this ${what} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (st.isSymbolicLink()) throw new DatasetError(`${path}: a symbolic link; ozk does not follow links inside a data folder (copy the file or folder in)`);
  if (!st.isFile()) throw new DatasetError(`${path}: not a regular file (a ${kindOf(st)}); the ${what} must be a plain file`);
  if (st.size > maxBytes) throw new DatasetError(`${path}: ${st.size} bytes, more than the ${maxBytes} ozk reads for a ${what}`);
  return readFileSync(path);
}

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  return st.isDirectory() ? "folder" : st.isFIFO() ? "named pipe (FIFO)" : st.isCharacterDevice() ? "character device" : st.isBlockDevice() ? "block device" : st.isSocket() ? "socket" : "special file";
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Reads a JSON file, a .npy file or a folder of images (see docs/own-model.md, "Your data"). */
export function readDataset(path: string, o: ReadDatasetOptions): Dataset {
  if (!existsSync(path)) throw new DatasetError(`${path}: no such file or folder`);
  let set: Dataset;
  if (statSync(path).isDirectory()) set = readImageFolder(path, o.inputShape, o.classes);
  else if (/\.npy$/i.test(path)) set = readNpyDataset(path, o.inputShape, { siblings: !o.labels, classes: o.classes });
  else if (/\.json$/i.test(path)) set = readJsonDataset(path, o.inputShape, o.classes);
  else throw new DatasetError(`${path}: not a data set ozk reads (a .json file, a .npy file, or a folder of PNG/PGM images)`);
  if (o.labels) {
    const labels = readLabels(o.labels, o.classes);
    if (labels.length !== set.inputs.length) throw new DatasetError(`${o.labels}: ${labels.length} labels for the ${set.inputs.length} samples of ${path}`);
    set = { ...set, labels, name: `${set.name}, labels from ${o.labels}` };
  }
  return set;
}

/** The data set as the fidelity report takes it: samples without labels get -1 (agreement only, no accuracy). */
export function asLabelledSet(d: Dataset): LabelledSet {
  return { images: d.inputs, labels: d.labels ?? d.inputs.map(() => -1) };
}

/** Pixel data in [0, 1] mapped linearly onto `range` (the MNIST digits presented as a model declaring that range
 *  takes them: for the range ((0 - mean) / std, (1 - mean) / std) this is exactly mean/std normalization). */
export function mapUnitRange(inputs: Float32Array[], range: readonly [number, number] | readonly number[]): Float32Array[] {
  const lo = range[0]!;
  const hi = range[1]!;
  if (lo === 0 && hi === 1) return inputs;
  return inputs.map((x) => x.map((v) => lo + v * (hi - lo)));
}

function checkSample(path: string, what: string, x: ArrayLike<number>, inputShape: readonly number[]): Float32Array {
  const n = size(inputShape);
  if (x.length !== n) throw new DatasetError(`${path}: ${what} has ${x.length} values; the model takes ${n} ([${inputShape.join(", ")}])`);
  const out = Float32Array.from(x);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!)) throw new DatasetError(`${path}: ${what}, value ${i} is ${x[i]}, not a finite number`);
  }
  return out;
}

function checkLabels(path: string, labels: ArrayLike<number | bigint>, classes?: number): number[] {
  const out = Array.from(labels, Number);
  const bad = out.findIndex((l) => !Number.isInteger(l) || l < 0);
  if (bad >= 0) throw new DatasetError(`${path}: label ${bad} is ${labels[bad]}, not a non-negative integer (a class index)`);
  if (classes !== undefined) {
    const over = out.findIndex((l) => l >= classes);
    if (over >= 0) throw new DatasetError(`${path}: label ${over} is ${out[over]}, but the model has ${classes} outputs (labels 0 to ${classes - 1})`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON: {"inputs": number[][], "labels"?: number[]} (each input flattened C-order, or nested as the input shape)

export function readJsonDataset(path: string, inputShape: readonly number[], classes?: number): Dataset {
  const text = readUserFile(path, MAX_DATA_FILE_BYTES, "data file").toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DatasetError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const { inputs, labels } = (parsed ?? {}) as { inputs?: unknown; labels?: unknown };
  if (!Array.isArray(inputs)) throw new DatasetError(`${path}: expected {"inputs": number[][], "labels"?: number[]}, found no "inputs" array`);
  if (inputs.length === 0) throw new DatasetError(`${path}: "inputs" is empty`);
  const xs = inputs.map((x, i) => {
    if (!Array.isArray(x)) throw new DatasetError(`${path}: input ${i} is not an array`);
    const flat = (x as unknown[]).flat(8);
    const bad = flat.findIndex((v) => typeof v !== "number");
    if (bad >= 0) throw new DatasetError(`${path}: input ${i}, value ${bad} is ${JSON.stringify(flat[bad])}, not a number`);
    return checkSample(path, `input ${i}`, flat as number[], inputShape);
  });
  if (labels === undefined) return { inputs: xs, name: `${path} (${xs.length} samples, no labels)` };
  if (!Array.isArray(labels)) throw new DatasetError(`${path}: "labels" is not an array`);
  if (labels.length !== xs.length) throw new DatasetError(`${path}: ${labels.length} labels for ${xs.length} inputs`);
  return { inputs: xs, labels: checkLabels(path, labels as number[], classes), name: `${path} (${xs.length} samples)` };
}

function readLabels(path: string, classes?: number): number[] {
  if (!existsSync(path)) throw new DatasetError(`${path}: no such labels file`);
  const bytes = readUserFile(path, MAX_DATA_FILE_BYTES, "labels file");
  if (/\.npy$/i.test(path)) {
    const a = parseNpy(path, bytes);
    if (a.shape.length !== 1 && !(a.shape.length === 2 && a.shape[1] === 1)) throw new DatasetError(`${path}: labels must be a 1-D array, found shape (${a.shape.join(", ")})`);
    return checkLabels(path, a.data, classes);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new DatasetError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const arr = Array.isArray(parsed) ? parsed : (parsed as { labels?: unknown } | null)?.labels;
  if (!Array.isArray(arr)) throw new DatasetError(`${path}: expected an array of labels (or {"labels": [...]})`);
  return checkLabels(path, arr as number[], classes);
}

// ---------------------------------------------------------------------------------------------------------------
// NumPy .npy (format versions 1-3): little-endian float32, float64 or uint8 (labels: any integer type), C order.

export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Float64Array | Float32Array | Uint8Array | Int32Array | Int16Array | Int8Array | Uint16Array | BigInt64Array | Uint32Array;
}

const DTYPES: Record<string, { bytes: number; read: (b: Buffer, off: number, n: number) => NpyArray["data"] }> = {
  "<f4": { bytes: 4, read: (b, o, n) => new Float32Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + 4 * n)) },
  "<f8": { bytes: 8, read: (b, o, n) => new Float64Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + 8 * n)) },
  "|u1": { bytes: 1, read: (b, o, n) => new Uint8Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + n)) },
  "|i1": { bytes: 1, read: (b, o, n) => new Int8Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + n)) },
  "<i2": { bytes: 2, read: (b, o, n) => new Int16Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + 2 * n)) },
  "<u2": { bytes: 2, read: (b, o, n) => new Uint16Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + 2 * n)) },
  "<i4": { bytes: 4, read: (b, o, n) => new Int32Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + 4 * n)) },
  "<u4": { bytes: 4, read: (b, o, n) => new Uint32Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + 4 * n)) },
  "<i8": { bytes: 8, read: (b, o, n) => new BigInt64Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + 8 * n)) },
};

/** Parses a .npy file's bytes; DatasetError naming `path` on anything but a little-endian, C-order numeric array. */
export function parseNpy(path: string, bytes: Buffer): NpyArray {
  if (bytes.length < 10 || bytes[0] !== 0x93 || bytes.toString("latin1", 1, 6) !== "NUMPY") throw new DatasetError(`${path}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6]!;
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (major < 1 || major > 3 || start + headerLen > bytes.length) throw new DatasetError(`${path}: unsupported or truncated .npy header (version ${major})`);
  const header = bytes.toString("latin1", start, start + headerLen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new DatasetError(`${path}: malformed .npy header ${header.trim()}`);
  if (fortran === "True") throw new DatasetError(`${path}: Fortran-order array; save it C-order (np.ascontiguousarray)`);
  const norm = descr === "<u1" ? "|u1" : descr === "<i1" ? "|i1" : descr;
  const dt = DTYPES[norm];
  if (!dt) throw new DatasetError(`${path}: dtype ${descr} is not supported (float32 '<f4', float64 '<f8' or uint8 '|u1'; labels: an integer type)`);
  const dims = shapeText.split(",").map((s) => s.trim()).filter(Boolean);
  const badDim = dims.find((d) => !/^\d+L?$/.test(d));
  if (badDim !== undefined) throw new DatasetError(`${path}: .npy shape (${shapeText.trim()}) has dimension ${badDim}, not a non-negative integer`);
  const shape = dims.map((d) => Number(d.replace(/L$/, "")));
  const n = size(shape);
  const offset = start + headerLen;
  if (bytes.length - offset < n * dt.bytes) throw new DatasetError(`${path}: holds ${bytes.length - offset} data bytes, shape (${shape.join(", ")}) of ${descr} needs ${n * dt.bytes}`);
  return { dtype: norm, shape, data: dt.read(bytes, offset, n) };
}

/** Sibling label files tried for `x.npy`: x.labels.npy, x_labels.npy, then labels.npy or y.npy beside it. */
function siblingLabels(path: string): string | undefined {
  const dir = dirname(path);
  const stem = basename(path).replace(/\.npy$/i, "");
  const names = [`${stem}.labels.npy`, `${stem}_labels.npy`, "labels.npy", ...(stem === "x" || stem === "X" ? ["y.npy", "Y.npy"] : [])];
  return names.map((f) => join(dir, f)).find((f) => f !== path && existsSync(f));
}

export function readNpyDataset(path: string, inputShape: readonly number[], o: { siblings?: boolean; classes?: number } = {}): Dataset {
  const a = parseNpy(path, readUserFile(path, MAX_DATA_FILE_BYTES, "data file"));
  if (!["<f4", "<f8", "|u1"].includes(a.dtype)) throw new DatasetError(`${path}: dtype ${a.dtype} is not a sample type (float32, float64 or uint8)`);
  const per = size(inputShape);
  const rest = a.shape.slice(1);
  if (a.shape.length < 2 || size(rest) !== per) {
    throw new DatasetError(`${path}: shape (${a.shape.join(", ")}) is not [N, ${inputShape.join(", ")}] (N samples of the model's input, ${per} values each)`);
  }
  const count = a.shape[0]!;
  if (count === 0) throw new DatasetError(`${path}: holds no samples (shape (${a.shape.join(", ")}))`);
  const scale = a.dtype === "|u1" ? 1 / 255 : 1;
  const inputs: Float32Array[] = [];
  for (let s = 0; s < count; s++) {
    const x = new Float32Array(per);
    for (let i = 0; i < per; i++) x[i] = Number(a.data[s * per + i]!) * scale;
    for (let i = 0; i < per; i++) if (!Number.isFinite(x[i]!)) throw new DatasetError(`${path}: sample ${s}, value ${i} is ${x[i]}, not a finite number`);
    inputs.push(x);
  }
  const lp = o.siblings === false ? undefined : siblingLabels(path);
  if (!lp) return { inputs, name: `${path} (${count} samples, ${a.dtype === "|u1" ? "uint8 / 255" : a.dtype === "<f4" ? "float32" : "float64"}, no labels)` };
  const labels = readLabels(lp, o.classes);
  if (labels.length !== count) throw new DatasetError(`${lp}: ${labels.length} labels for the ${count} samples of ${path}`);
  return { inputs, labels, name: `${path} (${count} samples, labels from ${basename(lp)})` };
}

// ---------------------------------------------------------------------------------------------------------------
// Image folders: PNG (8/16-bit gray, gray+alpha, RGB, RGBA, palette; not interlaced) and PGM/PPM (P2, P5, P6).
// Labels come from sub-folder names (0/, 1/, ...); images directly in the folder are unlabelled.

/** A decoded image: channels x height x width, values in [0, 1]. */
export interface Image {
  width: number;
  height: number;
  channels: 1 | 3;
  /** C-order [channels][height][width]. */
  data: Float32Array;
}

const IMAGE_EXT = /\.(png|pgm|ppm|pnm)$/i;

export function readImageFolder(dir: string, inputShape: readonly number[], classes?: number): Dataset {
  // lstat, not stat: a symbolic link (to a file or a folder) is refused, and so is anything not a plain file
  const entries = readdirSync(dir).sort();
  const linked = entries.find((e) => lstatSync(join(dir, e)).isSymbolicLink());
  if (linked !== undefined) throw new DatasetError(`${join(dir, linked)}: a symbolic link; ozk does not follow links inside a data folder (copy the file or folder in)`);
  const subdirs = entries.filter((e) => lstatSync(join(dir, e)).isDirectory());
  const files = entries.filter((e) => IMAGE_EXT.test(e));
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  if (subdirs.length > 0) {
    const bad = subdirs.find((d) => !/^\d+$/.test(d));
    if (bad !== undefined) throw new DatasetError(`${join(dir, bad)}: a sub-folder's name is its label: 0, 1, 2, ... (not "${bad}")`);
    if (files.length > 0) throw new DatasetError(`${dir}: holds both label sub-folders and images (${files[0]}): put every image in the folder of its label`);
    for (const d of subdirs.sort((a, b) => Number(a) - Number(b))) {
      if (classes !== undefined && Number(d) >= classes) throw new DatasetError(`${join(dir, d)}: label ${d}, but the model has ${classes} outputs (labels 0 to ${classes - 1})`);
      const inner = readdirSync(join(dir, d)).sort();
      const innerLink = inner.find((e) => lstatSync(join(dir, d, e)).isSymbolicLink());
      if (innerLink !== undefined) throw new DatasetError(`${join(dir, d, innerLink)}: a symbolic link; ozk does not follow links inside a data folder (copy the file or folder in)`);
      for (const f of inner.filter((e) => IMAGE_EXT.test(e))) {
        inputs.push(imageInput(join(dir, d, f), inputShape));
        labels.push(Number(d));
      }
    }
  } else {
    for (const f of files) inputs.push(imageInput(join(dir, f), inputShape));
  }
  if (inputs.length === 0) throw new DatasetError(`${dir}: no images (.png, .pgm, .ppm) in it${subdirs.length ? " or its label sub-folders" : ""}`);
  return subdirs.length
    ? { inputs, labels, name: `${dir} (${inputs.length} images, labels from ${subdirs.length} sub-folders)` }
    : { inputs, name: `${dir} (${inputs.length} images, no labels)` };
}

/** The [channels, height, width] an input shape takes as an image, or undefined for a flat shape. */
function imageShape(inputShape: readonly number[]): readonly number[] | undefined {
  return inputShape.length === 3 ? inputShape : inputShape.length === 2 ? [1, ...inputShape] : undefined;
}

function sizeError(path: string, width: number, height: number, channels: number, inputShape: readonly number[]): DatasetError {
  const kind = channels === 1 ? "grayscale" : "RGB";
  return new DatasetError(`${path}: a ${width}x${height} ${kind} image (${channels}, ${height}, ${width}); the model takes [${inputShape.join(", ")}] (resize or convert your images: ozk does not)`);
}

/** An image file as the model's input: its channels and size must be the input shape's ([C, H, W], or [H, W] /
 *  [H*W] for one channel); no resizing, no colour conversion. The size is checked from the header, before decoding. */
function imageInput(path: string, inputShape: readonly number[]): Float32Array {
  const shape = imageShape(inputShape);
  const img = readImage(path, (width, height) => {
    const fits = shape ? shape[1] === height && shape[2] === width : width * height <= size(inputShape);
    if (!fits) throw sizeError(path, width, height, shape?.[0] ?? 1, inputShape);
  }, true);
  const fits = shape ? shape[0] === img.channels && shape[1] === img.height && shape[2] === img.width : size(inputShape) === img.channels * img.height * img.width;
  if (!fits) throw sizeError(path, img.width, img.height, img.channels, inputShape);
  return img.data;
}

/** Called with an image's declared size before its pixels are decoded; throws to refuse it. */
export type ImageSizeCheck = (width: number, height: number) => void;

/** The most pixels of one image when no model input shape bounds it. */
export const MAX_IMAGE_PIXELS = 2 ** 26;

export function readImage(path: string, check?: ImageSizeCheck, inFolder = false): Image {
  const bytes = readUserFile(path, MAX_IMAGE_FILE_BYTES, "image", inFolder);
  if (/\.png$/i.test(path)) return decodePng(path, bytes, check);
  return decodePnm(path, bytes, check);
}

function checkImageSize(path: string, width: number, height: number, check?: ImageSizeCheck): void {
  if (width === 0 || height === 0) throw new DatasetError(`${path}: a ${width}x${height} image (no pixels)`);
  check?.(width, height);
  if (width * height > MAX_IMAGE_PIXELS) throw new DatasetError(`${path}: a ${width}x${height} image, more than the ${MAX_IMAGE_PIXELS} pixels ozk decodes`);
}

/** PNG decoding with node:zlib: IHDR, PLTE, IDAT chunks, the five scanline filters; alpha is dropped. */
export function decodePng(path: string, bytes: Buffer, check?: ImageSizeCheck): Image {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || sig.some((b, i) => bytes[i] !== b)) throw new DatasetError(`${path}: not a PNG file (bad signature)`);
  let off = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let color = -1;
  let ended = false;
  let palette: Buffer | undefined;
  const idat: Buffer[] = [];
  while (off + 8 <= bytes.length) {
    const len = bytes.readUInt32BE(off);
    const type = bytes.toString("latin1", off + 4, off + 8);
    const body = bytes.subarray(off + 8, off + 8 + len);
    if (body.length !== len || off + 12 + len > bytes.length) throw new DatasetError(`${path}: truncated PNG (chunk ${JSON.stringify(type)})`);
    if (bytes.readUInt32BE(off + 8 + len) !== crc32(bytes.subarray(off + 4, off + 8 + len)) >>> 0) {
      throw new DatasetError(`${path}: corrupt PNG (chunk ${JSON.stringify(type)} fails its CRC check)`);
    }
    if (color < 0 && type !== "IHDR") throw new DatasetError(`${path}: PNG whose first chunk is ${JSON.stringify(type)}, not the image header (IHDR)`);
    if (type === "IHDR") {
      if (color >= 0) throw new DatasetError(`${path}: PNG with two image headers (IHDR)`);
      if (len !== 13) throw new DatasetError(`${path}: corrupt PNG (image header IHDR of ${len} bytes, not 13)`);
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      depth = body[8]!;
      color = body[9]!;
      if (body[12] !== 0) throw new DatasetError(`${path}: interlaced PNG is not supported; save it without interlacing`);
    } else if (type === "PLTE") palette = Buffer.from(body);
    else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") {
      ended = true;
      off += 12 + len;
      break;
    }
    off += 12 + len;
  }
  if (color < 0) throw new DatasetError(`${path}: PNG without an image header (IHDR)`);
  if (!ended) throw new DatasetError(`${path}: truncated PNG (no IEND chunk)`);
  if (off !== bytes.length) throw new DatasetError(`${path}: ${bytes.length - off} bytes after the PNG's end (IEND)`);
  checkImageSize(path, width, height, check);
  const samples = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[color];
  if (!samples) throw new DatasetError(`${path}: PNG colour type ${color} is not a known type`);
  if (!(depth === 8 || depth === 16 || (color === 3 && depth === 8))) {
    throw new DatasetError(`${path}: ${depth}-bit PNG is not supported (8- or 16-bit samples; save it as 8-bit)`);
  }
  if (color === 3 && !palette) throw new DatasetError(`${path}: palette PNG without a palette (PLTE)`);
  // the declared size bounds the image data: inflate no more than it needs, and refuse more
  const need = height * ((width * samples * depth) / 8 + 1);
  let raw: Buffer;
  try {
    const data = Buffer.concat(idat);
    const r = inflateSync(data, { maxOutputLength: need, info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    raw = r.buffer;
    if (r.engine.bytesWritten !== data.length) throw new DatasetError(`${path}: ${data.length - r.engine.bytesWritten} bytes after the PNG's compressed image data`);
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw new DatasetError(`${path}: PNG image data longer than its ${width}x${height} header declares`);
    throw new DatasetError(`${path}: corrupt PNG image data (${(err as Error).message})`);
  }
  const bpp = (samples * depth) / 8;
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) throw new DatasetError(`${path}: truncated PNG image data`);
  const px = Buffer.alloc(height * stride);
  for (let r = 0; r < height; r++) {
    const filter = raw[r * (stride + 1)]!;
    const line = raw.subarray(r * (stride + 1) + 1, (r + 1) * (stride + 1));
    const cur = px.subarray(r * stride, (r + 1) * stride);
    const prev = r > 0 ? px.subarray((r - 1) * stride, r * stride) : Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let v = line[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new DatasetError(`${path}: bad PNG filter type ${filter} on row ${r}`);
      cur[i] = v & 0xff;
    }
  }
  const sample = (i: number): number => (depth === 16 ? px.readUInt16BE(2 * i) / 65535 : px[i]! / 255);
  const channels: 1 | 3 = color === 2 || color === 6 || color === 3 ? 3 : 1;
  const data = new Float32Array(channels * width * height);
  const plane = width * height;
  for (let p = 0; p < plane; p++) {
    if (color === 3) {
      const k = px[p]!;
      for (let ch = 0; ch < 3; ch++) data[ch * plane + p] = palette![3 * k + ch]! / 255;
    } else for (let ch = 0; ch < channels; ch++) data[ch * plane + p] = sample(p * samples + ch);
  }
  // a palette image whose colours are all grays is a grayscale image
  if (color === 3 && data.subarray(0, plane).every((v, p) => v === data[plane + p] && v === data[2 * plane + p])) {
    return { width, height, channels: 1, data: data.slice(0, plane) };
  }
  return { width, height, channels, data };
}

/** Netpbm: P2 (ASCII gray), P5 (binary gray), P6 (binary RGB); 8- or 16-bit (maxval > 255: big-endian pairs). */
export function decodePnm(path: string, bytes: Buffer, check?: ImageSizeCheck): Image {
  const magic = bytes.toString("latin1", 0, 2);
  if (!["P2", "P5", "P6"].includes(magic)) throw new DatasetError(`${path}: not a PGM/PPM file (magic ${JSON.stringify(magic)}; P2, P5 or P6)`);
  // header: magic, width, height, maxval, separated by whitespace and # comments, then one whitespace byte
  const fields: number[] = [];
  let off = 2;
  while (fields.length < 3) {
    while (off < bytes.length && /\s/.test(String.fromCharCode(bytes[off]!))) off++;
    if (bytes[off] === 0x23) {
      while (off < bytes.length && bytes[off] !== 0x0a) off++;
      continue;
    }
    const start = off;
    while (off < bytes.length && /\d/.test(String.fromCharCode(bytes[off]!))) off++;
    if (start === off) throw new DatasetError(`${path}: malformed ${magic} header`);
    fields.push(Number(bytes.toString("latin1", start, off)));
  }
  off++;
  const [width, height, maxval] = fields as [number, number, number];
  if (!(maxval > 0 && maxval < 65536)) throw new DatasetError(`${path}: bad ${magic} header (${width}x${height}, maxval ${maxval})`);
  checkImageSize(path, width, height, check);
  const channels: 1 | 3 = magic === "P6" ? 3 : 1;
  const n = width * height * channels;
  let values: number[];
  if (magic === "P2") {
    values = bytes.toString("latin1", off).split(/\s+/).filter(Boolean).map(Number);
  } else {
    const wide = maxval > 255;
    if (bytes.length - off < n * (wide ? 2 : 1)) throw new DatasetError(`${path}: truncated ${magic} data (${width}x${height})`);
    values = Array.from({ length: n }, (_, i) => (wide ? bytes.readUInt16BE(off + 2 * i) : bytes[off + i]!));
  }
  if (values.length < n || values.slice(0, n).some((v) => !(v >= 0 && v <= maxval))) throw new DatasetError(`${path}: ${magic} data does not hold ${n} values in [0, ${maxval}]`);
  const data = new Float32Array(n);
  const plane = width * height;
  // netpbm interleaves channels per pixel; the model takes planes
  for (let p = 0; p < plane; p++) for (let ch = 0; ch < channels; ch++) data[ch * plane + p] = values[p * channels + ch]! / maxval;
  return { width, height, channels, data };
}
