// A raw HTTP client for tests that play the attacker: bytes on a socket, no client library to tidy the request.
import { connect } from "node:net";

/**
 * Sends `head` (and then `body`, if any, in chunks until the server hangs up) on a raw socket, the way an
 * attacker would: no client library to tidy the request. Resolves with what came back and whether the
 * server closed the connection; gives up after `waitMs` (then `closed` is false).
 */
export async function raw(port: number, head: string, o: { body?: Buffer; waitMs?: number } = {}): Promise<{ status: number; headers: string; body: string; closed: boolean }> {
  const sock = connect(port, "127.0.0.1");
  let got = "";
  sock.on("data", (d: Buffer) => (got += d.toString("utf8")));
  sock.on("error", () => undefined); // a reset after the answer is part of what is tested
  let pump: NodeJS.Timeout | undefined;
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), o.waitMs ?? 3000);
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
    sock.write(head);
    if (o.body) pump = setInterval(() => sock.writable && sock.write(o.body!), 1);
  });
  clearInterval(pump);
  sock.destroy();
  const [headers = "", body = ""] = got.split("\r\n\r\n");
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? 0), headers, body, closed };
}
