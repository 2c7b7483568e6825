import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { STORE_KINDS } from "../../harness/redis-targets";
import { startStoreBackend, type StoreBackend } from "../../harness/store-backends";
import { CircuitBreaker } from "../circuit-breaker";
import type { Json } from "../json";
import { GuardedStore } from "../stores/guarded";
import { NAMESPACE } from "../stores/keys";
import { MemoryStore } from "../stores/memory";
import { sleep } from "../timeout";
import { conditionalHeaders, reportHttpAnswer } from "../upstream-advice";
import {
  BusyError,
  Cache,
  isBusyError,
  LoadError,
  LoadTimeoutError,
  NotJsonError,
  SharedLoadError,
  ValueTooLargeError,
  type CacheOptions,
  type GetOptions,
  type Loader,
  type Policy,
  type PurgeOptions,
  type PurgeTarget,
} from ".";

class UpstreamDown extends Error {
  override name = "UpstreamDown";
}

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** A loader that counts its calls and can be held open until the test releases it. */
function countingLoader(answer: (call: number) => string | Error = (call) => `value ${call}`) {
  let calls = 0;
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const load: Loader = async () => {
    calls += 1;
    const call = calls;
    if (gate) await gate;
    const result = answer(call);
    if (result instanceof Error) throw result;
    return result;
  };
  return {
    load,
    calls: () => calls,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      gate = undefined;
      open?.();
    },
  };
}

type TestOptions = Partial<CacheOptions> & Partial<Policy>;

/** A cache whose lookups take a default policy, which a lookup may override in part, as tests need. */
function memoryCache({
  freshMs = 60_000,
  graceMs = 300_000,
  upstreamTimeoutMs = 2000,
  tags = [],
  group = { name: "test", maxInFlight: 1000 },
  notFoundMs = 60_000,
  eagerRefresh = 0,
  failSafeMs = 0,
  http = { obey: true, minFreshMs: 1000, maxFreshMs: 86_400_000 },
  ...options
}: TestOptions = {}) {
  const cache = new Cache({
    local: new MemoryStore({ maxEntries: 1000, maxBytes: 1 << 20 }),
    namespace: "test:v1",
    maxValueBytes: 1024,
    backoffBaseMs: 1000,
    backoffMaxMs: 8000,
    ...options,
  });
  const defaults: Policy = {
    freshMs,
    graceMs,
    upstreamTimeoutMs,
    tags,
    group,
    notFoundMs,
    eagerRefresh,
    failSafeMs,
    http,
  };
  return {
    stats: cache.stats,
    purge: (target: PurgeTarget, options?: PurgeOptions) => cache.purge(target, options),
    get: (key: string, loader: Loader, { onWaiting, ...policy }: Partial<Policy> & GetOptions = {}) =>
      cache.get(key, loader, { ...defaults, ...policy }, { onWaiting }),
  };
}

