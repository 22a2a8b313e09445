// Input quantization in the SDK (sdk/quantize.ts): what a dApp computes from a package's manifest.json must be bit
// for bit what the engine quantizes and what the circuit commits to as inputHash.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { InputError } from "../../sdk/errors.ts";
import { decodeInputData } from "../../sdk/inputs.ts";
import { quantizeInput, quantizeInputData, type InputQuantization } from "../../sdk/quantize.ts";
import { quantizeInput as engineQuantizeInput } from "../../circuits/compiler/engine.ts";
import { loadPackage } from "../../circuits/compiler/package.ts";
import { synthesize } from "../../circuits/compiler/emit.ts";
import { heldOutSample } from "../../circuits/data/mnist.ts";

const MODELS = ["mnist-mlp", "mnist-cnn"];

describe("sdk/quantize", () => {
  it("is the engine's quantizeInput (one implementation)", () => {
    expect(engineQuantizeInput).to.equal(quantizeInput);
  });

  for (const name of MODELS) {
    it(`${name}: the manifest's fields quantize 200 held-out MNIST digits exactly as the engine on the compiled model`, () => {
      const dir = join("models", name);
      // A dApp has the manifest JSON, not the compiler's QuantizedModel.
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as InputQuantization & { inputLength: number };
      const q = loadPackage(dir).quant;
      const { images } = heldOutSample(200);
      for (const [i, x] of images.entries()) {
        const fromManifest = quantizeInputData(manifest, Array.from(x), { length: manifest.inputLength });
        expect(fromManifest.values, `digit ${i}`).to.deep.equal(engineQuantizeInput(q, x));
        expect(fromManifest.bits).to.equal(q.inputBits);
        expect(decodeInputData(fromManifest.inputData).values, `digit ${i} input data`).to.deep.equal(fromManifest.values);
      }
    });
  }

  it("mnist-mlp: inputHash is the circuit's inputHash public signal", () => {
    const dir = join("models", "mnist-mlp");
    const pkg = loadPackage(dir);
    for (const x of heldOutSample(3).images) {
      const { values, inputHash } = quantizeInputData(pkg.manifest, x);
      const { publicSignals } = synthesize(pkg.quant, { input: values, visibility: pkg.manifest.visibility });
      const at = pkg.manifest.publicSignals.indexOf("inputHash");
      expect(publicSignals![at]).to.equal(inputHash);
    }
  });

  it("clamps to the range and the bit width, rounding halves up", () => {
    const q = { inputLength: 6, inputBits: 4, inputScale: 0.5, inputRange: [-10, 10] };
    // 7 is the 4-bit maximum, -8 the minimum; 0.25 / 0.5 = 0.5 rounds up to 1, -0.25 / 0.5 = -0.5 rounds up to 0.
    expect(quantizeInput(q, [100, -100, 0.25, -0.25, 1.4, -20])).to.deep.equal([7n, -8n, 1n, 0n, 3n, -8n]);
  });

  it("refuses bad input and malformed quantization fields with an InputError naming the problem", () => {
    const q = { name: "m", inputShape: [1, 2, 2], inputBits: 8, inputScale: 1 / 127, inputRange: [0, 1] as [number, number] };
    const bad: [() => unknown, RegExp][] = [
      [() => quantizeInput(q, [0, 0, 0]), /m: input has 3 values, expected 4/],
      [() => quantizeInput(q, [0, NaN, 0, 0]), /m: input 1 is NaN, not a number/],
      [() => quantizeInput({ ...q, inputScale: 0 }, [0, 0, 0, 0]), /inputScale 0 is not a positive finite number/],
      [() => quantizeInput({ ...q, inputBits: 1.5 }, [0, 0, 0, 0]), /inputBits 1.5 is not an integer/],
      [() => quantizeInput({ ...q, inputRange: [1, 0] }, [0, 0, 0, 0]), /inputRange \[1,0\] is not \[lo, hi\]/],
      [() => quantizeInput({ ...q, inputLength: 5 }, [0, 0, 0, 0]), /inputShape \[1,2,2\] has 4 values but inputLength is 5/],
      [() => quantizeInput({ inputBits: 8, inputScale: 1, inputRange: [0, 1] }, [0]), /needs inputShape or inputLength/],
      [() => quantizeInputData(q, [0, 0, 0, 0], { length: 784 }), /describes 4 input values, expected 784/],
    ];
    for (const [fn, message] of bad) expect(fn).to.throw(InputError, message);
  });
});
