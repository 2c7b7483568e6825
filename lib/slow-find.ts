import "server-only";
import { LoadTimeoutError } from "./cache";
import type { FragmentResult } from "./fragment-result";
import { describeError, logEvent } from "./log";
import { getRuntime } from "./runtime";
import { TimeoutError, withTimeout } from "./timeout";
import { UpstreamError } from "./upstream";

class FragmentDeadlineError extends TimeoutError {
  override name = "FragmentDeadlineError";
}

/** The seed's `slowFind`: the cached answer of the slow external API for `query`. */
export function slowFind(query: string) {
  const { cache, upstream } = getRuntime();
  return cache.get(query, (signal) => upstream(query, signal));
}

/** One fragment's data, or "pending" once the fragment deadline passes (the lookup goes on and fills the cache). */
export async function findFragment(name: string): Promise<FragmentResult> {
  const { config } = getRuntime();
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const lookup = await withTimeout(
      slowFind(name),
      config.fragmentTimeoutMs,
      () => new FragmentDeadlineError(`fragment "${name}" passed its ${config.fragmentTimeoutMs} ms deadline`),
    );
    return { status: "ready", name, value: lookup.value, source: lookup.source, ms: elapsed() };
  } catch (error) {
    if (error instanceof FragmentDeadlineError) return { status: "pending", name, ms: elapsed() };
    // Upstream failures were logged once where they happened; anything else is logged here.
    if (!(error instanceof UpstreamError || error instanceof LoadTimeoutError)) {
      logEvent("error", "fragment_error", { key: name, error: describeError(error) });
    }
    return { status: "error", name, ms: elapsed() };
  }
}

export function fragmentNames(): string[] {
  return getRuntime().config.fragments;
}
