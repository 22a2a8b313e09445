// A reproducible HTTP fuzzer for tests that play the attacker against the daemons' servers: raw bytes on a
// socket (malformed request lines and headers, bad percent-encoding, wrong JSON types, invalid JSON, bodies
// over the limit, slow clients), generated from a seeded PRNG so a failing case can be replayed.
import { connect } from "node:net";
import { mulberry32 } from "../scripts/lib/random.ts";

export type Rng = () => number;

export const prng: (seed: number) => Rng = mulberry32;

/** A seed per endpoint, so each endpoint's cases do not depend on which others run. */
export function seedFor(seed: number, name: string): number {
  let h = seed >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;

/** What a case expects: any 4xx, exactly this status, or this status followed by the server closing. */
export type Want = "4xx" | number | { status: number; close: true };

export interface Case {
  label: string;
  /** Written in order; with `gapMs`, one chunk every gapMs (a slow client). */
  chunks: Buffer[];
  gapMs?: number;
  /** Half-close after the last chunk (the client is done sending). */
  end?: boolean;
  /** After the chunks, keep sending this many bytes of filler as fast as the server reads (an endless upload). */
  pumpBytes?: number;
  want: Want;
}

export interface Reply {
  status: number;
  closed: boolean;
  /** No complete answer and no close within the hang guard. */
  hung: boolean;
  head: string;
  body: string;
}

const CRLF = "\r\n";

/** Sends a case on a fresh connection; resolves with the first final answer (and, when wanted, the close). */
export function exchange(port: number, c: Case, hangMs: number): Promise<Reply> {
  const waitClose = typeof c.want === "object";
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    sock.setNoDelay(true);
    let got = Buffer.alloc(0);
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (closed: boolean, hung = false): void => {
      if (done) return;
      done = true;
      timers.forEach(clearTimeout);
      sock.destroy();
      resolve({ ...parse(got), closed, hung });
    };
    sock.on("error", () => undefined); // a reset after the answer is part of what is tested
    sock.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (!waitClose && complete(got)) finish(false);
    });
    sock.on("close", () => finish(true));
    timers.push(setTimeout(() => finish(false, true), hangMs));
    sock.once("connect", () => {
      let i = 0;
      const next = (): void => {
        if (done || sock.destroyed) return;
        if (i < c.chunks.length) {
          sock.write(c.chunks[i++]!);
          if (c.gapMs) timers.push(setTimeout(next, c.gapMs));
          else next();
          return;
        }
        if (c.pumpBytes) pump(c.pumpBytes);
        else if (c.end) sock.end();
      };
      const filler = Buffer.alloc(64 * 1024, 0x30);
      const pump = (left: number): void => {
        while (left > 0 && !done && sock.writable) {
          left -= filler.length;
          if (!sock.write(filler)) {
            sock.once("drain", () => pump(left));
            return;
          }
        }
      };
      next();
    });
  });
}

/** Whether `raw` holds a whole final answer (a head with a Content-Length and that many body bytes). */
function complete(raw: Buffer): boolean {
  const text = stripInterim(raw.toString("latin1"));
  const end = text.indexOf(CRLF + CRLF);
  if (end < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
  return length !== undefined && Buffer.byteLength(text.slice(end + 4), "latin1") >= Number(length);
}

/** Drops `100 Continue` interim answers. */
function stripInterim(text: string): string {
  while (/^HTTP\/1\.1 1\d\d [^\r]*\r\n\r\n/.test(text)) text = text.slice(text.indexOf(CRLF + CRLF) + 4);
  return text;
}

function parse(raw: Buffer): { status: number; head: string; body: string } {
  const text = stripInterim(raw.toString("latin1"));
  const end = text.indexOf(CRLF + CRLF);
  const head = end < 0 ? text : text.slice(0, end);
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), head, body: end < 0 ? "" : text.slice(end + 4) };
}

/** Why a reply does not meet its case's expectation, or undefined when it does. */
export function problem(c: Case, r: Reply): string | undefined {
  const got = r.hung ? `no answer (status ${r.status || "none"}, connection still open)` : `${r.status || "no status"}${r.closed ? ", closed" : ""}`;
  const w = c.want;
  if (w === "4xx") return r.status >= 400 && r.status < 500 && !r.hung ? undefined : `want a 4xx, got ${got}`;
  if (typeof w === "number") return r.status === w && !r.hung ? undefined : `want ${w}, got ${got}`;
  return r.status === w.status && r.closed ? undefined : `want ${w.status} and the connection closed, got ${got}`;
}

