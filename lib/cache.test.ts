import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startRedisStack, type RedisStack } from "../test-support/redis-stack";
import { Cache, LoadTimeoutError, type CacheOptions, type Loader } from "./cache";
import { CircuitBreaker } from "./circuit-breaker";
import { GuardedStore } from "./stores/guarded";
import { MemoryStore } from "./stores/memory";
import { UpstashStore } from "./stores/upstash";

class LoadError extends Error {
  override name = "LoadError";
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

function memoryCache(overrides: Partial<CacheOptions> = {}) {
  return new Cache({
    local: new MemoryStore({ maxEntries: 1000, maxBytes: 1 << 20 }),
    namespace: "test:v1",
    freshMs: 60_000,
    graceMs: 300_000,
    loadTimeoutMs: 2000,
    maxValueBytes: 1024,
    backoffBaseMs: 1000,
    backoffMaxMs: 8000,
    ...overrides,
  });
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
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 1", source: "miss" });
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 1", source: "hit" });
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
    expect(answers.every((answer) => answer.value === "value 1" && answer.source === "stale")).toBe(true);
    expect(loader.calls()).toBe(2);
    expect(kept).toHaveLength(2);

    loader.release();
    await Promise.all(kept);
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 2", source: "hit" });
    expect(loader.calls()).toBe(2);
  });

  it("treats an entry past grace as gone", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 1000 });
    const loader = countingLoader();
    await cache.get("k", loader.load);
    clock.advance(2001);
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 2", source: "miss" });
  });

  it("never caches an error, and backs off a failing key before calling its loader again", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now });
    const loader = countingLoader((call) => (call <= 2 ? new LoadError(`down ${call}`) : `value ${call}`));

    await expect(cache.get("k", loader.load)).rejects.toThrow("down 1");
    await expect(cache.get("k", loader.load)).rejects.toThrow("down 1");
    expect(loader.calls()).toBe(1);

    clock.advance(1000);
    await expect(cache.get("k", loader.load)).rejects.toThrow("down 2");
    clock.advance(1999);
    await expect(cache.get("k", loader.load)).rejects.toThrow("down 2");
    expect(loader.calls()).toBe(2);

    clock.advance(1);
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 3", source: "miss" });
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 3", source: "hit" });
    expect(cache.stats).toMatchObject({ loadErrors: 2, skippedLoads: 2 });
  });

  it("keeps serving the stale value while the upstream fails, and fails once grace is over", async () => {
    const clock = manualClock();
    const cache = memoryCache({ now: clock.now, freshMs: 1000, graceMs: 10_000 });
    const loader = countingLoader((call) => (call === 1 ? "good" : new LoadError("down")));
    await cache.get("k", loader.load);

    for (let step = 0; step < 9; step += 1) {
      clock.advance(1000);
      expect(await cache.get("k", loader.load)).toMatchObject({ value: "good", source: "stale" });
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
    const first = cache.get("k", loader.load, () => heard.push("first"));
    const second = cache.get("k", loader.load, () => heard.push("second"));
    await vi.waitFor(() => expect(heard).toEqual(["first", "second"]));
    loader.release();
    await Promise.all([first, second]);
    await cache.get("k", loader.load, () => heard.push("warm"));
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
    expect(answers.filter((answer) => answer.source === "miss")).toHaveLength(1);
  });

  it("gives every concurrent caller the same error, and caches nothing", async () => {
    const cache = memoryCache({ backoffBaseMs: 0 });
    const loader = countingLoader((call) => (call === 1 ? new LoadError("boom") : "ok"));
    loader.hold();
    const pending = Array.from({ length: 10 }, () => cache.get("k", loader.load));
    loader.release();
    const results = await Promise.allSettled(pending);
    expect(results.every((result) => result.status === "rejected")).toBe(true);
    expect(loader.calls()).toBe(1);
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "ok", source: "miss" });
  });

  it("abandons a loader past its budget and aborts its signal", async () => {
    const cache = memoryCache({ loadTimeoutMs: 50 });
    let signal: AbortSignal | undefined;
    const hang: Loader = (given) => {
      signal = given;
      return new Promise(() => {});
    };
    await expect(cache.get("k", hang)).rejects.toBeInstanceOf(LoadTimeoutError);
    expect(signal?.aborted).toBe(true);
    expect(cache.stats.loadTimeouts).toBe(1);
  });

  it("serves a value over the size cap without caching it", async () => {
    const cache = memoryCache({ maxValueBytes: 10 });
    const loader = countingLoader(() => "x".repeat(11));
    expect((await cache.get("big", loader.load)).value).toHaveLength(11);
    expect((await cache.get("big", loader.load)).source).toBe("miss");
    expect(loader.calls()).toBe(2);
    expect(cache.stats.uncacheable).toBe(2);
  });

  it("stays within its bound over 100,000 distinct keys, and its memory levels off", async () => {
    const local = new MemoryStore({ maxEntries: 5000, maxBytes: 1 << 20 });
    const cache = memoryCache({ local });
    const load: Loader = async (signal) => `${signal.aborted}`.padEnd(100, "v");
    const residentMiB: number[] = [];
    for (let index = 0; index < 100_000; index += 1) {
      await cache.get(`key-${index}`, load);
      expect(local.size).toBeLessThanOrEqual(5000);
      if (index % 25_000 === 24_999) {
        // The console spy keeps every call it sees: forget them, or the test measures its own spy.
        vi.mocked(console.info).mockClear();
        residentMiB.push(process.memoryUsage().rss / 2 ** 20);
      }
    }
    expect(local.bytes).toBeLessThanOrEqual(1 << 20);
    // Past the first quarter, what is evicted is collected: resident memory grows by little more than noise.
    expect(residentMiB.at(-1)! - residentMiB[0]!).toBeLessThan(48);
  });
});

