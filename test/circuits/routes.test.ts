// Both circuit routes compute the same function: the circom circuit generated from the template library and the
// directly emitted R1CS give the same public signals (and outputs) for the same model and input.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { circomInput, generateCircom } from "../../circuits/compiler/circom.ts";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { synthesize, type Visibility } from "../../circuits/compiler/emit.ts";
import { parseQuant, quantize, type QLinear } from "../../circuits/compiler/quantize.ts";
import type { FloatModel } from "../../circuits/ir/ir.ts";
import { resolvePreprocess } from "../../circuits/ir/preprocess.ts";
import { unpackSigned } from "../../sdk/hash.ts";
import { randomCnn, randomInputs, randomMlp, rng } from "../compiler/random-models.ts";
import { compileCircom, fe, ROOT, terminateCurve, violations, witness } from "./circom-helper.ts";

/** The model trained on inputs normalized with mean 0.4 and std 0.3. */
const normalized = (m: FloatModel): FloatModel => ({ ...m, preprocess: resolvePreprocess({ mean: 0.4, std: 0.3 }, m.inputShape) });

describe("circom route == direct route", function () {
  this.timeout(600_000);
  after(terminateCurve);

  const cases: [string, () => FloatModel, Visibility][] = [
    ["MLP with argmax, constant weights", () => randomMlp(31, [10, 6, 5], true), "constant"],
    ["CNN (conv, relu, maxpool, stride 2, padding), constant weights", () => randomCnn(32, { hw: 8, c1: 2, c2: 2, pool: "maxpool" }), "constant"],
    ["CNN with avgpool, committed weights", () => randomCnn(33, { hw: 6, c1: 1, c2: 2, pool: "avgpool", out: 3 }), "committed"],
    // input normalization with a non-zero mean: the first (padded) conv pads its raw input with padValue (Conv2DPadded)
    ["CNN over a normalized input (padded conv, mean != 0), constant weights", () => normalized(randomCnn(34, { hw: 6, c1: 2, c2: 2, pool: "maxpool" })), "constant"],
    ["CNN over a normalized input (padded conv, mean != 0), committed weights", () => normalized(randomCnn(35, { hw: 6, c1: 2, c2: 2, pool: "avgpool", out: 3 })), "committed"],
  ];
  for (const [title, make, visibility] of cases) {
    it(title, async function () {
      const model = make();
      const n = model.inputShape.reduce((a, b) => a * b, 1);
      const q = quantize(model, randomInputs(40, 16, n), { inputRange: [0, 1] });
      if (model.preprocess) expect((q.ops[0] as QLinear).padValue).to.deep.equal([51]); // round(0.4 * 127)
      const c = compileCircom(generateCircom(q, { visibility }), "model");
      const r = rng(41);
      const inputs = [quantizeInput(q, randomInputs(42, 1, n)[0]!), Array.from({ length: n }, () => BigInt(Math.floor(r() * 256) - 128))];
      for (const xq of inputs) {
        const w = await witness(c, circomInput(q, xq, visibility));
        const direct = synthesize(q, { input: xq, visibility });
        expect(violations(c, w)).to.deep.equal([]);
        expect(c.r1cs.nPubOut).to.equal(direct.nPublic);
        expect(w.slice(1, 1 + direct.nPublic)).to.deep.equal(direct.publicSignals);
        const outputs = unpackSigned(w.slice(1, direct.nPublic - 1), q.outputBits, q.outputCount);
        expect(outputs).to.deep.equal(runQuantized(q, xq).outputs);
        // the circom circuit pins its outputs too
        const t = [...w];
        t[1] = fe(t[1]! + 1n);
        expect(violations(c, t)).to.have.length.above(0);
      }
    });
  }

  // The shipped models through circom take minutes to compile (the MLP ~1-2 min on 2 cores): run with OZK_SLOW_TESTS=1.
  for (const name of ["mnist-mlp", "mnist-cnn"]) {
    (process.env.OZK_SLOW_TESTS ? it : it.skip)(`shipped ${name}: circuit.circom and circuit.r1cs agree on held-out digits`, async function () {
      const pkg = join(ROOT, "models", name);
      if (!existsSync(join(pkg, "quant.json"))) this.skip();
      const q = parseQuant(readFileSync(join(pkg, "quant.json"), "utf8"));
      const c = compileCircom(generateCircom(q), name.replace("-", "_"));
      const { heldOutSample } = await import("../../circuits/data/mnist.ts");
      for (const x of heldOutSample(5).images) {
        const xq = quantizeInput(q, x);
        const w = await witness(c, circomInput(q, xq));
        const direct = synthesize(q, { input: xq });
        expect(w.slice(1, 1 + direct.nPublic)).to.deep.equal(direct.publicSignals);
      }
    });
  }
});