/** Lets pending promise callbacks (a background refresh) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

beforeEach(() => {
  vi.spyOn(console, "info").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
});

describe("Cache on the in-process tier", () => {
  it("calls the loader on a miss and answers later calls from the cache", async () => {
    const cache = memoryCache();
    const loader = countingLoader();
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "miss" });
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "hit" });
    expect(loader.calls()).toBe(1);
    expect(cache.stats).toMatchObject({ misses: 1, hits: 1, loads: 1 });
  });

  it("serves a stale value at once within grace and refreshes it exactly once in the background", async () => {
    const clock = manualClock();
    const kept: Promise<unknown>[] = [];
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 5000, keepAlive: (task) => kept.push(task) });
    const loader = countingLoader();
    await cache.get("k", loader.load);
    clock.advance(1500);
    loader.hold();

    const answers = await Promise.all(Array.from({ length: 100 }, () => cache.get("k", loader.load)));
    expect(answers.every((answer) => answer.value === "value 1" && answer.origin === "stale")).toBe(true);
    expect(loader.calls()).toBe(2);
    expect(kept).toHaveLength(2);

    loader.release();
    await Promise.all(kept);
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 2", origin: "hit" });
    expect(loader.calls()).toBe(2);
  });

  it("hands a stale caller the refresh it started, which brings the fresh value once it lands", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 5000 });
    const loader = countingLoader();
    await cache.get("k", loader.load);
    clock.advance(1500);
    loader.hold();
    const [first, second] = await Promise.all([cache.get("k", loader.load), cache.get("k", loader.load)]);
    expect(first).toMatchObject({ value: "value 1", origin: "stale" });
    loader.release();
    expect(await first.refreshed).toMatchObject({ value: "value 2", origin: "refreshed" });
    expect(await second.refreshed).toMatchObject({ value: "value 2", origin: "refreshed" });
    expect(loader.calls()).toBe(2);
  });

  it("brings nothing fresher when the refresh fails, and starts no refresh while the key backs off", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 5000 });
    const loader = countingLoader((call) => (call === 1 ? "value 1" : new UpstreamDown("down")));
    await cache.get("k", loader.load);
    clock.advance(1500);
    const stale = await cache.get("k", loader.load);
    expect(await stale.refreshed).toBeUndefined();
    const backingOff = await cache.get("k", loader.load);
    expect(backingOff).toMatchObject({ value: "value 1", origin: "stale", refreshed: undefined });
    expect(loader.calls()).toBe(2);
  });

  it("treats an entry past grace as gone", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 1000 });
    const loader = countingLoader();
    await cache.get("k", loader.load);
    clock.advance(2001);
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 2", origin: "miss" });
  });

  it("never caches an error, and backs off a failing key before calling its loader again", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now });
    const loader = countingLoader((call) => (call <= 2 ? new UpstreamDown(`down ${call}`) : `value ${call}`));

    const failed = cache.get("k", loader.load);
    // Callers test one class; the loader's own error is its cause.
    await expect(failed).rejects.toBeInstanceOf(LoadError);
    await expect(failed).rejects.toMatchObject({ message: "down 1", cause: expect.any(UpstreamDown) });
    await expect(cache.get("k", loader.load)).rejects.toThrow("down 1");
    expect(loader.calls()).toBe(1);

    clock.advance(1000);
    await expect(cache.get("k", loader.load)).rejects.toThrow("down 2");
    clock.advance(1999);
    await expect(cache.get("k", loader.load)).rejects.toThrow("down 2");
    expect(loader.calls()).toBe(2);

    clock.advance(1);
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 3", origin: "miss" });
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 3", origin: "hit" });
    expect(cache.stats).toMatchObject({ loadErrors: 2, skippedLoads: 2 });
  });

  it("keeps serving the stale value while the upstream fails, and fails once grace is over", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 10_000 });
    const loader = countingLoader((call) => (call === 1 ? "good" : new UpstreamDown("down")));
    await cache.get("k", loader.load);

    for (let step = 0; step < 9; step += 1) {
      clock.advance(1000);
      expect(await cache.get("k", loader.load)).toMatchObject({ value: "good", origin: "stale" });
      await settle();
    }
    // Refreshes failed at +1s, +2s (backoff 1s), +4s (2s), +8s (4s): never once per request.
    expect(loader.calls()).toBe(5);

    clock.advance(2001);
    await expect(cache.get("k", loader.load)).rejects.toThrow("down");
  });

  it("tells each caller that waits for a load, its own or a joined one, and no caller answered from the cache", async () => {
    const cache = memoryCache();
    const loader = countingLoader();
    loader.hold();
    const heard: string[] = [];
    const first = cache.get("k", loader.load, { onWaiting: () => heard.push("first") });
    const second = cache.get("k", loader.load, { onWaiting: () => heard.push("second") });
    await vi.waitFor(() => expect(heard).toEqual(["first", "second"]));
    loader.release();
    await Promise.all([first, second]);
    await cache.get("k", loader.load, { onWaiting: () => heard.push("warm") });
    await settle();
    expect(heard).toEqual(["first", "second"]);
  });

  it("makes one loader call for 1,000 concurrent callers of a cold key", async () => {
    const cache = memoryCache();
    const loader = countingLoader();
    loader.hold();
    const pending = Array.from({ length: 1000 }, () => cache.get("cold", loader.load));
    await settle();
    expect(cache.stats.coalesced).toBe(999);
    loader.release();
    const answers = await Promise.all(pending);
    expect(loader.calls()).toBe(1);
    expect(new Set(answers.map((answer) => answer.value))).toEqual(new Set(["value 1"]));
    expect(answers.filter((answer) => answer.origin === "miss")).toHaveLength(1);
  });

  it("gives every concurrent caller the same error, and caches nothing", async () => {
    const cache = memoryCache({ backoffBaseMs: 0 });
    const loader = countingLoader((call) => (call === 1 ? new UpstreamDown("boom") : "ok"));
    loader.hold();
    const pending = Array.from({ length: 10 }, () => cache.get("k", loader.load));
    loader.release();
    const results = await Promise.allSettled(pending);
    expect(results.every((result) => result.status === "rejected")).toBe(true);
    expect(loader.calls()).toBe(1);
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "ok", origin: "miss" });
  });

  it("abandons a loader past its budget and aborts its signal", async () => {
    const cache = memoryCache({ upstreamTimeoutMs: 50 });
    let signal: AbortSignal | undefined;
    const hang: Loader = (given) => {
      signal = given;
      return new Promise(() => {});
    };
    await expect(cache.get("k", hang)).rejects.toBeInstanceOf(LoadTimeoutError);
    expect(signal?.aborted).toBe(true);
    expect(cache.stats.loadTimeouts).toBe(1);
  });

  it("serves a value over the size cap as JSON to its callers, then backs the key off like a failure", async () => {
    const clock = manualClock();
    const cache = memoryCache({ maxValueBytes: 20, now: clock.now });
    // 10 quotes are 10 bytes as loaded and 22 as stored: the cap counts what would be stored.
    const loader = countingLoader(() => '"'.repeat(10));
    expect(await cache.get("big", loader.load)).toMatchObject({ value: '"'.repeat(10), origin: "miss" });
    await expect(cache.get("big", loader.load)).rejects.toBeInstanceOf(ValueTooLargeError);
    expect(loader.calls()).toBe(1);
    clock.advance(1000);
    expect((await cache.get("big", loader.load)).origin).toBe("miss");
    expect(loader.calls()).toBe(2);
    await expect(cache.get("big", loader.load)).rejects.toBeInstanceOf(ValueTooLargeError);
    expect(cache.stats).toMatchObject({ uncacheable: 2, loadErrors: 0, skippedLoads: 2 });
    const warnings = vi.mocked(console.warn).mock.calls.map(([line]) => String(line));
    expect(warnings.filter((line) => line.includes('"key":"big"'))).toEqual([
      expect.stringContaining('"outcome":"too_large"'),
      expect.stringContaining('"outcome":"too_large"'),
    ]);
  });

  it("stays within its bound over 100,000 distinct keys, and keeps nothing of the keys it evicted", async () => {
    // Heap in use after a full collection is the live data; resident memory would measure V8's growth instead.
    const collect = globalThis.gc;
    if (!collect) throw new Error("unit tests run with --expose-gc (vitest.config.mts)");
    const liveBytes = () => {
      // The console spy keeps every call it sees: forget them, or the test measures its own spy.
      vi.mocked(console.info).mockClear();
      collect();
      return process.memoryUsage().heapUsed;
    };
    const local = new MemoryStore({ maxEntries: 5000, maxBytes: 1 << 20 });
    const cache = memoryCache({ local });
    const load: Loader = async (signal) => `${signal.aborted}`.padEnd(100, "v");
    const samples: Array<{ keys: number; bytes: number }> = [];
    for (let index = 0; index < 100_000; index += 1) {
      await cache.get(`key-${index}`, load);
      expect(local.size).toBeLessThanOrEqual(5000);
      if (index % 25_000 === 24_999) samples.push({ keys: index + 1, bytes: liveBytes() });
    }
    expect(local.bytes).toBeLessThanOrEqual(1 << 20);
    // Past the first quarter the tier is full and evicting: a leak of 16 bytes per key seen would show here.
    const first = samples[0]!;
    const last = samples.at(-1)!;
    expect(last.bytes - first.bytes).toBeLessThan((last.keys - first.keys) * 16);
    // 100,000 lookups and four full collections: seconds of CPU, more on a busy machine.
  }, 60_000);
});

describe("Cache's limit of loads in flight per group", () => {
  const group = { name: "weather", maxInFlight: 2 };

  /** The lookup's failure, which the test expects. */
  const failureOf = (lookup: Promise<unknown>) =>
    lookup.then(
      () => undefined,
      (error: unknown) => error,
    );

  it("refuses a load past the group's most in flight at once, with a BusyError saying when to ask again", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, upstreamTimeoutMs: 5000 });
    const loader = countingLoader();
    loader.hold();
    const under = [cache.get("a", loader.load, { group }), cache.get("b", loader.load, { group })];
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    clock.advance(1000);

    const error = await failureOf(cache.get("c", loader.load, { group }));
    expect(error).toBeInstanceOf(BusyError);
    expect(error).toBeInstanceOf(LoadError);
    expect(isBusyError(error)).toBe(true);
    // When the oldest load must be over: its start, its budget and the lease margin (1 s), less the time since.
    expect(error).toMatchObject({ name: "BusyError", retryAfterMs: 5000 });
    expect((error as Error).message).toContain('"weather" has 2 loads under way');
    expect(loader.calls()).toBe(2);
    // Joining a load under way starts none: never refused.
    const joined = cache.get("a", loader.load, { group });

    clock.advance(4500);
    expect(await failureOf(cache.get("c", loader.load, { group }))).toMatchObject({ retryAfterMs: 1000 });
    loader.release();
    await Promise.all([...under, joined]);
    expect(cache.stats).toMatchObject({ busy: 2, misses: 2, coalesced: 1, loads: 2 });
  });

  it("starts loads again once those under way are over", async () => {
    const cache = memoryCache();
    const loader = countingLoader();
    loader.hold();
    const under = [cache.get("a", loader.load, { group }), cache.get("b", loader.load, { group })];
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    await expect(cache.get("c", loader.load, { group })).rejects.toBeInstanceOf(BusyError);
    loader.release();
    await Promise.all(under);
    expect(await cache.get("c", loader.load, { group })).toMatchObject({ value: "value 3", origin: "miss" });

    // A failed load frees its place too.
    const failing = countingLoader(() => new UpstreamDown("down"));
    failing.hold();
    const failed = [cache.get("d", failing.load, { group }), cache.get("e", failing.load, { group })];
    await vi.waitFor(() => expect(failing.calls()).toBe(2));
    await expect(cache.get("f", loader.load, { group })).rejects.toBeInstanceOf(BusyError);
    failing.release();
    await Promise.allSettled(failed);
    expect(await cache.get("f", loader.load, { group })).toMatchObject({ origin: "miss" });
  });

  it("counts each group apart", async () => {
    const cache = memoryCache();
    const loader = countingLoader();
    loader.hold();
    const one = { name: "one", maxInFlight: 1 };
    const under = cache.get("a", loader.load, { group: one });
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    await expect(cache.get("b", loader.load, { group: one })).rejects.toBeInstanceOf(BusyError);
    const other = cache.get("b", loader.load, { group: { name: "two", maxInFlight: 1 } });
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    loader.release();
    expect(await other).toMatchObject({ value: "value 2", origin: "miss" });
    await under;
    expect(cache.stats.busy).toBe(1);
  });

  it("still answers what is cached, and serves a stale value without a refresh, while the group is full", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 5000 });
    const one = { name: "one", maxInFlight: 1 };
    const loader = countingLoader();
    await cache.get("fresh", loader.load, { group: one, freshMs: 60_000 });
    await cache.get("stale", loader.load, { group: one });
    clock.advance(1500);
    loader.hold();
    const under = cache.get("a", loader.load, { group: one });
    await vi.waitFor(() => expect(loader.calls()).toBe(3));

    expect(await cache.get("fresh", loader.load, { group: one })).toMatchObject({ value: "value 1", origin: "hit" });
    const stale = await cache.get("stale", loader.load, { group: one });
    expect(stale).toMatchObject({ value: "value 2", origin: "stale" });
    expect(await stale.refreshed).toBeUndefined();
    expect(loader.calls()).toBe(3);
    expect(cache.stats.stale).toBe(1);

    loader.release();
    await under;
    // The group has room again: the next stale lookup refreshes.
    const again = await cache.get("stale", loader.load, { group: one });
    expect(await again.refreshed).toMatchObject({ value: "value 4", origin: "refreshed" });
  });
});

