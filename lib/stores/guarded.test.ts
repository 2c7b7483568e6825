import { afterEach, beforeEach, describe, it, expect, vi, type MockInstance } from "vitest";
import { CircuitBreaker } from "../circuit-breaker";
import { TimeoutError } from "../timeout";
import { GuardedStore, StoreTimeoutError } from "./guarded";
import type {
  BusSubscription,
  Claim,
  GateAnswer,
  GateKeys,
  ItemKeys,
  Lifetimes,
  SharedStore,
  StoredEntry,
  StoredFailure,
} from "./store";

const LIFETIMES: Lifetimes = { freshMs: 1000, graceMs: 2000, failSafeMs: 0 };
const ENTRY = { value: "v", version: "t", ageMs: 1, freshForMs: 2, staleForMs: 3, safeForMs: 3 } satisfies StoredEntry;
const FAILURE: StoredFailure & { keepMs: number } = {
  error: "UpstreamError: down",
  attempts: 1,
  retryInMs: 1000,
  keepMs: 31_000,
};

/** The keys of item `name`, as the cache names them. */
function keys(name: string): ItemKeys {
  return { entry: `find:{${name}}`, lease: `lease:{${name}}`, failure: `fail:{${name}}`, bus: "bus" };
}

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

  read(keys: ItemKeys): Promise<StoredEntry | null> {
    return this.act(`read ${keys.entry}`, keys.entry === "find:{present}" ? ENTRY : null);
  }

  claim(keys: ItemKeys, token: string, leaseMs: number): Promise<Claim> {
    return this.act(`claim ${keys.entry} ${keys.lease} ${token} ${leaseMs}`, this.claimAnswer);
  }

  fill(keys: ItemKeys, token: string, value: string, { freshMs, graceMs }: Lifetimes): Promise<boolean> {
    return this.act(`fill ${keys.entry} ${token} ${value} ${freshMs} ${graceMs}`, true);
  }

  soften(keys: ItemKeys): Promise<number> {
    return this.act(`soften ${keys.entry}`, 1);
  }

  renew(keys: ItemKeys, token: string, version: string, { freshMs }: Lifetimes): Promise<boolean> {
    return this.act(`renew ${keys.entry} ${token} ${version} ${freshMs}`, true);
  }

  fail(keys: ItemKeys, token: string, failure: StoredFailure & { keepMs: number }): Promise<boolean> {
    return this.act(`fail ${keys.entry} ${token} ${failure.attempts} ${failure.retryInMs}`, true);
  }

  index(sets: readonly string[], member: string): Promise<void> {
    return this.act(`index ${sets.join(" ")} ${member}`, undefined);
  }

  members(set: string): Promise<string[]> {
    return this.act(`members ${set}`, ["a"]);
  }

  gate(keys: GateKeys, windowMs: number): Promise<GateAnswer> {
    return this.act(`gate ${keys.hold} ${keys.slots.length} ${windowMs}`, { open: true });
  }

  hold(keys: GateKeys, ms: number): Promise<void> {
    return this.act(`hold ${keys.hold} ${ms}`, undefined);
  }

  release(keys: ItemKeys, token: string): Promise<void> {
    return this.act(`release ${keys.lease} ${token}`, undefined);
  }

  delete(keys: ItemKeys): Promise<number> {
    return this.act(`delete ${keys.entry}`, 1);
  }

  deleteMatching(pattern: string): Promise<number> {
    return this.act(`deleteMatching ${pattern}`, 2);
  }

  publish(): Promise<void> {
    return this.act("publish", undefined);
  }

  subscribe(): BusSubscription {
    return { close: () => undefined };
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
    await expect(store.read(keys("present"))).resolves.toEqual(ENTRY);
    await expect(store.read(keys("absent"))).resolves.toBeNull();
    await expect(store.fill(keys("k"), "t", "v", LIFETIMES)).resolves.toBe(true);
    fake.claimAnswer = { leased: false };
    await expect(store.claim(keys("k"), "token-1", 5000)).resolves.toEqual({ leased: false });
    fake.claimAnswer = { leased: true };
    await expect(store.claim(keys("k"), "token-2", 5000)).resolves.toEqual({ leased: true });
    fake.claimAnswer = { entry: ENTRY, leased: false };
    await expect(store.claim(keys("k"), "token-3", 5000)).resolves.toEqual({ entry: ENTRY, leased: false });
    await expect(store.fail(keys("k"), "token-2", FAILURE)).resolves.toBe(true);
    expect(fake.calls).toEqual([
      "read find:{present}",
      "read find:{absent}",
      "fill find:{k} t v 1000 2000",
      "claim find:{k} lease:{k} token-1 5000",
      "claim find:{k} lease:{k} token-2 5000",
      "claim find:{k} lease:{k} token-3 5000",
      "fail find:{k} token-2 1 1000",
    ]);
    expect(store.stats).toEqual({ errors: 0, skipped: 0 });
    expect(warn).not.toHaveBeenCalled();
  });

  it("does not replace a lease the store refused with the fallback", async () => {
    const { store, fake } = setup();
    fake.claimAnswer = { leased: false };
    for (let i = 0; i < 10; i++) await expect(store.claim(keys("k"), "t", 1)).resolves.toEqual({ leased: false });
  });
});

