import "server-only";
import type { BreakerState, CircuitBreaker } from "../circuit-breaker";
import { describeError, logEvent } from "../log";
import { TimeoutError, withTimeout } from "../timeout";
import type { CacheEntry, Claim, SharedStore } from "./store";

export class StoreTimeoutError extends TimeoutError {
  override name = "StoreTimeoutError";
}

export type GuardedStoreOptions = {
  /** Budget for one store call; a slower call counts as a failure and a miss. @default 300 ms */
  timeoutMs: number;
  breaker: CircuitBreaker;
};

export type StoreStats = { errors: number; skipped: number };

/**
 * The shared store as the cache sees it: every call is bounded by a time budget, a failure is
 * logged once and answered as a miss, and repeated failures open a circuit that skips the store.
 */
export class GuardedStore {
  readonly stats: StoreStats = { errors: 0, skipped: 0 };

  constructor(
    private readonly store: SharedStore,
    private readonly options: GuardedStoreOptions,
  ) {}

  get kind(): SharedStore["kind"] {
    return this.store.kind;
  }

  get breakerState(): BreakerState {
    return this.options.breaker.state;
  }

  /** Null when the store holds no entry; undefined when it did not answer (or was skipped). */
  get(key: string): Promise<CacheEntry | null | undefined> {
    return this.guard<CacheEntry | null | undefined>("get", key, () => this.store.get(key), undefined, undefined);
  }

  set(key: string, entry: CacheEntry): Promise<void> {
    return this.guard("set", key, () => this.store.set(key, entry), undefined, undefined);
  }

  /**
   * Undefined when this call failed: the lease may or may not be free, so the caller asks again.
   * While the circuit is open nobody can coordinate, so the caller goes ahead on its own.
   */
  claim(key: string, leaseKey: string, token: string, ttlMs: number, now: number): Promise<Claim | undefined> {
    const call = () => this.store.claim(key, leaseKey, token, ttlMs, now);
    return this.guard<Claim | undefined>("claim", key, call, { leased: true }, undefined);
  }

  releaseLease(key: string, token: string): Promise<void> {
    return this.guard("release", key, () => this.store.releaseLease(key, token), undefined, undefined);
  }

  /** Administrative deletes are not guarded: the caller must learn that they failed. */
  delete(key: string): Promise<number> {
    return this.store.delete(key);
  }

  deleteMatching(pattern: string): Promise<number> {
    return this.store.deleteMatching(pattern);
  }

  /** A real round trip for health checks, outside the circuit so it tells the truth. */
  async ping(): Promise<void> {
    await withTimeout(this.store.ping(), this.options.timeoutMs, () => new StoreTimeoutError("store ping timed out"));
  }

  /** Runs `call` within budget and circuit: `skipped` answers while the circuit is open, `failed` after a failure. */
  private async guard<T>(op: string, key: string, call: () => Promise<T>, skipped: T, failed: T): Promise<T> {
    const { breaker, timeoutMs } = this.options;
    if (!breaker.allow()) {
      this.stats.skipped += 1;
      return skipped;
    }
    const started = performance.now();
    try {
      const result = await withTimeout(call(), timeoutMs, () => new StoreTimeoutError(`store ${op} took over ${timeoutMs} ms`));
      breaker.success();
      return result;
    } catch (error) {
      breaker.failure();
      this.stats.errors += 1;
      logEvent("warn", "store_error", {
        store: this.store.kind,
        op,
        key,
        outcome: error instanceof TimeoutError ? "timeout" : "error",
        ms: Math.round(performance.now() - started),
        error: describeError(error),
        breaker: breaker.state,
      });
      return failed;
    }
  }
}