describe("Cache's eager refresh", () => {
  it("refreshes a value served past its share of freshness in the background: a steady reader never sees it stale", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 3000, graceMs: 60_000, eagerRefresh: 0.8 });
    const loader = countingLoader();
    await cache.get("k", loader.load);
    const origins = new Set<string>();
    for (let view = 0; view < 75; view += 1) {
      clock.advance(200);
      const answer = await cache.get("k", loader.load);
      origins.add(answer.origin);
      await settle();
    }
    // 15 s of views every 200 ms, 3 s fresh: refreshed at 2.4 s each time, never stale, never a wait.
    expect([...origins]).toEqual(["hit"]);
    expect(loader.calls()).toBeGreaterThanOrEqual(6);
    expect(loader.calls()).toBeLessThanOrEqual(8);
    expect(cache.stats.eagerRefreshes).toBe(loader.calls() - 1);
  });

  it("does not refresh before the share has passed, nor twice at once", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 10_000, eagerRefresh: 0.8 });
    const loader = countingLoader();
    await cache.get("k", loader.load);
    clock.advance(7900);
    await cache.get("k", loader.load);
    expect(loader.calls()).toBe(1);
    loader.hold();
    clock.advance(200);
    await cache.get("k", loader.load);
    await cache.get("k", loader.load);
    expect(loader.calls()).toBe(2);
    loader.release();
    await settle();
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 2", origin: "hit" });
  });
});

describe("Cache's freshness from the upstream and from the loader", () => {
  it("takes a value's freshness from the upstream's headers, within the policy's bounds", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 60_000, graceMs: 0 });
    const saying = (cacheControl: string) => async () => {
      reportHttpAnswer(new Headers({ "cache-control": cacheControl }));
      return "v";
    };
    await cache.get("short", saying("max-age=2"));
    await cache.get("long", saying("max-age=31536000"));
    await cache.get("zero", saying("no-cache"));
    clock.advance(2500);
    expect(await cache.get("short", saying("max-age=2"))).toMatchObject({ origin: "miss" });
    // A year is capped at the bound (a day here), and no-cache raised to the least freshness (a second).
    clock.advance(86_000_000);
    expect(await cache.get("long", saying("max-age=1"))).toMatchObject({ origin: "hit" });
    expect(await cache.get("zero", saying("no-cache"))).toMatchObject({ origin: "miss" });
    // A policy that does not obey them keeps its own freshness.
    const deaf = memoryCache({ now: clock.now, freshMs: 60_000, http: { obey: false, minFreshMs: 0, maxFreshMs: 1 } });
    await deaf.get("k", saying("max-age=1"));
    clock.advance(2000);
    expect(await deaf.get("k", saying("max-age=1"))).toMatchObject({ origin: "hit" });
  });

  it("serves a no-store answer and keeps nothing", async () => {
    const cache = memoryCache();
    let calls = 0;
    const load = async () => {
      calls += 1;
      reportHttpAnswer(new Headers({ "cache-control": "no-store" }));
      return `v${calls}`;
    };
    expect(await cache.get("k", load)).toMatchObject({ value: "v1", origin: "miss" });
    expect(await cache.get("k", load)).toMatchObject({ value: "v2", origin: "miss" });
  });

  it("lets the loader set its entry's freshness and add tags from what it loaded", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 60_000, graceMs: 0 });
    const load: Loader = async (_signal, set) => {
      set({ freshSeconds: 5, tags: ["author:7"] });
      return "story";
    };
    await cache.get("story-1", load, { tags: ["news"] });
    clock.advance(4000);
    expect(await cache.get("story-1", load, { tags: ["news"] })).toMatchObject({ origin: "hit" });
    expect(await cache.purge({ tag: "author:7" })).toBe(1);
    expect(await cache.get("story-1", load, { tags: ["news"] })).toMatchObject({ origin: "miss" });
    clock.advance(5500);
    expect(await cache.get("story-1", load, { tags: ["news"] })).toMatchObject({ origin: "miss" });
  });
});

describe("Cache's conditional refresh", () => {
  class UpstreamNotModifiedError extends Error {
    override name = "UpstreamNotModifiedError";
  }

  /** A loader in front of an upstream whose answer carries an ETag, and answers 304 when it is sent back. */
  function taggedUpstream() {
    const asked: Array<Record<string, string>> = [];
    let body = "v1";
    const load: Loader = async () => {
      const headers = conditionalHeaders();
      asked.push(headers);
      if (headers["if-none-match"] === `"${body}"`) {
        reportHttpAnswer(new Headers({ "cache-control": "max-age=5" }));
        throw new UpstreamNotModifiedError("304");
      }
      reportHttpAnswer(new Headers({ etag: `"${body}"`, "last-modified": "Wed, 02 Dec 2026 09:00:00 GMT" }));
      return body;
    };
    return { load, asked, change: (next: string) => void (body = next) };
  }

  it("renews an unchanged value on a 304, without a transfer, and says it was revalidated", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 60_000 });
    const upstream = taggedUpstream();
    await cache.get("k", upstream.load);
    expect(upstream.asked[0]).toEqual({});
    clock.advance(1500);
    const stale = await cache.get("k", upstream.load);
    expect(stale).toMatchObject({ value: "v1", origin: "stale" });
    expect(await stale.refreshed).toMatchObject({ value: "v1", origin: "revalidated" });
    expect(upstream.asked[1]).toEqual({
      "if-none-match": '"v1"',
      "if-modified-since": "Wed, 02 Dec 2026 09:00:00 GMT",
    });
    // The 304's own max-age renews it for five seconds.
    clock.advance(4000);
    expect(await cache.get("k", upstream.load)).toMatchObject({ value: "v1", origin: "hit" });
    expect(cache.stats).toMatchObject({ revalidated: 1, loadErrors: 0 });
    upstream.change("v2");
    clock.advance(1500);
    const changed = await cache.get("k", upstream.load);
    expect(await changed.refreshed).toMatchObject({ value: "v2", origin: "refreshed" });
  });
});

describe("Cache's soft purge", () => {
  it("makes a fresh value stale now: the next view shows it at once and gets the new one from its refresh", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 60_000, graceMs: 60_000 });
    const loader = countingLoader();
    await cache.get("k", loader.load, { tags: ["news"] });
    expect(await cache.purge({ tag: "news" }, { soft: true })).toBe(1);
    clock.advance(1);
    const next = await cache.get("k", loader.load, { tags: ["news"] });
    expect(next).toMatchObject({ value: "value 1", origin: "stale" });
    expect(await next.refreshed).toMatchObject({ value: "value 2", origin: "refreshed" });
    // A value already stale is left as it is.
    expect(await cache.purge({ key: "missing" }, { soft: true })).toBe(0);
  });
});

describe("Cache's fail-safe", () => {
  it("serves the last good value past its grace while refreshes fail, until the fail-safe window ends", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 2000, failSafeMs: 60_000 });
    let down = false;
    const loader = countingLoader((call) => (down ? new UpstreamDown("outage") : `value ${call}`));
    await cache.get("k", loader.load);
    down = true;
    clock.advance(5000);
    // Past grace: the refresh is tried, fails, and the old value answers, saying so.
    expect(await cache.get("k", loader.load)).toMatchObject({
      value: "value 1",
      origin: "fail-safe",
      createdAt: 1_000_000,
    });
    // While the key backs off, no call at all, the same answer.
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "fail-safe" });
    expect(loader.calls()).toBe(2);
    expect(cache.stats).toMatchObject({ failSafe: 2 });
    clock.advance(60_000);
    await expect(cache.get("k", loader.load)).rejects.toThrow("outage");
    down = false;
    clock.advance(10_000);
    expect(await cache.get("k", loader.load)).toMatchObject({ origin: "miss" });
  });

  it("never serves a purged value as fail-safe", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 0, failSafeMs: 60_000 });
    const loader = countingLoader((call) => (call === 1 ? "old" : new UpstreamDown("outage")));
    await cache.get("k", loader.load);
    await cache.purge({ key: "k" });
    clock.advance(2000);
    await expect(cache.get("k", loader.load)).rejects.toThrow("outage");
  });
});

describe("Cache's not-found answers", () => {
  class UpstreamNotFoundError extends Error {
    override name = "UpstreamNotFoundError";
  }

  it("keeps a 404 for its short while, as an answer: one call per key, then it asks again", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, notFoundMs: 60_000 });
    const loader = countingLoader(() => new UpstreamNotFoundError("no such id"));
    for (let view = 0; view < 50; view += 1) {
      expect(await cache.get("id-404", loader.load)).toMatchObject({ value: null, notFound: true });
      clock.advance(1000);
    }
    expect(loader.calls()).toBe(1);
    expect(cache.stats).toMatchObject({ loadErrors: 0, misses: 1, hits: 49 });
    clock.advance(11_000);
    await cache.get("id-404", loader.load);
    expect(loader.calls()).toBe(2);
  });
});

