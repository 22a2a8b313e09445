// The fidelity report's float engine on a worker thread: the same layers as on this thread, and when the worker
// is gone (stopped, or crashed with samples in flight) the samples still get their results.
import { join } from "node:path";
import { expect } from "chai";
import { heldOutSample } from "../../circuits/data/mnist.ts";
import { FloatRunner } from "../../circuits/fidelity/float-runner.ts";
import { runFloat } from "../../circuits/ir/float-engine.ts";
import { importOnnxFile } from "../../circuits/onnx/import.ts";

describe("FloatRunner (circuits/fidelity/float-runner.ts)", function () {
  const model = importOnnxFile(join(import.meta.dirname, "../../models/mnist-cnn/model.onnx"));
  const xs = heldOutSample(6).images;
  const expected = xs.map((x) => runFloat(model, x).layers.map((l) => Array.from(l)));
  const plain = (layers: Float32Array[]) => layers.map((l) => Array.from(l));

  it("returns the float engine's layers for each input, in order", async function () {
    const r = new FloatRunner(model);
    try {
      const got = await Promise.all(xs.map((x) => r.run(x)));
      expect(got.map(plain)).to.deep.equal(expected);
    } finally {
      await r.close();
    }
  });

  it("computes here what a worker that died still owed, and everything after", async function () {
    const r = new FloatRunner(model);
    const inFlight = xs.slice(0, 3).map((x) => r.run(x));
    await (r as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    expect((await Promise.all(inFlight)).map(plain)).to.deep.equal(expected.slice(0, 3));
    expect(plain(await r.run(xs[4]!))).to.deep.equal(expected[4]);
    await r.close();
  });
});
