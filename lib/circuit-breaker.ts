export type BreakerState = "closed" | "open" | "half-open";

export type CircuitBreakerOptions = {
  /** Consecutive failed trips that open the circuit. @default 5 */
  failureThreshold: number;
  /** How long an open circuit skips calls before one probe is let through. @default 5000 ms */
  coolDownMs: number;
  now?: () => number;
};

/**
 * Leave for one trip to the dependency. Its outcome counts only while the circuit is still in the state
 * that granted it: a trip begun before the circuit opened (or before the probe went out) says nothing
 * about the dependency now.
 */
export type Permit = { readonly generation: number; readonly probe: boolean };

/**
 * Stops calling a failing dependency for a cool-down, then lets one probe through:
 * its success closes the circuit, its failure opens it for another cool-down.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private generation = 0;
  private current: BreakerState = "closed";
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** A permit when a trip may go out now (in half-open state only the single probe may), otherwise undefined. */
  allow(): Permit | undefined {
    if (this.current === "closed") return { generation: this.generation, probe: false };
    if (this.current === "open" && this.now() - this.openedAt >= this.options.coolDownMs) {
      this.enter("half-open");
      this.probing = false;
    }
    if (this.current === "half-open" && !this.probing) {
      this.probing = true;
      return { generation: this.generation, probe: true };
    }
    return undefined;
  }

  success(permit: Permit): void {
    if (permit.generation !== this.generation) return;
    this.failures = 0;
    if (permit.probe) this.enter("closed");
  }

  failure(permit: Permit): void {
    if (permit.generation !== this.generation) return;
    this.failures += 1;
    if (permit.probe || this.failures >= this.options.failureThreshold) {
      this.enter("open");
      this.openedAt = this.now();
    }
  }

  private enter(state: BreakerState): void {
    this.current = state;
    this.generation += 1;
    if (state === "closed") this.failures = 0;
  }
}