describe("Cache's gate: the upstream's rate and its Retry-After", () => {
  const failureOf = (lookup: Promise<unknown>) =>
    lookup.then(
      () => undefined,
      (error: unknown) => error,
    );

  /** An upstream's 429 with `Retry-After`, as `fetchText` throws it (known by name across bundles). */
  class UpstreamThrottledError extends Error {
    override name = "UpstreamThrottledError";
    constructor(readonly retryAfterMs: number) {
      super(`upstream answered 429, retry after ${retryAfterMs} ms`);
    }
  }

  it("calls no more often than the source's rate: past it a cold key is refused at once, saying when to ask", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now });
    const group = { name: "search", maxInFlight: 100, rate: { calls: 2, perMs: 1000 } };
    const loader = countingLoader();
    expect(await cache.get("a", loader.load, { group })).toMatchObject({ origin: "miss" });
    clock.advance(400);
    expect(await cache.get("b", loader.load, { group })).toMatchObject({ origin: "miss" });
    const refused = await failureOf(cache.get("c", loader.load, { group }));
    expect(refused).toBeInstanceOf(BusyError);
    // The first call's slot frees at 1000 ms; ask again after at least a second.
    expect(refused).toMatchObject({ reason: "rate", retryAfterMs: 1000 });
    expect(loader.calls()).toBe(2);
    expect(cache.stats).toMatchObject({ gateClosed: 1, misses: 2, loads: 2 });
    // Other groups are not held back.
    expect(await cache.get("d", loader.load, { group: { ...group, name: "other" } })).toMatchObject({ origin: "miss" });
    clock.advance(600);
    expect(await cache.get("c", loader.load, { group })).toMatchObject({ value: "value 4", origin: "miss" });
  });

  it("serves a stale value without a refresh while the source is at its rate", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 60_000 });
    const group = { name: "search", maxInFlight: 100, rate: { calls: 1, perMs: 10_000 } };
    const loader = countingLoader();
    await cache.get("a", loader.load, { group });
    clock.advance(2000);
    const stale = await cache.get("a", loader.load, { group });
    expect(stale).toMatchObject({ value: "value 1", origin: "stale" });
    expect(await stale.refreshed).toBeUndefined();
    expect(loader.calls()).toBe(1);
  });

  it("holds the whole source off its upstream for as long as a 429's Retry-After says, capped at 10 minutes", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now });
    const group = { name: "search", maxInFlight: 100 };
    const throttled = countingLoader(() => new UpstreamThrottledError(5000));
    const loader = countingLoader();
    await expect(cache.get("a", throttled.load, { group })).rejects.toThrow("retry after 5000 ms");
    // Another key of the source: refused without a call, for what is left of the five seconds.
    clock.advance(1500);
    expect(await failureOf(cache.get("b", loader.load, { group }))).toMatchObject({
      reason: "held",
      retryAfterMs: 3500,
    });
    expect(loader.calls()).toBe(0);
    // The throttled key itself backs off for those five seconds, not the generic one.
    expect(await failureOf(cache.get("a", loader.load, { group }))).toBeInstanceOf(LoadError);
    clock.advance(3500);
    expect(await cache.get("b", loader.load, { group })).toMatchObject({ origin: "miss" });
    expect(await cache.get("a", loader.load, { group })).toMatchObject({ origin: "miss" });

    const day = countingLoader(() => new UpstreamThrottledError(86_400_000));
    await expect(cache.get("c", day.load, { group })).rejects.toThrow();
    clock.advance(600_000);
    expect(await cache.get("d", loader.load, { group })).toMatchObject({ origin: "miss" });
  });
});

