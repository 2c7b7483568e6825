import "server-only";
import type { Span } from "@opentelemetry/api";
import { LoadTimeoutError, SharedLoadError } from "./cache";
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

/** A fragment lookup under way. */
export type FragmentLookup = {
  result: Promise<FragmentResult>;
  /** The result if it is already in; a page renders such a part at once rather than suspend on it. */
  answer(): FragmentResult | undefined;
  /** Settles once the result is in, or once it waits on the upstream: only a cache's answer is worth waiting for. */
  answeredOrLoading: Promise<unknown>;
};

export function lookupFragment(name: string): FragmentLookup {
  let loading!: () => void;
  const loadStarted = new Promise<void>((resolve) => (loading = resolve));
  let answered: FragmentResult | undefined;
  // findFragment never rejects: every failure is a result.
  const result = findFragment(name, loading).then((found) => (answered = found));
  return { result, answer: () => answered, answeredOrLoading: Promise.race([result, loadStarted]) };
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
  return traceLookup(name, getRuntime().shared?.kind ?? "memory", async (span) => {
    const result = await settleFragment(name, span, onLoading);
    span.setAttribute(ATTRIBUTES.outcome, (result.status === "ready" ? result.source : result.status) satisfies LookupOutcome);
    return result;
  });
}

/** The lookup itself: a failure is recorded on `span` and answered as an error result. */
async function settleFragment(name: string, span: Span, onLoading?: () => void): Promise<FragmentResult> {
  const { config } = getRuntime();
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const lookup = await withTimeout(
      slowFind(name, onLoading),
      config.fragmentTimeoutMs,
      () => new FragmentDeadlineError(`fragment "${name}" passed its ${config.fragmentTimeoutMs} ms deadline`),
    );
    return { status: "ready", name, value: lookup.value, source: lookup.source, ms: elapsed() };
  } catch (error) {
    if (error instanceof FragmentDeadlineError) return { status: "pending", name, ms: elapsed() };
    // Upstream failures were logged once where they happened (a shared one on the instance that called);
    // anything else is logged here.
    if (!(error instanceof UpstreamError || error instanceof LoadTimeoutError || error instanceof SharedLoadError)) {
      logEvent("error", "fragment_error", { key: name, error: describeError(error) });
    }
    recordFailure(span, error);
    return { status: "error", name, ms: elapsed() };
  }
}

export function fragmentNames(): string[] {
  return getRuntime().config.fragments;
}
