import { afterEach, beforeEach, describe, it, expect, vi, type MockInstance } from "vitest";
import { CircuitBreaker } from "../circuit-breaker";
import { TimeoutError } from "../timeout";
import { GuardedStore, StoreTimeoutError } from "./guarded";
import type { CacheEntry, Claim, SharedStore } from "./store";

const ENTRY: CacheEntry = { value: "v", createdAt: 1, freshUntil: 2, staleUntil: 3 };

type Behaviour = "ok" | "throw" | "hang";

/** A hand-written SharedStore whose every method can be switched between answering, failing and hanging. */
class FakeStore implements SharedStore {
  readonly kind = "upstash" as const;
  behaviour: Behaviour = "ok";
  claimAnswer: Claim = { leased: false };
  readonly calls: string[] = [];
  readonly failure = new Error("connection reset");

  private act<T>(call: string, value: T): Promise<T> {
    this.calls.push(call);
    if (this.behaviour === "throw") return Promise.reject(this.failure);
    if (this.behaviour === "hang") return new Promise<T>(() => {});
    return Promise.resolve(value);
  }

  get(key: string): Promise<CacheEntry | null> {
    return this.act(`get ${key}`, key === "present" ? ENTRY : null);
  }

  set(key: string, entry: CacheEntry): Promise<void> {
    return this.act(`set ${key} ${entry.value}`, undefined);
  }

  claim(key: string, leaseKey: string, token: string, ttlMs: number, now: number): Promise<Claim> {
    return this.act(`claim ${key} ${leaseKey} ${token} ${ttlMs} ${now}`, this.claimAnswer);
  }

  releaseLease(key: string, token: string): Promise<void> {
    return this.act(`release ${key} ${token}`, undefined);
  }

  delete(key: string): Promise<number> {
    return this.act(`delete ${key}`, 1);
  }

  deleteMatching(pattern: string): Promise<number> {
    return this.act(`deleteMatching ${pattern}`, 2);
  }

  ping(): Promise<void> {
    return this.act("ping", undefined);
  }
}

type LogLine = {
  time: string;
  level: string;
  event: string;
  store: string;
  op: string;
  key: string;
  outcome: string;
  ms: number;
  error: string;
  breaker: string;
};

function logLines(spy: MockInstance<typeof console.warn>): LogLine[] {
  return spy.mock.calls.map(([line]) => JSON.parse(String(line)) as LogLine);
}

function setup({ timeoutMs = 100, failureThreshold = 5, coolDownMs = 1000 } = {}) {
  let time = 0;
  const fake = new FakeStore();
  const breaker = new CircuitBreaker({ failureThreshold, coolDownMs, now: () => time });
  const store = new GuardedStore(fake, { timeoutMs, breaker });
  return {
    fake,
    breaker,
    store,
    advanceClock(ms: number) {
      time += ms;
    },
  };
}

let warn: MockInstance<typeof console.warn>;

