export type BreakerState = "closed" | "open" | "half-open";

export type CircuitBreakerOptions = {
  /** Consecutive failures that open the circuit. @default 5 */
  failureThreshold: number;
  /** How long an open circuit skips calls before one probe is let through. @default 5000 ms */
  coolDownMs: number;
  now?: () => number;
};

/**
 * Stops calling a failing dependency for a cool-down, then lets one probe through:
 * its success closes the circuit, its failure opens it for another cool-down.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private current: BreakerState = "closed";
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Whether a call may go out now; in half-open state only the single probe may. */
  allow(): boolean {
    if (this.current === "closed") return true;
    if (this.current === "open" && this.now() - this.openedAt >= this.options.coolDownMs) {
      this.current = "half-open";
      this.probing = false;
    }
    if (this.current === "half-open" && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  success(): void {
    // A call that started before the circuit opened proves nothing about now; only the probe may close it.
    if (this.current === "open") return;
    this.failures = 0;
    this.probing = false;
    this.current = "closed";
  }

  failure(): void {
    this.failures += 1;
    this.probing = false;
    if (this.current === "half-open" || this.failures >= this.options.failureThreshold) {
      this.current = "open";
      this.openedAt = this.now();
    }
  }
}
