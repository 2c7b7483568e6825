import { afterEach, beforeEach, describe, it, expect, vi } from "vitest";
import { sleep, TimeoutError, withTimeout } from "./timeout";

class CustomTimeout extends TimeoutError {
  override name = "CustomTimeout";
}

type Deferred<T> = { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void };

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets Node run its unhandled-rejection check (it runs after the microtask queue drains). */
async function letNodeReportUnhandledRejections(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe("withTimeout with fake timers", () => {
  beforeEach(() => {
    // Only the timers withTimeout uses: setImmediate stays real so Node's rejection tracking can run.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves with the inner promise's value and leaves no timer behind", async () => {
    const inner = deferred<string>();
    const onTimeout = vi.fn(() => new TimeoutError("late"));
    const result = withTimeout(inner.promise, 1000, onTimeout);
    expect(vi.getTimerCount()).toBe(1);
    inner.resolve("value");
    await expect(result).resolves.toBe("value");
    expect(vi.getTimerCount()).toBe(0);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it("resolves with an already-resolved inner promise", async () => {
    await expect(withTimeout(Promise.resolve(42), 1000, () => new TimeoutError("late"))).resolves.toBe(42);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("resolves just before the deadline", async () => {
    const inner = deferred<string>();
    const result = withTimeout(inner.promise, 1000, () => new TimeoutError("late"));
    await vi.advanceTimersByTimeAsync(999);
    inner.resolve("just in time");
    await expect(result).resolves.toBe("just in time");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with the inner promise's error and leaves no timer behind", async () => {
    const inner = deferred<string>();
    const onTimeout = vi.fn(() => new TimeoutError("late"));
    const result = withTimeout(inner.promise, 1000, onTimeout);
    const failure = new Error("inner failed");
    inner.reject(failure);
    await expect(result).rejects.toBe(failure);
    expect(vi.getTimerCount()).toBe(0);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it("rejects with a non-Error rejection value unchanged", async () => {
    await expect(withTimeout(Promise.reject("plain string"), 1000, () => new TimeoutError("late"))).rejects.toBe(
      "plain string",
    );
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with the error from onTimeout once the time is up, not before", async () => {
    const inner = deferred<string>();
    const timeoutError = new CustomTimeout("took too long");
    const onTimeout = vi.fn(() => timeoutError);
    let settled = false;
    const result = withTimeout(inner.promise, 1000, onTimeout);
    result.then(
      () => (settled = true),
      () => (settled = true),
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(settled).toBe(false);
    expect(onTimeout).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).rejects.toBe(timeoutError);
    expect(onTimeout).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("times out with a budget of 0 ms when the inner promise never settles", async () => {
    const never = new Promise<string>(() => {});
    const result = withTimeout(never, 0, () => new TimeoutError("zero budget"));
    const expectation = expect(result).rejects.toThrow("zero budget");
    await vi.advanceTimersByTimeAsync(0);
    await expectation;
    expect(vi.getTimerCount()).toBe(0);
  });

  it("ignores an inner value that arrives after the timeout", async () => {
    const inner = deferred<string>();
    const result = withTimeout(inner.promise, 50, () => new TimeoutError("late"));
    const expectation = expect(result).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(50);
    await expectation;
    inner.resolve("too late");
    await expect(result).rejects.toBeInstanceOf(TimeoutError);
  });

  it("does not turn an inner rejection after the timeout into an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      const inner = deferred<string>();
      const result = withTimeout(inner.promise, 50, () => new TimeoutError("late"));
      const expectation = expect(result).rejects.toBeInstanceOf(TimeoutError);
      await vi.advanceTimersByTimeAsync(50);
      await expectation;
      inner.reject(new Error("inner failed after the timeout"));
      await letNodeReportUnhandledRejections();
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("does not leave an unhandled rejection when the inner promise wins", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      await expect(withTimeout(Promise.resolve("ok"), 50, () => new TimeoutError("late"))).resolves.toBe("ok");
      await vi.advanceTimersByTimeAsync(100);
      await letNodeReportUnhandledRejections();
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("runs many races without accumulating timers", async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => withTimeout(Promise.resolve(i), 10_000, () => new TimeoutError("late"))),
    );
    expect(results).toHaveLength(100);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("withTimeout with real timers", () => {
  it("rejects a never-settling promise after a few milliseconds", async () => {
    const started = performance.now();
    await expect(withTimeout(new Promise<never>(() => {}), 5, () => new TimeoutError("5 ms"))).rejects.toThrow("5 ms");
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(4);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe("TimeoutError", () => {
  it("is an Error named TimeoutError that subclasses can rename", () => {
    const error = new TimeoutError("x");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("TimeoutError");
    const custom = new CustomTimeout("y");
    expect(custom).toBeInstanceOf(TimeoutError);
    expect(custom.name).toBe("CustomTimeout");
  });
});

describe("sleep", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves after the given time and not before", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let done = false;
    const slept = sleep(100).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
