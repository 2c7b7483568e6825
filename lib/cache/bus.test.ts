import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { STORE_KINDS } from "../../harness/redis-targets";
import { startStoreBackend, type StoreBackend } from "../../harness/store-backends";
import { type Cache, type Loader, type Policy } from ".";
import { FLEET_POLICY, fleetInstance } from "../../harness/cache-fleet";

const NAMESPACE = "bus-test:v1";

const POLICY: Policy = { ...FLEET_POLICY, tags: ["bus-tag"] };

/** A loader answering `value <n>` on its n-th call, after `ms`. */
function slowLoader(ms = 0) {
  let calls = 0;
  const load: Loader = async () => {
    calls += 1;
    const call = calls;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    return `value ${call}`;
  };
  return { load, calls: () => calls };
}

beforeEach(() => {
  vi.spyOn(console, "info").mockImplementation(() => {});
  vi.spyOn(console, "warn").mockImplementation(() => {});
});

describe.each(STORE_KINDS)("the bus through %s", (kind) => {
  let backend: StoreBackend;
  const caches: Cache[] = [];
  const background: Array<Promise<unknown>> = [];
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
    await backend.flush();
  });

  afterEach(async () => {
    await drained();
    for (const cache of caches.splice(0)) cache.close();
  });

  /** One app instance with its bus, the default trust window (5 s) and the app's own client. */
  async function instance(): Promise<Cache> {
    const cache = fleetInstance(backend, {
      namespace: NAMESPACE,
      timeoutMs: 1000,
      keepAlive: (task) => background.push(task),
    });
    caches.push(cache);
    await vi.waitFor(() => expect(cache.busStats?.state).toBe("up"), { timeout: 10_000, interval: 20 });
    return cache;
  }

  /**
   * How long after `since` a lookup of `key` on `cache` first stops being a hit, looking every millisecond:
   * what a reader there sees of a purge elsewhere. Undefined when it still hits after `withinMs`.
   */
  async function msUntilMiss(cache: Cache, key: string, loader: Loader, since: number, withinMs = 2000) {
    while (performance.now() - since < withinMs) {
      const at = performance.now();
      if ((await cache.get(key, loader, POLICY)).origin !== "hit") return at - since;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return undefined;
  }

  /** Each instance holds `key` fresh in its own tier, as it does after a view. */
  async function warmEverywhere(key: string, loader: Loader, instances: Cache[]): Promise<void> {
    for (const cache of instances) await cache.get(key, loader, POLICY);
    await drained();
    for (const cache of instances) expect((await cache.get(key, loader, POLICY)).origin).toBe("hit");
  }

  it("makes the next lookup on every other instance miss within milliseconds of a purge", async () => {
    const [a, b, c] = [await instance(), await instance(), await instance()];
    const loader = slowLoader();
    await warmEverywhere("k", loader.load, [a, b, c]);
    await a.purge({ key: "k" });
    const purged = performance.now();
    const [onB, onC] = await Promise.all([
      msUntilMiss(b, "k", loader.load, purged),
      msUntilMiss(c, "k", loader.load, purged),
    ]);
    // Well within the 5 s trust window (the bench measures the figure over many trials).
    expect(onB).toBeLessThan(1000);
    expect(onC).toBeLessThan(1000);
    expect(loader.calls(), "one load after the purge, shared by B and C").toBe(2);
  });

  it("forgets every copy on every instance when everything is purged", async () => {
    const [a, b] = [await instance(), await instance()];
    const loader = slowLoader();
    await warmEverywhere("k", loader.load, [a, b]);
    await a.purge({ all: true });
    expect(await msUntilMiss(b, "k", loader.load, performance.now())).toBeLessThan(1000);
  });

  it("shows a value filled by one instance on the others at their next lookup, within the trust window", async () => {
    const [a, b] = [await instance(), await instance()];
    const loader = slowLoader();
    await warmEverywhere("k", loader.load, [a, b]);
    // A soft purge on A, then A's refresh: B held value 1, fresh, trusted for 5 s.
    await a.purge({ key: "k" }, { soft: true });
    const stale = await a.get("k", loader.load, POLICY);
    expect(stale.origin).toBe("stale");
    expect(await stale.refreshed).toMatchObject({ value: "value 2" });
    await drained();
    await vi.waitFor(async () => expect((await b.get("k", loader.load, POLICY)).value).toBe("value 2"), {
      timeout: 1000,
      interval: 5,
    });
    expect(loader.calls()).toBe(2);
  });

  it("wakes a lookup waiting on another instance's load when it fills, not at its next poll", async () => {
    const [a, b] = [await instance(), await instance()];
    const loader = slowLoader(600);
    // Five keys, B starting to wait on each at another moment of A's load: a poll every 25 → 250 ms could
    // land near one fill, not near all five.
    const trials = [100, 160, 220, 280, 340].map(async (offsetMs, index) => {
      const key = `k${index}`;
      const loading = a.get(key, loader.load, POLICY);
      await new Promise((resolve) => setTimeout(resolve, offsetMs));
      const waiting = b.get(key, loader.load, POLICY).then((answer) => ({ answer, at: performance.now() }));
      await loading;
      // A's caller has its value; the fill goes to the store in the same tick.
      const loaded = performance.now();
      const { answer, at } = await waiting;
      expect(answer).toMatchObject({ value: expect.stringMatching(/^value \d$/), origin: "shared" });
      return at - loaded;
    });
    const lags = await Promise.all(trials);
    expect(loader.calls(), "one load per key, on A").toBe(5);
    expect(Math.max(...lags), `B answered ${lags.map(Math.round).join(", ")} ms after each fill`).toBeLessThan(60);
  });

  it("gives a stale lookup on another instance the fresh value when that instance's refresh fills", async () => {
    const [a, b] = [await instance(), await instance()];
    const quick = slowLoader();
    await warmEverywhere("k", quick.load, [a, b]);
    const heard = b.busStats!.events;
    await a.purge({ key: "k" }, { soft: true });
    await vi.waitFor(() => expect(b.busStats?.events).toBeGreaterThan(heard), { timeout: 1000, interval: 1 });
    const slow = slowLoader(300);
    const onA = await a.get("k", slow.load, POLICY);
    // A holds the lease and refreshes; B sees the stale value at once, and A's fill through the bus.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const onB = await b.get("k", slow.load, POLICY);
    expect(onA.origin).toBe("stale");
    expect(onB.origin).toBe("stale");
    const [refreshedOnA, refreshedOnB] = await Promise.all(
      [onA, onB].map(async ({ refreshed }) => ({ answer: await refreshed, at: performance.now() })),
    );
    expect(refreshedOnA!.answer).toMatchObject({ value: "value 1", origin: "refreshed" });
    expect(refreshedOnB!.answer).toMatchObject({ value: "value 1", origin: "refreshed" });
    expect(refreshedOnB!.at - refreshedOnA!.at, "B has it a round trip after A's fill").toBeLessThan(100);
    expect(slow.calls()).toBe(1);
  });

  it("reports the bus down when its subscription is killed, and up again with the gap measured", async () => {
    const a = await instance();
    const loader = slowLoader();
    await a.get("k", loader.load, POLICY);
    await backend.killSubscribers();
    await vi.waitFor(() => expect(a.busStats?.resumed).toBe(1), { timeout: 10_000, interval: 20 });
    expect(a.busStats?.state).toBe("up");
    expect(a.busStats?.lastGapMs).toBeGreaterThan(0);
    // Served throughout, from the copy here.
    expect((await a.get("k", loader.load, POLICY)).value).toBe("value 1");
    // And the bus carries changes again.
    const b = await instance();
    await b.purge({ key: "k" });
    await vi.waitFor(async () => expect((await a.get("k", loader.load, POLICY)).value).toBe("value 2"), {
      timeout: 1000,
      interval: 5,
    });
  }, 20_000);
});
