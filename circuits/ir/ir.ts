// The float model IR: what the ONNX importer produces and the quantizer consumes.
// A model is a straight-line sequence of layers over one tensor (no branches), shapes without the batch axis.
import type { InputPreprocess } from "./preprocess.ts";
import type { GraphModel } from "./graph.ts";

/** Tensor shape without the batch dimension: [features] for vectors, [channels, height, width] for images. */
export type Shape = number[];

/** Dense layer: y = W x + b, W is [out][in] row-major (Gemm transB folded in), b is [out]. */
export interface DenseLayer {
  kind: "dense";
  name: string;
  inFeatures: number;
  outFeatures: number;
  weight: Float32Array; // out * in, row-major
  bias: Float32Array; // out
}

/** 2-D convolution, NCHW, groups = 1. Weight is [outC][inC][kH][kW]. BatchNormalization is folded in. */
export interface ConvLayer {
  kind: "conv";
  name: string;
  inChannels: number;
  outChannels: number;
  kernel: [number, number];
  stride: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  weight: Float32Array;
  bias: Float32Array;
}

export interface ReluLayer {
  kind: "relu";
  name: string;
}

/** Max or average pooling, NCHW, no padding unless pads given (count_include_pad = 0 semantics are not supported). */
export interface PoolLayer {
  kind: "maxpool" | "avgpool";
  name: string;
  kernel: [number, number];
  stride: [number, number];
  pads: [number, number, number, number];
}

/** Flatten [C,H,W] to [C*H*W] in C-order (what ONNX Flatten/Reshape do). */
export interface FlattenLayer {
  kind: "flatten";
  name: string;
}

/** Reduce the final vector to the index of its maximum (first index on ties). */
export interface ArgmaxLayer {
  kind: "argmax";
  name: string;
}

export type Layer = DenseLayer | ConvLayer | ReluLayer | PoolLayer | FlattenLayer | ArgmaxLayer;

export interface FloatModel {
  /** Model name, e.g. "mnist-mlp". */
  name: string;
  /** ONNX graph input name and shape (batch axis removed). */
  inputName: string;
  inputShape: Shape;
  /** ONNX graph output name. */
  outputName: string;
  layers: Layer[];
  /** Applied to the raw input before the first layer (input normalization of the training code); none when absent. */
  preprocess?: InputPreprocess;
  /** The model's final Softmax or LogSoftmax, left out by the importer: `outputName` holds probabilities in the
   *  ONNX file, the layers compute the logits (the same top-1 class). */
  strippedOutputOp?: string;
  /** A model the layer chain cannot hold (residuals, attention, LayerNorm: a transformer): its graph, and `layers` is
   *  empty. The quantizer, the float engine and the fidelity report run the graph instead. */
  graph?: GraphModel;
}

/** Output shape after each layer, or a clear error naming the layer. */
export function layerShapes(model: FloatModel): Shape[] {
  const shapes: Shape[] = [];
  let s: Shape = model.inputShape;
  for (const layer of model.layers) {
    s = nextShape(layer, s);
    shapes.push(s);
  }
  return shapes;
}

function nextShape(layer: Layer, s: Shape): Shape {
  const fail = (why: string): never => {
    throw new Error(`layer ${layer.name} (${layer.kind}): ${why}, input shape [${s.join(", ")}]`);
  };
  switch (layer.kind) {
    case "dense": {
      const n = s.reduce((a, b) => a * b, 1);
      if (s.length !== 1 || n !== layer.inFeatures) fail(`expects a vector of ${layer.inFeatures}`);
      return [layer.outFeatures];
    }
    case "conv": {
      if (s.length !== 3 || s[0] !== layer.inChannels) fail(`expects [${layer.inChannels}, H, W]`);
      const [, h, w] = s as [number, number, number];
      const oh = Math.floor((h + layer.pads[0] + layer.pads[2] - layer.kernel[0]) / layer.stride[0]) + 1;
      const ow = Math.floor((w + layer.pads[1] + layer.pads[3] - layer.kernel[1]) / layer.stride[1]) + 1;
      if (oh < 1 || ow < 1) fail("kernel larger than the padded input");
      return [layer.outChannels, oh, ow];
    }
    case "maxpool":
    case "avgpool": {
      if (s.length !== 3) fail("expects [C, H, W]");
      const [c, h, w] = s as [number, number, number];
      const oh = Math.floor((h + layer.pads[0] + layer.pads[2] - layer.kernel[0]) / layer.stride[0]) + 1;
      const ow = Math.floor((w + layer.pads[1] + layer.pads[3] - layer.kernel[1]) / layer.stride[1]) + 1;
      if (oh < 1 || ow < 1) fail("kernel larger than the padded input");
      return [c, oh, ow];
    }
    case "relu":
      return s;
    case "flatten":
      return [s.reduce((a, b) => a * b, 1)];
    case "argmax":
      if (s.length !== 1) fail("expects a vector");
      return [1];
  }
}
