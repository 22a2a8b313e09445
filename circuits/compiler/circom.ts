// The circom route: a model's circuit.circom, composed from the template library in circuits/lib/.
// Same wires in meaning and the same public signals as the direct route (emit.ts); used for small models and tests.
import type { QLinear, QuantizedModel } from "./quantize.ts";
import { commitValues, isGraphModel } from "./quantize.ts";
import { valuesPerLimb } from "../../sdk/hash.ts";
import type { Visibility } from "./emit.ts";

export interface CircomOptions {
  visibility?: Visibility;
  /** Path prefix of circuits/lib/ as seen from the generated file (default "circuits/lib/", for -l <repo>). */
  includePrefix?: string;
}

const arr = (xs: readonly (string | number | bigint)[]): string => `[${xs.join(",")}]`;

function nested(w: readonly number[], rows: number, cols: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) out.push(arr(w.slice(r * cols, (r + 1) * cols)));
  return `[${out.join(",\n    ")}]`;
}

/** circuit.circom for q: main component `Model`, private input x (and the weights in committed mode),
 *  public outputs packedOutputs[], inputHash, weightsCommitment, in that order (sdk publicSignals). */
export function generateCircom(q: QuantizedModel, opts: CircomOptions = {}): string {
  if (isGraphModel(q)) {
    throw new Error(`${q.name}: the circom route does not compile graph models (transformer ops) yet; the direct route (--route direct, the default) does`);
  }
  const visibility = opts.visibility ?? "constant";
  const prefix = opts.includePrefix ?? "circuits/lib/";
  const nIn = q.inputShape.reduce((a, b) => a * b, 1);
  const limbs = Math.ceil(q.outputCount / valuesPerLimb(q.outputBits));
  const fns: string[] = [];
  const body: string[] = [];
  const inputs: string[] = [`    signal input x[${nIn}];`];
  body.push(`    component inputHasher = HashVector(${nIn}, ${q.inputBits});`, `    inputHasher.in <== x;`, `    inputHash <== inputHasher.out;`);
  const committedNames: string[] = [];
  let prev = "x";
  q.ops.forEach((op, i) => {
    const id = `op${i}`;
    if (op.kind === "linear") {
      const l = op as QLinear;
      const M = arr(l.multiplier);
      const S = arr(l.shift);
      const Q = arr(l.qBits);
      const relu = l.relu ? 1 : 0;
      const geom = (shape: number[]): string => `${shape.join(", ")}, ${arr(l.kernel!)}, ${arr(l.stride!)}, ${arr(l.pads!)}`;
      const committed = visibility === "committed" && l.source !== "avgpool";
      if (committed) {
        const wShape = l.source === "dense" ? `[${l.outShape[0]}][${l.weight.length / l.outShape[0]!}]` : `[${l.weight.length}]`;
        inputs.push(`    signal input w_${id}${wShape};`, `    signal input b_${id}[${l.bias.length}];`);
        committedNames.push(id);
      }
      if (l.source === "dense") {
        const nI = l.weight.length / l.outShape[0]!;
        if (committed) {
          body.push(`    component ${id} = DenseCommitted(${nI}, ${l.outShape[0]}, ${M}, ${S}, ${Q}, ${l.outBits}, ${relu});`);
        } else {
          fns.push(`function W_${id}() {\n  var w[${l.outShape[0]}][${nI}] = ${nested(l.weight, l.outShape[0]!, nI)};\n  return w;\n}`);
          body.push(`    component ${id} = Dense(${nI}, ${l.outShape[0]}, W_${id}(), ${arr(l.bias)}, ${M}, ${S}, ${Q}, ${l.outBits}, ${relu});`);
        }
      } else if (l.source === "conv") {
        const [C, H, W] = l.inShape;
        // a conv over a preprocessed input pads with the raw value that preprocesses to 0 (padValue per channel)
        const pad = l.padValue ? { name: "Padded", arg: ` ${arr(l.padValue)},` } : { name: "", arg: "" };
        if (committed) {
          body.push(`    component ${id} = Conv2D${pad.name}Committed(${C}, ${H}, ${W}, ${l.outShape[0]}, ${arr(l.kernel!)}, ${arr(l.stride!)}, ${arr(l.pads!)},${pad.arg} ${M}, ${S}, ${Q}, ${l.outBits}, ${relu});`);
        } else {
          fns.push(`function W_${id}() {\n  var w[${l.weight.length}] = ${arr(l.weight)};\n  return w;\n}`);
          body.push(`    component ${id} = Conv2D${pad.name}(${C}, ${H}, ${W}, ${l.outShape[0]}, ${arr(l.kernel!)}, ${arr(l.stride!)}, ${arr(l.pads!)},${pad.arg} W_${id}(), ${arr(l.bias)}, ${M}, ${S}, ${Q}, ${l.outBits}, ${relu});`);
        }
      } else {
        body.push(`    component ${id} = AvgPool(${geom(l.inShape)}, ${M}, ${S}, ${Q}, ${l.outBits});`);
      }
      if (committed) body.push(`    ${id}.w <== w_${id};`, `    ${id}.b <== b_${id};`);
    } else if (op.kind === "maxpool") {
      body.push(`    component ${id} = MaxPool(${op.inShape.join(", ")}, ${arr(op.kernel)}, ${arr(op.stride)}, ${arr(op.pads)}, ${op.bits});`);
    } else if (op.kind === "relu") {
      const n = op.shape.reduce((a, b) => a * b, 1);
      body.push(`    component ${id}[${n}];`, `    signal ${id}_out[${n}];`);
      body.push(`    for (var i = 0; i < ${n}; i++) {`, `        ${id}[i] = Relu(${op.bits});`, `        ${id}[i].in <== ${prev}[i];`, `        ${id}_out[i] <== ${id}[i].out;`, `    }`);
      prev = `${id}_out`;
      return;
    } else if (op.kind === "argmax") {
      body.push(`    component ${id} = Argmax(${op.n}, ${op.bits});`, `    ${id}.in <== ${prev};`, `    signal ${id}_out[1];`, `    ${id}_out[0] <== ${id}.out;`);
      prev = `${id}_out`;
      return;
    }
    body.push(`    ${id}.in <== ${prev};`);
    prev = `${id}.out`;
  });
  body.push(`    component outputPacker = PackSigned(${q.outputCount}, ${q.outputBits});`, `    outputPacker.in <== ${prev};`, `    packedOutputs <== outputPacker.out;`);
  if (visibility === "committed") {
    // Range-check every committed value (weights to weightBits, biases to commitBits), then hash them.
    const n = commitValues(q).length;
    body.push(`    signal committed[${n}];`, `    component committedRange[${n}];`);
    let k = 0;
    for (const id of committedNames) {
      const op = q.ops[Number(id.slice(2))] as QLinear;
      const nw = op.weight.length;
      const flat = op.source === "dense" ? (t: string) => `w_${id}[${t} \\ ${nw / op.outShape[0]!}][${t} % ${nw / op.outShape[0]!}]` : (t: string) => `w_${id}[${t}]`;
      body.push(`    for (var t = 0; t < ${nw}; t++) {`, `        committed[${k} + t] <== ${flat("t")};`, `        committedRange[${k} + t] = SignedRange(${q.weightBits});`, `        committedRange[${k} + t].in <== committed[${k} + t];`, `    }`);
      k += nw;
      body.push(`    for (var t = 0; t < ${op.bias.length}; t++) {`, `        committed[${k} + t] <== b_${id}[t];`, `        committedRange[${k} + t] = SignedRange(${q.commitBits});`, `        committedRange[${k} + t].in <== committed[${k} + t];`, `    }`);
      k += op.bias.length;
    }
    body.push(
      `    component commitPacker = PackSigned(${n}, ${q.commitBits});`,
      `    commitPacker.in <== committed;`,
      `    component commitSponge = PoseidonSponge(${Math.ceil(n / valuesPerLimb(q.commitBits))});`,
      `    commitSponge.in <== commitPacker.out;`,
      `    weightsCommitment <== commitSponge.out;`,
    );
  } else {
    body.push(`    // constant weights: the commitment is pinned to the value computed at compile time (sdk hashVector)`, `    weightsCommitment <== ${q.weightsCommitment};`);
  }
  return [
    `pragma circom 2.1.0;`,
    `// Generated by ozk (circuits/compiler/circom.ts) for model ${q.name}, ${visibility} weights. Do not edit.`,
    `include "${prefix}model.circom";`,
    ``,
    ...fns,
    ``,
    `template Model() {`,
    ...inputs,
    `    signal output packedOutputs[${limbs}];`,
    `    signal output inputHash;`,
    `    signal output weightsCommitment;`,
    ...body,
    `}`,
    ``,
    `component main = Model();`,
    ``,
  ].join("\n");
}

/** The circom input JSON for a quantized input (and the weights in committed mode). */
export function circomInput(q: QuantizedModel, xq: readonly bigint[], visibility: Visibility = "constant"): Record<string, unknown> {
  const input: Record<string, unknown> = { x: xq.map(String) };
  if (visibility === "committed") {
    q.ops.forEach((op, i) => {
      if (op.kind !== "linear" || op.source === "avgpool") return;
      const nI = op.weight.length / op.outShape[0]!;
      input[`w_op${i}`] = op.source === "dense" ? Array.from({ length: op.outShape[0]! }, (_, r) => op.weight.slice(r * nI, (r + 1) * nI).map(String)) : op.weight.map(String);
      input[`b_op${i}`] = op.bias;
    });
  }
  return input;
}
