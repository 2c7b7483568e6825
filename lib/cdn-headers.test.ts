import { describe, expect, it } from "vitest";
import { z } from "zod";
import { keySurrogate, sharedCacheControl, surrogateHeaders, surrogateKeysOf } from "./cdn-headers";
import { readConfig } from "./config";
import { fragmentsOf, partOf } from "./fragments";
import { defineSource } from "./source";

const NOW = 1_700_000_000_000;
/** Lifetimes ending `fresh`, `stale` and `safe` ms from now. */
const ending = (fresh: number, stale: number, safe: number) => ({
  freshUntil: NOW + fresh,
  staleUntil: NOW + stale,
  safeUntil: NOW + safe,
});

describe("sharedCacheControl", () => {
  it("gives what is left of freshness, then of grace, then of fail-safe, each after the one before", () => {
    expect(sharedCacheControl(ending(60_000, 360_000, 86_460_000), NOW)).toBe(
      "public, s-maxage=60, stale-while-revalidate=300, stale-if-error=86400",
    );
  });

  it("rounds every end down to a whole second from now, so no copy outlives the cache's own", () => {
    // Fresh for 59.999 s, usable until 60.5 s, kept until 61.9 s: the CDN may keep 59, then 1, then 2.
    expect(sharedCacheControl(ending(59_999, 60_500, 61_900), NOW)).toBe(
      "public, s-maxage=59, stale-while-revalidate=1, stale-if-error=2",
    );
    expect(sharedCacheControl(ending(999, 1_999, 1_999), NOW)).toBe(
      "public, s-maxage=0, stale-while-revalidate=1, stale-if-error=1",
    );
  });

  it("stale-if-error is grace when fail-safe is shorter or off", () => {
    expect(sharedCacheControl(ending(10_000, 40_000, 40_000), NOW)).toBe(
      "public, s-maxage=10, stale-while-revalidate=30, stale-if-error=30",
    );
  });

  it("is never negative: a stale value is kept for the rest of its grace, one past grace for the rest of fail-safe", () => {
    expect(sharedCacheControl(ending(-5_000, 25_000, 100_000), NOW)).toBe(
      "public, s-maxage=0, stale-while-revalidate=25, stale-if-error=100",
    );
    expect(sharedCacheControl(ending(-50_000, -20_000, 3_000), NOW)).toBe(
      "public, s-maxage=0, stale-while-revalidate=0, stale-if-error=3",
    );
  });

  it("is no-store once nothing is left to keep, or less than a second of it", () => {
    expect(sharedCacheControl(ending(-1, -1, -1), NOW)).toBe("no-store");
    expect(sharedCacheControl(ending(900, 900, 900), NOW)).toBe("no-store");
    expect(sharedCacheControl(ending(0, 0, 0), NOW)).toBe("no-store");
  });

  it("keeps a not-found answer (no grace, no fail-safe) for what is left of its own freshness", () => {
    expect(sharedCacheControl(ending(42_300, 42_300, 42_300), NOW)).toBe(
      "public, s-maxage=42, stale-while-revalidate=0, stale-if-error=0",
    );
  });
});

describe("surrogate keys", () => {
  it("files a key under `@<key>`, which no declared tag can be", () => {
    expect(keySurrogate("weather?city=porto")).toBe("@weather?city=porto");
  });

  it("are a part's tags and its key's own, `@<fragment>` for every parameter set of a fragment with parameters", () => {
    const load = async () => "x";
    const render = () => null;
    const [news, weather] = fragmentsOf(
      [
        defineSource({ name: "news", title: "News", load, render, tags: ["front", "world"] }),
        defineSource({
          name: "weather",
          title: "Weather",
          params: z.object({ city: z.string() }),
          load,
          render,
          tags: ({ city }) => ["outside", `weather:${city}`],
        }),
      ],
      readConfig({}),
    );
    expect(surrogateKeysOf(partOf(news!))).toEqual(["front", "world", "@news"]);
    expect(surrogateKeysOf(partOf(weather!, { city: "porto" }))).toEqual([
      "outside",
      "weather:porto",
      "@weather",
      "@weather?city=porto",
    ]);
    expect(surrogateKeysOf(partOf(weather!, {})), "refused: never looked up").toEqual([]);
  });

  it("lists the keys space-separated in Surrogate-Key and comma-separated in Cache-Tag; no header for none", () => {
    expect(surrogateHeaders(["news", "@weather", "@weather?city=porto"])).toEqual({
      "surrogate-key": "news @weather @weather?city=porto",
      "cache-tag": "news,@weather,@weather?city=porto",
    });
    expect(surrogateHeaders([])).toEqual({});
  });
});
