import "server-only";
import type { Span } from "@opentelemetry/api";
import { LoadTimeoutError, SharedLoadError, type Lookup } from "./cache";
import type { FragmentResult } from "./fragment-result";
import { describeError, logEvent } from "./log";
import { getRuntime } from "./runtime";
import { TimeoutError, withTimeout } from "./timeout";
import { ATTRIBUTES, recordFailure, traceLookup, type LookupOutcome } from "./tracing";
import { UpstreamError } from "./upstream";

class FragmentDeadlineError extends TimeoutError {
  override name = "FragmentDeadlineError";
}

/**
 * The seed's `slowFind`: the cached answer of the slow external API for `query`. `onLoading` is called
 * if the answer has to wait for a call to the API (by this request, another one, or another instance).
 */
export function slowFind(query: string, onLoading?: () => void) {
  const { cache, upstream } = getRuntime();
  return cache.get(query, (signal) => upstream(query, signal), onLoading);
}

/** A fragment's result, and for a stale one the fresh result its refresh brings before the deadline, if it does. */
type Settled = { result: FragmentResult; refreshed?: Promise<FragmentResult | undefined> };

/** A fragment lookup under way. */
export type FragmentLookup = {
  result: Promise<FragmentResult>;
  /**
   * For a stale result: the fresh one, if its refresh lands before the fragment deadline (a page shows the
   * stale value, then this one in the same response); otherwise undefined.
   */
  refreshed: Promise<FragmentResult | undefined>;
  /** The result if it is already in; a page renders such a part at once rather than suspend on it. */
  answer(): FragmentResult | undefined;
  /** Settles once the result is in, or once it waits on the upstream: only a cache's answer is worth waiting for. */
  answeredOrLoading: Promise<unknown>;
};

export function lookupFragment(name: string): FragmentLookup {
  let loading!: () => void;
  const loadStarted = new Promise<void>((resolve) => (loading = resolve));
  let answered: FragmentResult | undefined;
  // Never rejects: every failure is a result.
  const settled = settleTraced(name, loading);
  const result = settled.then((found) => (answered = found.result));
  const refreshed = settled.then((found) => found.refreshed);
  return { result, refreshed, answer: () => answered, answeredOrLoading: Promise.race([result, loadStarted]) };
}

/**
 * Waits, for at most SHELL_HOLD_MS, until every lookup is answered or loading. A page that awaits this
 * before rendering sends parts a cache answers (from Redis, say, on an instance that has not seen them)
 * in its shell, rather than spinners that vanish a moment later; a load ends the wait at once.
 */
export async function awaitCachedAnswers(lookups: FragmentLookup[]): Promise<void> {
  const { shellHoldMs } = getRuntime().config;
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, shellHoldMs)));
  try {
    await Promise.race([Promise.all(lookups.map((lookup) => lookup.answeredOrLoading)), cap]);
  } finally {
    clearTimeout(timer);
  }
}

/** One fragment's data, or "pending" once the fragment deadline passes (the lookup goes on and fills the cache). */
export async function findFragment(name: string, onLoading?: () => void): Promise<FragmentResult> {
  return (await settleTraced(name, onLoading)).result;
}

function settleTraced(name: string, onLoading?: () => void): Promise<Settled> {
  return traceLookup(name, getRuntime().shared?.kind ?? "memory", async (span) => {
    const settled = await settleFragment(name, span, onLoading);
    const { result } = settled;
    span.setAttribute(ATTRIBUTES.outcome, (result.status === "ready" ? result.source : result.status) satisfies LookupOutcome);
    return settled;
  });
}

/** The lookup itself: a failure is recorded on `span` and answered as an error result. */
async function settleFragment(name: string, span: Span, onLoading?: () => void): Promise<Settled> {
  const { config } = getRuntime();
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const lookup = await withTimeout(
      slowFind(name, onLoading),
      config.fragmentTimeoutMs,
      () => new FragmentDeadlineError(`fragment "${name}" passed its ${config.fragmentTimeoutMs} ms deadline`),
    );
    const ready = ({ value, source }: Lookup): FragmentResult => ({ status: "ready", name, value, source, ms: elapsed() });
    // A refresh that misses the deadline leaves the stale value on the page; it still fills the cache.
    const untilDeadline = () => new FragmentDeadlineError(`the refresh of "${name}" passed the deadline`);
    const refreshed = lookup.refreshed
      ? withTimeout(lookup.refreshed, Math.max(0, config.fragmentTimeoutMs - elapsed()), untilDeadline).then((fresh) => fresh && ready(fresh), () => undefined)
      : undefined;
    return { result: ready(lookup), refreshed };
  } catch (error) {
    if (error instanceof FragmentDeadlineError) return { result: { status: "pending", name, ms: elapsed() } };
    // Upstream failures were logged once where they happened (a shared one on the instance that called);
    // anything else is logged here.
    if (!(error instanceof UpstreamError || error instanceof LoadTimeoutError || error instanceof SharedLoadError)) {
      logEvent("error", "fragment_error", { key: name, error: describeError(error) });
    }
    recordFailure(span, error);
    return { result: { status: "error", name, ms: elapsed() } };
  }
}

export function fragmentNames(): string[] {
  return getRuntime().config.fragments;
}
