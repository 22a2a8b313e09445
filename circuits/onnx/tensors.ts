// Tensor data: initializers and constant attributes decoded to one numeric representation, external data
// (ONNX's location/offset/length entries) read from files next to the model.
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, normalize, sep } from "node:path";
import { OnnxImportError } from "./errors.ts";
import { DataType } from "./proto.ts";
import type { TensorMsg } from "./proto.ts";

/** A tensor known at import time. Integers (shapes, indices) and floats share one representation. */
export interface Const {
  dims: number[];
  data: Float64Array;
  int: boolean;
}

export const numel = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

/** Whether an ONNX element type holds integers (or booleans) rather than floating-point values. */
export const isIntType = (type: number): boolean => type !== DataType.FLOAT && type !== DataType.DOUBLE && type !== DataType.FLOAT16;

/** Bytes per element of the raw_data encodings read here. */
const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8 };

function copyBytes(raw: Uint8Array): ArrayBuffer {
  // raw_data may be an unaligned view into the file buffer; typed arrays need an aligned copy
  return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
}

/** Decode a TensorProto (raw_data, typed fields or external data under `baseDir`); `what` names it in errors. */
export function decodeTensor(t: TensorMsg, what: string, baseDir: string | undefined): Const {
  const dims = t.dims ?? [];
  const n = numel(dims);
  const type = t.dataType ?? 0;
  let raw = t.rawData;
  if (t.dataLocation === 1) raw = readExternalData(t, what, baseDir);
  const out = new Float64Array(n);
  const int = isIntType(type);
  const fill = (values: ArrayLike<number>) => {
    if (values.length !== n) throw new OnnxImportError(`${what}: holds ${values.length} values, dims [${dims.join(", ")}] need ${n}`);
    out.set(values);
  };
  if (raw && raw.length > 0) {
    const buf = copyBytes(raw);
    const expect = n * ELEMENT_BYTES[type]!;
    if (raw.length !== expect) {
      throw new OnnxImportError(`${what}: raw data is ${raw.length} bytes, dims [${dims.join(", ")}] of type ${type} need ${expect}`);
    }
    switch (type) {
      case DataType.FLOAT: fill(new Float32Array(buf)); break;
      case DataType.DOUBLE: fill(new Float64Array(buf)); break;
      case DataType.INT32: fill(new Int32Array(buf)); break;
      case DataType.INT64: fill(Array.from(new BigInt64Array(buf), Number)); break;
      case DataType.UINT8: case DataType.BOOL: fill(new Uint8Array(buf)); break;
      case DataType.INT8: fill(new Int8Array(buf)); break;
      default: throw new OnnxImportError(`${what}: tensor data type ${type} is not supported (float, double, int8/32/64, uint8, bool)`);
    }
  } else if (n === 0) {
    // empty tensor
  } else if (type === DataType.FLOAT && t.floatData?.length) fill(t.floatData);
  else if (type === DataType.DOUBLE && t.doubleData?.length) fill(t.doubleData);
  else if (type === DataType.INT64 && t.int64Data?.length) fill(t.int64Data);
  else if ([DataType.INT32, DataType.INT8, DataType.UINT8, DataType.BOOL].includes(type as 6) && t.int32Data?.length) fill(t.int32Data);
  else throw new OnnxImportError(`${what}: no data for dims [${dims.join(", ")}] of type ${type}`);
  return { dims: [...dims], data: out, int };
}

/**
 * The file an external-data `location` names, checked: a relative path that stays inside `baseDir` (the model's
 * folder) also once symbolic links are resolved, and a regular file. The location comes from the .onnx file, which
 * may be hostile: nothing outside the model's folder is ever read (or, by the build, copied over).
 */
export function externalDataPath(baseDir: string, location: string, what: string): string {
  if (location.includes("\0") || isAbsolute(location) || normalize(location).split(sep).includes("..")) {
    throw new OnnxImportError(`${what}: external data location ${JSON.stringify(location)} must be a relative path inside the model folder`);
  }
  const file = join(baseDir, location);
  if (!existsSync(file)) throw new OnnxImportError(`${what}: external data file ${file} not found`);
  const base = realpathSync(baseDir);
  const real = realpathSync(file);
  if (real !== base && !real.startsWith(base + sep)) {
    throw new OnnxImportError(`${what}: external data file ${file} is a link to ${real}, outside the model folder ${baseDir}`);
  }
  if (!statSync(real).isFile()) throw new OnnxImportError(`${what}: external data ${file} is not a regular file`);
  return file;
}

/** The bytes of a tensor stored in an external file: a relative path inside `baseDir`, optional offset and length. */
export function readExternalData(t: TensorMsg, what: string, baseDir: string | undefined): Uint8Array {
  const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
  const location = entry("location");
  if (!location) throw new OnnxImportError(`${what}: external data without a location`);
  if (!baseDir) throw new OnnxImportError(`${what}: stored in external file ${location}; import from a file path so it can be found`);
  const file = externalDataPath(baseDir, location, what);
  const size = statSync(file).size;
  const offset = Number(entry("offset") ?? 0);
  const length = entry("length") !== undefined ? Number(entry("length")) : size - offset;
  if (!(offset >= 0 && length >= 0 && offset + length <= size)) {
    throw new OnnxImportError(`${what}: external data range offset ${offset} length ${length} is outside ${file} (${size} bytes)`);
  }
  return readFileSync(file).subarray(offset, offset + length);
}
