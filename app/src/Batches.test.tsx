// Batches on the page: the batch table (size, bond, status, countdowns, audit, open challenges, data URI shown safely),
// the audit cell for every audit status, how the snapshot derives a missed audit, and the lookup of one claim of a
// batch from its data URI, its pasted data or typed-in fields, with hostile data refused by name.
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { Hex } from "viem";
import { batchId as batchIdOf, batchLeaf, buildBatchTree, type BatchStruct } from "../../sdk/batch.ts";
import { AuditCell, type AuditView } from "./AuditCell.tsx";
import { BatchTable, LeafLookup } from "./Batches.tsx";
import { batchAuditView, type BatchView, type ModelView } from "./snapshot.ts";
import { tokens } from "./format.ts";
import type { LeafProof } from "./leaf.ts";

const E18 = 10n ** 18n;
const MODEL = `0x${"ab".repeat(32)}` as Hex;
const PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Hex;
const CHALLENGER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906" as Hex;
const models = [{ name: "mnist-mlp", modelId: MODEL }] as ModelView[];

/** Five claims of the model, their tree and the batch committing to them. */
const leaves = Array.from({ length: 5 }, (_, i) => ({ index: i, inputHash: 1000n + BigInt(i), outputs: Array.from({ length: 10 }, (_, k) => (k === (i + 3) % 10 ? 400n : BigInt(-k))) }));
const tree = buildBatchTree(leaves.map((l) => batchLeaf(MODEL, l.inputHash, l.outputs, l.index)));
const struct: BatchStruct = { modelId: MODEL, provider: PROVIDER, root: tree.root, size: 5, bond: 100n * E18, auditRateBps: 2500, auditFee: 0n };
const data = JSON.stringify({ modelId: MODEL, root: tree.root, size: 5, leaves: leaves.map((l) => ({ index: l.index, inputHash: l.inputHash.toString(), outputs: l.outputs.map(String), inputData: "0x00" })) });

const view = (over: Partial<BatchView> = {}): BatchView => ({
  batchId: batchIdOf(struct), batch: struct, dataURI: "http://provider.example:8080/batches/" + tree.root, submittedBlock: 40n,
  status: 1, statusName: "Submitted", challengeDeadline: 1_000_120n, openChallenges: 0, audit: { status: "Undrawn" }, challenges: [], ...over,
});

afterEach(() => { cleanup(); vi.useRealTimers(); });