describe("GuardedStore on a failing store", () => {
  it.each([
    ["read", (store: GuardedStore) => store.read(keys("k")), undefined],
    ["fill", (store: GuardedStore) => store.fill(keys("k"), "t", "v", LIFETIMES), undefined],
    ["claim", (store: GuardedStore) => store.claim(keys("k"), "t", 100), undefined],
    ["fail", (store: GuardedStore) => store.fail(keys("k"), "t", FAILURE), undefined],
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
      key: "find:{k}",
      outcome: "error",
      error: "Error: connection reset",
      breaker: "closed",
    });
    expect(typeof lines[0]?.ms).toBe("number");
    expect(Number.isNaN(Date.parse(lines[0]?.time ?? ""))).toBe(false);
  });

  it("answers with the fallback when the store throws synchronously", async () => {
    const { store, fake } = setup();
    vi.spyOn(fake, "read").mockImplementation(() => {
      throw new TypeError("client not ready");
    });
    await expect(store.read(keys("k"))).resolves.toBeUndefined();
    expect(store.stats.errors).toBe(1);
    expect(logLines(warn)[0]).toMatchObject({
      event: "store_error",
      outcome: "error",
      error: "TypeError: client not ready",
    });
  });

  it("describes a non-Error rejection in the log", async () => {
    const { store, fake } = setup();
    vi.spyOn(fake, "fill").mockImplementation(() => Promise.reject("WRONGTYPE"));
    await expect(store.fill(keys("k"), "t", "v", LIFETIMES)).resolves.toBeUndefined();
    expect(logLines(warn)[0]).toMatchObject({ event: "store_error", op: "fill", error: "WRONGTYPE" });
  });

  it("counts every failure in stats.errors, one log line each", async () => {
    const { store, fake } = setup({ failureThreshold: 100 });
    fake.behaviour = "throw";
    await store.read(keys("a"));
    await store.fill(keys("b"), "t", "v", LIFETIMES);
    await store.claim(keys("c"), "t", 1);
    await store.fail(keys("d"), "t", FAILURE);
    expect(store.stats).toEqual({ errors: 4, skipped: 0 });
    const lines = logLines(warn);
    expect(lines.map((line) => [line.event, line.op, line.key])).toEqual([
      ["store_error", "read", "find:{a}"],
      ["store_error", "fill", "find:{b}"],
      ["store_error", "claim", "find:{c}"],
      ["store_error", "fail", "find:{d}"],
    ]);
  });

  it("answers with the store's value again once the store recovers", async () => {
    const { store, fake } = setup();
    fake.behaviour = "throw";
    await expect(store.read(keys("present"))).resolves.toBeUndefined();
    fake.behaviour = "ok";
    await expect(store.read(keys("present"))).resolves.toEqual(ENTRY);
    expect(store.stats.errors).toBe(1);
  });
});

