// The fidelity progress line (cli/model-data.ts): at most one every few seconds, timed from the first sample, with
// samples done and the time left; nothing for the last sample (the report follows).
import { expect } from "chai";
import { progressLine } from "../../cli/model-data.ts";

describe("fidelity progress line", function () {
  it("prints done/total, elapsed and time left every 3 s, timed from the first sample", function () {
    const lines: string[] = [];
    let now = 50_000; // set-up before the first sample does not count
    const progress = progressLine("fidelity", (l) => lines.push(l), 3000, () => now);
    progress(1, 100);
    now += 1000;
    progress(2, 100);
    expect(lines).to.deep.equal([]);
    now += 2000;
    progress(7, 100); // 3 s for 6 samples after the first: 0.5 s a sample, 93 to go
    now += 1000;
    progress(9, 100);
    now += 3000;
    progress(100, 100);
    expect(lines).to.deep.equal(["fidelity: 7/100 samples, 3 s, about 47 s left"]);
  });
});
