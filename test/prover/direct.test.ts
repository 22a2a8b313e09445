// Direct-route packages (the compiler's TypeScript witness writer): input forms, and one real proof of the
// committed MNIST MLP package when it is built (skipped otherwise).
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import * as snarkjsModule from "snarkjs";
import type { VerificationKey } from "snarkjs";
import { parseDirectInput } from "../../prover/witness.ts";
import { loadModelPackage } from "../../circuits/compiler/package.ts";
import { proveWithPackage } from "../../prover/prove.ts";
import { selectBackend } from "../../prover/backends/index.ts";
import { terminateSnarkjs } from "../../prover/backends/snarkjs.ts";
import { encodeInputData } from "../../sdk/inputs.ts";
import { hashVector } from "../../sdk/hash.ts";
import { InputError } from "../../sdk/errors.ts";

const snarkjs = snarkjsModule;
const MLP = "models/mnist-mlp";

describe("prover/witness (direct route)", function () {
  this.timeout(300_000);
  after(terminateSnarkjs);

  it("accepts float arrays, quantized integers and SDK input data; refuses anything else", () => {
    expect(parseDirectInput([0, 0.5, 1])).to.deep.equal(Float32Array.from([0, 0.5, 1]));
    expect(parseDirectInput({ input: [0.25] })).to.deep.equal(Float32Array.from([0.25]));
    expect(parseDirectInput({ quantized: ["-3", 17] })).to.deep.equal([-3n, 17n]);
    expect(parseDirectInput({ inputData: encodeInputData([5n, -6n], 8) }, { bits: 8 })).to.deep.equal([5n, -6n]);
    expect(() => parseDirectInput({ inputData: encodeInputData([5n], 16) }, { bits: 8 })).to.throw(InputError, /16-bit/);
    expect(() => parseDirectInput({ quantized: ["1.5"] })).to.throw(InputError, /integers/);
    // quantized values: at most 80 digits (a 4-million-digit string is refused unread, and not echoed), within the width
    expect(() => parseDirectInput({ quantized: ["9".repeat(4_000_000)] })).to.throw(InputError, /at most 80 digits, or safe integers\); value 0 is not$/);
    expect(parseDirectInput({ quantized: ["-128", "127"] }, { bits: 8 })).to.deep.equal([-128n, 127n]);
    expect(() => parseDirectInput({ quantized: ["0", "128"] }, { bits: 8 })).to.throw(InputError, /quantized value 1 = 128 does not fit the model's 8-bit signed inputs/);
    expect(() => parseDirectInput([1, "x"])).to.throw(InputError, /finite numbers/);
    expect(() => parseDirectInput({ x: [1] })).to.throw(InputError, /direct-route input must be/);
    expect(() => parseDirectInput([1, 2], { length: 784 })).to.throw(InputError, /2 values, the model takes 784/);
  });

  it("reads nested arrays row-major (a tensor's tolist()); refuses ragged, mixed and too-deep nesting", () => {
    const image = [[[0, 0.25], [0.5, 1]]]; // [1, 2, 2]
    expect(parseDirectInput(image, { length: 4 })).to.deep.equal(Float32Array.from([0, 0.25, 0.5, 1]));
    expect(parseDirectInput({ input: image })).to.deep.equal(Float32Array.from([0, 0.25, 0.5, 1]));
    expect(parseDirectInput({ quantized: [["-3", 17], [4, "5"]] })).to.deep.equal([-3n, 17n, 4n, 5n]);
    // Ragged arrays would flatten to the model's length by their total: [2, 1] + [1] + ... is not a [2, 2] image.
    expect(() => parseDirectInput([[1, 2], [3]], { length: 3 })).to.throw(InputError, /ragged: input\[1\] has shape \[1\], input\[0\] has \[2\]/);
    expect(() => parseDirectInput([[[1], [2]], [[3, 4]]])).to.throw(InputError, /ragged/);
    expect(() => parseDirectInput([[1, 2], 3])).to.throw(InputError, /mixes arrays and values/);
    expect(() => parseDirectInput({ quantized: [["1"], "2"] })).to.throw(InputError, /quantized mixes arrays and values/);
    expect(parseDirectInput([Array.from({ length: 1_000_000 }, () => 0.5)]).length).to.equal(1_000_000);
    // A nested input states its shape, and it must be the model's (leading 1s aside); flat lists are read as before.
    const shape = [1, 28, 28];
    const rows = (r: number, c: number): number[][] => Array.from({ length: r }, () => Array.from({ length: c }, () => 0.5));
    expect(parseDirectInput([rows(28, 28)], { length: 784, shape }).length).to.equal(784);
    expect(parseDirectInput(rows(28, 28), { length: 784, shape }).length).to.equal(784);
    expect(parseDirectInput(rows(1, 784).flat(), { length: 784, shape }).length).to.equal(784);
    expect(parseDirectInput([[5]], { length: 1, shape: [1] })).to.deep.equal(Float32Array.from([5])); // all ones: one value
    expect(parseDirectInput([[[5]]], { length: 1, shape: [1, 1] })).to.deep.equal(Float32Array.from([5]));
    expect(() => parseDirectInput(rows(16, 49), { length: 784, shape })).to.throw(InputError, /input has shape \[16, 49\], the model takes \[1, 28, 28\]/);
    expect(() => parseDirectInput({ quantized: [[[1, 2, 3]], [[4, 5, 6]]] }, { length: 6, shape: [3, 1, 2] })).to.throw(InputError, /quantized has shape \[2, 1, 3\]/);
    let deep: unknown = [1];
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => parseDirectInput(deep)).to.throw(InputError, /nested more than 8 deep/);
  });

  it("proves the MNIST MLP package from on-chain input data; inputHash and the vkey check out", async function () {
    if (!existsSync(`${MLP}/circuit.zkey`) || !existsSync(`${MLP}/manifest.json`)) {
      console.log(`    skipped: ${MLP} is not built`);
      this.skip();
    }
    const pkg = loadModelPackage(MLP);
    expect(pkg.route).to.equal("direct");
    const q = Array.from({ length: 784 }, (_, i) => BigInt((i * 7) % 128));
    const backend = await selectBackend();
    const proved = await proveWithPackage(pkg, { inputData: encodeInputData(q, 8) }, { backend });
    const vkey = JSON.parse(readFileSync(`${MLP}/vkey.json`, "utf8")) as VerificationKey;
    expect(await snarkjs.groth16.verify(vkey, proved.publicSignals, proved.proof)).to.equal(true);
    // Public signals are [packedOutputs..., inputHash, weightsCommitment].
    expect(proved.publicSignals.at(-2)).to.equal(hashVector(q, 8).toString());
    console.log(`    mnist-mlp with ${proved.backend}: witness ${proved.timings.witnessMs} ms, prove ${proved.timings.proveMs} ms`);
  });
});