/** Runs cases with at most `parallel` connections open; returns the failures, each with the case's bytes. */
export async function runCases(port: number, cases: readonly Case[], o: { parallel: number; hangMs: number }): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const r = await exchange(port, c, o.hangMs);
      const p = problem(c, r);
      if (p) failures.push(`${c.label}: ${p} ${r.body ? `(${r.body.slice(0, 160)}) ` : ""}for ${preview(c)}`);
    }
  };
  await Promise.all(Array.from({ length: o.parallel }, worker));
  return failures;
}

function preview(c: Case): string {
  const text = Buffer.concat(c.chunks).toString("latin1");
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…(${text.length} bytes)` : text);
}

// ---- request builders ----

export function request(method: string, target: string, o: { headers?: string[]; body?: string | Buffer; version?: string } = {}): Buffer {
  const body = typeof o.body === "string" ? Buffer.from(o.body, "utf8") : o.body;
  const headers = o.headers ?? ["Host: fuzz", ...(body ? [`Content-Type: application/json`, `Content-Length: ${body.length}`] : [])];
  const line = `${method} ${target}${o.version === "" ? "" : ` ${o.version ?? "HTTP/1.1"}`}`;
  return Buffer.concat([Buffer.from([line, ...headers].join(CRLF) + CRLF + CRLF, "latin1"), body ?? Buffer.alloc(0)]);
}

/** The same body sent with chunked transfer encoding, cut at random places. */
export function chunked(rng: Rng, method: string, target: string, body: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from(`${method} ${target} HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`)];
  let at = 0;
  while (at < body.length) {
    const n = Math.min(body.length - at, 1 + int(rng, 4096));
    parts.push(Buffer.from(`${n.toString(16)}\r\n`), body.subarray(at, at + n), Buffer.from(CRLF));
    at += n;
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

const CONTROL = [...Array.from({ length: 32 }, (_, i) => i).filter((b) => b !== 0x09 && b !== 0x0a && b !== 0x0d), 0x7f];
const HIGH = Array.from({ length: 128 }, (_, i) => 0x80 + i);

function randomBytes(rng: Rng, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => int(rng, 256)));
}

function randomToken(rng: Rng, alphabet: string, min: number, max: number): string {
  return Array.from({ length: min + int(rng, max - min + 1) }, () => alphabet[int(rng, alphabet.length)]).join("");
}

/**
 * A request for `method target` made malformed at the HTTP level: a request line or header no parser may
 * accept (bad method, version, target bytes, absolute-form garbage, binary), broken framing (Content-Length
 * and Transfer-Encoding), or missing Host. Whatever the route, the answer must be a 4xx.
 */
export function malformedRequest(rng: Rng, method: string, target: string): Case {
  const kinds = [
    "absolute", "version", "no-version", "method", "byte-in-line", "binary", "header", "framing", "no-host", "line-ends", "truncated",
  ] as const;
  const kind = pick(rng, kinds);
  const host = ["Host: fuzz"];
  switch (kind) {
    case "absolute": {
      // Absolute-form targets whose authority cannot be a URL: the server must not take them for a path.
      const authority = pick(rng, [
        "[", "[::1", "[" + randomToken(rng, "0123456789abcdefg:", 1, 12), "%" + randomToken(rng, "GHIJKLMNOPQRSTUVWXYZ", 2, 2),
        `fuzz:${70000 + int(rng, 900000)}`, `fuzz:${randomToken(rng, "abcxyz", 1, 4)}`, "a%zz", "[" + randomToken(rng, "xyz", 1, 5) + "]",
      ]);
      const scheme = pick(rng, ["http", "https", "ws", "HTTP"]);
      return { label: `absolute-form ${scheme}://${authority}`, chunks: [request(method, `${scheme}://${authority}${target}`)], want: 400 };
    }
    case "version": {
      const v = pick(rng, [
        "HTTP/1.1x", "HTTP/1", "HTTP/", "HTTP/1.1.1", "HTTP/11.1", "HTTPS/1.1", "http/1.1", "HTTP/1.1 extra", "HTTP/a.b", "HTTP\\1.1", "HTTP/1.-1",
        "HTTP/" + randomToken(rng, "0123456789.", 3, 8), "XTTP/1.1", "HTTP /1.1",
      ]);
      return { label: `bad version ${JSON.stringify(v)}`, chunks: [request(method, target, { version: v })], want: "4xx" };
    }
    case "no-version": {
      // Without a version a parser may fall back to HTTP/0.9; the method is one no route takes, so a 4xx
      // is still the only right answer.
      const m = pick(rng, ["PUT", "DELETE", "PATCH"]);
      return { label: `no version, ${m}`, chunks: [request(m, target, { version: "" })], want: "4xx" };
    }
    case "method": {
      const m = pick(rng, [
        "get", "Get", "G ET", "GETT", "FUZZ", "", "\x00GET", "GET\x7f", "PO ST", "BREW",
        randomToken(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 9, 20), randomToken(rng, "abcdefghijklmnopqrstuvwxyz", 3, 8),
      ]);
      return { label: `bad method ${JSON.stringify(m)}`, chunks: [request(m, target)], want: "4xx" };
    }
    case "byte-in-line": {
      // A byte no request line may hold (a control character, or a non-ASCII byte), somewhere in it.
      const line = Buffer.from(`${method} ${target} HTTP/1.1`, "latin1");
      const at = int(rng, line.length + 1);
      const b = rng() < 0.5 ? pick(rng, CONTROL) : pick(rng, HIGH);
      const bad = Buffer.concat([line.subarray(0, at), Buffer.from([b]), line.subarray(at)]);
      return { label: `byte 0x${b.toString(16)} at ${at} of the request line`, chunks: [Buffer.concat([bad, Buffer.from("\r\nHost: fuzz\r\n\r\n")])], want: "4xx" };
    }
    case "binary": {
      // Random bytes from the first byte on (which is never a method's first letter).
      const first = rng() < 0.5 ? pick(rng, CONTROL) : pick(rng, HIGH);
      const junk = Buffer.concat([Buffer.from([first]), randomBytes(rng, int(rng, 512)), Buffer.from("\r\n\r\n")]);
      return { label: "binary junk", chunks: [junk], want: "4xx" };
    }
    case "header": {
      const h = pick(rng, [
        "Host fuzz", "Ho st: fuzz", "Host : fuzz", "(Host): fuzz", "Ho\x00st: fuzz", "X-Fuzz: a\x00b", ": empty-name", "X-Fuzz\x7f: v",
        "X-Fuzz: " + "a".repeat(17_000 + int(rng, 20_000)), " X-Folded: continued", "X-\xff: v", "X-Fuzz: \x01",
      ]);
      return { label: `bad header ${JSON.stringify(h.slice(0, 40))}`, chunks: [request(method, target, { headers: [...host, h] })], want: "4xx" };
    }
    case "framing": {
      const f = pick(rng, [
        ["Content-Length: 2", "Content-Length: 3"],
        ["Content-Length: 2", "Transfer-Encoding: chunked"],
        ["Content-Length: -1"],
        ["Content-Length: abc"],
        ["Content-Length: 1 2"],
        ["Content-Length: 0x10"],
        ["Transfer-Encoding: gzip"],
        ["Transfer-Encoding: chunked", "Transfer-Encoding: identity"],
        ["Transfer-Encoding: chunked, gzip"],
      ]);
      const body = f.includes("Transfer-Encoding: chunked") && !f.some((x) => x.startsWith("Content-Length")) ? "zz\r\n{}\r\n0\r\n\r\n" : "{}";
      return { label: `bad framing ${f.join(" + ")}`, chunks: [Buffer.concat([request(method, target, { headers: [...host, ...f] }), Buffer.from(body)])], end: true, want: "4xx" };
    }
    case "no-host":
      return { label: "HTTP/1.1 without Host", chunks: [request(method, target, { headers: ["Accept: */*"] })], want: "4xx" };
    case "line-ends": {
      const sep = pick(rng, ["\r", "\n\r", "\r\r\n"]);
      return { label: `line ends ${JSON.stringify(sep)}`, chunks: [Buffer.from(`${method} ${target} HTTP/1.1${sep}Host: fuzz${sep}${sep}`, "latin1")], end: true, want: "4xx" };
    }
    case "truncated": {
      // The client hangs up in the middle of the head: the server says so (400) instead of waiting.
      const full = request(method, target);
      const cut = 1 + int(rng, full.length - 5);
      return { label: `head cut after ${cut} bytes, then EOF`, chunks: [full.subarray(0, cut)], end: true, want: "4xx" };
    }
  }
}

