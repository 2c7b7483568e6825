import { describe, it, expect } from "vitest";
import { CircuitBreaker } from "./circuit-breaker";

/** A breaker on a hand-driven clock. */
function breakerAt(options: { failureThreshold: number; coolDownMs: number }) {
  let time = 1_000_000;
  const breaker = new CircuitBreaker({ ...options, now: () => time });
  return {
    breaker,
    advance(ms: number) {
      time += ms;
    },
  };
}

function fail(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) {
    expect(breaker.allow()).toBe(true);
    breaker.failure();
  }
}

describe("CircuitBreaker closed state", () => {
  it("starts closed and allows calls", () => {
    const { breaker } = breakerAt({ failureThreshold: 3, coolDownMs: 1000 });
    expect(breaker.state).toBe("closed");
    for (let i = 0; i < 10; i++) expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe("closed");
  });

  it("stays closed below the failure threshold", () => {
    const { breaker } = breakerAt({ failureThreshold: 5, coolDownMs: 1000 });
    fail(breaker, 4);
    expect(breaker.state).toBe("closed");
    expect(breaker.allow()).toBe(true);
  });

  it("opens after exactly failureThreshold consecutive failures", () => {
    const { breaker } = breakerAt({ failureThreshold: 5, coolDownMs: 1000 });
    fail(breaker, 5);
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
  });

  it("opens on the first failure with a threshold of 1", () => {
    const { breaker } = breakerAt({ failureThreshold: 1, coolDownMs: 1000 });
    fail(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  it("resets the failure count on a success, so only consecutive failures count", () => {
    const { breaker } = breakerAt({ failureThreshold: 3, coolDownMs: 1000 });
    fail(breaker, 2);
    breaker.success();
    fail(breaker, 2);
    breaker.success();
    fail(breaker, 2);
    expect(breaker.state).toBe("closed");
    fail(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  it("does not open from failures spread over time if each run is shorter than the threshold", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    for (let i = 0; i < 5; i++) {
      fail(breaker, 1);
      advance(10_000);
      breaker.success();
    }
    expect(breaker.state).toBe("closed");
  });
});

describe("CircuitBreaker open state", () => {
  it("skips every call until the cool-down has passed", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    fail(breaker, 2);
    for (let i = 0; i < 5; i++) {
      expect(breaker.allow()).toBe(false);
      advance(199);
    }
    // 995 ms after opening
    expect(breaker.allow()).toBe(false);
    advance(4);
    expect(breaker.allow()).toBe(false); // 999 ms
    expect(breaker.state).toBe("open");
  });

  it("lets exactly one probe through once the cool-down has passed, in half-open state", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    fail(breaker, 2);
    advance(1000);
    expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBe(false);
    expect(breaker.allow()).toBe(false);
    advance(60_000);
    expect(breaker.allow()).toBe(false);
    expect(breaker.state).toBe("half-open");
  });

  it("lets the probe through long after the cool-down too", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 1, coolDownMs: 1000 });
    fail(breaker, 1);
    advance(3_600_000);
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(false);
  });

  it("closes when the probe succeeds, and allows calls again", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    fail(breaker, 2);
    advance(1000);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe("closed");
    for (let i = 0; i < 3; i++) expect(breaker.allow()).toBe(true);
  });

  it("needs a full threshold of new failures to open again after the probe closed it", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 3, coolDownMs: 1000 });
    fail(breaker, 3);
    advance(1000);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    fail(breaker, 2);
    expect(breaker.state).toBe("closed");
    fail(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  it("re-opens for a whole new cool-down when the probe fails", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 3, coolDownMs: 1000 });
    fail(breaker, 3);
    advance(1500);
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe("open");
    // The new cool-down counts from the probe's failure, not from the first opening.
    advance(999);
    expect(breaker.allow()).toBe(false);
    advance(1);
    expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBe(false);
  });

  it("re-opens on a single probe failure even with a high threshold", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 100, coolDownMs: 10 });
    fail(breaker, 100);
    advance(10);
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
  });

  it("cycles open → half-open → open → half-open → closed", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 500 });
    fail(breaker, 2);
    const states: string[] = [breaker.state];
    for (let round = 0; round < 3; round++) {
      advance(500);
      expect(breaker.allow()).toBe(true);
      states.push(breaker.state);
      breaker.failure();
      states.push(breaker.state);
    }
    advance(500);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    states.push(breaker.state);
    expect(states).toEqual(["open", "half-open", "open", "half-open", "open", "half-open", "open", "closed"]);
  });

  it("with a cool-down of 0 goes straight to a probe after opening", () => {
    const { breaker } = breakerAt({ failureThreshold: 1, coolDownMs: 0 });
    fail(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBe(false);
  });

  it("uses Date.now when no clock is injected", () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 60_000 });
    breaker.failure();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
  });
});

describe("CircuitBreaker late answers", () => {
  it("keeps the circuit open when a call that started before it opened succeeds late", () => {
    const { breaker } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    expect(breaker.allow()).toBe(true);
    fail(breaker, 2);
    expect(breaker.state).toBe("open");
    breaker.success();
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBe(false);
  });
});
