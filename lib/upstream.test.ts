import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, it, expect, vi } from "vitest";
import { freePort } from "../harness/free-port";
import {
  createUpstream,
  fetchJson,
  httpUpstream,
  simulatedUpstream,
  retryAfterMs,
  UpstreamError,
  UpstreamRedirectError,
  UpstreamNotModifiedError,
  UpstreamThrottledError,
  UpstreamTooLargeError,
  type HttpUpstreamOptions,
} from "./upstream";
import { adviseInto, type LoadAdvice } from "./upstream-advice";

const MiB = 1024 * 1024;

/** The HTTP upstream as configured by default: a 1 MiB cap, redirects refused. */
function upstreamAt(urlTemplate: string, options: Partial<HttpUpstreamOptions> = {}) {
  return httpUpstream({ urlTemplate, maxBytes: MiB, ...options });
}

describe("simulatedUpstream", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("answers `result for <query>` within maxMs", async () => {
    const upstream = simulatedUpstream(20);
    const started = performance.now();
    await expect(upstream("weather", {})).resolves.toBe("result for weather");
    // 20 ms at most, plus generous scheduling slack.
    expect(performance.now() - started).toBeLessThan(20 + 200);
  });

  it("passes the query through verbatim", async () => {
    const upstream = simulatedUpstream(0);
    await expect(upstream("a b/ç?&=", {})).resolves.toBe("result for a b/ç?&=");
    await expect(upstream("", {})).resolves.toBe("result for ");
  });

  it("waits the longest delay, maxMs, when Math.random is just under 1", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    vi.spyOn(Math, "random").mockReturnValue(0.999_999);
    let answer: string | undefined;
    const pending = simulatedUpstream(20)("q", {}).then((value) => (answer = value));
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
    const pending = simulatedUpstream(20)("q", {});
    await vi.advanceTimersByTimeAsync(0);
    await expect(pending).resolves.toBe("result for q");
  });

  it("answers every call within maxMs whatever Math.random returns", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const upstream = simulatedUpstream(20);
    const answers = Promise.all(Array.from({ length: 200 }, (_, i) => upstream(`q${i}`, {})));
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
    const pending = simulatedUpstream(1000)("q", {}, controller.signal);
    const expectation = expect(pending).rejects.toBe("stop");
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort("stop");
    await expectation;
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with an AbortError when aborted without a reason", async () => {
    const controller = new AbortController();
    const pending = simulatedUpstream(10_000)("q", {}, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  it("rejects at once when the signal is already aborted", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const reason = new Error("already gone");
    await expect(simulatedUpstream(1000)("q", {}, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("removes its abort listener once it has answered", async () => {
    const controller = new AbortController();
    const removed = vi.spyOn(controller.signal, "removeEventListener");
    await expect(simulatedUpstream(0)("q", {}, controller.signal)).resolves.toBe("result for q");
    expect(removed).toHaveBeenCalledWith("abort", expect.any(Function));
    // A late abort is harmless.
    controller.abort();
  });

  it("works without a signal", async () => {
    await expect(simulatedUpstream(1)("q", {})).resolves.toBe("result for q");
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
    await upstreamAt(`${base}/find?q={query}`)("a b/ç", {});
    expect(requests).toEqual([{ method: "GET", url: "/find?q=a%20b%2F%C3%A7" }]);
  });

  it("encodes characters that would otherwise change the URL's structure", async () => {
    handler = respond(200, "ok");
    await upstreamAt(`${base}/find?q={query}&lang=en`)("x&lang=fr#frag?y=1", {});
    expect(requests[0]?.url).toBe("/find?q=x%26lang%3Dfr%23frag%3Fy%3D1&lang=en");
  });

  it("can put the query in the path, and replaces every {query}", async () => {
    handler = respond(200, "ok");
    await upstreamAt(`${base}/items/{query}?again={query}`)("../admin", {});
    expect(requests[0]?.url).toBe("/items/..%2Fadmin?again=..%2Fadmin");
  });

  it("replaces each parameter's placeholder with its value, URL-encoded, wherever it stands", async () => {
    handler = respond(200, "ok");
    const upstream = upstreamAt(`${base}/weather/{city}?q={query}&day={day}&city={city}`);
    await upstream("now", { city: "São Paulo/SP", day: "a&b=c#d?e+f%g" });
    expect(requests[0]?.url).toBe(
      "/weather/S%C3%A3o%20Paulo%2FSP?q=now&day=a%26b%3Dc%23d%3Fe%2Bf%25g&city=S%C3%A3o%20Paulo%2FSP",
    );
  });

  it.each([
    ["spaces", "a b", "a%20b"],
    ["an ampersand", "a&b", "a%26b"],
    ["a hash", "#top", "%23top"],
    ["a slash", "../admin", "..%2Fadmin"],
    ["unicode beyond the BMP", "日本😀", "%E6%97%A5%E6%9C%AC%F0%9F%98%80"],
    ["a replacement pattern", "$&$1$$", "%24%26%241%24%24"],
  ])("encodes %s in a parameter's value", async (_case, value, encoded) => {
    handler = respond(200, "ok");
    await upstreamAt(`${base}/?city={city}`)("q", { city: value });
    expect(requests[0]?.url).toBe(`/?city=${encoded}`);
  });

  it("replaces in one pass: a value that looks like a placeholder stays text", async () => {
    handler = respond(200, "ok");
    await upstreamAt(`${base}/?q={query}&city={city}&day={day}`)("{city}", { city: "{query}", day: "{day}" });
    expect(requests[0]?.url).toBe("/?q=%7Bcity%7D&city=%7Bquery%7D&day=%7Bday%7D");
  });

  it("returns a 200 body as text, decoded as UTF-8", async () => {
    handler = respond(200, "résultat ✓ 日本");
    await expect(upstreamAt(`${base}/?q={query}`)("x", {})).resolves.toBe("résultat ✓ 日本");
  });

  it.each([201, 203, 206, 299])("returns the body of any 2xx status (%i)", async (status) => {
    handler = respond(status, `body ${status}`);
    await expect(upstreamAt(`${base}/?q={query}`)("x", {})).resolves.toBe(`body ${status}`);
  });

  it("returns an empty string for a 204", async () => {
    handler = (_request, response) => {
      response.writeHead(204);
      response.end();
    };
    await expect(upstreamAt(`${base}/?q={query}`)("x", {})).resolves.toBe("");
  });

  it("returns a large body whole", async () => {
    const big = "0123456789".repeat(100_000);
    handler = respond(200, big);
    await expect(upstreamAt(`${base}/?q={query}`)("x", {})).resolves.toBe(big);
  });

  describe("the size cap", () => {
    /** Answers `body` in two chunks, without a Content-Length, so only counting the bytes can catch it. */
    function chunked(body: string): Handler {
      return (_request, response) => {
        const bytes = Buffer.from(body);
        response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        response.write(bytes.subarray(0, bytes.length >> 1));
        response.end(bytes.subarray(bytes.length >> 1));
      };
    }

    const framings = [
      ["with a Content-Length", (body: string) => respond(200, body)],
      ["chunked", chunked],
    ] as const;

    it.each(framings)("accepts a body of exactly maxBytes (%s)", async (_framing, answer) => {
      handler = answer("x".repeat(1000));
      await expect(upstreamAt(`${base}/?q={query}`, { maxBytes: 1000 })("x", {})).resolves.toBe("x".repeat(1000));
    });

    it.each(framings)(
      "fails on a body of maxBytes + 1 with an UpstreamTooLargeError naming the cap (%s)",
      async (_framing, answer) => {
        handler = answer("x".repeat(1001));
        const error = await upstreamAt(`${base}/?q={query}`, { maxBytes: 1000 })("the query", {}).catch(
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(UpstreamTooLargeError);
        expect(error).toBeInstanceOf(UpstreamError);
        expect(error).toMatchObject({
          name: "UpstreamTooLargeError",
          message: 'upstream answer for "the query" is over 1000 bytes',
        });
      },
    );

    it.each(framings)("counts bytes, not characters (%s)", async (_framing, answer) => {
      handler = answer("日本"); // 6 bytes in UTF-8
      await expect(upstreamAt(`${base}/?q={query}`, { maxBytes: 6 })("x", {})).resolves.toBe("日本");
      await expect(upstreamAt(`${base}/?q={query}`, { maxBytes: 5 })("x", {})).rejects.toBeInstanceOf(
        UpstreamTooLargeError,
      );
    });

    it("stops reading an endless body just past the cap and closes the connection", async () => {
      const chunk = Buffer.alloc(64 * 1024, "x");
      let written = 0;
      let closed!: () => void;
      const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
      handler = (_request, response) => {
        response.writeHead(200, { "content-type": "text/plain" });
        response.on("close", closed);
        // Writes as fast as the client reads, while the connection stays open, up to 100 MiB.
        const pump = () => {
          while (!response.destroyed && written < 100 * MiB) {
            written += chunk.length;
            if (!response.write(chunk)) return void response.once("drain", pump);
          }
          response.end();
        };
        pump();
      };
      const started = performance.now();
      await expect(upstreamAt(`${base}/?q={query}`)("x", {})).rejects.toBeInstanceOf(UpstreamTooLargeError);
      await connectionClosed;
      expect(performance.now() - started).toBeLessThan(2000);
      // The cap is 1 MiB; the rest is what socket buffers held when the client hung up.
      expect(written).toBeLessThan(32 * MiB);
    }, 5000);

    it("fails on a Content-Length over the cap without waiting for the body", async () => {
      let closed!: () => void;
      const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
      handler = (_request, response) => {
        response.writeHead(200, { "content-type": "text/plain", "content-length": String(100 * MiB) });
        response.flushHeaders();
        response.on("close", closed);
        // Never sends the body: a client that tried to read it would hang.
      };
      const error = await upstreamAt(`${base}/?q={query}`)("x", {}).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UpstreamTooLargeError);
      expect((error as Error).message).toContain(`over ${MiB} bytes`);
      await connectionClosed;
    }, 5000);

    it("caps the decompressed answer, so a small gzip body that inflates past the cap fails", async () => {
      const bomb = gzipSync(Buffer.alloc(16 * MiB, "x"));
      expect(bomb.length).toBeLessThan(MiB);
      handler = (_request, response) => {
        response.writeHead(200, {
          "content-type": "text/plain",
          "content-encoding": "gzip",
          "content-length": String(bomb.length),
        });
        response.end(bomb);
      };
      await expect(upstreamAt(`${base}/?q={query}`)("x", {})).rejects.toBeInstanceOf(UpstreamTooLargeError);
    });

    it("accepts a gzip body whose answer fits even when its wire length does not", async () => {
      const answer = "small";
      // gzip's header and trailer alone are longer than the answer.
      const compressed = gzipSync(answer);
      expect(compressed.length).toBeGreaterThan(answer.length);
      handler = (_request, response) => {
        response.writeHead(200, {
          "content-type": "text/plain",
          "content-encoding": "gzip",
          "content-length": String(compressed.length),
        });
        response.end(compressed);
      };
      await expect(upstreamAt(`${base}/?q={query}`, { maxBytes: answer.length })("x", {})).resolves.toBe(answer);
    });
  });

  it("decodes a multi-byte character split across chunks", async () => {
    const text = "aé✓日本😀z";
    handler = async (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      // One byte per chunk, spaced out so the client reads them one at a time.
      for (const byte of Buffer.from(text)) {
        response.write(Buffer.of(byte));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      response.end();
    };
    await expect(upstreamAt(`${base}/?q={query}`)("x", {})).resolves.toBe(text);
  });

  it.each([
    [400, "UpstreamError"],
    [404, "UpstreamNotFoundError"],
    [429, "UpstreamError"],
    [500, "UpstreamError"],
    [503, "UpstreamError"],
  ])("throws an UpstreamError naming the status for %i", async (status, name) => {
    handler = respond(status, "error page");
    const error = await upstreamAt(`${base}/?q={query}`)("the query", {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ name });
    expect((error as UpstreamError).message).toContain(String(status));
    expect((error as UpstreamError).message).toContain("the query");
  });

  it.each([
    [429, { "retry-after": "5" }, 5000],
    [503, { "retry-after": "120" }, 120_000],
    [429, { "retry-after": "in 30 s" }, 30_000],
  ])("throws an UpstreamThrottledError saying how long %i asked to wait", async (status, headers, ms) => {
    // A date is made when the test runs, not when the table was read.
    const retryAfter =
      headers["retry-after"] === "in 30 s" ? new Date(Date.now() + ms).toUTCString() : headers["retry-after"];
    handler = respond(status, "slow down", { "retry-after": retryAfter });
    const error = await upstreamAt(`${base}/?q={query}`)("q", {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamThrottledError);
    // An HTTP date has whole seconds: up to a second less than asked.
    expect((error as UpstreamThrottledError).retryAfterMs).toBeGreaterThan(ms - 1000);
    expect((error as UpstreamThrottledError).retryAfterMs).toBeLessThanOrEqual(ms);
  });

  it("reads Retry-After as whole seconds or an HTTP date, and nothing else", () => {
    const now = Date.parse("2026-12-02T10:00:00Z");
    expect(retryAfterMs("7", now)).toBe(7000);
    expect(retryAfterMs(" 0 ", now)).toBe(0);
    expect(retryAfterMs("Wed, 02 Dec 2026 10:01:00 GMT", now)).toBe(60_000);
    expect(retryAfterMs("Wed, 02 Dec 2026 09:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("-5", now)).toBeUndefined();
    expect(retryAfterMs("soon", now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it("asks conditionally on a refresh, and knows a 304 as not modified, reporting the answer's validators", async () => {
    let seen: string | undefined;
    handler = (request, response) => {
      seen = request.headers["if-none-match"];
      if (seen === '"v7"') {
        response.writeHead(304, { "cache-control": "max-age=9" }).end();
        return;
      }
      response.writeHead(200, { etag: '"v7"', "cache-control": "max-age=3" }).end("fresh");
    };
    const first: LoadAdvice = {};
    await expect(adviseInto(first, () => upstreamAt(`${base}/?q={query}`)("q", {}))).resolves.toBe("fresh");
    expect(seen).toBeUndefined();
    expect(first).toMatchObject({ validators: { etag: '"v7"' }, httpFreshMs: 3000, answers: 1 });
    const refresh: LoadAdvice = { conditional: { etag: '"v7"' } };
    const error = await adviseInto(refresh, () => upstreamAt(`${base}/?q={query}`)("q", {})).catch(
      (caught: unknown) => caught,
    );
    expect(seen).toBe('"v7"');
    expect(error).toBeInstanceOf(UpstreamNotModifiedError);
    expect(refresh.httpFreshMs).toBe(9000);
  });

  it("treats a 3xx without redirect target as a failure", async () => {
    handler = respond(304, "");
    await expect(upstreamAt(`${base}/?q={query}`)("x", {})).rejects.toThrow(/304/);
  });

  describe("redirects", () => {
    /** Redirects /old to /new, which answers "moved here". */
    function moved(status: number): Handler {
      return (request, response) => {
        if (request.url?.startsWith("/old")) {
          response.writeHead(status, { location: "/new?from=old" });
          response.end("see /new");
        } else respond(200, "moved here")(request, response);
      };
    }

    it.each([301, 302, 303, 307, 308])(
      "refuses a %i by default, naming the location and the setting",
      async (status) => {
        handler = moved(status);
        const error = await upstreamAt(`${base}/old?q={query}`)("the query", {}).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(UpstreamRedirectError);
        expect(error).toBeInstanceOf(UpstreamError);
        expect(error).toMatchObject({ name: "UpstreamRedirectError" });
        const { message } = error as UpstreamRedirectError;
        expect(message).toContain('"the query"');
        expect(message).toContain(String(status));
        expect(message).toContain("to /new?from=old");
        expect(message).toContain("UPSTREAM_REDIRECTS=follow");
        expect(requests.map((request) => request.url)).toEqual(["/old?q=the%20query"]);
      },
    );

    it.each([301, 302, 303, 307, 308])("follows a %i with followRedirects", async (status) => {
      handler = moved(status);
      await expect(upstreamAt(`${base}/old?q={query}`, { followRedirects: true })("x", {})).resolves.toBe("moved here");
      expect(requests.map((request) => request.url)).toEqual(["/old?q=x", "/new?from=old"]);
    });

    it("still caps the body it was redirected to", async () => {
      handler = (request, response) => {
        if (request.url?.startsWith("/old")) {
          response.writeHead(302, { location: "/new" });
          response.end();
        } else respond(200, "x".repeat(101))(request, response);
      };
      const upstream = upstreamAt(`${base}/old?q={query}`, { followRedirects: true, maxBytes: 100 });
      await expect(upstream("x", {})).rejects.toBeInstanceOf(UpstreamTooLargeError);
    });

    it("fails with an UpstreamError and a cause on a redirect loop", async () => {
      handler = (_request, response) => {
        response.writeHead(302, { location: "/again" });
        response.end();
      };
      const error = await upstreamAt(`${base}/?q={query}`, { followRedirects: true })("x", {}).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(UpstreamError);
      expect(error).not.toBeInstanceOf(UpstreamRedirectError);
      expect((error as UpstreamError).cause).toBeDefined();
      // fetch gives up after 20 hops.
      expect(requests).toHaveLength(21);
    });
  });

  it("throws an UpstreamError with a cause when the connection is refused", async () => {
    const closedPort = await freePort();
    const error = await upstreamAt(`http://127.0.0.1:${closedPort}/?q={query}`)("q", {}).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).message).toContain("unreachable");
    expect((error as UpstreamError).cause).toBeDefined();
  });

  it("throws an UpstreamError when the server drops the connection", async () => {
    handler = (request) => {
      request.socket.destroy();
    };
    await expect(upstreamAt(`${base}/?q={query}`)("x", {})).rejects.toBeInstanceOf(UpstreamError);
  });

  it("aborts a request that is waiting for the answer, rejecting with the abort, not an UpstreamError", async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    handler = () => arrived(); // never answers
    const controller = new AbortController();
    const pending = upstreamAt(`${base}/slow?q={query}`)("x", {}, controller.signal);
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
    const pending = upstreamAt(`${base}/slow?q={query}`)("x", {}, controller.signal);
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
    const pending = upstreamAt(`${base}/stream?q={query}`)("x", {}, controller.signal);
    await streaming;
    await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  it("rejects with the signal's reason when aborted mid-body, and closes the connection", async () => {
    let headersSent!: () => void;
    const streaming = new Promise<void>((resolve) => (headersSent = resolve));
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    handler = (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.write("partial...");
      response.on("close", closed);
      headersSent();
    };
    const controller = new AbortController();
    const reason = new Error("budget spent");
    const pending = upstreamAt(`${base}/stream?q={query}`)("x", {}, controller.signal);
    await streaming;
    await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await connectionClosed;
  });

  it("throws an UpstreamError with a cause when the connection drops mid-body", async () => {
    handler = (request, response) => {
      response.writeHead(200, { "content-type": "text/plain", "content-length": "100" });
      response.write("only part of it", () => setTimeout(() => request.socket.destroy(), 5));
    };
    const error = await upstreamAt(`${base}/?q={query}`)("the query", {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ name: "UpstreamError", message: 'upstream answer for "the query" broke off' });
    expect((error as UpstreamError).cause).toBeDefined();
  });

  it("does not send a request when the signal is already aborted", async () => {
    handler = respond(200, "ok");
    await expect(upstreamAt(`${base}/?q={query}`)("x", {}, AbortSignal.abort())).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(requests).toEqual([]);
  });

  it("createUpstream picks the HTTP upstream for an http config", async () => {
    handler = respond(200, "from http");
    const upstream = createUpstream(
      { kind: "http", urlTemplate: `${base}/api?q={query}`, params: [] },
      { maxBytes: MiB, followRedirects: false },
    );
    await expect(upstream("z", {})).resolves.toBe("from http");
    expect(requests).toEqual([{ method: "GET", url: "/api?q=z" }]);
  });

  it("createUpstream's HTTP upstream fills the template's other placeholders from the parameters", async () => {
    handler = respond(200, "from http");
    const upstream = createUpstream(
      { kind: "http", urlTemplate: `${base}/api/{city}?q={query}`, params: ["city"] },
      { maxBytes: MiB, followRedirects: false },
    );
    await expect(upstream("z", { city: "porto" })).resolves.toBe("from http");
    expect(requests).toEqual([{ method: "GET", url: "/api/porto?q=z" }]);
  });

  it("createUpstream passes maxBytes and followRedirects to the HTTP upstream", async () => {
    handler = (request, response) => {
      if (request.url?.startsWith("/old")) {
        response.writeHead(302, { location: "/new" });
        response.end();
      } else respond(200, "0123456789")(request, response);
    };
    const config = { kind: "http", urlTemplate: `${base}/old?q={query}`, params: [] } as const;
    await expect(createUpstream(config, { maxBytes: 10, followRedirects: true })("z", {})).resolves.toBe("0123456789");
    await expect(createUpstream(config, { maxBytes: 9, followRedirects: true })("z", {})).rejects.toBeInstanceOf(
      UpstreamTooLargeError,
    );
    await expect(createUpstream(config, { maxBytes: 10, followRedirects: false })("z", {})).rejects.toBeInstanceOf(
      UpstreamRedirectError,
    );
  });

  it("createUpstream picks the simulator for a simulator config", async () => {
    handler = respond(200, "from http");
    const upstream = createUpstream({ kind: "simulator", maxMs: 0 }, { maxBytes: MiB, followRedirects: false });
    await expect(upstream("z", {})).resolves.toBe("result for z");
    expect(requests).toEqual([]);
  });

  it("createUpstream passes maxMs to the simulator", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    vi.spyOn(Math, "random").mockReturnValue(0.999_999);
    try {
      let answer: string | undefined;
      const pending = createUpstream({ kind: "simulator", maxMs: 50 }, { maxBytes: MiB, followRedirects: false })(
        "z",
        {},
      ).then((value) => (answer = value));
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

  it("fetchJson parses a JSON body, bounded as every upstream call is", async () => {
    handler = respond(200, JSON.stringify({ current: { temp_c: 21.5 }, list: [1, "2"] }), {
      "content-type": "application/json",
    });
    await expect(fetchJson(`${base}/api`)).resolves.toEqual({ current: { temp_c: 21.5 }, list: [1, "2"] });
    await expect(fetchJson(`${base}/api`, { maxBytes: 10 })).rejects.toBeInstanceOf(UpstreamTooLargeError);
    expect(requests.map((request) => request.method)).toEqual(["GET", "GET"]);
  });

  it("fetchJson fails a body that is not JSON, or a non-2xx answer, as an UpstreamError", async () => {
    handler = respond(200, "<html>maintenance</html>");
    const error = await fetchJson(`${base}/api`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toContain("is not JSON");
    handler = respond(503, "{}");
    await expect(fetchJson(`${base}/api`)).rejects.toThrow("upstream answered 503");
  });

  it("fetchJson refuses a redirect unless told to follow it", async () => {
    handler = (request, response) => {
      if (request.url === "/old") {
        response.writeHead(301, { location: "/new" });
        response.end();
      } else respond(200, "[true]")(request, response);
    };
    await expect(fetchJson(`${base}/old`)).rejects.toBeInstanceOf(UpstreamRedirectError);
    await expect(fetchJson(`${base}/old`, { followRedirects: true })).resolves.toEqual([true]);
  });
});