/** A path segment whose percent-encoding is broken (or decodes to invalid UTF-8): a 400 naming the parameter. */
export function badPercent(rng: Rng): string {
  const bad = pick(rng, [
    "%", "%Z", "%ZZ", "%G0", "%0", "%%", "%%41", "%C3%28", "%E0%A4%A", "%FF", "%ED%A0%80", "%F8%88%80%80%80", "%C0%AF", "%80",
    "%E2%82", "%F0%9F%98", "%" + randomToken(rng, "GHIJKLMNOPQRSTUVWXYZghijklmnopqrstuvwxyz", 2, 2),
  ]);
  const around = (): string => randomToken(rng, "abcdefghijklmnopqrstuvwxyz0123456789-._~", 0, 12);
  // What follows starts with a character no escape can take as a hex digit, so it cannot complete one.
  return `${around()}${bad}${pick(rng, ["", "_", "-", "~", "."])}${rng() < 0.5 ? "" : `_${around()}`}`;
}

/** A path parameter that decodes but names nothing (404), or that is broken (400): either way a 4xx. */
export function paramCase(rng: Rng, prefix: string): Case {
  if (rng() < 0.6) {
    const seg = badPercent(rng);
    return { label: `bad percent-encoding ${seg}`, chunks: [request("GET", prefix + seg)], want: 400 };
  }
  const seg = pick(rng, [
    () => randomToken(rng, "abcdefghijklmnopqrstuvwxyz0123456789-._~", 1, 80),
    () => "0x" + randomToken(rng, "0123456789abcdef", 64, 64),
    () => encodeURIComponent(String.fromCodePoint(...Array.from({ length: 1 + int(rng, 8) }, () => 0x20 + int(rng, 0xd700)))),
    () => "%2F..%2F..%2Fetc%2Fpasswd",
    () => "a".repeat(2000 + int(rng, 6000)),
    () => "%00",
  ])();
  return { label: `unknown id ${seg.slice(0, 40)}`, chunks: [request("GET", prefix + seg)], want: 404 };
}

