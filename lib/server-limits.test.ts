import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sendBody } from "../harness/raw-clients";
import { readConfig } from "./config";
import { ConfigError } from "./config-error";
import { limitRequests, limitServer, serverLimits, type ServerLimits } from "./server-limits";

const fragment = (name: string, deadlineMs: number) => ({ name, deadlineMs });

describe("serverLimits", () => {
  it("by default, leaves a streamed page 10 s past its longest fragment deadline before an idle connection is closed", () => {
    const config = readConfig({});
    expect(serverLimits(config, [fragment("a", 4000), fragment("b", 2000)])).toEqual({
      idleTimeoutMs: 14_000,
      requestTimeoutMs: 10_000,
    });
    expect(serverLimits(config, [fragment("a", 4000), fragment("slow", 9000)]).idleTimeoutMs).toBe(19_000);
  });

  it("takes IDLE_TIMEOUT_MS and REQUEST_TIMEOUT_MS as set", () => {
    const config = readConfig({ IDLE_TIMEOUT_MS: "4001", REQUEST_TIMEOUT_MS: "2500" });
    expect(serverLimits(config, [fragment("a", 4000)])).toEqual({ idleTimeoutMs: 4001, requestTimeoutMs: 2500 });
  });

  it("refuses an idle timeout no longer than a fragment deadline, naming the variable and the fragment", () => {
    const config = readConfig({ IDLE_TIMEOUT_MS: "5000" });
    const fragments = [fragment("a", 4000), fragment("slow", 5000)];
    expect(() => serverLimits(config, fragments)).toThrow(ConfigError);
    expect(() => serverLimits(config, fragments)).toThrow(/^IDLE_TIMEOUT_MS is invalid: .*"slow" \(5000 ms\)/);
  });
});

const LIMITS: ServerLimits = { idleTimeoutMs: 600, requestTimeoutMs: 1000 };

/** A server whose own listener counts the requests it sees and answers only those it is told to. */
async function startServer(
  answer: (request: IncomingMessage, response: ServerResponse) => void = (_, response) => response.end("ok"),
) {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    answer(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, seen, port: (server.address() as AddressInfo).port };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function limitedServer(answer?: Parameters<typeof startServer>[0]) {
  const started = await startServer(answer);
  servers.push(started.server);
  limitRequests(started.server, LIMITS);
  return started;
}

describe("limitRequests", () => {
  it("answers 413 to a body past the allowance at once and closes, never reading it or calling the server's listener", async () => {
    const { port, seen } = await limitedServer();
    const outcome = await sendBody({
      port,
      path: "/",
      announcedBytes: 2 ** 30,
      sendBytes: 8 * 1024 * 1024,
      waitMs: 5000,
    });
    expect(outcome.status).toBe(413);
    expect(outcome.answeredMs).toBeLessThan(500);
    expect(outcome.closedMs).toBeLessThan(1000);
    expect(outcome.sentBytes).toBeLessThan(8 * 1024 * 1024);
    expect(seen).toEqual([]);
  });

  it("ends the connection cleanly after a 413, without a reset while the body still arrives, even when the client asked to close it", async () => {
    const { port } = await limitedServer();
    for (const headers of [{}, { connection: "close" }] as Array<Record<string, string>>) {
      const outcome = await sendBody({
        port,
        path: "/",
        headers,
        announcedBytes: 2 ** 30,
        sendBytes: 4 * 1024 * 1024,
        waitMs: 5000,
      });
      expect(outcome.status, JSON.stringify(headers)).toBe(413);
      expect(outcome.error, JSON.stringify(headers)).toBeUndefined();
    }
  });

  it("refuses before `Expect: 100-continue` is answered, so the client never sends the body", async () => {
    const { port, seen } = await limitedServer();
    const outcome = await sendBody({
      port,
      path: "/fragment/a",
      headers: { expect: "100-continue" },
      announcedBytes: 10,
      sendBytes: 0,
      waitMs: 2000,
    });
    expect(outcome.status).toBe(413);
    expect(seen).toEqual([]);
  });

  it("passes a body the app takes, and every request without one, to the server's listener", async () => {
    const { port, seen, server } = await limitedServer();
    const purge = await sendBody({
      port,
      path: "/api/cache/purge",
      headers: { connection: "close" },
      announcedBytes: 12,
      sendBytes: 12,
      waitMs: 2000,
    });
    expect(purge.status).toBe(200);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(await page.text()).toBe("ok");
    expect(seen).toEqual(["POST /api/cache/purge", "GET /"]);
    expect(server.listenerCount("request")).toBe(1);
  });

  it("cuts a body still arriving past the request timeout with 408", async () => {
    const { port } = await limitedServer((request, response) => request.on("end", () => response.end("ok")).resume());
    const outcome = await sendBody({
      port,
      path: "/api/cache/purge",
      announcedBytes: 500,
      sendBytes: 500,
      trickleEveryMs: 50,
      waitMs: 5000,
    });
    expect(outcome.status).toBe(408);
    expect(outcome.closedMs).toBeGreaterThanOrEqual(LIMITS.requestTimeoutMs - 50);
    expect(outcome.closedMs).toBeLessThan(LIMITS.requestTimeoutMs + 400);
  });

  it("closes a connection on which nothing moves for the idle timeout: an answer that never comes, a body that stops", async () => {
    const { port } = await limitedServer(() => undefined);
    const [silent, stalled] = await Promise.all([
      sendBody({ port, method: "GET", path: "/", announcedBytes: 0, sendBytes: 0, waitMs: 5000 }),
      sendBody({ port, path: "/api/cache/purge", announcedBytes: 100, sendBytes: 7, waitMs: 5000 }),
    ]);
    for (const outcome of [silent, stalled]) {
      expect(outcome.closedMs).toBeGreaterThanOrEqual(LIMITS.idleTimeoutMs - 50);
      expect(outcome.closedMs).toBeLessThan(LIMITS.idleTimeoutMs + 400);
    }
  });
});

describe("limitServer", () => {
  it("finds the server from its first request, through Node's diagnostics channel, and limits it from that request on", async () => {
    const { port, seen, server } = await startServer();
    servers.push(server);
    limitServer(LIMITS);
    const outcome = await sendBody({ port, path: "/", announcedBytes: 2 ** 30, sendBytes: 1024 * 1024, waitMs: 5000 });
    expect(outcome.status).toBe(413);
    expect(seen).toEqual([]);
    expect(server.timeout).toBe(LIMITS.idleTimeoutMs);
  });
});