describe("BatchTable", () => {
  it("shows each batch's model, provider, size, bond, status, challenge countdown, audit and open challenges", () => {
    const batches = [
      view({ openChallenges: 1, audit: { status: "Selected", index: 3, deadline: 1_000_720n }, challenges: [
        { index: 2, statusName: "Challenged", proofDeadline: 1_000_600n, challenger: CHALLENGER },
        { index: 4, statusName: "Proven", proofDeadline: 1_000_500n, challenger: CHALLENGER },
      ] }),
      view({ batchId: `0x${"11".repeat(32)}`, status: 3, statusName: "Slashed", audit: { status: "Missed", index: 1, deadline: 900n }, slash: { reason: "AuditUnanswered", index: 1 } }),
    ];
    render(<BatchTable batches={batches} models={models} chainTime={1_000_000n} takenAt={Date.now()} token={{ symbol: "OZKT", decimals: 18 }} />);
    const rows = within(screen.getByTestId("batches")).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    const cells = (i: number) => Array.from(rows[i]!.querySelectorAll("td")).map((t) => t.textContent);
    expect(cells(0).slice(1, 7)).toEqual(["mnist-mlp", "0x7099…79C8", "5", tokens(100n * E18, { symbol: "OZKT", decimals: 18 }), "Submitted", "2m 00s"]);
    expect(cells(0)[7]).toBe("selected position 3 · proof 12m 00srate 25%");
    expect(cells(0)[8]).toBe("position 2 · proof 10m 00s by 0x90F7…b9061 more challenged: 4 proven");
    expect(screen.getAllByTestId("batch-status").map((e) => e.textContent)).toEqual(["Submitted", "Slashed"]);
    expect(cells(1)[5]).toBe("Slashedits audit went unanswered");
    expect(cells(1)[6]).toBe("settled");
    expect(cells(1)[8]).toBe("none");
  });

  it("links a data URI only when it is http(s), never with a referrer, and shows anything else as inert text", () => {
    const hostile = [
      "javascript:alert(document.cookie)",
      "data:text/html,<script>alert(1)</script>",
      "<img src=x onerror=alert(1)>",
      "http://evil.example/\u202Egnp.exe" + "x".repeat(500),
    ];
    render(<BatchTable batches={[view(), ...hostile.map((dataURI, i) => view({ batchId: `0x${(i + 1).toString(16).padStart(64, "0")}`, dataURI }))]} models={models} chainTime={0n} takenAt={0} />);
    const uris = screen.getAllByTestId("datauri");
    expect(uris[0]!.tagName).toBe("A");
    expect(uris[0]!.getAttribute("href")).toBe(`http://provider.example:8080/batches/${tree.root}`);
    expect(uris[0]!.getAttribute("rel")).toBe("noopener noreferrer nofollow");
    expect(uris[0]!.getAttribute("referrerpolicy")).toBe("no-referrer");
    // javascript:, data: and markup are text, not links or elements.
    for (const i of [1, 2, 3]) {
      expect(uris[i]!.tagName).toBe("SPAN");
      expect(uris[i]!.querySelector("a, img, script")).toBeNull();
      expect(uris[i]!.textContent).toContain("(not a link)");
    }
    expect(uris[3]!.textContent).toContain("<img src=x onerror=alert(1)>");
    // A long URL is cut, and a bidirectional override cannot reorder what the reader sees.
    expect(uris[4]!.tagName).toBe("A");
    expect(uris[4]!.textContent!.length).toBeLessThanOrEqual(81);
    expect(uris[4]!.textContent).not.toContain("\u202E");
    expect(uris[4]!.textContent).toContain("\ufffd");
  });

  it("says so when there are no batches", () => {
    render(<BatchTable batches={[]} models={models} chainTime={0n} takenAt={0} />);
    expect(screen.getByText("No batches yet.")).toBeTruthy();
  });
});

describe("AuditCell", () => {
  it("shows not drawn, clear, selected (position and countdown), answered and missed", () => {
    const audits: AuditView[] = [
      { status: "Undrawn" },
      { status: "Clear" },
      { status: "Selected", index: 7, deadline: 1_000_065n },
      { status: "Answered", index: 7 },
      { status: "Missed", index: 7, deadline: 999_000n },
      { status: "Missed" },
    ];
    render(<div>{audits.map((a, i) => <AuditCell key={i} audit={a} chainTime={1_000_000n} takenAt={Date.now()} />)}</div>);
    expect(screen.getAllByTestId("audit").map((e) => e.textContent)).toEqual([
      "not drawn", "clear", "selected position 7 · proof 1m 05s", "answered position 7", "missed position 7", "missed",
    ]);
    expect(screen.getAllByTestId("audit").map((e) => e.getAttribute("data-audit"))).toEqual(["Undrawn", "Clear", "Selected", "Answered", "Missed", "Missed"]);
    expect(screen.getAllByTestId("audit")[2]!.getAttribute("title")).toMatch(/must prove it before the deadline/);
  });
});