// ---- JSON bodies ----

/** Raw JSON texts, written by hand where JSON.stringify cannot write them (1e999 reads as Infinity). */
export const WRONG_SCALARS = [
  "123", "-1", "0", "-0", "1.5", "1e999", "-1e999", "123456789012345678901234567890", "9007199254740993", "true", "false", "null",
  '"NaN"', '"Infinity"', '"-Infinity"', '"1e3"', '"0x10"', '" 1"', '""', '"-"', '"\\u0000"', '"\\ud800"',
];
export const WRONG_COMPOSITES = ["[]", "{}", "[1,2]", '["a"]', '{"a":1}', "[[[[[[1]]]]]]", '{"a":{"b":{"c":{}}}}', "[null]", '[{"x":[]}]'];

export function nested(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** An object text from raw member texts (values are JSON texts, written as they are). */
export function objectText(members: Record<string, string>): string {
  return `{${Object.entries(members).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
}

/** Texts that are not JSON at all. */
export function invalidJson(rng: Rng, valid: string): string {
  return pick(rng, [
    () => valid.slice(0, int(rng, valid.length)), // any proper prefix of an object is not JSON
    () => valid + pick(rng, ["x", "}", ",", "]", "{}"]),
    () => "\ufeff" + valid,
    () => valid.replace(/"/g, "'"),
    () => valid.replace(/:/, "="),
    () => `{model: 1}`,
    () => "NaN",
    () => "{\"a\":NaN}",
    () => "{\"a\":01}",
    () => "{\"a\":.5}",
    () => "{\"a\":\"\\x41\"}",
    () => "{\"a\":\"tab\tin string\"}",
    () => "[1,]",
    () => "{,}",
    () => randomBytes(rng, 1 + int(rng, 200)).toString("latin1").replace(/[{[]/g, "x"),
    () => "undefined",
    () => "// comment\n{}",
  ])();
}
