// The direct route: for random small models and random inputs (seeded), the emitted R1CS is satisfied by the
// emitted witness, the witness outputs equal the reference engine, the public signals equal sdk publicSignals,
// and any other output breaks a constraint.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { quantizeInput, runQuantized } from "../../circuits/compiler/engine.ts";
import { publicCount, synthesize, type Visibility } from "../../circuits/compiler/emit.ts";
import type { FloatModel } from "../../circuits/ir/ir.ts";
import { quantize } from "../../circuits/compiler/quantize.ts";
import { readR1cs, violatedConstraints } from "../../circuits/compiler/r1cs.ts";
import { FIELD_P, hashVector } from "../../sdk/hash.ts";
import { publicSignals } from "../../sdk/signals.ts";
import { randomCnn, randomInputs, randomMlp, rng } from "./random-models.ts";

const size = (m: FloatModel): number => m.inputShape.reduce((a, b) => a * b, 1);

/** A seeded mix of small models: MLPs of random depth/width, CNNs with max or average pooling, with or without argmax. */
function modelFor(seed: number): FloatModel {
  const r = rng(seed * 7 + 1);
  if (seed % 2 === 0) {
    const depth = 2 + Math.floor(r() * 2);
    const sizes = Array.from({ length: depth + 1 }, (_, i) => (i === 0 ? 4 + Math.floor(r() * 12) : 2 + Math.floor(r() * 8)));
    return randomMlp(seed, sizes, r() < 0.3);
  }
  return randomCnn(seed, { hw: 6 + 2 * Math.floor(r() * 2), c1: 1 + Math.floor(r() * 2), c2: 2, pool: r() < 0.5 ? "maxpool" : "avgpool", out: 3, argmax: r() < 0.3 });
}

describe("direct R1CS route", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "ozk-direct-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const visibility of ["constant", "committed"] as Visibility[]) {
    it(`${visibility} weights: engine == circuit witness, R1CS satisfied, tampered outputs rejected (random models and inputs)`, function () {
      const seeds = visibility === "constant" ? [1, 2, 3, 4, 5, 6, 7, 8] : [9, 10, 11];
      for (const seed of seeds) {
        const model = modelFor(seed);
        const n = size(model);
        const q = quantize(model, randomInputs(seed, 16, n), { inputRange: [0, 1] });
        const path = join(dir, `m${seed}-${visibility}.r1cs`);
        const shape = synthesize(q, { visibility, r1csPath: path });
        const r1cs = readR1cs(path);
        expect(r1cs.nConstraints).to.equal(shape.nConstraints);
        expect(r1cs.nPubOut).to.equal(publicCount(q));
        // the count `ozk model inspect` and the build's size check use: the same numbers, per layer too
        const counted = synthesize(q, { visibility, countOnly: true });
        expect([counted.nConstraints, counted.nWires, counted.costs]).to.deep.equal([r1cs.nConstraints, r1cs.nWires, shape.costs]);
        const r = rng(seed + 1000);
        // in-calibration floats, plus arbitrary quantized inputs over the whole input range (drives saturation)
        const inputs: bigint[][] = randomInputs(seed + 1, 3, n).map((x) => quantizeInput(q, x));
        for (let k = 0; k < 3; k++) inputs.push(Array.from({ length: n }, () => BigInt(Math.floor(r() * 256) - 128)));
        for (const xq of inputs) {
          const s = synthesize(q, { visibility, input: xq });
          const ctx = `seed ${seed} ${model.name} input ${xq.slice(0, 4).join(",")}...`;
          expect(s.nWires, ctx).to.equal(r1cs.nWires);
          expect(violatedConstraints(r1cs, s.witness!), ctx).to.deep.equal([]);
          const engine = runQuantized(q, xq);
          expect(s.outputs, ctx).to.deep.equal(engine.outputs);
          const expected = publicSignals(engine.outputs, q.outputBits, hashVector(xq, q.inputBits), BigInt(q.weightsCommitment));
          expect(s.publicSignals, ctx).to.deep.equal(expected);
          expect(s.witness!.slice(1, 1 + s.nPublic).map((v) => ((v % FIELD_P) + FIELD_P) % FIELD_P), ctx).to.deep.equal(expected);
          for (let pub = 1; pub <= s.nPublic; pub++) {
            for (const delta of [1n, 1n << 30n]) {
              const w = [...s.witness!];
              w[pub] = w[pub]! + delta;
              expect(violatedConstraints(r1cs, w), `${ctx}: public signal ${pub - 1} + ${delta}`).to.have.length.above(0);
            }
          }
        }
      }
    });
  }

  it("checks each constraint as it is emitted when asked (check mode agrees with the file checker)", function () {
    const model = randomCnn(21, { pool: "maxpool", argmax: true });
    const q = quantize(model, randomInputs(21, 8, size(model)), { inputRange: [0, 1] });
    const xq = quantizeInput(q, randomInputs(22, 1, size(model))[0]!);
    expect(() => synthesize(q, { input: xq, check: true })).to.not.throw();
  });
});
