import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, it, expect, vi } from "vitest";
import { freePort } from "../test-support/free-port";
import { createUpstream, httpUpstream, simulatedUpstream, UpstreamError } from "./upstream";

describe("simulatedUpstream", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("answers `result for <query>` within maxMs", async () => {
    const upstream = simulatedUpstream(20);
    const started = performance.now();
    await expect(upstream("weather")).resolves.toBe("result for weather");
    // 20 ms at most, plus generous scheduling slack.
    expect(performance.now() - started).toBeLessThan(20 + 200);
  });

  it("passes the query through verbatim", async () => {
    const upstream = simulatedUpstream(0);
    await expect(upstream("a b/ç?&=")).resolves.toBe("result for a b/ç?&=");
    await expect(upstream("")).resolves.toBe("result for ");
  });

  it("waits the longest delay, maxMs, when Math.random is just under 1", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    vi.spyOn(Math, "random").mockReturnValue(0.999_999);
    let answer: string | undefined;
    const pending = simulatedUpstream(20)("q").then((value) => (answer = value));
    await vi.advanceTimersByTimeAsync(19);
    expect(answer).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(answer).toBe("result for q");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("answers at once when Math.random is 0", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    vi.spyOn(Math, "random").mockReturnValue(0);
    const pending = simulatedUpstream(20)("q");
    await vi.advanceTimersByTimeAsync(0);
    await expect(pending).resolves.toBe("result for q");
  });

  it("answers every call within maxMs whatever Math.random returns", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const upstream = simulatedUpstream(20);
    const answers = Promise.all(Array.from({ length: 200 }, (_, i) => upstream(`q${i}`)));
    await vi.advanceTimersByTimeAsync(20);
    const values = await answers;
    expect(values).toHaveLength(200);
    expect(values[199]).toBe("result for q199");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with the signal's reason when aborted mid-wait, and clears its timer", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    vi.spyOn(Math, "random").mockReturnValue(0.999_999);
    const controller = new AbortController();
    const pending = simulatedUpstream(1000)("q", controller.signal);
    const expectation = expect(pending).rejects.toBe("stop");
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort("stop");
    await expectation;
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with an AbortError when aborted without a reason", async () => {
    const controller = new AbortController();
    const pending = simulatedUpstream(10_000)("q", controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  it("rejects at once when the signal is already aborted", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const reason = new Error("already gone");
    await expect(simulatedUpstream(1000)("q", AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("removes its abort listener once it has answered", async () => {
    const controller = new AbortController();
    const removed = vi.spyOn(controller.signal, "removeEventListener");
    await expect(simulatedUpstream(0)("q", controller.signal)).resolves.toBe("result for q");
    expect(removed).toHaveBeenCalledWith("abort", expect.any(Function));
    // A late abort is harmless.
    controller.abort();
  });

  it("works without a signal", async () => {
    await expect(simulatedUpstream(1)("q")).resolves.toBe("result for q");
  });
});

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

describe("httpUpstream against a local HTTP server", () => {
  let server: Server;
  let base: string;
  let handler: Handler;
  const requests: { method: string | undefined; url: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push({ method: request.method, url: request.url });
      // No keep-alive: every request gets its own connection, so one test's sockets never leak into the next.
      response.setHeader("connection", "close");
      handler(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  afterEach(() => {
    requests.length = 0;
  });

  function respond(status: number, body: string, headers: Record<string, string> = {}): Handler {
    return (_request, response) => {
      response.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
      response.end(body);
    };
  }

  it("GETs the template with {query} replaced by the URL-encoded query", async () => {
    handler = respond(200, "ok");
    await httpUpstream(`${base}/find?q={query}`)("a b/ç");
    expect(requests).toEqual([{ method: "GET", url: "/find?q=a%20b%2F%C3%A7" }]);
  });

  it("encodes characters that would otherwise change the URL's structure", async () => {
    handler = respond(200, "ok");
    await httpUpstream(`${base}/find?q={query}&lang=en`)("x&lang=fr#frag?y=1");
    expect(requests[0]?.url).toBe("/find?q=x%26lang%3Dfr%23frag%3Fy%3D1&lang=en");
  });

  it("can put the query in the path, and replaces every {query}", async () => {
    handler = respond(200, "ok");
    await httpUpstream(`${base}/items/{query}?again={query}`)("../admin");
    expect(requests[0]?.url).toBe("/items/..%2Fadmin?again=..%2Fadmin");
  });

  it("returns a 200 body as text, decoded as UTF-8", async () => {
    handler = respond(200, "résultat ✓ 日本");
    await expect(httpUpstream(`${base}/?q={query}`)("x")).resolves.toBe("résultat ✓ 日本");
  });

  it.each([201, 203, 206, 299])("returns the body of any 2xx status (%i)", async (status) => {
    handler = respond(status, `body ${status}`);
    await expect(httpUpstream(`${base}/?q={query}`)("x")).resolves.toBe(`body ${status}`);
  });

  it("returns an empty string for a 204", async () => {
    handler = (_request, response) => {
      response.writeHead(204);
      response.end();
    };
    await expect(httpUpstream(`${base}/?q={query}`)("x")).resolves.toBe("");
  });

  it("returns a large body whole", async () => {
    const big = "0123456789".repeat(100_000);
    handler = respond(200, big);
    await expect(httpUpstream(`${base}/?q={query}`)("x")).resolves.toBe(big);
  });

  it.each([400, 404, 429, 500, 503])("throws an UpstreamError naming the status for %i", async (status) => {
    handler = respond(status, "error page");
    const error = await httpUpstream(`${base}/?q={query}`)("the query").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ name: "UpstreamError" });
    expect((error as UpstreamError).message).toContain(String(status));
    expect((error as UpstreamError).message).toContain("the query");
  });

  it("treats a 3xx without redirect target as a failure", async () => {
    handler = respond(304, "");
    await expect(httpUpstream(`${base}/?q={query}`)("x")).rejects.toThrow(/304/);
  });

  it("follows a redirect to a 2xx", async () => {
    handler = (request, response) => {
      if (request.url?.startsWith("/old")) {
        response.writeHead(302, { location: "/new" });
        response.end();
      } else respond(200, "moved here")(request, response);
    };
    await expect(httpUpstream(`${base}/old?q={query}`)("x")).resolves.toBe("moved here");
  });

  it("throws an UpstreamError with a cause when the connection is refused", async () => {
    const closedPort = await freePort();
    const error = await httpUpstream(`http://127.0.0.1:${closedPort}/?q={query}`)("q").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).message).toContain("unreachable");
    expect((error as UpstreamError).cause).toBeDefined();
  });

  it("throws an UpstreamError when the server drops the connection", async () => {
    handler = (request) => {
      request.socket.destroy();
    };
    await expect(httpUpstream(`${base}/?q={query}`)("x")).rejects.toBeInstanceOf(UpstreamError);
  });

  it("aborts a request that is waiting for the answer, rejecting with the abort, not an UpstreamError", async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    handler = () => arrived(); // never answers
    const controller = new AbortController();
    const pending = httpUpstream(`${base}/slow?q={query}`)("x", controller.signal);
    await requestArrived;
    controller.abort();
    const error = await pending.catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ name: "AbortError" });
  });

  it("rejects with the signal's reason when aborted with one", async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    handler = () => arrived();
    const controller = new AbortController();
    const reason = new Error("budget spent");
    const pending = httpUpstream(`${base}/slow?q={query}`)("x", controller.signal);
    await requestArrived;
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("aborts while the body is still streaming", async () => {
    let headersSent!: () => void;
    const streaming = new Promise<void>((resolve) => (headersSent = resolve));
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.write("partial...");
      headersSent();
      // never ends
    };
    const controller = new AbortController();
    const pending = httpUpstream(`${base}/stream?q={query}`)("x", controller.signal);
    await streaming;
    await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  it("does not send a request when the signal is already aborted", async () => {
    handler = respond(200, "ok");
    await expect(httpUpstream(`${base}/?q={query}`)("x", AbortSignal.abort())).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(requests).toEqual([]);
  });

  it("createUpstream picks the HTTP upstream for an http config", async () => {
    handler = respond(200, "from http");
    const upstream = createUpstream({ kind: "http", urlTemplate: `${base}/api?q={query}` });
    await expect(upstream("z")).resolves.toBe("from http");
    expect(requests).toEqual([{ method: "GET", url: "/api?q=z" }]);
  });

  it("createUpstream picks the simulator for a simulator config", async () => {
    handler = respond(200, "from http");
    const upstream = createUpstream({ kind: "simulator", maxMs: 0 });
    await expect(upstream("z")).resolves.toBe("result for z");
    expect(requests).toEqual([]);
  });

  it("createUpstream passes maxMs to the simulator", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    vi.spyOn(Math, "random").mockReturnValue(0.999_999);
    try {
      let answer: string | undefined;
      const pending = createUpstream({ kind: "simulator", maxMs: 50 })("z").then((value) => (answer = value));
      await vi.advanceTimersByTimeAsync(49);
      expect(answer).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await pending;
      expect(answer).toBe("result for z");
    } finally {
      vi.useRealTimers();
      vi.restoreAllMocks();
    }
  });
});
