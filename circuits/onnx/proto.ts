// ONNX protobuf codec: loads circuits/onnx/onnx.proto with protobufjs and gives typed, plain-object messages.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { packageRootUrl } from "../../sdk/package-root.ts";

/** TensorProto.DataType values ozk reads or writes. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface StringStringEntry {
  key?: string;
  value?: string;
}

export interface TensorMsg {
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  name?: string;
  rawData?: Uint8Array;
  externalData?: StringStringEntry[];
  /** 0 = DEFAULT, 1 = EXTERNAL */
  dataLocation?: number;
}

export interface AttributeMsg {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMsg;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

export interface NodeMsg {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: AttributeMsg[];
}

export interface DimensionMsg {
  dimValue?: number;
  dimParam?: string;
}

export interface ValueInfoMsg {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: DimensionMsg[] } } };
}

export interface GraphMsg {
  node?: NodeMsg[];
  name?: string;
  initializer?: TensorMsg[];
  input?: ValueInfoMsg[];
  output?: ValueInfoMsg[];
  valueInfo?: ValueInfoMsg[];
}

export interface ModelMsg {
  irVersion?: number;
  opsetImport?: { domain?: string; version?: number }[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: GraphMsg;
  metadataProps?: StringStringEntry[];
}

// Read from the sources (the compiled build does not copy it; the package ships circuits/onnx/onnx.proto).
const schemaPath = fileURLToPath(new URL("circuits/onnx/onnx.proto", packageRootUrl(import.meta.url, 2)));
let modelType: protobuf.Type | undefined;

function ModelProto(): protobuf.Type {
  if (!modelType) {
    const root = protobuf.parse(readFileSync(schemaPath, "utf8"), { keepCase: false }).root;
    modelType = root.lookupType("onnx.ModelProto");
  }
  return modelType;
}

/** Decode a serialized ModelProto; throws protobufjs errors on malformed bytes (callers wrap them). */
export function decodeModel(bytes: Uint8Array): ModelMsg {
  const type = ModelProto();
  const message = type.decode(bytes);
  return type.toObject(message, { longs: Number, enums: Number, bytes: Uint8Array as never, defaults: false, arrays: true }) as ModelMsg;
}

/** Serialize a ModelProto given as a plain object. */
export function encodeModel(model: ModelMsg): Uint8Array {
  const type = ModelProto();
  const problem = type.verify(model);
  if (problem) throw new Error(`invalid ONNX model object: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}