describe("batchAuditView", () => {
  const head = { blockNumber: 100n, chainTime: 5_000n };
  const state = (audit: number, status = 1, submittedBlock = 90n) => ({ status, audit, auditIndex: 3, submittedBlock });
  it("reads the contract's audit statuses", () => {
    expect(batchAuditView(state(0), undefined, undefined, head)).toEqual({ status: "Undrawn" });
    expect(batchAuditView(state(1), undefined, undefined, head)).toEqual({ status: "Clear" });
    expect(batchAuditView(state(2), { deadline: 5_001n }, undefined, head)).toEqual({ status: "Selected", index: 3, deadline: 5_001n });
    expect(batchAuditView(state(3), { deadline: 5_001n }, undefined, head)).toEqual({ status: "Answered", index: 3 });
  });
  it("calls an audit missed once nobody can answer it, before anyone slashes, and after a slash for it", () => {
    // Selected, and chain time reached its deadline: slashMissedAudit would pass now.
    expect(batchAuditView(state(2), { deadline: 5_000n }, undefined, head).status).toBe("Missed");
    // Undrawn while the seed block (submittedBlock + 1) is no longer among the 256 the next block can read.
    expect(batchAuditView(state(0, 1, 100n - 256n), undefined, undefined, head).status).toBe("Undrawn");
    expect(batchAuditView(state(0, 1, 100n - 257n), undefined, undefined, head).status).toBe("Missed");
    // Slashed for its audit (AuditUnanswered = 2, AuditMissed = 3), not for a challenge (Unproven = 0).
    expect(batchAuditView(state(2, 3), { deadline: 4_000n }, 2, head)).toEqual({ status: "Missed", index: 3, deadline: 4_000n });
    expect(batchAuditView(state(0, 3), undefined, 3, head)).toEqual({ status: "Missed" });
    expect(batchAuditView(state(2, 3), { deadline: 4_000n }, 0, head).status).toBe("Selected");
  });
});

