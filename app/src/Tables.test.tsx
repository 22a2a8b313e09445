// Rendering of the read-only views from chain snapshots: claims (status, class, bond, countdown, history),
// models (constraints, fidelity), providers (stake, slashing record), and the countdown itself.
import { afterEach, describe, expect, it, vi } from "vitest";
import { act, cleanup, render, screen, within } from "@testing-library/react";
import type { ClaimView, ModelView, ProviderView } from "./snapshot.ts";
import { Countdown } from "./Countdown.tsx";
import { ClaimTable, ModelTable, ProviderTable } from "./Tables.tsx";
import { formatCountdown, secondsLeft, tokens } from "./format.ts";

const E18 = 10n ** 18n;
const MODEL = "0x" + "ab".repeat(32) as `0x${string}`;
const models: ModelView[] = [{
  name: "mnist-mlp", modelId: MODEL, challengeWindow: 600, proofWindow: 1800, minProviderBond: 100n * E18, minChallengerBond: 50n * E18, deprecated: false,
  setupKind: "unsafe-dev", verifierCodeHash: `0x${"cd".repeat(32)}`,
  pkg: {
    manifest: { name: "mnist-mlp", constraints: 11622, inputBits: 8, inputScale: 1 / 127, inputRange: [0, 1], inputShape: [1, 28, 28], inputLength: 784, outputLength: 10 },
    training: { heldOutAccuracy: { onnxruntime: 0.9764529 }, data: { heldOut: 1996 }, importerVsOnnxruntimeMaxAbsDiff: 7.6e-6 },
    fidelity: { samples: 1996, floatAccuracy: 0.9764529, quantizedAccuracy: 0.9759519, agreement: 0.9984 },
  },
}];
const logits = (d: number) => Array.from({ length: 10 }, (_, i) => (i === d ? 500n : -BigInt(i)));
const claim = (id: number, statusName: string, status: number, digit: number, deadline: bigint, history: ClaimView["history"] = []): ClaimView => ({
  claimId: `0x${id.toString(16).padStart(64, "0")}`, modelId: MODEL, provider: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  bond: 100n * E18, requestId: BigInt(id), outputs: logits(digit), status, statusName, deadline, history, auditRateBps: 0,
});

afterEach(() => { cleanup(); vi.useRealTimers(); });

describe("ClaimTable", () => {
  it("renders each claim's status, class, bond, countdown and dispute history", () => {
    const claims = [
      claim(1, "Submitted", 1, 7, 1_000_600n, [{ kind: "Submitted", block: 5n, detail: "bond" }]),
      claim(2, "Challenged", 2, 3, 1_001_800n, [{ kind: "Submitted", block: 6n, detail: "" }, { kind: "Challenged", block: 7n, detail: "by 0x90F79bf6EB2c4f870365E785982E1f101E93b906, bond 50" }]),
      claim(3, "Slashed", 5, 2, 0n, [{ kind: "Submitted", block: 8n, detail: "" }, { kind: "Challenged", block: 9n, detail: "" }, { kind: "Slashed", block: 12n, detail: "proof deadline missed" }, { kind: "Reopened", block: 12n, detail: "" }]),
    ];
    render(<ClaimTable claims={claims} models={models} chainTime={1_000_000n} takenAt={Date.now()} />);
    const rows = within(screen.getByTestId("claims")).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(3);
    expect(screen.getAllByTestId("claim-status").map((e) => e.textContent)).toEqual(["Submitted", "Challenged", "Slashed"]);
    expect(rows[0]!.textContent).toContain("mnist-mlp");
    expect(rows[0]!.textContent).toContain("challenge 10m 00s");
    expect(rows[1]!.textContent).toContain("proof 30m 00s");
    expect(rows[2]!.textContent).toContain("settled");
    // The class says whether it is settled: a live claim's class is only claimed, a slashed claim's is void.
    expect(rows.map((r) => r.querySelectorAll("td")[3]!.textContent)).toEqual(["7 claimed", "3 claimed", "2 void"]);
    expect(rows[0]!.textContent).toContain(tokens(100n * E18));
    expect(Array.from(rows[2]!.querySelectorAll(".history li b")).map((b) => b.textContent)).toEqual(["Submitted", "Challenged", "Slashed", "Reopened"]);
    expect(rows[1]!.textContent).toContain("0x90F7…b906");
  });

  it("shows each claim's audit: none for an unaudited model, the proof countdown of a selected one (no position), missed, answered", () => {
    const audited = (id: number, statusName: string, status: number, audit: ClaimView["audit"]): ClaimView => ({ ...claim(id, statusName, status, 1, 1_000_600n), audit, auditRateBps: 100 });
    const claims = [
      claim(1, "Submitted", 1, 7, 1_000_600n),
      audited(2, "Submitted", 1, { status: "Selected", deadline: 1_003_600n }),
      audited(3, "Slashed", 5, { status: "Missed", deadline: 1_000_000n }),
      audited(4, "Proven", 3, { status: "Answered" }),
      audited(5, "Submitted", 1, { status: "Undrawn" }),
    ];
    render(<ClaimTable claims={claims} models={models} chainTime={1_000_000n} takenAt={Date.now()} />);
    const cells = screen.getAllByTestId("audit");
    expect(cells.map((e) => e.getAttribute("data-audit"))).toEqual(["none", "Selected", "Missed", "Answered", "Undrawn"]);
    expect(cells[1]!.textContent).toContain("proof 1h 00m");
    expect(cells[1]!.textContent).not.toContain("position");
    expect(cells[1]!.textContent).toContain("rate 1%");
    expect(cells[2]!.textContent).toContain("missed");
  });

  it("says so when there are no claims", () => {
    render(<ClaimTable claims={[]} models={models} chainTime={0n} takenAt={0} />);
    expect(screen.getByText("No claims yet.")).toBeTruthy();
  });
});