describe.each(STORE_KINDS)("Cache shared through %s", (kind) => {
  let backend: StoreBackend;
  // Store writes and lease releases run after the caller has its value, as after() runs them in the app.
  const background: Array<Promise<unknown>> = [];
  /** Waits for every background task, and for those they started in turn (a load's store write). */
  const drained = async () => {
    while (background.length > 0) await Promise.all(background.splice(0));
  };

  beforeAll(async () => {
    backend = await startStoreBackend(kind);
  }, 60_000);

  afterAll(async () => {
    await backend?.stop();
  });

  beforeEach(async () => {
    await drained();
    await backend.flush();
  });

  /** One app instance: its own in-process tier and its own client of the shared store, behind the guard. */
  function instance(overrides: TestOptions = {}, timeoutMs = 300) {
    const shared = new GuardedStore(backend.store(timeoutMs), {
      timeoutMs,
      breaker: new CircuitBreaker({ failureThreshold: 5, coolDownMs: 200 }),
    });
    return memoryCache({
      shared,
      namespace: NAMESPACE,
      keepAlive: (task) => background.push(task),
      ...overrides,
    });
  }

  /** A connected instance: a first lookup made its client connect, so round trips count from here. */
  async function warmInstance(overrides: TestOptions = {}, timeoutMs = 300) {
    const cache = instance(overrides, timeoutMs);
    await cache.get("warm-up", async () => "ready");
    await drained();
    return cache;
  }

  it("stores entries under hash-tagged keys that expire, on Redis' clock, when grace ends", async () => {
    const cache = instance({ freshMs: 2000, graceMs: 3000 });
    await cache.get("k", countingLoader().load);
    await drained();
    const ttl = await backend.client.pttl(`${NAMESPACE}:find:{k}`);
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
    expect(await backend.keys(`${NAMESPACE}:lease:*`)).toEqual([]);
  });

  it("fills a new instance's local tier from Redis without a load", async () => {
    const loader = countingLoader();
    await instance().get("k", loader.load);
    await drained();
    const other = instance();
    expect(await other.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "hit" });
    expect(await other.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "hit" });
    expect(loader.calls()).toBe(1);
  });

  it("answers the entry's version and what is left of its lifetimes on Redis' clock, whatever the instance's", async () => {
    const writer = instance({ freshMs: 60_000, graceMs: 300_000, failSafeMs: 3_600_000 });
    const loaded = await writer.get("k", countingLoader().load);
    await drained();
    // An instance whose clock is an hour ahead places the entry's ends on its own clock, from Redis' PTTL.
    const skew = 3_600_000;
    const now = () => Date.now() + skew;
    const read = await instance({ now }).get("k", countingLoader().load);
    const at = now();
    expect(read).toMatchObject({ origin: "hit", version: loaded.version });
    expect(read.freshUntil - at).toBeGreaterThan(50_000);
    expect(read.freshUntil - at).toBeLessThanOrEqual(60_000);
    expect(read.staleUntil - read.freshUntil).toBeGreaterThanOrEqual(300_000 - 10);
    expect(read.staleUntil - read.freshUntil).toBeLessThanOrEqual(300_000 + 10);
    expect(read.safeUntil - read.freshUntil).toBeGreaterThanOrEqual(3_600_000 - 10);
    expect(read.safeUntil - read.freshUntil).toBeLessThanOrEqual(3_600_000 + 10);
  });

  it("gives back every value exactly as it was loaded, whatever it looks like", async () => {
    const values = [
      "123",
      "0012",
      "-1.5e3",
      "true",
      "null",
      '{"a":[1,2]}',
      "[1,2]",
      '"quoted"',
      "abcd",
      "",
      " ",
      "日本語 🎉 ç",
      "\\u0000 \\n",
      "x".repeat(60_000),
    ];
    const writer = instance({ maxValueBytes: 64 * 1024 });
    const reader = instance({ maxValueBytes: 64 * 1024 });
    for (const [index, value] of values.entries()) await writer.get(`v${index}`, async () => value);
    await drained();
    for (const [index, value] of values.entries()) {
      const answer = await reader.get(`v${index}`, async () => "loaded again");
      expect(answer, `value ${index}`).toMatchObject({ value, origin: "hit" });
    }
  });

  it("serves the stale entry Redis holds to new instances at once, while one of them refreshes it", async () => {
    const loader = countingLoader();
    await instance({ freshMs: 300 }).get("k", loader.load);
    await drained();
    await sleep(350);
    loader.hold();
    const answers = await Promise.all(
      [instance({ freshMs: 300 }), instance({ freshMs: 300 })].map((cache) => cache.get("k", loader.load)),
    );
    // The load is held until released below: without the stale entry these lookups would still be waiting.
    expect(answers).toMatchObject([
      { value: "value 1", origin: "stale" },
      { value: "value 1", origin: "stale" },
    ]);
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    loader.release();
    await drained();
    expect(loader.calls()).toBe(2);
    expect(await instance({ freshMs: 300 }).get("k", loader.load)).toMatchObject({ value: "value 2", origin: "hit" });
  });

  it("decides freshness on Redis' clock, not on the instances' clocks", async () => {
    const loader = countingLoader();
    await instance({ freshMs: 60_000, graceMs: 60_000 }).get("k", loader.load);
    await drained();
    // Ten minutes ahead: on its own clock the entry would be past grace; on Redis' it is fresh.
    const ahead = instance({ freshMs: 60_000, graceMs: 60_000, now: () => Date.now() + 600_000 });
    expect(await ahead.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "hit" });

    await instance({ freshMs: 200, graceMs: 60_000 }).get("j", loader.load);
    await drained();
    await sleep(250);
    // Ten minutes behind: on its own clock the entry would be fresh; on Redis' it is stale.
    const behind = instance({ freshMs: 200, graceMs: 60_000, now: () => Date.now() - 600_000 });
    expect(await behind.get("j", loader.load)).toMatchObject({ value: "value 2", origin: "stale" });
  });

  it("serves the stale entry Redis holds while a failing key backs off, with no copy of its own", async () => {
    const loader = countingLoader((call) => (call === 1 ? "value 1" : new UpstreamDown("down")));
    await instance({ freshMs: 300 }).get("k", loader.load);
    await drained();
    await sleep(350);
    const local = new MemoryStore({ maxEntries: 1000, maxBytes: 1 << 20 });
    const cache = instance({ freshMs: 300, local });
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "stale" });
    await drained();
    expect(loader.calls()).toBe(2);
    // Evicted here, and backing off: only a read of Redis can still find something to serve.
    local.delete("k");
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "stale" });
    // Another instance, which never saw the failure, learns the backoff from Redis and serves stale too.
    expect(await instance({ freshMs: 300 }).get("k", loader.load)).toMatchObject({ value: "value 1", origin: "stale" });
    await drained();
    expect(loader.calls()).toBe(2);
  });

  it("tells a caller that waits for another instance's load", async () => {
    const loader = countingLoader();
    loader.hold();
    const holder = instance().get("k", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    let heard = false;
    const waiter = instance().get("k", loader.load, { onWaiting: () => (heard = true) });
    await vi.waitFor(() => expect(heard).toBe(true));
    loader.release();
    expect(await waiter).toMatchObject({ value: "value 1", origin: "shared" });
    await holder;
  });

  it("makes one upstream call for a cold key across three instances", async () => {
    const loader = countingLoader();
    loader.hold();
    const caches = [instance(), instance(), instance()];
    const pending = caches.flatMap((cache) => Array.from({ length: 50 }, () => cache.get("cold", loader.load)));
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    await sleep(200);
    loader.release();
    const answers = await Promise.all(pending);
    expect(loader.calls()).toBe(1);
    expect(new Set(answers.map((answer) => answer.value))).toEqual(new Set(["value 1"]));
    expect(answers.filter((answer) => answer.origin === "miss")).toHaveLength(1);
  });

  it("gives the instances waiting on a lease holder its failure at once, not after the lease", async () => {
    const loader = countingLoader(() => new UpstreamDown("upstream 503"));
    loader.hold();
    const holder = instance({ upstreamTimeoutMs: 5000 }).get("k", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    const waiters = [instance({ upstreamTimeoutMs: 5000 }), instance({ upstreamTimeoutMs: 5000 })].map((cache) =>
      cache.get("k", loader.load),
    );
    await sleep(100);
    const released = performance.now();
    loader.release();
    const [own, ...shared] = await Promise.allSettled([holder, ...waiters]);
    expect(own).toMatchObject({ status: "rejected", reason: { message: "upstream 503" } });
    for (const waiter of shared)
      expect(waiter).toMatchObject({ status: "rejected", reason: expect.any(SharedLoadError) });
    expect(performance.now() - released).toBeLessThan(1000);
    expect(loader.calls()).toBe(1);
  });

  it("makes one upstream call per key per backoff window for the fleet while the upstream fails", async () => {
    const callTimes: number[] = [];
    const failing: Loader = async () => {
      callTimes.push(performance.now());
      throw new UpstreamDown("upstream down");
    };
    const backoffMs = 400;
    const caches = [0, 1, 2].map(() => instance({ backoffBaseMs: backoffMs, backoffMaxMs: backoffMs }));
    const started = performance.now();
    // Bursts of lookups from every instance, for a bit over three backoff windows.
    while (performance.now() - started < 3.2 * backoffMs) {
      await Promise.allSettled(caches.flatMap((cache) => Array.from({ length: 10 }, () => cache.get("down", failing))));
      await drained();
      await sleep(25);
    }
    const gaps = callTimes.slice(1).map((time, index) => time - callTimes[index]!);
    expect(callTimes.length).toBeGreaterThanOrEqual(2);
    expect(callTimes.length).toBeLessThanOrEqual(4);
    // No instance calls again before the window the fleet agreed on has passed (Redis' clock, a little slack).
    for (const gap of gaps) expect(gap).toBeGreaterThan(backoffMs - 50);
  });

  it("records the failure in Redis for the fleet, and a success clears it", async () => {
    const loader = countingLoader((call) => (call === 1 ? new UpstreamDown("boom") : `value ${call}`));
    // A backoff long enough that the other instance's lookup comes within it on a busy machine.
    const backoffMs = 1000;
    const first = instance({ backoffBaseMs: backoffMs, backoffMaxMs: backoffMs });
    await expect(first.get("k", loader.load)).rejects.toThrow("boom");
    await drained();
    expect(await backend.keys(`${NAMESPACE}:*`)).toEqual([`${NAMESPACE}:fail:{k}`]);
    const ttl = await backend.client.pttl(`${NAMESPACE}:fail:{k}`);
    // Kept past the backoff (backoff + the longest backoff), so the next failure backs off longer.
    expect(ttl).toBeGreaterThan(backoffMs);
    expect(ttl).toBeLessThanOrEqual(2 * backoffMs);
    const other = instance();
    await expect(other.get("k", loader.load)).rejects.toBeInstanceOf(SharedLoadError);
    expect(loader.calls()).toBe(1);
    await sleep(backoffMs + 20);
    expect(await other.get("k", loader.load)).toMatchObject({ value: "value 2", origin: "miss" });
    await drained();
    expect(await backend.keys(`${NAMESPACE}:*`)).toEqual([`${NAMESPACE}:find:{k}`]);
  });

  it("holds the fleet off a key whose value is too large to cache, one load per backoff window", async () => {
    const loader = countingLoader(() => '"'.repeat(100));
    const options = { maxValueBytes: 150, backoffBaseMs: 300, backoffMaxMs: 300 };
    const [first, other] = [instance(options), instance(options)];
    expect((await first.get("k", loader.load)).origin).toBe("miss");
    await drained();
    expect(await backend.keys(`${NAMESPACE}:*`)).toEqual([`${NAMESPACE}:fail:{k}`]);
    await expect(other.get("k", loader.load)).rejects.toBeInstanceOf(SharedLoadError);
    await expect(first.get("k", loader.load)).rejects.toBeInstanceOf(ValueTooLargeError);
    expect(loader.calls()).toBe(1);
    await sleep(320);
    expect((await other.get("k", loader.load)).origin).toBe("miss");
    expect(loader.calls()).toBe(2);
  });

  it("waits no longer than the lease of a holder that died, then loads once", async () => {
    // A lease left behind by an instance that died mid-call: nobody will release it.
    const upstreamTimeoutMs = 500;
    const survivors = [instance({ upstreamTimeoutMs }), instance({ upstreamTimeoutMs })];
    const loader = countingLoader();
    const started = performance.now();
    await backend.client.set(`${NAMESPACE}:lease:{k}`, "dead-holder", "PX", upstreamTimeoutMs + 1000);
    const answers = await Promise.all(survivors.map((cache) => cache.get("k", loader.load)));
    const waited = performance.now() - started;
    expect(loader.calls()).toBe(1);
    expect(answers.map((answer) => answer.value)).toEqual(["value 1", "value 1"]);
    expect(waited).toBeGreaterThanOrEqual(1400);
    // The value reached Redis, which only a load holding the lease can write: the survivor took the expired
    // lease rather than giving up on it (which it does a second later, and then writes nothing).
    await drained();
    expect(await backend.keys(`${NAMESPACE}:*`)).toEqual([`${NAMESPACE}:find:{k}`]);
  });

  it("answers from the upstream when Redis is down, and caches in Redis again once it is back", async () => {
    const cache = instance();
    const loader = countingLoader();
    await backend.outage();
    try {
      const started = performance.now();
      expect(await cache.get("down", loader.load)).toMatchObject({ value: "value 1", origin: "miss" });
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      await backend.restore();
    }
    await vi.waitFor(
      async () => {
        await cache.get(`again-${loader.calls()}`, loader.load);
        await drained();
        expect(await backend.keys(`${NAMESPACE}:find:{again-*`)).not.toEqual([]);
      },
      { timeout: 10_000, interval: 100 },
    );
  }, 30_000);

  it("loads each key once per instance while the circuit is open", async () => {
    const caches = [instance(), instance()];
    const loader = countingLoader();
    await backend.outage();
    try {
      // Five failed round trips open each instance's circuit.
      for (let trip = 0; trip < 5; trip += 1) {
        await Promise.all(caches.map((cache) => cache.get(`open-${trip}`, loader.load)));
      }
      const before = loader.calls();
      loader.hold();
      const pending = caches.flatMap((cache) => Array.from({ length: 50 }, () => cache.get("k", loader.load)));
      await vi.waitFor(() => expect(loader.calls()).toBe(before + 2));
      loader.release();
      await Promise.all(pending);
      expect(loader.calls()).toBe(before + 2);
    } finally {
      await backend.restore();
    }
  }, 30_000);

  it("shows a purge on one instance at another once its local trust window passes, without waiting on Redis", async () => {
    const loader = countingLoader();
    // The instances' own clocks measure the trust window; moved by hand, so a slow machine cannot pass it early.
    const clock = manualClock(Date.now());
    // Connected first: on a busy machine a client's first round trip can outlast the budget, and the load
    // then stores nothing for the other instance to find.
    const [first, second] = [
      await warmInstance({ localTrustMs: 150, now: clock.now }),
      await warmInstance({ localTrustMs: 150, now: clock.now }),
    ];
    await first.get("k", loader.load);
    await drained();
    expect(await second.get("k", loader.load)).toMatchObject({ origin: "hit" });

    expect(await first.purge({ key: "k" })).toBe(1);
    expect(await second.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "hit" });
    clock.advance(160);
    // Served at once, and checked against Redis in the background; the next lookup sees the purge.
    expect(await second.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "hit" });
    await drained();
    expect(await second.get("k", loader.load)).toMatchObject({ value: "value 2", origin: "miss" });
  });

  it("purges every entry, lease and failure of its namespace, on every node, and nothing else", async () => {
    const cache = instance();
    const loader = countingLoader();
    const names = ["a", "b", "c", "d", "e", "f"];
    for (const key of names) await cache.get(key, loader.load);
    await expect(cache.get("bad", async () => Promise.reject(new UpstreamDown("x")))).rejects.toThrow("x");
    await drained();
    await backend.client.set("someone-else:key", "keep");
    await backend.client.set(`${NAMESPACE}:lease:{x}`, "held", "PX", 60_000);

    expect(await cache.purge({ all: true })).toBe(names.length);
    // A lease goes too: the load holding it then writes nothing back.
    expect(await backend.keys("*")).toEqual(["someone-else:key"]);
    expect(await cache.get("a", loader.load)).toMatchObject({ origin: "miss" });
  });

  it("gives back JSON values exactly, through Redis to another instance", async () => {
    const values: Json[] = [
      { city: "Lisbon", celsius: 21.5, hours: [{ at: "12:00", rain: false }], note: null },
      [1, "2", [3, { four: 4 }], true, null],
      0,
      -1.5e-7,
      Number.MAX_SAFE_INTEGER,
      true,
      false,
      null,
      "123",
      '{"a":[1,2]}',
      "日本語 🎉 ç \u0000 \n \/ </script>",
      { "": "", "key with spaces": "x".repeat(60_000) },
    ];
    const writer = instance({ maxValueBytes: 64 * 1024 });
    const reader = instance({ maxValueBytes: 64 * 1024 });
    for (const [index, value] of values.entries()) await writer.get(`j${index}`, async () => value);
    await drained();
    for (const [index, value] of values.entries()) {
      const answer = await reader.get(`j${index}`, async () => "loaded again");
      expect(answer.origin, `value ${index}`).toBe("hit");
      expect(answer.value, `value ${index}`).toStrictEqual(value);
    }
  });

  it("refuses a loaded value JSON cannot carry, caches nothing, and backs the key off", async () => {
    const cache = instance();
    for (const [key, value] of [
      ["u", undefined],
      ["f", () => 1],
      ["b", 1n],
    ] as const) {
      await expect(cache.get(key, async () => value as unknown as Json)).rejects.toBeInstanceOf(NotJsonError);
      await expect(cache.get(key, async () => "fine")).rejects.toBeInstanceOf(NotJsonError);
    }
    await drained();
    expect(await backend.keys(`${NAMESPACE}:find:*`)).toEqual([]);
  });

  it("keeps each key for its own policy, not the cache's", async () => {
    const cache = instance({ freshMs: 60_000, graceMs: 0 });
    await cache.get("short", countingLoader().load, { freshMs: 1000, graceMs: 2000 });
    await drained();
    const ttl = await backend.client.pttl(`${NAMESPACE}:find:{short}`);
    expect(ttl).toBeGreaterThan(2000);
    expect(ttl).toBeLessThanOrEqual(3000);
  });

  it("writes nothing back from a load that was under way when its key was purged, on any instance", async () => {
    const loader = countingLoader((call) => `value ${call}`);
    const [loading, purging, reader] = [instance(), instance(), instance()];
    loader.hold();
    const inFlight = loading.get("k", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    expect(await purging.purge({ key: "k" })).toBe(0);
    // The next reader loads again rather than wait for the purged load.
    const next = reader.get("k", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    loader.release();
    expect(await inFlight).toMatchObject({ value: "value 1", origin: "miss" });
    expect(await next).toMatchObject({ value: "value 2", origin: "miss" });
    await drained();
    expect(await instance().get("k", loader.load)).toMatchObject({ value: "value 2", origin: "hit" });
    expect(loader.calls()).toBe(2);
  });

  it("keeps nothing from a load under way on the instance that purged it: its next lookup loads again", async () => {
    const loader = countingLoader();
    const cache = instance();
    loader.hold();
    const inFlight = cache.get("k", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    await cache.purge({ key: "k" });
    const next = cache.get("k", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    loader.release();
    await Promise.all([inFlight, next]);
    await drained();
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 2", origin: "hit" });
  });

  it("refreshes a due key once for the fleet: the other instances keep serving, and then take the new value", async () => {
    const policy = { freshMs: 2000, graceMs: 60_000, eagerRefresh: 0.5 };
    const [first, second, third] = [await warmInstance(policy), await warmInstance(policy), await warmInstance(policy)];
    const loader = countingLoader();
    loader.hold();
    const initial = first.get("k", loader.load, policy);
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    loader.release();
    await initial;
    await drained();
    for (const cache of [second, third])
      expect(await cache.get("k", loader.load, policy)).toMatchObject({ origin: "hit" });
    await sleep(1100);
    loader.hold();
    const answers = await Promise.all([first, second, third].map((cache) => cache.get("k", loader.load, policy)));
    expect(answers.map((answer) => answer.origin)).toEqual(["hit", "hit", "hit"]);
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    loader.release();
    await drained();
    expect(loader.calls()).toBe(2);
    // Stored anew by the refresh: a whole fresh + grace ahead again.
    expect(await backend.client.pttl(`${NAMESPACE}:find:{k}`)).toBeGreaterThan(61_000);
  });

  it("keeps an entry for fresh + fail-safe, and another instance serves it past grace while the upstream is down", async () => {
    const policy = { freshMs: 500, graceMs: 500, failSafeMs: 30_000 };
    const [first, second] = [await warmInstance(policy), await warmInstance(policy)];
    await first.get("k", countingLoader().load, policy);
    await drained();
    const ttl = await backend.client.pttl(`${NAMESPACE}:find:{k}`);
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_500);
    await sleep(1100);
    const down = countingLoader(() => new UpstreamDown("outage"));
    expect(await second.get("k", down.load, policy)).toMatchObject({ value: "value 1", origin: "fail-safe" });
    expect(down.calls()).toBe(1);
    await drained();
    // The failure is the fleet's: the first instance does not call either, and answers the same.
    expect(await first.get("k", down.load, policy)).toMatchObject({ value: "value 1", origin: "fail-safe" });
    expect(down.calls()).toBe(1);
  });

  it("renews a value the upstream says is unchanged in Redis for the fleet, sending no value back", async () => {
    const policy = { freshMs: 500, graceMs: 60_000 };
    const [first, second] = [await warmInstance(policy), await warmInstance(policy)];
    let calls = 0;
    const load: Loader = async () => {
      calls += 1;
      if (conditionalHeaders()["if-none-match"] === '"a"') {
        reportHttpAnswer(new Headers({ "cache-control": "max-age=30" }));
        throw Object.assign(new Error("304"), { name: "UpstreamNotModifiedError" });
      }
      reportHttpAnswer(new Headers({ etag: '"a"' }));
      return "value a";
    };
    await first.get("k", load, policy);
    await drained();
    const stored = JSON.parse((await backend.client.get(`${NAMESPACE}:find:{k}`))!) as { validators?: string };
    expect(JSON.parse(stored.validators!)).toEqual({ etag: '"a"' });
    await sleep(600);
    const stale = await first.get("k", load, policy);
    expect(await stale.refreshed).toMatchObject({ value: "value a", origin: "revalidated" });
    await drained();
    expect(calls).toBe(2);
    const ttl = await backend.client.pttl(`${NAMESPACE}:find:{k}`);
    expect(ttl).toBeGreaterThan(89_000);
    // Another instance finds it fresh for the 304's thirty seconds, version and value as they were.
    expect(await second.get("k", load, policy)).toMatchObject({ value: "value a", origin: "hit" });
    expect(calls).toBe(2);
  });

  it("soft-purges for the fleet: another instance shows the old value once, then the refreshed one", async () => {
    const policy = { freshMs: 60_000, graceMs: 60_000, localTrustMs: 0 };
    const [first, second] = [await warmInstance(policy), await warmInstance(policy)];
    const loader = countingLoader();
    await first.get("k", loader.load, policy);
    await drained();
    const ttlBefore = await backend.client.pttl(`${NAMESPACE}:find:{k}`);
    expect(await first.purge({ key: "k" }, { soft: true })).toBe(1);
    expect(await backend.client.pttl(`${NAMESPACE}:find:{k}`)).toBeLessThanOrEqual(ttlBefore);
    const stale = await second.get("k", loader.load, policy);
    expect(stale).toMatchObject({ value: "value 1", origin: "stale" });
    expect(await stale.refreshed).toMatchObject({ value: "value 2", origin: "refreshed" });
    await drained();
    expect(await first.get("k", loader.load, policy)).toMatchObject({ value: "value 2", origin: "hit" });
  });

  it("indexes tags a loader added, so a purge by one on another instance reaches the key", async () => {
    const [first, second] = [await warmInstance(), await warmInstance()];
    await first.get("story-1", async (_signal, set) => (set({ tags: ["author:7"] }), "story"), { tags: ["news"] });
    await drained();
    expect(await second.purge({ tag: "author:7" })).toBe(1);
    expect(await backend.keys(`${NAMESPACE}:find:{story-1}`)).toEqual([]);
  });

  it("gives a no-store answer's lease back and stores nothing", async () => {
    const cache = await warmInstance();
    const load = async () => (reportHttpAnswer(new Headers({ "cache-control": "no-store" })), "v");
    expect(await cache.get("k", load)).toMatchObject({ value: "v", origin: "miss" });
    await drained();
    expect(await backend.keys(`${NAMESPACE}:*:{k}`)).toEqual([]);
  });

  it("shares a not-found answer with the fleet, without grace, as an empty text no value can have", async () => {
    const [first, second] = [await warmInstance(), await warmInstance()];
    const gone = Object.assign(new Error("gone"), { name: "UpstreamNotFoundError" });
    expect(await first.get("bad-id", async () => Promise.reject(gone), { notFoundMs: 30_000 })).toMatchObject({
      notFound: true,
      origin: "miss",
    });
    await drained();
    const ttl = await backend.client.pttl(`${NAMESPACE}:find:{bad-id}`);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    const loader = countingLoader();
    expect(await second.get("bad-id", loader.load)).toMatchObject({ value: null, notFound: true, origin: "hit" });
    expect(loader.calls()).toBe(0);
  });

  it("keeps the source's rate across instances: calls over all of them stay within it", async () => {
    const group = { name: "search", maxInFlight: 100, rate: { calls: 3, perMs: 60_000 } };
    const [first, second] = [await warmInstance(), await warmInstance()];
    const loader = countingLoader();
    const lookups = ["a", "b", "c", "d", "e", "f"].map((key, index) =>
      (index % 2 ? first : second).get(key, loader.load, { group }).then(
        (answer) => answer.origin,
        (error: unknown) => (isBusyError(error) ? error.reason : "error"),
      ),
    );
    const outcomes = await Promise.all(lookups);
    expect(loader.calls()).toBe(3);
    expect(outcomes.filter((outcome) => outcome === "miss")).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome === "rate")).toHaveLength(3);
    await drained();
    // A refused load gave its lease back: nothing is left held.
    expect(await backend.keys(`${NAMESPACE}:lease:*`)).toEqual([]);
    const slots = await backend.keys(`${NAMESPACE}:rate:*`);
    expect(slots).toHaveLength(3);
    for (const slot of slots) expect(await backend.client.pttl(slot)).toBeGreaterThan(50_000);
  });

  it("holds every instance off a source whose upstream answered 429 with Retry-After", async () => {
    const group = { name: "search", maxInFlight: 100 };
    const [first, second] = [await warmInstance(), await warmInstance()];
    class UpstreamThrottledError extends Error {
      override name = "UpstreamThrottledError";
      readonly retryAfterMs = 5000;
    }
    await expect(
      first.get("a", async () => Promise.reject(new UpstreamThrottledError("429")), { group }),
    ).rejects.toThrow("429");
    await drained();
    const hold = await backend.client.pttl(`${NAMESPACE}:hold:{search}`);
    expect(hold).toBeGreaterThan(3000);
    expect(hold).toBeLessThanOrEqual(5000);
    const loader = countingLoader();
    const refused = await second.get("b", loader.load, { group }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ name: "BusyError", reason: "held" });
    expect((refused as BusyError).retryAfterMs).toBeGreaterThan(3000);
    expect(loader.calls()).toBe(0);
  });

  it("purges by tag every key carrying it, on every instance, loads under way included, and no other", async () => {
    const loader = countingLoader();
    const [first, second] = [instance({ localTrustMs: 0 }), instance({ localTrustMs: 0 })];
    await first.get("n1", loader.load, { tags: ["news"] });
    await second.get("n2", loader.load, { tags: ["news", "world"] });
    await first.get("w", loader.load, { tags: ["weather"] });
    await drained();
    // A third key carrying the tag is still loading on the second instance, never stored anywhere yet.
    const held = countingLoader(() => "pre-purge");
    held.hold();
    const inFlight = second.get("n3", held.load, { tags: ["news"] });
    await vi.waitFor(() => expect(held.calls()).toBe(1));

    // The tag's index in Redis lists every key carrying it, the load still under way included, and expires.
    const index = `${NAMESPACE}:tag:{news}`;
    expect(await backend.client.type(index)).toBe("zset");
    expect((await backend.client.zrange(index, "0", "-1")).sort()).toEqual(["n1", "n2", "n3"]);
    expect(await backend.client.pttl(index)).toBeGreaterThan(0);

    // A purge on an instance that has never seen these keys: it finds them in the tag's index in Redis.
    expect(await instance().purge({ tag: "news" })).toBe(2);
    held.release();
    await inFlight;
    await drained();
    expect(await backend.keys(`${NAMESPACE}:find:*`)).toEqual([`${NAMESPACE}:find:{w}`]);
    for (const cache of [first, second]) {
      expect(await cache.get("n1", loader.load, { tags: ["news"] })).toMatchObject({
        origin: expect.stringMatching(/miss|shared|hit/),
      });
    }
    expect(await first.get("w", loader.load, { tags: ["weather"] })).toMatchObject({ value: "value 3", origin: "hit" });
    expect(await first.get("n3", async () => "after purge", { tags: ["news"] })).toMatchObject({
      value: "after purge",
      origin: "miss",
    });
  });

  it("refuses a load past its group's most in flight in this process, and counts it busy, not a miss", async () => {
    const group = { name: "weather", maxInFlight: 1 };
    const cache = instance({ group });
    const loader = countingLoader();
    loader.hold();
    const under = cache.get("a", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    const refused = await cache.get("b", loader.load).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BusyError);
    expect((refused as BusyError).retryAfterMs).toBeGreaterThanOrEqual(1000);
    // Another instance counts its own loads.
    expect(await instance({ group }).get("b", async () => "elsewhere")).toMatchObject({ origin: "miss" });
    loader.release();
    await under;
    expect(cache.stats).toMatchObject({ busy: 1, misses: 1 });
    expect(loader.calls()).toBe(1);
    await drained();
    expect(await cache.get("b", loader.load)).toMatchObject({ value: "elsewhere", origin: "hit" });
  });

  it("serves its stale copy without a refresh while the group is full", async () => {
    const group = { name: "weather", maxInFlight: 1 };
    const cache = instance({ group, freshMs: 300 });
    const loader = countingLoader();
    await cache.get("s", loader.load);
    await drained();
    await sleep(350);
    loader.hold();
    const under = cache.get("a", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    const stale = await cache.get("s", loader.load);
    expect(stale).toMatchObject({ value: "value 1", origin: "stale" });
    expect(await stale.refreshed).toBeUndefined();
    expect(loader.calls()).toBe(2);
    loader.release();
    await under;
  });

  // Known bug, reported: with no copy of its own, a lookup reaches the store only through a load's claim, and a
  // full group refuses the load first, so this answers busy. Flip to `it` once Loads.start reads the store then.
  it("answers a key another instance stored, while its own group is full", async () => {
    const group = { name: "weather", maxInFlight: 1 };
    const loader = countingLoader();
    await instance({ group }).get("stored", loader.load);
    await drained();
    const cache = instance({ group });
    loader.hold();
    const under = cache.get("a", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    try {
      expect(await cache.get("stored", loader.load)).toMatchObject({ value: "value 1", origin: "hit" });
    } finally {
      loader.release();
      await under;
    }
  });

  it("keeps each key in its tags' indexes only as long as its entry may live, and drops it past that", async () => {
    const clock = manualClock(Date.now());
    const policy = { freshMs: 1000, graceMs: 1000, upstreamTimeoutMs: 2000, now: clock.now };
    const index = `${NAMESPACE}:tag:{news}`;
    await instance(policy).get("t1", countingLoader().load, { tags: ["news"] });
    await drained();
    // The lease (the budget and 1 s), then the entry's fresh and grace time; then the 60 s this instance trusts
    // it has indexed the key, and 300 s of slack for the instances' clocks before the set itself may go.
    const lifetimeMs = 2000 + 1000 + 1000 + 1000;
    expect(await backend.client.zrange(index, "0", "-1", "WITHSCORES")).toEqual([
      "t1",
      String(clock.now() + lifetimeMs + 60_000),
    ]);
    const ttl = await backend.client.pttl(index);
    expect(ttl).toBeGreaterThan(lifetimeMs + 360_000 - 5000);
    expect(ttl).toBeLessThanOrEqual(lifetimeMs + 360_000);

    clock.advance(lifetimeMs + 360_000 + 1);
    await instance(policy).get("t2", countingLoader().load, { tags: ["news", "other"] });
    await drained();
    expect(await backend.client.zrange(index, "0", "-1")).toEqual(["t2"]);
    expect(await backend.client.zrange(`${NAMESPACE}:tag:{other}`, "0", "-1")).toEqual(["t2"]);
    expect(await backend.client.pttl(index)).toBeGreaterThan(lifetimeMs + 360_000 - 5000);
  });

  it("purges by a fragment's every-key tag the keys of all its parameter sets, whichever instance loaded them", async () => {
    const loader = countingLoader();
    const tagsOf = (city: string) => [`city:${city}`, "@weather"];
    const [first, second] = [instance({ localTrustMs: 0 }), instance({ localTrustMs: 0 })];
    await first.get("weather?city=porto", loader.load, { tags: tagsOf("porto") });
    await second.get("weather?city=paris", loader.load, { tags: tagsOf("paris") });
    await first.get("rates?", loader.load, { tags: ["@rates"] });
    await drained();
    expect(await instance().purge({ tag: "@weather" })).toBe(2);
    await drained();
    expect(await backend.keys(`${NAMESPACE}:find:*`)).toEqual([`${NAMESPACE}:find:{rates?}`]);
  });

  it("with no trust window, shows a purge at another instance on its very next lookup", async () => {
    const loader = countingLoader();
    const [first, second] = [instance({ localTrustMs: 0 }), instance({ localTrustMs: 0 })];
    await first.get("k", loader.load);
    await drained();
    expect(await second.get("k", loader.load)).toMatchObject({ value: "value 1", origin: "hit" });
    await first.purge({ key: "k" });
    expect(await second.get("k", loader.load)).toMatchObject({ value: "value 2", origin: "miss" });
  });

  // A cluster's clients reach each node at the address it announces, so no proxy stands in their path to
  // count round trips or hold a reply: these are declared only for the stores that have one.
  if (kind !== "redis-cluster") {
    describe("round trips, counted in front of the server", () => {
      it("reads Redis and takes the lease for a cold key in one round trip before the loader runs", async () => {
        const cache = await warmInstance();
        const loader = countingLoader();
        loader.hold();
        backend.proxy!.resetStats();
        const pending = cache.get("cold", loader.load);
        await vi.waitFor(() => expect(loader.calls()).toBe(1));
        expect(backend.proxy!.stats().requests).toBe(1);
        loader.release();
        expect(await pending).toMatchObject({ value: "value 1", origin: "miss" });
      });

      it("gives one page view's lookups one round trip, a re-check of its own copy included", async () => {
        const loader = countingLoader();
        const cache = await warmInstance({
          localTrustMs: 50,
          local: new MemoryStore({ maxEntries: 1, maxBytes: 1 << 20 }),
        });
        const names = ["a", "b", "c"];
        await Promise.all(names.map((name) => cache.get(name, loader.load)));
        await drained();
        await sleep(60);
        backend.proxy!.resetStats();
        // One key is held here past its trust window, the other two only in Redis.
        const answers = await Promise.all(names.map((name) => cache.get(name, loader.load)));
        await drained();
        expect(answers.map((answer) => answer.origin)).toEqual(["hit", "hit", "hit"]);
        expect(backend.proxy!.stats().requests).toBe(1);
        expect(loader.calls()).toBe(3);
      });

      it("with no trust window, checks a page view's copies in one round trip and is not sent their values again", async () => {
        const big = "x".repeat(20_000);
        const cache = await warmInstance({ localTrustMs: 0, maxValueBytes: 64 * 1024 });
        const names = ["a", "b", "c"];
        await Promise.all(names.map((name) => cache.get(name, async () => big)));
        await drained();
        backend.proxy!.resetStats();
        const answers = await Promise.all(names.map((name) => cache.get(name, async () => "loaded again")));
        expect(answers.map((answer) => [answer.value, answer.origin])).toEqual(names.map(() => [big, "hit"]));
        expect(backend.proxy!.stats().requests).toBe(1);
        expect(backend.proxy!.stats().replyBytes).toBeLessThan(1000);
      });

      it("never stalls a key on a claim whose reply was lost: the retry finds the lease its own", async () => {
        const timeoutMs = 200;
        const upstreamMs = 300;
        const cache = await warmInstance({ upstreamTimeoutMs: 5000 }, timeoutMs);
        const other = await warmInstance({ upstreamTimeoutMs: 5000 }, timeoutMs);
        const slow: Loader = async () => {
          await sleep(upstreamMs);
          return "slow value";
        };
        // The claim runs in Redis (the lease is taken) but its reply comes after the client gave up on it.
        const held = backend.proxy!.holdNextReply(timeoutMs * 1.5);
        const started = performance.now();
        const answer = await cache.get("k", slow);
        const elapsed = performance.now() - started;
        await held;
        expect(answer).toMatchObject({ value: "slow value", origin: "miss" });
        // Without its own lease it would wait for the lease to expire (load timeout + 1 s).
        expect(elapsed).toBeLessThan(timeoutMs * 2 + upstreamMs + 400);
        await drained();
        expect(await backend.keys(`${NAMESPACE}:lease:*`)).toEqual([]);
        expect(await other.get("k", slow)).toMatchObject({ value: "slow value", origin: "hit" });
      });
    });
  }
});