describe("LeafLookup", () => {
  function setup(over: { check?: (b: BatchStruct, l: LeafProof) => Promise<boolean>; fetchText?: (uri: string) => Promise<string>; batch?: BatchView } = {}) {
    const b = over.batch ?? view({ status: 2, statusName: "Finalized" });
    const check = vi.fn(over.check ?? (async () => true));
    const fetchText = vi.fn(over.fetchText ?? (async () => data));
    let id = "";
    const r = render(<LeafLookup batches={[b]} batchId={id} onBatchId={(v) => { id = v; }} check={check} fetchText={fetchText} />);
    const rerender = () => r.rerender(<LeafLookup batches={[b]} batchId={id} onBatchId={(v) => { id = v; }} check={check} fetchText={fetchText} />);
    const type = (testId: string, value: string) => { fireEvent.change(screen.getByTestId(testId), { target: { value } }); rerender(); };
    return { b, check, fetchText, type };
  }

  it("fetches the leaf from the data URI, checks it rebuilds the root, and asks the contract with its path", async () => {
    const { b, check, fetchText, type } = setup();
    type("lookup-id", b.batchId);
    type("lookup-index", "3");
    fireEvent.click(screen.getByTestId("lookup"));
    await screen.findByTestId("lookup-result");
    expect(fetchText).toHaveBeenCalledWith(b.dataURI);
    expect(check).toHaveBeenCalledWith(struct, { index: 3, inputHash: 1003n, outputs: leaves[3]!.outputs, path: tree.path(3) });
    expect(screen.getByTestId("lookup-result").getAttribute("data-settled")).toBe("yes");
    expect(screen.getByTestId("lookup-verdict").textContent).toMatch(/^settled/);
    expect(screen.getByTestId("lookup-class").textContent).toBe("6");
  });

  it("says why a leaf of a batch still open is not settled", async () => {
    const { b, type } = setup({ batch: view(), check: async () => false });
    type("lookup-id", b.batchId);
    type("lookup-index", "1");
    fireEvent.click(screen.getByTestId("lookup"));
    await screen.findByTestId("lookup-result");
    expect(screen.getByTestId("lookup-result").getAttribute("data-settled")).toBe("no");
    expect(screen.getByTestId("lookup-verdict").textContent).toMatch(/not settled.*not finalized yet/);
  });

  it("refuses data that does not rebuild the batch's root, or is not the batch's shape, naming the problem and asking the chain nothing", async () => {
    const forged = JSON.parse(data) as { leaves: Array<{ outputs: string[] }> };
    forged.leaves[2]!.outputs[0] = "999";
    const cases: Array<[string, RegExp]> = [
      [JSON.stringify(forged), /does not rebuild the batch's root/],
      ["<html><script>alert(1)</script></html>", /not JSON/],
      [JSON.stringify({ size: 5, leaves: [] }), /has 0 leaves, the batch on chain has 5/],
      [JSON.stringify({ size: 4, leaves: [] }), /says size 4, the batch on chain has 5/],
      [data.replace('"inputHash":"1001"', '"inputHash":"1e3"'), /leaves\[1\]\.inputHash is not a decimal integer string/],
      [data.replace('"index":4', '"index":0'), /position 0 twice/],
    ];
    for (const [text, message] of cases) {
      const { b, check, type } = setup({ fetchText: async () => text });
      type("lookup-id", b.batchId);
      fireEvent.click(screen.getByTestId("lookup"));
      expect((await screen.findByTestId("lookup-error")).textContent).toMatch(message);
      expect(check).not.toHaveBeenCalled();
      expect(screen.queryByTestId("lookup-result")).toBeNull();
      cleanup();
    }
  });

  it("takes pasted data, and a leaf typed in: a leaf that is not the batch's at that position is not settled, and says why", async () => {
    const { b, check, type } = setup({ check: async (_b, l) => l.inputHash === 1002n });
    type("lookup-id", b.batchId.toUpperCase().replace("0X", "0x"));
    type("lookup-index", "2");
    fireEvent.click(screen.getByTestId("source-paste"));
    type("leaf-data", data);
    fireEvent.click(screen.getByTestId("lookup"));
    await waitFor(() => expect(screen.getByTestId("lookup-result").getAttribute("data-settled")).toBe("yes"));

    fireEvent.click(screen.getByTestId("source-fields"));
    type("leaf-inputHash", "1002");
    type("leaf-outputs", leaves[3]!.outputs.join(", ")); // position 3's outputs at position 2
    type("leaf-path", tree.path(2).join("\n"));
    check.mockResolvedValueOnce(false);
    fireEvent.click(screen.getByTestId("lookup"));
    await waitFor(() => expect(screen.getByTestId("lookup-result").getAttribute("data-settled")).toBe("no"));
    expect(screen.getByTestId("lookup-verdict").textContent).toMatch(/not the batch's claim at position 2/);
    expect(check).toHaveBeenLastCalledWith(struct, { index: 2, inputHash: 1002n, outputs: leaves[3]!.outputs, path: tree.path(2) });
  });

  it("names bad input: an unknown batch, a position past the batch, a malformed path sibling", async () => {
    const { b, check, type } = setup();
    const error = async () => { fireEvent.click(screen.getByTestId("lookup")); return (await screen.findByTestId("lookup-error")).textContent; };
    type("lookup-id", "0x1234");
    expect(await error()).toMatch(/batch id: 32 bytes of 0x-hex/);
    type("lookup-id", `0x${"99".repeat(32)}`);
    expect(await error()).toMatch(/no batch 0x999999…9999 in this deployment's BatchManager/);
    type("lookup-id", b.batchId);
    type("lookup-index", "5");
    expect(await error()).toMatch(/position must be an integer from 0 to 4 \(the batch holds 5 claims\), got 5/);
    type("lookup-index", "0");
    fireEvent.click(screen.getByTestId("source-fields"));
    type("leaf-inputHash", "7");
    type("leaf-outputs", "1, 2");
    type("leaf-path", "0x1234");
    expect(await error()).toMatch(/path sibling 0 "0x1234" is not 32 bytes of 0x-hex/);
    expect(check).not.toHaveBeenCalled();
  });
});
