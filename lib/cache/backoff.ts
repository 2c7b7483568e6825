import { LRUCache } from "lru-cache";
import type { FailureRecord, StoredFailure } from "../stores/store";
import { describeLoadError, SharedLoadError, type LoadError } from "./errors";

export type BackoffOptions = {
  /** First wait after a failed load before that key's loader is called again; doubles up to `maxMs`. */
  baseMs: number;
  maxMs: number;
  now: () => number;
};

/** A key held off its loader: the failure its callers get, and when the loader may be called again. */
export type Failure = { error: LoadError; attempts: number; retryAt: number };

/**
 * Which keys are held off their loader after a failure, here and (through the records it hands the store)
 * across the fleet: 1 s, doubling up to the cap, so a failing upstream gets one call per key per window.
 */
export class Backoff {
  private readonly failures = new LRUCache<string, Failure>({ max: 10_000 });

  constructor(private readonly options: BackoffOptions) {}

  /** The failure holding `key` off its loader now, if any. */
  holding(key: string): Failure | undefined {
    const failure = this.failures.get(key);
    return failure && failure.retryAt > this.options.now() ? failure : undefined;
  }

  /**
   * Backs `key` off after this process's load failed (unless `keep` is false: a purge came between, and the
   * key starts afresh), and returns the record the fleet should keep: past the backoff, so the next failure,
   * on any instance, backs off longer. `delayMs`, when the upstream said how long to wait, replaces the doubling.
   */
  record(key: string, error: LoadError, keep: boolean, delayMs?: number): FailureRecord {
    const { baseMs, maxMs, now } = this.options;
    const attempts = (this.failures.get(key)?.attempts ?? 0) + 1;
    const delay = delayMs ?? Math.min(baseMs * 2 ** (attempts - 1), maxMs);
    if (keep) this.failures.set(key, { error, attempts, retryAt: now() + delay });
    return { error: describeLoadError(error), attempts, retryInMs: delay, keepMs: delay + maxMs };
  }

  /** Takes in a failure another instance recorded: its backoff, and its attempts for the next delay. */
  note(key: string, { error, attempts, retryInMs }: StoredFailure): void {
    const known = this.failures.get(key);
    const retryAt = this.options.now() + retryInMs;
    if (!known || retryAt > known.retryAt) {
      this.failures.set(key, {
        error: new SharedLoadError(error),
        attempts: Math.max(attempts, known?.attempts ?? 0),
        retryAt,
      });
    } else if (attempts > known.attempts) {
      this.failures.set(key, { ...known, attempts });
    }
  }

  /** The error a caller gets for a key another instance's failure holds off. */
  errorFor(key: string, { error }: StoredFailure): LoadError {
    return this.failures.get(key)?.error ?? new SharedLoadError(error);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  clearAll(): void {
    this.failures.clear();
  }
}