beforeEach(() => {
  warn = vi.spyOn(console, "warn").mockImplementation(() => {});
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("GuardedStore passing calls through", () => {
  it("reports the wrapped store's kind and the breaker's state", () => {
    const { store } = setup();
    expect(store.kind).toBe("upstash");
    expect(store.breakerState).toBe("closed");
  });

  it("returns what the store answers", async () => {
    const { store, fake } = setup();
    await expect(store.get("present")).resolves.toEqual(ENTRY);
    await expect(store.get("absent")).resolves.toBeNull();
    await expect(store.set("k", ENTRY)).resolves.toBeUndefined();
    fake.claimAnswer = { leased: false };
    await expect(store.claim("k", "lease-key", "token-1", 5000, 42)).resolves.toEqual({ leased: false });
    fake.claimAnswer = { leased: true };
    await expect(store.claim("k", "lease-key", "token-2", 5000, 43)).resolves.toEqual({ leased: true });
    fake.claimAnswer = { entry: ENTRY, leased: false };
    await expect(store.claim("k", "lease-key", "token-3", 5000, 44)).resolves.toEqual({ entry: ENTRY, leased: false });
    await expect(store.releaseLease("lease-key", "token-2")).resolves.toBeUndefined();
    expect(fake.calls).toEqual([
      "get present",
      "get absent",
      "set k v",
      "claim k lease-key token-1 5000 42",
      "claim k lease-key token-2 5000 43",
      "claim k lease-key token-3 5000 44",
      "release lease-key token-2",
    ]);
    expect(store.stats).toEqual({ errors: 0, skipped: 0 });
    expect(warn).not.toHaveBeenCalled();
  });

  it("does not replace a lease the store refused with the fallback", async () => {
    const { store, fake } = setup();
    fake.claimAnswer = { leased: false };
    for (let i = 0; i < 10; i++) await expect(store.claim("k", "l", "t", 1, 0)).resolves.toEqual({ leased: false });
  });
});

describe("GuardedStore on a failing store", () => {
  it.each([
    ["get", (store: GuardedStore) => store.get("k"), undefined],
    ["set", (store: GuardedStore) => store.set("k", ENTRY), undefined],
    ["claim", (store: GuardedStore) => store.claim("k", "lease:k", "t", 100, 0), undefined],
    ["release", (store: GuardedStore) => store.releaseLease("k", "t"), undefined],
  ] as const)("answers %s with its fallback when the store rejects", async (op, call, fallback) => {
    const { store, fake } = setup();
    fake.behaviour = "throw";
    await expect(call(store)).resolves.toEqual(fallback);
    expect(store.stats).toEqual({ errors: 1, skipped: 0 });
    const lines = logLines(warn);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "warn",
      event: "store_error",
      store: "upstash",
      op,
      key: "k",
      outcome: "error",
      error: "Error: connection reset",
      breaker: "closed",
    });
    expect(typeof lines[0]?.ms).toBe("number");
    expect(Number.isNaN(Date.parse(lines[0]?.time ?? ""))).toBe(false);
  });

  it("answers with the fallback when the store throws synchronously", async () => {
    const { store, fake } = setup();
    vi.spyOn(fake, "get").mockImplementation(() => {
      throw new TypeError("client not ready");
    });
    await expect(store.get("k")).resolves.toBeUndefined();
    expect(store.stats.errors).toBe(1);
    expect(logLines(warn)[0]).toMatchObject({ event: "store_error", outcome: "error", error: "TypeError: client not ready" });
  });

  it("describes a non-Error rejection in the log", async () => {
    const { store, fake } = setup();
    vi.spyOn(fake, "set").mockImplementation(() => Promise.reject("WRONGTYPE"));
    await expect(store.set("k", ENTRY)).resolves.toBeUndefined();
    expect(logLines(warn)[0]).toMatchObject({ event: "store_error", op: "set", error: "WRONGTYPE" });
  });

  it("counts every failure in stats.errors, one log line each", async () => {
    const { store, fake } = setup({ failureThreshold: 100 });
    fake.behaviour = "throw";
    await store.get("a");
    await store.set("b", ENTRY);
    await store.claim("c", "lease:c", "t", 1, 0);
    await store.releaseLease("d", "t");
    expect(store.stats).toEqual({ errors: 4, skipped: 0 });
    const lines = logLines(warn);
    expect(lines.map((line) => [line.event, line.op, line.key])).toEqual([
      ["store_error", "get", "a"],
      ["store_error", "set", "b"],
      ["store_error", "claim", "c"],
      ["store_error", "release", "d"],
    ]);
  });

  it("answers with the store's value again once the store recovers", async () => {
    const { store, fake } = setup();
    fake.behaviour = "throw";
    await expect(store.get("present")).resolves.toBeUndefined();
    fake.behaviour = "ok";
    await expect(store.get("present")).resolves.toEqual(ENTRY);
    expect(store.stats.errors).toBe(1);
  });
});