describe("ModelTable and ProviderTable", () => {
  it("shows constraints, fidelity figures, windows and bonds", () => {
    render(<ModelTable models={models} />);
    const text = screen.getByTestId("models").textContent!;
    expect(screen.getByTestId("constraints").textContent).toBe("11,622");
    expect(text).toContain("97.65%");
    expect(text).toContain("1,996 held-out");
    expect(text).toContain("97.65% / 97.60%");
    expect(screen.getByTestId("agreement").textContent).toBe("99.84%");
    expect(text).toContain("10m 00s challenge / 30m 00s proof");
    expect(text).toContain("100 / 50");
    cleanup();
    render(<ModelTable models={models} token={{ symbol: "OZKT", decimals: 18 }} />);
    expect(screen.getByTestId("models").textContent).toContain("100 OZKT / 50 OZKT");
  });

  it("shows each model's setup kind, the dev setup as a red warning badge", () => {
    render(<ModelTable models={[models[0]!, { ...models[0]!, name: "mnist-cnn", modelId: `0x${"ef".repeat(32)}`, setupKind: "ceremony" }]} />);
    const badges = screen.getAllByTestId("setup-kind");
    expect(badges.map((b) => b.textContent)).toEqual(["unsafe dev setup", "ceremony setup"]);
    expect(badges[0]!.className).toContain("setup-unsafe-dev");
    expect(badges[0]!.getAttribute("title")).toMatch(/anyone can forge proofs/);
    expect(badges[1]!.className).toContain("setup-ceremony");
    expect(screen.getAllByTitle(/verifier code hash, pinned at registration: 0xcdcd/)).toHaveLength(2);
  });

  it("shows stake and every party's losses: slashed claims' bonds, and challengers' bonds lost to a proof", () => {
    const providers: ProviderView[] = [
      { account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", freeStake: 1234n * E18 + 5n * 10n ** 17n, claims: 4, live: 1, slashed: 0, slashedAmount: 0n },
      { account: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", freeStake: 900n * E18, claims: 2, live: 0, slashed: 2, slashedAmount: 200n * E18 },
      { account: "0x90F79bf6EB2c4f870365E785982E1f101E93b906", freeStake: 50n * E18, claims: 0, live: 0, slashed: 0, slashedAmount: 0n, challenges: 3, challengesLost: 1, challengeBondLost: 50n * E18 },
    ];
    render(<ProviderTable providers={providers} token={{ symbol: "OZKT", decimals: 18 }} />);
    const rows = within(screen.getByTestId("providers")).getAllByRole("row").slice(2);
    const cells = (i: number) => Array.from(rows[i]!.querySelectorAll("td")).map((t) => t.textContent);
    expect(cells(0)).toEqual(["0x7099…79C8", "1,234.5 OZKT", "4", "1", "0", "0 OZKT", "0", "0", "0 OZKT"]);
    expect(cells(1)).toEqual(["0x3C44…93BC", "900 OZKT", "2", "0", "2", "200 OZKT", "0", "0", "0 OZKT"]);
    expect(cells(2)).toEqual(["0x90F7…b906", "50 OZKT", "0", "0", "0", "0 OZKT", "3", "1", "50 OZKT"]);
  });
});

describe("countdown", () => {
  it("formats seconds left against chain time", () => {
    expect(secondsLeft(100n, 40n)).toBe(60);
    expect(secondsLeft(100n, 100n)).toBe(0);
    expect(secondsLeft(100n, 140n)).toBe(0);
    expect([0, 7, 65, 600, 3723].map(formatCountdown)).toEqual(["passed", "7s", "1m 05s", "10m 00s", "1h 02m 03s"]);
  });

  it("ticks down with wall-clock time from the snapshot and shows when it passed", () => {
    vi.useFakeTimers();
    const t0 = Date.now();
    render(<Countdown deadline={1_000_003n} chainTime={1_000_000n} takenAt={t0} />);
    expect(screen.getByTestId("countdown").textContent).toBe("3s");
    act(() => { vi.advanceTimersByTime(2000); });
    expect(screen.getByTestId("countdown").textContent).toBe("1s");
    act(() => { vi.advanceTimersByTime(2000); });
    expect(screen.getByTestId("countdown").textContent).toBe("passed");
    expect(screen.getByTestId("countdown").className).toContain("passed");
  });
});
