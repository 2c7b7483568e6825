import { createRequire } from "node:module";
import type { NextConfig } from "next";
import { describe, expect, it } from "vitest";
import { ACTION_BODY_MAX_BYTES, PURGE_BODY_MAX_BYTES, refuseBody } from "./request-bodies";

const ACTION = { "next-action": "7f3a", "content-type": "text/plain;charset=UTF-8" };

describe("refuseBody", () => {
  it("lets every request without a body through", () => {
    for (const method of ["GET", "HEAD", "POST", "DELETE", "OPTIONS"]) {
      expect(refuseBody(method, "/", {})).toBeUndefined();
      expect(refuseBody(method, "/api/health", { "content-length": "0" })).toBeUndefined();
    }
  });

  it("takes the purge route's JSON and the server action's text up to their allowance", () => {
    expect(refuseBody("POST", "/api/cache/purge", { "content-length": String(PURGE_BODY_MAX_BYTES) })).toBeUndefined();
    expect(refuseBody("POST", "/", { ...ACTION, "content-length": String(ACTION_BODY_MAX_BYTES) })).toBeUndefined();
    expect(refuseBody("POST", "/blocking?x=1", { ...ACTION, "content-length": "9" })).toBeUndefined();
  });

  it("refuses a Content-Length past the allowance with 413", () => {
    expect(refuseBody("POST", "/api/cache/purge", { "content-length": String(PURGE_BODY_MAX_BYTES + 1) })?.status).toBe(
      413,
    );
    expect(refuseBody("POST", "/", { ...ACTION, "content-length": String(2 ** 30) })?.status).toBe(413);
  });

  it("refuses a body where the app takes none with 413: pages, other routes, other methods", () => {
    const oneByte = { "content-length": "1" };
    for (const [method, url] of [
      ["POST", "/"],
      ["POST", "/api/health/live"],
      ["POST", "/fragment/a"],
      ["GET", "/"],
      ["PUT", "/api/cache/purge"],
      ["POST", "/api/cache/purge/x"],
    ] as const) {
      expect(refuseBody(method, url, oneByte), `${method} ${url}`).toEqual({
        status: 413,
        message: "This address takes no request body",
      });
    }
  });

  it("refuses a body of unknown length (chunked) with 411 where a body is taken, 413 elsewhere", () => {
    expect(refuseBody("POST", "/api/cache/purge", { "transfer-encoding": "chunked" })?.status).toBe(411);
    expect(refuseBody("POST", "/", { ...ACTION, "transfer-encoding": "chunked" })?.status).toBe(411);
    expect(refuseBody("POST", "/", { "transfer-encoding": "chunked" })?.status).toBe(413);
  });

  it("reads the route from the path alone, dot segments resolved, query left out", () => {
    const small = { "content-length": "20" };
    expect(refuseBody("POST", "/api/cache/purge?all", small)).toBeUndefined();
    expect(refuseBody("POST", "/api/health/../cache/purge", small)).toBeUndefined();
    expect(refuseBody("POST", "http://example.com/api/cache/purge", small)).toBeUndefined();
  });
});

describe("next.config.js", () => {
  // Next reads it, not our code: the limits it gives Next are the app's, and must not drift from them.
  const config = createRequire(import.meta.url)("../next.config.js") as NextConfig;

  it("keeps at most the largest body the app takes in memory before the proxy runs", () => {
    expect(config.experimental?.proxyClientMaxBodySize).toBe(Math.max(PURGE_BODY_MAX_BYTES, ACTION_BODY_MAX_BYTES));
  });

  it("gives the server action the action's allowance", () => {
    expect(config.experimental?.serverActions?.bodySizeLimit).toBe(ACTION_BODY_MAX_BYTES);
  });
});
