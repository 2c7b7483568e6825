import "server-only";
import type { BreakerState, CircuitBreaker, Permit } from "../circuit-breaker";
import { describeError, logEvent } from "../log";
import { TimeoutError, withTimeout } from "../timeout";
import { traceStoreCall } from "../tracing";
import type {
  BusListener,
  BusSubscription,
  Claim,
  FailureRecord,
  GateAnswer,
  GateKeys,
  IndexTerm,
  ItemKeys,
  Lifetimes,
  SharedStore,
  StoredEntry,
  Validators,
  StoreKind,
} from "./store";

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
 * Calls begun together, within two microtask hops of the first: the clients send such calls in one request
 * (auto-pipelining; @upstash/redis waits exactly two hops before it sends), so they succeed or fail
 * together and count once with the breaker. Undefined `permit`: the circuit was open.
 */
type RoundTrip = { permit: Permit | undefined; counted: boolean };

/**
 * The shared store as the cache sees it: every call is bounded by a time budget, a failure is
 * logged once and answered as a miss, and repeated failed round trips open a circuit that skips the store.
 */
export class GuardedStore {
  readonly stats: StoreStats = { errors: 0, skipped: 0 };
  private roundTrip: RoundTrip | undefined;

  constructor(
    private readonly store: SharedStore,
    private readonly options: GuardedStoreOptions,
  ) {}

  get kind(): StoreKind {
    return this.store.kind;
  }

  get breakerState(): BreakerState {
    return this.options.breaker.state;
  }

  /** Null when the store holds no usable entry; undefined when it did not answer (or was skipped). */
  read(keys: ItemKeys, knownVersion?: string): Promise<StoredEntry | null | undefined> {
    return this.guard<StoredEntry | null | undefined>(
      "read",
      keys.entry,
      () => this.store.read(keys, knownVersion),
      undefined,
      undefined,
    );
  }

  /**
   * Undefined when this call failed: the lease may or may not have been taken, so the caller asks again
   * with the same token. While the circuit is open nobody can coordinate, so the caller goes ahead alone.
   */
  claim(keys: ItemKeys, token: string, leaseMs: number, dueWithinMs?: number): Promise<Claim | undefined> {
    return this.guard<Claim | undefined>(
      "claim",
      keys.entry,
      () => this.store.claim(keys, token, leaseMs, dueWithinMs),
      { leased: true },
      undefined,
    );
  }

  /** Whether the load's value was written; undefined when the call failed. */
  fill(
    keys: ItemKeys,
    token: string,
    value: string,
    lifetimes: Lifetimes,
    validators?: Validators,
  ): Promise<boolean | undefined> {
    return this.guard<boolean | undefined>(
      "fill",
      keys.entry,
      () => this.store.fill(keys, token, value, lifetimes, validators),
      undefined,
      undefined,
    );
  }

  renew(keys: ItemKeys, token: string, version: string, lifetimes: Lifetimes): Promise<boolean | undefined> {
    return this.guard<boolean | undefined>(
      "renew",
      keys.entry,
      () => this.store.renew(keys, token, version, lifetimes),
      undefined,
      undefined,
    );
  }

  fail(keys: ItemKeys, token: string, failure: FailureRecord): Promise<boolean | undefined> {
    return this.guard<boolean | undefined>(
      "fail",
      keys.entry,
      () => this.store.fail(keys, token, failure),
      undefined,
      undefined,
    );
  }

  /** Whether `member` is now in every set; false when the call failed or was skipped. */
  index(sets: readonly string[], member: string, term: IndexTerm): Promise<boolean> {
    return this.guard("index", member, () => this.store.index(sets, member, term).then(() => true), false, false);
  }

  /** The fleet's gate for the source; undefined when the store did not answer (this process's gate decides then). */
  gate(keys: GateKeys, windowMs: number): Promise<GateAnswer | undefined> {
    return this.guard<GateAnswer | undefined>(
      "gate",
      keys.hold,
      () => this.store.gate(keys, windowMs),
      undefined,
      undefined,
    );
  }

  hold(keys: GateKeys, ms: number): Promise<boolean> {
    return this.guard("hold", keys.hold, () => this.store.hold(keys, ms).then(() => true), false, false);
  }

  release(keys: ItemKeys, token: string): Promise<boolean> {
    return this.guard("release", keys.lease, () => this.store.release(keys, token).then(() => true), false, false);
  }

  /** Administrative reads and deletes are not guarded: the caller must learn that they failed. */
  members(set: string): Promise<string[]> {
    return this.store.members(set);
  }

  delete(keys: ItemKeys): Promise<number> {
    return this.store.delete(keys);
  }

  soften(keys: ItemKeys): Promise<number> {
    return this.store.soften(keys);
  }

  deleteMatching(pattern: string): Promise<number> {
    return this.store.deleteMatching(pattern);
  }

  /** Whether the message went out; false when the call failed or was skipped. */
  publish(channel: string, message: string): Promise<boolean> {
    return this.guard("publish", channel, () => this.store.publish(channel, message).then(() => true), false, false);
  }

  /** Outside the circuit: a subscription lives on a connection of its own, and the bus watches it. */
  subscribe(channels: readonly string[], listener: BusListener): BusSubscription {
    return this.store.subscribe(channels, listener);
  }

  /** A real round trip for health checks, outside the circuit so it tells the truth. */
  async ping(): Promise<void> {
    await withTimeout(this.store.ping(), this.options.timeoutMs, () => new StoreTimeoutError("store ping timed out"));
  }

  /** The round trip now being gathered, begun by the first call in it. */
  private currentRoundTrip(): RoundTrip {
    if (this.roundTrip) return this.roundTrip;
    const roundTrip: RoundTrip = { permit: this.options.breaker.allow(), counted: false };
    this.roundTrip = roundTrip;
    queueMicrotask(() =>
      queueMicrotask(() => {
        if (this.roundTrip === roundTrip) this.roundTrip = undefined;
      }),
    );
    return roundTrip;
  }

  /** Runs `call` within budget and circuit: `skipped` answers while the circuit is open, `failed` after a failure. */
  private async guard<T>(op: string, key: string, call: () => Promise<T>, skipped: T, failed: T): Promise<T> {
    const { breaker, timeoutMs } = this.options;
    const roundTrip = this.currentRoundTrip();
    const { permit } = roundTrip;
    if (!permit) {
      this.stats.skipped += 1;
      return skipped;
    }
    const started = performance.now();
    try {
      const result = await traceStoreCall(this.store.kind, op, () =>
        withTimeout(call(), timeoutMs, () => new StoreTimeoutError(`store ${op} took over ${timeoutMs} ms`)),
      );
      if (!roundTrip.counted) breaker.success(permit);
      roundTrip.counted = true;
      return result;
    } catch (error) {
      if (!roundTrip.counted) breaker.failure(permit);
      roundTrip.counted = true;
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