describe("Cache on a Redis Cluster that loses a master", () => {
  it("answers with misses, not errors, while a master is gone, and caches on every master again once it is back", async () => {
    const backend = await startStoreBackend("redis-cluster");
    const background: Array<Promise<unknown>> = [];
    try {
      const cache = memoryCache({
        shared: new GuardedStore(backend.store(300), {
          timeoutMs: 300,
          breaker: new CircuitBreaker({ failureThreshold: 5, coolDownMs: 200 }),
        }),
        namespace: NAMESPACE,
        keepAlive: (task) => background.push(task),
      });
      const loader = countingLoader();
      // Twelve names spread over the three masters' slots.
      const names = Array.from({ length: 12 }, (_, index) => `lost-${index}`);
      const [lost] = backend.cluster!.nodes;
      await lost!.stop();
      try {
        const answers = await Promise.all(names.map((name) => cache.get(name, loader.load)));
        expect(answers.every((answer) => answer.origin === "miss" && String(answer.value).startsWith("value "))).toBe(
          true,
        );
        await Promise.all(background.splice(0));
      } finally {
        await lost!.start();
        await backend.cluster!.waitUntilHealthy();
      }
      await vi.waitFor(
        async () => {
          await Promise.all(names.map((name) => cache.get(`back-${name}-${loader.calls()}`, loader.load)));
          await Promise.all(background.splice(0));
          const perMaster = await backend.cluster!.keysPerNode(`${NAMESPACE}:find:{back-*`);
          expect(perMaster.map((keys) => keys.length > 0)).toEqual([true, true, true]);
        },
        { timeout: 15_000, interval: 200 },
      );
    } finally {
      await backend.stop();
    }
  }, 60_000);
});
