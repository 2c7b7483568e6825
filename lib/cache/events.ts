import { logEvent } from "../log";
import { describeLoadError, LoadTimeoutError, ValueTooLargeError, type BusyReason, type LoadError } from "./errors";

/**
 * What the cache does, as it happens: how each lookup was answered, and each load's start and end. The
 * algorithm only emits these; counters and logs are listeners, so neither is woven through the logic.
 */
export type CacheEvent =
  | { type: "hit" | "stale" | "miss" | "coalesced" }
  /** The upstream answered 304 to a conditional refresh: the value held was renewed without a transfer. */
  | { type: "revalidated"; key: string }
  /** A fresh value past its share of freshness was served, and its refresh started in the background. */
  | { type: "eager-refresh" }
  /** A value past its grace was served because its load failed (or could not start): fail-safe. */
  | { type: "fail-safe" }
  /** The loader is called. */
  | { type: "load" }
  /** No loader call: the key is backing off after a failure, here or on another instance. */
  | { type: "load-skipped" }
  /** No load started: its group has its most loads under way in this process. */
  | { type: "busy"; group: string }
  /** A load did not call: its upstream asked to wait (`held`), or the source is at its rate. */
  | { type: "gate-closed"; reason: BusyReason }
  | { type: "loaded"; key: string; ms: number; bytes: number; notFound: boolean }
  | { type: "load-failed"; key: string; ms: number; error: LoadError; retryInMs: number };

export type CacheListener = (event: CacheEvent) => void;

export type CacheStats = {
  hits: number;
  stale: number;
  misses: number;
  coalesced: number;
  loads: number;
  loadErrors: number;
  loadTimeouts: number;
  skippedLoads: number;
  /** Lookups refused at once because their group had its most loads under way. */
  busy: number;
  /** Refreshes started early, while the value was still fresh. */
  eagerRefreshes: number;
  /** Values served past their grace because their refresh failed. */
  failSafe: number;
  /** Refreshes the upstream answered 304 Not Modified: renewed without a transfer. */
  revalidated: number;
  /** Loads that did not call because their source was held (`Retry-After`) or at its rate. */
  gateClosed: number;
  /** Loaded values too large to cache as JSON. */
  uncacheable: number;
};

export function emptyStats(): CacheStats {
  return {
    hits: 0,
    stale: 0,
    misses: 0,
    coalesced: 0,
    loads: 0,
    loadErrors: 0,
    loadTimeouts: 0,
    skippedLoads: 0,
    busy: 0,
    eagerRefreshes: 0,
    failSafe: 0,
    revalidated: 0,
    gateClosed: 0,
    uncacheable: 0,
  };
}

const FAILURE_COUNTERS = [
  [LoadTimeoutError, "loadTimeouts"],
  [ValueTooLargeError, "uncacheable"],
] as const;

/** Counts every event into `stats` (health and metrics read them). */
export function countInto(stats: CacheStats): CacheListener {
  return (event) => {
    switch (event.type) {
      case "hit":
        stats.hits += 1;
        return;
      case "stale":
      case "coalesced":
        stats[event.type] += 1;
        return;
      case "miss":
        stats.misses += 1;
        return;
      case "load":
        stats.loads += 1;
        return;
      case "load-skipped":
        stats.skippedLoads += 1;
        return;
      case "busy":
        stats.busy += 1;
        return;
      case "eager-refresh":
        stats.eagerRefreshes += 1;
        return;
      case "fail-safe":
        stats.failSafe += 1;
        return;
      case "revalidated":
        stats.revalidated += 1;
        return;
      case "gate-closed":
        stats.gateClosed += 1;
        return;
      case "load-failed": {
        const counter = FAILURE_COUNTERS.find(([kind]) => event.error instanceof kind)?.[1] ?? "loadErrors";
        stats[counter] += 1;
        return;
      }
      case "loaded":
        return;
    }
  };
}

/** One log line per upstream call: `info` when it answered, `warn` with its backoff when it failed. */
export const logLoads: CacheListener = (event) => {
  if (event.type === "loaded") {
    const outcome = event.notFound ? "not_found" : "ok";
    logEvent("info", "upstream_call", { key: event.key, outcome, ms: event.ms, bytes: event.bytes });
  } else if (event.type === "load-failed") {
    const { key, ms, error, retryInMs } = event;
    const outcome =
      error instanceof LoadTimeoutError ? "timeout" : error instanceof ValueTooLargeError ? "too_large" : "error";
    logEvent("warn", "upstream_call", { key, outcome, ms, error: describeLoadError(error), retryInMs });
  }
};
