import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startStoreBackend, type StoreBackend } from "../../harness/store-backends";
import { CircuitBreaker } from "../circuit-breaker";
import { GuardedStore } from "../stores/guarded";
import { MemoryStore } from "../stores/memory";
import { Cache, type CacheOptions, type Loader, type Policy } from ".";

const POLICY: Policy = {
  freshMs: 10_000,
  graceMs: 60_000,
  failSafeMs: 0,
  notFoundMs: 60_000,
  eagerRefresh: 0,
  http: { obey: false, minFreshMs: 1000, maxFreshMs: 86_400_000 },
  upstreamTimeoutMs: 2000,
  tags: ["t"],
  group: { name: "test", maxInFlight: 100 },
};

function manualClock(start = Date.now()) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

function cacheWith(options: Partial<CacheOptions> = {}) {
  return new Cache({
    local: new MemoryStore({ maxEntries: 100, maxBytes: 1 << 20 }),
    namespace: `fresh-version:${Math.random()}`,
    maxValueBytes: 1024,
    backoffBaseMs: 1000,
    backoffMaxMs: 8000,
    ...options,
  });
}

let calls = 0;
const loader: Loader = async () => `value ${++calls}`;

beforeEach(() => {
  vi.spyOn(console, "info").mockImplementation(() => {});
});

describe("Cache.freshLocalVersion on the in-process tier", () => {
  it("names the version a lookup would serve fresh, and nothing for a key never loaded", async () => {
    const cache = cacheWith();
    expect(cache.freshLocalVersion("k", POLICY)).toBeUndefined();
    await cache.get("k", loader, POLICY);
    const version = cache.freshLocalVersion("k", POLICY);
    expect(version).toEqual(expect.any(String));
    expect(cache.freshLocalVersion("k", POLICY)).toBe(version);
    // A query, not a lookup: nothing counted.
    expect(cache.stats).toMatchObject({ hits: 0, misses: 1 });
  });

  it("answers nothing once the value is stale, purged or softened, and a new version for a new value", async () => {
    const clock = manualClock();
    const cache = cacheWith({ now: clock.now });
    await cache.get("k", loader, POLICY);
    const first = cache.freshLocalVersion("k", POLICY);
    clock.advance(POLICY.freshMs);
    expect(cache.freshLocalVersion("k", POLICY)).toBeUndefined();

    await cache.purge({ key: "k" });
    await cache.get("k", loader, POLICY);
    const second = cache.freshLocalVersion("k", POLICY);
    expect(second).toEqual(expect.any(String));
    expect(second).not.toBe(first);
    await cache.purge({ tag: "t" }, { soft: true });
    expect(cache.freshLocalVersion("k", POLICY)).toBeUndefined();
    await cache.purge({ key: "k" });
    expect(cache.freshLocalVersion("k", POLICY)).toBeUndefined();
  });

  it("answers nothing once an eager refresh is due, so a lookup starts it", async () => {
    const clock = manualClock();
    const cache = cacheWith({ now: clock.now });
    const policy = { ...POLICY, eagerRefresh: 0.8 };
    await cache.get("k", loader, policy);
    clock.advance(7000);
    expect(cache.freshLocalVersion("k", policy)).toEqual(expect.any(String));
    clock.advance(1500);
    expect(cache.freshLocalVersion("k", policy)).toBeUndefined();
  });
});

describe("Cache.freshLocalVersion with Redis", () => {
  let backend: StoreBackend;
  const background: Array<Promise<unknown>> = [];
  beforeAll(async () => {
    backend = await startStoreBackend("redis");
  });
  // The fills a load writes after answering land before the servers go.
  afterAll(async () => {
    await Promise.allSettled(background);
    await backend.stop();
  });

  const instance = (options: Partial<CacheOptions>) =>
    cacheWith({
      keepAlive: (task) => background.push(task),
      shared: new GuardedStore(backend.store(300), {
        timeoutMs: 300,
        breaker: new CircuitBreaker({ failureThreshold: 5, coolDownMs: 200 }),
      }),
      ...options,
    });

  it("trusts this process's copy only within the trust window, and never at a window of 0", async () => {
    const clock = manualClock();
    const trusting = instance({ localTrustMs: 1000, now: clock.now });
    await trusting.get("k", loader, POLICY);
    expect(trusting.freshLocalVersion("k", POLICY)).toEqual(expect.any(String));
    // Past the window a lookup would check the copy against Redis: not fresh from this process alone.
    clock.advance(1000);
    expect(trusting.freshLocalVersion("k", POLICY)).toBeUndefined();

    const checking = instance({ localTrustMs: 0 });
    await checking.get("other", loader, POLICY);
    expect(checking.freshLocalVersion("other", POLICY)).toBeUndefined();
  });
});
