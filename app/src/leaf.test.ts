// The hostile-input fetch of a batch's data: only http(s), no redirects, credentials or referrer, a size cap checked on
// the declared length and on the bytes read, and a time limit; each refusal names the problem.
import { describe, expect, it, vi } from "vitest";
import { LeafLookupError, fetchBatchText, inertText, safeHttpUrl } from "./leaf.ts";

const limits = { timeoutMs: 50, maxBytes: 100 };
const stream = (chunks: string[]) => new ReadableStream<Uint8Array>({
  start(c) { for (const s of chunks) c.enqueue(new TextEncoder().encode(s)); c.close(); },
});

describe("fetchBatchText", () => {
  it("fetches http(s) only, with no redirects, no credentials and no referrer", async () => {
    const fetchFn = vi.fn(async () => new Response(stream(['{"size":1}'])));
    expect(await fetchBatchText("https://p.example/batches/0x12", limits, fetchFn)).toBe('{"size":1}');
    const [url, init] = fetchFn.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("https://p.example/batches/0x12");
    expect(init).toMatchObject({ redirect: "error", credentials: "omit", referrerPolicy: "no-referrer" });
    for (const uri of ["javascript:alert(1)", "file:///etc/passwd", "data:application/json,{}", "ftp://p.example/x", "not a url"]) {
      await expect(fetchBatchText(uri, limits, fetchFn)).rejects.toThrow(/is not an http\(s\) URL/);
    }
    expect(fetchFn).toHaveBeenCalledTimes(1);
  });

  it("refuses a declared length over the cap before reading, and cuts off a longer body", async () => {
    const declared = new Response(stream(["{}"]), { headers: { "content-length": "101" } });
    await expect(fetchBatchText("http://p.example/", limits, async () => declared)).rejects.toThrow("the batch data is 101 bytes, over the page's limit of 100");
    const long = new Response(stream(["x".repeat(60), "y".repeat(60)]));
    await expect(fetchBatchText("http://p.example/", limits, async () => long)).rejects.toThrow("the batch data is over the page's limit of 100 bytes");
  });

  it("gives up when the server does not answer in time, and names HTTP errors and network failures", async () => {
    const hang = (_: RequestInfo | URL, init?: RequestInit) => new Promise<Response>((_resolve, reject) => {
      init!.signal!.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    });
    await expect(fetchBatchText("http://p.example/", limits, hang)).rejects.toThrow("the dataURI did not answer within 0.05 s");
    await expect(fetchBatchText("http://p.example/", limits, async () => new Response("gone", { status: 404 }))).rejects.toThrow("the dataURI answered HTTP 404");
    const err = await fetchBatchText("http://p.example/", limits, async () => { throw new TypeError("Failed to fetch"); }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeafLookupError);
    expect((err as Error).message).toMatch(/fetching the dataURI failed \(Failed to fetch\).*cross-origin.*paste its data instead/);
  });
});

describe("safeHttpUrl and inertText", () => {
  it("accepts only http(s) URLs and makes hostile text inert", () => {
    expect(safeHttpUrl("http://a.example/x")?.href).toBe("http://a.example/x");
    expect(safeHttpUrl("JavaScript:alert(1)")).toBeUndefined();
    expect(safeHttpUrl(`http://a.example/${"x".repeat(3000)}`)).toBeUndefined();
    expect(inertText("a\u202Eb\u0000c")).toBe("a\ufffdb\ufffdc");
    expect(inertText("x".repeat(10), 4)).toBe("xxxx…");
  });
});
