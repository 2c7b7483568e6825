import { describe, it, expect } from "vitest";
import { CircuitBreaker, type Permit } from "./circuit-breaker";

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

/** A permit, failing the test when the breaker refuses one. */
function permit(breaker: CircuitBreaker): Permit {
  const granted = breaker.allow();
  if (!granted) throw new Error(`the breaker refused a trip in state ${breaker.state}`);
  return granted;
}

function fail(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) breaker.failure(permit(breaker));
}

function succeed(breaker: CircuitBreaker): void {
  breaker.success(permit(breaker));
}

describe("CircuitBreaker closed state", () => {
  it("starts closed and allows calls", () => {
    const { breaker } = breakerAt({ failureThreshold: 3, coolDownMs: 1000 });
    expect(breaker.state).toBe("closed");
    for (let i = 0; i < 10; i++) expect(breaker.allow()).toBeDefined();
    expect(breaker.state).toBe("closed");
  });

  it("stays closed below the failure threshold", () => {
    const { breaker } = breakerAt({ failureThreshold: 5, coolDownMs: 1000 });
    fail(breaker, 4);
    expect(breaker.state).toBe("closed");
    expect(breaker.allow()).toBeDefined();
  });

  it("opens after exactly failureThreshold consecutive failures", () => {
    const { breaker } = breakerAt({ failureThreshold: 5, coolDownMs: 1000 });
    fail(breaker, 5);
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBeUndefined();
  });

  it("opens on the first failure with a threshold of 1", () => {
    const { breaker } = breakerAt({ failureThreshold: 1, coolDownMs: 1000 });
    fail(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  it("resets the failure count on a success, so only consecutive failures count", () => {
    const { breaker } = breakerAt({ failureThreshold: 3, coolDownMs: 1000 });
    fail(breaker, 2);
    succeed(breaker);
    fail(breaker, 2);
    succeed(breaker);
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
      succeed(breaker);
    }
    expect(breaker.state).toBe("closed");
  });
});

describe("CircuitBreaker open state", () => {
  it("skips every call until the cool-down has passed", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    fail(breaker, 2);
    for (let i = 0; i < 5; i++) {
      expect(breaker.allow()).toBeUndefined();
      advance(199);
    }
    // 995 ms after opening
    expect(breaker.allow()).toBeUndefined();
    advance(4);
    expect(breaker.allow()).toBeUndefined(); // 999 ms
    expect(breaker.state).toBe("open");
  });

  it("lets exactly one probe through once the cool-down has passed, in half-open state", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    fail(breaker, 2);
    advance(1000);
    expect(breaker.allow()).toBeDefined();
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBeUndefined();
    expect(breaker.allow()).toBeUndefined();
    advance(60_000);
    expect(breaker.allow()).toBeUndefined();
    expect(breaker.state).toBe("half-open");
  });

  it("lets the probe through long after the cool-down too", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 1, coolDownMs: 1000 });
    fail(breaker, 1);
    advance(3_600_000);
    expect(breaker.allow()).toBeDefined();
    expect(breaker.allow()).toBeUndefined();
  });

  it("closes when the probe succeeds, and allows calls again", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    fail(breaker, 2);
    advance(1000);
    succeed(breaker);
    expect(breaker.state).toBe("closed");
    for (let i = 0; i < 3; i++) expect(breaker.allow()).toBeDefined();
  });

  it("needs a full threshold of new failures to open again after the probe closed it", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 3, coolDownMs: 1000 });
    fail(breaker, 3);
    advance(1000);
    succeed(breaker);
    fail(breaker, 2);
    expect(breaker.state).toBe("closed");
    fail(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  it("re-opens for a whole new cool-down when the probe fails", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 3, coolDownMs: 1000 });
    fail(breaker, 3);
    advance(1500);
    breaker.failure(permit(breaker));
    expect(breaker.state).toBe("open");
    // The new cool-down counts from the probe's failure, not from the first opening.
    advance(999);
    expect(breaker.allow()).toBeUndefined();
    advance(1);
    expect(breaker.allow()).toBeDefined();
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBeUndefined();
  });

  it("re-opens on a single probe failure even with a high threshold", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 100, coolDownMs: 10 });
    fail(breaker, 100);
    advance(10);
    breaker.failure(permit(breaker));
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBeUndefined();
  });

  it("cycles open → half-open → open → half-open → closed", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 500 });
    fail(breaker, 2);
    const states: string[] = [breaker.state];
    for (let round = 0; round < 3; round++) {
      advance(500);
      const probe = permit(breaker);
      states.push(breaker.state);
      breaker.failure(probe);
      states.push(breaker.state);
    }
    advance(500);
    succeed(breaker);
    states.push(breaker.state);
    expect(states).toEqual(["open", "half-open", "open", "half-open", "open", "half-open", "open", "closed"]);
  });

  it("with a cool-down of 0 goes straight to a probe after opening", () => {
    const { breaker } = breakerAt({ failureThreshold: 1, coolDownMs: 0 });
    fail(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBeDefined();
    expect(breaker.state).toBe("half-open");
    expect(breaker.allow()).toBeUndefined();
  });

  it("uses Date.now when no clock is injected", () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, coolDownMs: 60_000 });
    fail(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBeUndefined();
  });
});

describe("CircuitBreaker late answers", () => {
  it("keeps the circuit open when a trip that began before it opened succeeds late", () => {
    const { breaker } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    const early = permit(breaker);
    fail(breaker, 2);
    expect(breaker.state).toBe("open");
    breaker.success(early);
    expect(breaker.state).toBe("open");
    expect(breaker.allow()).toBeUndefined();
  });

  it("lets no late failure reopen a half-open circuit or free its probe", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 2, coolDownMs: 1000 });
    const early = permit(breaker);
    fail(breaker, 2);
    advance(1000);
    const probe = permit(breaker);
    expect(breaker.state).toBe("half-open");
    breaker.failure(early);
    expect(breaker.state).toBe("half-open");
    // The probe is still out: no second probe may start.
    expect(breaker.allow()).toBeUndefined();
    breaker.success(probe);
    expect(breaker.state).toBe("closed");
  });

  it("does not count a late failure from before the circuit closed again", () => {
    const { breaker, advance } = breakerAt({ failureThreshold: 1, coolDownMs: 1000 });
    const early = permit(breaker);
    fail(breaker, 1);
    advance(1000);
    succeed(breaker);
    breaker.failure(early);
    expect(breaker.state).toBe("closed");
  });
});