describe("GuardedStore time budget", () => {
  it.each([
    ["read", (store: GuardedStore) => store.read(keys("k")), undefined],
    ["fill", (store: GuardedStore) => store.fill(keys("k"), "t", "v", LIFETIMES), undefined],
    ["claim", (store: GuardedStore) => store.claim(keys("k"), "t", 100), undefined],
    ["fail", (store: GuardedStore) => store.fail(keys("k"), "t", FAILURE), undefined],
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
    await expect(store.read(keys("k"))).resolves.toBeUndefined();
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
    vi.spyOn(fake, "read").mockImplementation(() => new Promise((resolve) => setTimeout(() => resolve(ENTRY), 299)));
    const pending = store.read(keys("k"));
    await vi.advanceTimersByTimeAsync(299);
    await expect(pending).resolves.toEqual(ENTRY);
    expect(store.stats.errors).toBe(0);
    expect(warn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("GuardedStore circuit breaker", () => {
  it("stops calling the store after 5 consecutive failures", async () => {
    const { store, fake } = setup({ coolDownMs: 1000 });
    fake.behaviour = "throw";
    await failFive(store);
    expect(store.breakerState).toBe("open");
    expect(fake.calls).toHaveLength(5);
    expect(logLines(warn).map((line) => line.breaker)).toEqual(["closed", "closed", "closed", "closed", "open"]);

    fake.behaviour = "ok";
    await expect(store.read(keys("present"))).resolves.toBeUndefined();
    await expect(store.fill(keys("k"), "t", "v", LIFETIMES)).resolves.toBeUndefined();
    await expect(store.claim(keys("k"), "t", 1)).resolves.toEqual({ leased: true });
    await expect(store.fail(keys("k"), "t", FAILURE)).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(5);
    expect(store.stats).toEqual({ errors: 5, skipped: 4 });
    // Skipped calls are not failures: nothing more is logged.
    expect(warn).toHaveBeenCalledTimes(5);
  });

  it("does not open on 4 failures followed by a success", async () => {
    const { store, fake } = setup();
    fake.behaviour = "throw";
    for (let i = 0; i < 4; i++) await store.read(keys("k"));
    fake.behaviour = "ok";
    await store.read(keys("k"));
    fake.behaviour = "throw";
    for (let i = 0; i < 4; i++) await store.read(keys("k"));
    expect(store.breakerState).toBe("closed");
    expect(store.stats).toEqual({ errors: 8, skipped: 0 });
  });

  it("counts timeouts towards opening the circuit", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { store, fake } = setup({ timeoutMs: 50 });
    fake.behaviour = "hang";
    for (let i = 0; i < 5; i++) {
      const pending = store.read(keys("k"));
      await vi.advanceTimersByTimeAsync(50);
      await pending;
    }
    expect(store.breakerState).toBe("open");
    const pending = store.read(keys("k"));
    await expect(pending).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(5);
    expect(store.stats).toEqual({ errors: 5, skipped: 1 });
  });

  it("keeps skipping until the cool-down passes, then lets one probe through, whose success closes the circuit", async () => {
    const { store, fake, advanceClock } = setup({ coolDownMs: 1000 });
    fake.behaviour = "throw";
    await failFive(store);
    fake.behaviour = "ok";
    advanceClock(999);
    await expect(store.read(keys("present"))).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(5);
    expect(store.stats.skipped).toBe(1);

    advanceClock(1);
    await expect(store.read(keys("present"))).resolves.toEqual(ENTRY);
    expect(fake.calls).toHaveLength(6);
    expect(store.breakerState).toBe("closed");
    await expect(store.read(keys("present"))).resolves.toEqual(ENTRY);
    expect(fake.calls).toHaveLength(7);
    expect(store.stats).toEqual({ errors: 5, skipped: 1 });
  });

  it("skips other calls while the half-open probe is in flight", async () => {
    const { store, fake, advanceClock } = setup({ coolDownMs: 1000 });
    fake.behaviour = "throw";
    await failFive(store);
    advanceClock(1000);
    let finishProbe!: (entry: StoredEntry) => void;
    vi.spyOn(fake, "read").mockImplementationOnce(
      () => new Promise<StoredEntry | null>((resolve) => (finishProbe = resolve)),
    );
    const probe = store.read(keys("probe"));
    expect(store.breakerState).toBe("half-open");
    // Later calls are not part of the probe's round trip.
    await new Promise((resolve) => setImmediate(resolve));
    await expect(store.read(keys("other"))).resolves.toBeUndefined();
    await expect(store.claim(keys("other"), "t", 1)).resolves.toEqual({ leased: true });
    expect(store.stats.skipped).toBe(2);
    finishProbe(ENTRY);
    await expect(probe).resolves.toEqual(ENTRY);
    expect(store.breakerState).toBe("closed");
  });

  it("re-opens for another cool-down when the probe fails", async () => {
    const { store, fake, advanceClock } = setup({ coolDownMs: 1000 });
    fake.behaviour = "throw";
    await failFive(store);
    advanceClock(1000);
    await expect(store.read(keys("probe"))).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(6);
    expect(store.breakerState).toBe("open");
    expect(logLines(warn)[5]).toMatchObject({ key: "find:{probe}", breaker: "open" });

    fake.behaviour = "ok";
    advanceClock(999);
    await expect(store.read(keys("present"))).resolves.toBeUndefined();
    expect(fake.calls).toHaveLength(6);
    advanceClock(1);
    await expect(store.read(keys("present"))).resolves.toEqual(ENTRY);
    expect(store.breakerState).toBe("closed");
    expect(store.stats).toEqual({ errors: 6, skipped: 1 });
  });
});

describe("GuardedStore round trips", () => {
  it("counts the calls begun together, as the client sends them in one request, as one failure", async () => {
    const { store, fake } = setup({ failureThreshold: 2 });
    fake.behaviour = "throw";
    await Promise.all([store.claim(keys("a"), "t", 1), store.claim(keys("b"), "t", 1), store.read(keys("c"))]);
    expect(store.breakerState).toBe("closed");
    expect(store.stats.errors).toBe(3);
    await store.read(keys("d"));
    expect(store.breakerState).toBe("open");
  });

  it("lets the calls begun with the probe go with it, in its one round trip", async () => {
    const { store, fake, advanceClock } = setup({ coolDownMs: 1000 });
    fake.behaviour = "throw";
    await failFive(store);
    advanceClock(1000);
    fake.behaviour = "ok";
    const answers = await Promise.all([store.read(keys("present")), store.claim(keys("k"), "t", 1)]);
    expect(answers).toEqual([ENTRY, { leased: false }]);
    expect(store.breakerState).toBe("closed");
  });

  it("does not let a late failure from before the circuit opened reopen it while the probe is out", async () => {
    const { store, fake, advanceClock } = setup({ coolDownMs: 1000, timeoutMs: 10_000 });
    let failEarly!: (error: Error) => void;
    vi.spyOn(fake, "read").mockImplementationOnce(() => new Promise((_, reject) => (failEarly = reject)));
    const early = store.read(keys("early"));
    await new Promise((resolve) => setImmediate(resolve));
    fake.behaviour = "throw";
    await failFive(store);
    advanceClock(1000);
    fake.behaviour = "hang";
    void store.read(keys("probe"));
    expect(store.breakerState).toBe("half-open");
    failEarly(new Error("late"));
    await early;
    expect(store.breakerState).toBe("half-open");
    await new Promise((resolve) => setImmediate(resolve));
    // The probe is still the only call allowed.
    await expect(store.read(keys("other"))).resolves.toBeUndefined();
    expect(store.stats.skipped).toBe(1);
  });
});

/** Five failed round trips, one after another. */
async function failFive(store: GuardedStore): Promise<void> {
  for (let i = 0; i < 5; i++) await store.read(keys(`k${i}`));
}

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
    for (let i = 0; i < 5; i++) await store.read(keys("k"));
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