describe("Cache shared through Redis", () => {
  let stack: RedisStack;
  // Store writes and lease releases run after the caller has its value, as after() runs them in the app.
  const background: Array<Promise<unknown>> = [];
  const drained = () => Promise.all(background.splice(0));

  beforeAll(async () => {
    stack = await startRedisStack();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  beforeEach(async () => {
    await stack.redis.start();
    await drained();
    await stack.client.flushall();
  });

  /** One app instance: its own in-process tier, the shared Redis behind the guard. */
  function instance(overrides: Partial<CacheOptions> = {}, timeoutMs = 300) {
    const shared = new GuardedStore(new UpstashStore({ url: stack.bridgeUrl, token: stack.token, timeoutMs }), {
      timeoutMs,
      breaker: new CircuitBreaker({ failureThreshold: 5, coolDownMs: 200 }),
    });
    return memoryCache({ shared, namespace: "workerless:v1", keepAlive: (task) => background.push(task), ...overrides });
  }

  it("stores entries under namespaced keys that expire when grace ends", async () => {
    const cache = instance({ freshMs: 2000, graceMs: 3000 });
    await cache.get("k", countingLoader().load);
    await drained();
    const ttl = await stack.client.pttl("workerless:v1:find:k");
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
    expect(await stack.client.keys("workerless:v1:lease:*")).toEqual([]);
  });

  it("fills a new instance's local tier from Redis without a load", async () => {
    const loader = countingLoader();
    await instance().get("k", loader.load);
    await drained();
    const other = instance();
    expect(await other.get("k", loader.load)).toMatchObject({ value: "value 1", source: "hit" });
    stack.bridge!.resetStats();
    expect(await other.get("k", loader.load)).toMatchObject({ value: "value 1", source: "hit" });
    expect(stack.bridge!.stats().commands).toBe(0);
    expect(loader.calls()).toBe(1);
  });

  it("reads Redis and takes the lease for a cold key in one round trip before the loader runs", async () => {
    const cache = instance();
    const loader = countingLoader();
    loader.hold();
    stack.bridge!.resetStats();
    const pending = cache.get("cold", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    expect(stack.bridge!.stats()).toMatchObject({ commands: 1, requests: 1 });
    loader.release();
    expect(await pending).toMatchObject({ value: "value 1", source: "miss" });
  });

  it("gives one page view's lookups one round trip, a re-check of its own copy included", async () => {
    const loader = countingLoader();
    const cache = instance({ localTrustMs: 50, local: new MemoryStore({ maxEntries: 1, maxBytes: 1 << 20 }) });
    const names = ["a", "b", "c"];
    await Promise.all(names.map((name) => cache.get(name, loader.load)));
    await drained();
    await new Promise((resolve) => setTimeout(resolve, 60));
    stack.bridge!.resetStats();
    // One key is held here past its trust window, the other two only in Redis.
    const answers = await Promise.all(names.map((name) => cache.get(name, loader.load)));
    await drained();
    expect(answers.map((answer) => answer.source)).toEqual(["hit", "hit", "hit"]);
    expect(stack.bridge!.stats()).toMatchObject({ commands: 3, requests: 1 });
    expect(loader.calls()).toBe(3);
  });

  it("serves the stale entry Redis holds to new instances at once, while one of them refreshes it", async () => {
    const loader = countingLoader();
    await instance({ freshMs: 300 }).get("k", loader.load);
    await drained();
    await new Promise((resolve) => setTimeout(resolve, 350));
    loader.hold();
    const started = performance.now();
    const answers = await Promise.all([instance({ freshMs: 300 }), instance({ freshMs: 300 })].map((cache) => cache.get("k", loader.load)));
    expect(performance.now() - started).toBeLessThan(250);
    expect(answers).toMatchObject([
      { value: "value 1", source: "stale" },
      { value: "value 1", source: "stale" },
    ]);
    await vi.waitFor(() => expect(loader.calls()).toBe(2));
    loader.release();
    await drained();
    expect(loader.calls()).toBe(2);
    expect(await instance({ freshMs: 300 }).get("k", loader.load)).toMatchObject({ value: "value 2", source: "hit" });
  });

  it("serves the stale entry Redis holds while a failing key backs off, with no copy of its own", async () => {
    const loader = countingLoader((call) => (call === 1 ? "value 1" : new LoadError("down")));
    await instance({ freshMs: 300 }).get("k", loader.load);
    await drained();
    await new Promise((resolve) => setTimeout(resolve, 350));
    const local = new MemoryStore({ maxEntries: 1000, maxBytes: 1 << 20 });
    const cache = instance({ freshMs: 300, local });
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 1", source: "stale" });
    await drained();
    expect(loader.calls()).toBe(2);
    // Evicted here, and backing off: only a read of Redis can still find something to serve.
    local.delete("k");
    expect(await cache.get("k", loader.load)).toMatchObject({ value: "value 1", source: "stale" });
    expect(loader.calls()).toBe(2);
  });

  it("tells a caller that waits for another instance's load", async () => {
    const loader = countingLoader();
    loader.hold();
    const holder = instance().get("k", loader.load);
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    let heard = false;
    const waiter = instance().get("k", loader.load, () => (heard = true));
    await vi.waitFor(() => expect(heard).toBe(true));
    loader.release();
    expect(await waiter).toMatchObject({ value: "value 1", source: "shared" });
    await holder;
  });

  it("makes one upstream call for a cold key across three instances", async () => {
    const loader = countingLoader();
    loader.hold();
    const caches = [instance(), instance(), instance()];
    const pending = caches.flatMap((cache) => Array.from({ length: 50 }, () => cache.get("cold", loader.load)));
    await vi.waitFor(() => expect(loader.calls()).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    loader.release();
    const answers = await Promise.all(pending);
    expect(loader.calls()).toBe(1);
    expect(new Set(answers.map((answer) => answer.value))).toEqual(new Set(["value 1"]));
    expect(answers.filter((answer) => answer.source === "miss")).toHaveLength(1);
  });

  it("releases the lease when the loader throws, so the next caller loads a value; no error is stored", async () => {
    const first = instance({ backoffBaseMs: 0 });
    const second = instance();
    const loader = countingLoader((call) => (call === 1 ? new LoadError("boom") : `value ${call}`));
    await expect(first.get("k", loader.load)).rejects.toThrow("boom");
    await drained();
    expect(await stack.client.keys("workerless:v1:*")).toEqual([]);
    const started = performance.now();
    expect(await second.get("k", loader.load)).toMatchObject({ value: "value 2", source: "miss" });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("waits no longer than the lease of a holder that died, then loads once", async () => {
    // A lease left behind by an instance that died mid-call: nobody will release it.
    const loadTimeoutMs = 500;
    await stack.client.set("workerless:v1:lease:k", "dead-holder", "PX", loadTimeoutMs + 1000);
    const survivors = [instance({ loadTimeoutMs }), instance({ loadTimeoutMs })];
    const loader = countingLoader();
    const started = performance.now();
    const answers = await Promise.all(survivors.map((cache) => cache.get("k", loader.load)));
    const waited = performance.now() - started;
    expect(loader.calls()).toBe(1);
    expect(answers.map((answer) => answer.value)).toEqual(["value 1", "value 1"]);
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(1500 + 600);
  });

  it("answers from the upstream when Redis is down, and caches in Redis again once it is back", async () => {
    const cache = instance();
    const loader = countingLoader();
    await stack.redis.stop();
    const started = performance.now();
    expect(await cache.get("down", loader.load)).toMatchObject({ value: "value 1", source: "miss" });
    expect(performance.now() - started).toBeLessThan(1000);

    await stack.redis.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await vi.waitFor(
      async () => {
        await cache.get(`again-${loader.calls()}`, loader.load);
        expect(await stack.client.keys("workerless:v1:find:again-*")).not.toEqual([]);
      },
      { timeout: 5000, interval: 100 },
    );
  });

  it("shows a purge on one instance at another once its local trust window passes, without waiting on Redis", async () => {
    const loader = countingLoader();
    const [first, second] = [instance({ localTrustMs: 150 }), instance({ localTrustMs: 150 })];
    await first.get("k", loader.load);
    await drained();
    expect(await second.get("k", loader.load)).toMatchObject({ source: "hit" });

    expect(await first.purge("k")).toBe(1);
    expect(await second.get("k", loader.load)).toMatchObject({ value: "value 1", source: "hit" });
    await new Promise((resolve) => setTimeout(resolve, 160));
    // Served at once, and checked against Redis in the background; the next lookup sees the purge.
    expect(await second.get("k", loader.load)).toMatchObject({ value: "value 1", source: "hit" });
    await drained();
    expect(await second.get("k", loader.load)).toMatchObject({ value: "value 2", source: "miss" });
  });

  it("purges every entry of its namespace and nothing else", async () => {
    const cache = instance();
    const loader = countingLoader();
    for (const key of ["a", "b", "c"]) await cache.get(key, loader.load);
    await drained();
    await stack.client.set("someone-else:key", "keep");
    await stack.client.set("workerless:v1:lease:x", "held", "PX", 60_000);

    expect(await cache.purge()).toBe(3);
    expect((await stack.client.keys("*")).sort()).toEqual(["someone-else:key", "workerless:v1:lease:x"]);
    expect(await cache.get("a", loader.load)).toMatchObject({ source: "miss" });
  });
});
