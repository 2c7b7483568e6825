import { describe, expect, it } from "vitest";
import { adviseInto, httpFreshness, reportHttpAnswer, type LoadAdvice } from "./upstream-advice";

const NOW = Date.parse("2026-12-02T10:00:00Z");
const headers = (fields: Record<string, string>) => new Headers(fields);

describe("httpFreshness", () => {
  it.each([
    [{ "cache-control": "max-age=2" }, 2000],
    [{ "cache-control": "public, max-age=60, s-maxage=10" }, 10_000],
    [{ "cache-control": "max-age=60", age: "15" }, 45_000],
    [{ "cache-control": "max-age=10", age: "30" }, 0],
    [{ "cache-control": 'max-age="30"' }, 30_000],
    [{ "cache-control": "no-cache, max-age=60" }, 0],
    [{ "cache-control": "no-store, max-age=60" }, "no-store"],
    [{ "cache-control": "No-Store" }, "no-store"],
    [{ expires: "Wed, 02 Dec 2026 10:05:00 GMT", date: "Wed, 02 Dec 2026 10:00:00 GMT" }, 300_000],
    [{ expires: "Wed, 02 Dec 2026 10:01:00 GMT" }, 60_000],
    [{ expires: "0" }, 0],
    [{ "cache-control": "max-age=5", expires: "Wed, 02 Dec 2026 11:00:00 GMT" }, 5000],
    [{ "cache-control": "public" }, undefined],
    [{ "cache-control": "max-age=soon" }, undefined],
    [{}, undefined],
  ])("reads %j as %s", (fields, expected) => {
    expect(httpFreshness(headers(fields as Record<string, string>), NOW)).toBe(expected);
  });
});

describe("reportHttpAnswer", () => {
  it("tells the load under way the shortest freshness of its answers, and no-store over all", async () => {
    const advice: LoadAdvice = {};
    await adviseInto(advice, async () => {
      reportHttpAnswer(headers({ "cache-control": "max-age=60" }));
      await Promise.resolve();
      reportHttpAnswer(headers({ "cache-control": "max-age=20" }));
      reportHttpAnswer(headers({}));
    });
    // Three answers: freshness from the shortest, validators from none (they would name one answer of three).
    expect(advice).toEqual({ httpFreshMs: 20_000, answers: 3, validators: undefined });
    const stored: LoadAdvice = {};
    await adviseInto(stored, async () => reportHttpAnswer(headers({ "cache-control": "no-store" })));
    expect(stored.noStore).toBe(true);
  });

  it("does nothing outside a load", () => {
    expect(() => reportHttpAnswer(headers({ "cache-control": "max-age=1" }))).not.toThrow();
  });
});
