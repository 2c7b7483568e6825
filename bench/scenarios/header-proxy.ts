import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export type HeaderProxy = { url: string; close(): Promise<void> };

/**
 * A pass-through HTTP proxy in front of `target` that drops the named response headers (lower case) and
 * changes nothing else: request and response are piped as they come, so a streamed page stays streamed.
 * With nothing to drop it is the control, the same hop with the header kept.
 */
export async function startHeaderProxy(target: string, drop: string[] = []): Promise<HeaderProxy> {
  const { hostname, port } = new URL(target);
  const dropped = new Set(drop);
  const server = createServer((incoming, outgoing) => {
    const forward = request(
      { hostname, port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        // Raw name/value pairs keep every header as the app sent it, repeated ones included.
        const kept: string[] = [];
        for (let index = 0; index < answer.rawHeaders.length; index += 2) {
          const name = answer.rawHeaders[index]!;
          if (!dropped.has(name.toLowerCase())) kept.push(name, answer.rawHeaders[index + 1]!);
        }
        outgoing.writeHead(answer.statusCode ?? 502, answer.statusMessage, kept);
        answer.pipe(outgoing);
      },
    );
    forward.on("error", () => outgoing.destroy());
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