describe("GuardedStore time budget", () => {
  it.each([
    ["get", (store: GuardedStore) => store.get("k"), undefined],
    ["set", (store: GuardedStore) => store.set("k", ENTRY), undefined],
    ["claim", (store: GuardedStore) => store.claim("k", "lease:k", "t", 100, 0), undefined],
    ["release", (store: GuardedStore) => store.releaseLease("k", "t"), undefined],
  ] as const)("answers a hanging %s with its fallback exactly at timeoutMs", async (op, call, fallback) => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { store, fake } = setup({ timeoutMs: 300 });
    fake.behaviour = "hang";
    let settled = false;
    const pending = call(store).then((value) => {
      settled = true;
      return value;
    });
    await vi.advanceTimersByTimeAsync(299);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(pending).resolves.toEqual(fallback);
    expect(vi.getTimerCount()).toBe(0);
    expect(store.stats).toEqual({ errors: 1, skipped: 0 });
    const lines = logLines(warn);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: "store_error",
      op,
      outcome: "timeout",
      error: `StoreTimeoutError: store ${op} took over 300 ms`,
    });
  });

  it("answers a hanging get within roughly the budget in real time", async () => {
    const { store, fake } = setup({ timeoutMs: 25 });
    fake.behaviour = "hang";
    const started = performance.now();
    await expect(store.get("k")).resolves.toBeUndefined();
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(23);
    expect(elapsed).toBeLessThan(25 + 250);
    const [line] = logLines(warn);
    expect(line?.outcome).toBe("timeout");
    expect(line?.ms).toBeGreaterThanOrEqual(23);
  });

  it("returns a slow answer that arrives inside the budget", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { store, fake } = setup({ timeoutMs: 300 });
    vi.spyOn(fake, "get").mockImplementation(
      () => new Promise((resolve) => setTimeout(() => resolve(ENTRY), 299)),
    );
    const pending = store.get("k");
    await vi.advanceTimersByTimeAsync(299);
    await expect(pending).resolves.toEqual(ENTRY);
    expect(store.stats.errors).toBe(0);
    expect(warn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("GuardedStore circuit breaker", () => {
  async function failFiveTimes(store: GuardedStore): Promise<void> {
    for (let i = 0; i < 5; i++) await store.get(`k${i}`);
  }

  it("stops calling the store after 5 consecutive failures", async () => {
    const { store, fake } = setup({ coolDownMs: 1000 });
    fake.behaviour = "throw";
    await failFiveTimes(store);
    expect(store.breakerState).toBe("open");
    expect(fake.calls).toHaveLength(5);
    expect(logLines(warn).map((line) => line.breaker)).toEqual(["closed", "closed", "closed", "closed", "open"]);

    fake.behaviour = "ok";
    await expect(store.get("present")).resolves.toBeUndefined();
    await expect(store.set("k", ENTRY)).resolves.toBeUndefined();
    await expect(store.claim("k", "lease:k", "t", 1, 0)).resolves.toEqual({ leased: true });
    await expect(store.releaseLease("k", "t")).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(5);
    expect(store.stats).toEqual({ errors: 5, skipped: 4 });
    // Skipped calls are not failures: nothing more is logged.
    expect(warn).toHaveBeenCalledTimes(5);
  });

  it("does not open on 4 failures followed by a success", async () => {
    const { store, fake } = setup();
    fake.behaviour = "throw";
    for (let i = 0; i < 4; i++) await store.get("k");
    fake.behaviour = "ok";
    await store.get("k");
    fake.behaviour = "throw";
    for (let i = 0; i < 4; i++) await store.get("k");
    expect(store.breakerState).toBe("closed");
    expect(store.stats).toEqual({ errors: 8, skipped: 0 });
  });

  it("counts timeouts towards opening the circuit", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { store, fake } = setup({ timeoutMs: 50 });
    fake.behaviour = "hang";
    for (let i = 0; i < 5; i++) {
      const pending = store.get("k");
      await vi.advanceTimersByTimeAsync(50);
      await pending;
    }
    expect(store.breakerState).toBe("open");
    const pending = store.get("k");
    await expect(pending).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(5);
    expect(store.stats).toEqual({ errors: 5, skipped: 1 });
  });

  it("keeps skipping until the cool-down passes, then lets one probe through, whose success closes the circuit", async () => {
    const { store, fake, advanceClock } = setup({ coolDownMs: 1000 });
    fake.behaviour = "throw";
    await failFiveTimes(store);
    fake.behaviour = "ok";
    advanceClock(999);
    await expect(store.get("present")).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(5);
    expect(store.stats.skipped).toBe(1);

    advanceClock(1);
    await expect(store.get("present")).resolves.toEqual(ENTRY);
    expect(fake.calls).toHaveLength(6);
    expect(store.breakerState).toBe("closed");
    await expect(store.get("present")).resolves.toEqual(ENTRY);
    expect(fake.calls).toHaveLength(7);
    expect(store.stats).toEqual({ errors: 5, skipped: 1 });
  });

  it("skips other calls while the half-open probe is in flight", async () => {
    const { store, fake, advanceClock } = setup({ coolDownMs: 1000 });
    fake.behaviour = "throw";
    await failFiveTimes(store);
    advanceClock(1000);
    let finishProbe!: (entry: CacheEntry) => void;
    vi.spyOn(fake, "get").mockImplementationOnce(
      () => new Promise<CacheEntry | null>((resolve) => (finishProbe = resolve)),
    );
    const probe = store.get("probe");
    expect(store.breakerState).toBe("half-open");
    await expect(store.get("other")).resolves.toBeUndefined();
    await expect(store.claim("other", "lease:other", "t", 1, 0)).resolves.toEqual({ leased: true });
    expect(store.stats.skipped).toBe(2);
    finishProbe(ENTRY);
    await expect(probe).resolves.toEqual(ENTRY);
    expect(store.breakerState).toBe("closed");
  });

  it("re-opens for another cool-down when the probe fails", async () => {
    const { store, fake, advanceClock } = setup({ coolDownMs: 1000 });
    fake.behaviour = "throw";
    await failFiveTimes(store);
    advanceClock(1000);
    await expect(store.get("probe")).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(6);
    expect(store.breakerState).toBe("open");
    expect(logLines(warn)[5]).toMatchObject({ key: "probe", breaker: "open" });

    fake.behaviour = "ok";
    advanceClock(999);
    await expect(store.get("present")).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(6);
    advanceClock(1);
    await expect(store.get("present")).resolves.toEqual(ENTRY);
    expect(store.breakerState).toBe("closed");
    expect(store.stats).toEqual({ errors: 6, skipped: 1 });
  });
});

describe("GuardedStore.ping", () => {
  it("resolves when the store answers", async () => {
    const { store, fake } = setup();
    await expect(store.ping()).resolves.toBeUndefined();
    expect(fake.calls).toEqual(["ping"]);
  });

  it("throws the store's error instead of hiding it, without counting or logging it", async () => {
    const { store, fake } = setup();
    fake.behaviour = "throw";
    await expect(store.ping()).rejects.toBe(fake.failure);
    expect(store.stats).toEqual({ errors: 0, skipped: 0 });
    expect(warn).not.toHaveBeenCalled();
    expect(store.breakerState).toBe("closed");
  });

  it("throws a StoreTimeoutError when the store takes longer than timeoutMs", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { store, fake } = setup({ timeoutMs: 200 });
    fake.behaviour = "hang";
    let settled = false;
    const pending = store.ping().finally(() => (settled = true));
    const expectation = expect(pending).rejects.toBeInstanceOf(StoreTimeoutError);
    await vi.advanceTimersByTimeAsync(199);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expectation;
    await expect(pending).rejects.toBeInstanceOf(TimeoutError);
    await expect(pending).rejects.toThrow("store ping timed out");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("reaches the store even while the circuit is open, and does not close it", async () => {
    const { store, fake } = setup();
    fake.behaviour = "throw";
    for (let i = 0; i < 5; i++) await store.get("k");
    expect(store.breakerState).toBe("open");
    fake.behaviour = "ok";
    await expect(store.ping()).resolves.toBeUndefined();
    expect(fake.calls.at(-1)).toBe("ping");
    expect(store.breakerState).toBe("open");
  });
});

describe("StoreTimeoutError", () => {
  it("is a TimeoutError named StoreTimeoutError", () => {
    const error = new StoreTimeoutError("x");
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.name).toBe("StoreTimeoutError");
  });
});
