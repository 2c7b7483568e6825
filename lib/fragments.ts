import "server-only";
import type { Span } from "@opentelemetry/api";
import { definedSources } from "@/sources";
import { LoadTimeoutError, NotJsonError, SharedLoadError, ValueTooLargeError, type Lookup } from "./cache";
import { getConfig } from "./config";
import type { Json } from "./json";
import { describeError, logEvent } from "./log";
import type { Origin } from "./origin";
import { getRuntime } from "./runtime";
import { checkSources, type Source } from "./source";
import { textSources } from "./text-sources";
import { TimeoutError, withTimeout } from "./timeout";
import { ATTRIBUTES, recordFailure, traceLookup, type LookupOutcome } from "./tracing";
import { UpstreamError } from "./upstream";

/** What a page renders for one fragment; never a wire format. */
export type FragmentResult =
  | { status: "ready"; name: string; data: Json; origin: Origin; ms: number }
  | { status: "pending"; name: string; ms: number }
  | { status: "error"; name: string; ms: number };

/** The fragment passed its deadline; its load goes on and fills the cache. */
class FragmentDeadlineError extends TimeoutError {
  override name = "FragmentDeadlineError";
}

let sources: readonly Source[] | undefined;

/**
 * The page's sources, in order: text fragments from FRAGMENTS (or SLOW_API_URL) when set, otherwise the
 * sources defined in `sources/`. Kept per module instance, not per process: each bundle renders with its
 * own copy of the definitions, and `next dev` picks up an edited source on its next request.
 */
export function getSources(): readonly Source[] {
  sources ??= pageSources();
  return sources;
}

function pageSources(): readonly Source[] {
  const { fragments } = getConfig();
  return checkSources(fragments ? textSources(fragments) : definedSources);
}

/** The source of that name, if the page has one: nothing else is ever looked up. */
export function sourceNamed(name: string): Source | undefined {
  return getSources().find((source) => source.name === name);
}

/** Whether some source carries `tag`. */
export function isKnownTag(tag: string): boolean {
  return getSources().some((source) => source.tags.includes(tag));
}

/** A fragment lookup under way. None of its promises rejects: every failure is a result. */
export type FragmentLookup = {
  source: Source;
  /** The first result, by the fragment's deadline at the latest. */
  result: Promise<FragmentResult>;
  /** For a stale result: the fresh one, if its refresh lands before the deadline; otherwise undefined. */
  refreshed: Promise<FragmentResult | undefined>;
  /** What the page ends up showing: the refreshed result if there is one, else the first. */
  final: Promise<FragmentResult>;
  /** Settles once the result is in or the lookup waits on a load: only a cache's answer is worth waiting for. */
  answeredOrLoading: Promise<unknown>;
};

/** Starts looking up one source's data, through the cache, bounded by the source's deadline. */
export function lookUp(source: Source): FragmentLookup {
  let loading!: () => void;
  const loadStarted = new Promise<void>((resolve) => (loading = resolve));
  const settled = traceLookup(source.name, getRuntime().shared?.kind ?? "memory", (span) => settle(source, span, loading));
  const result = settled.then((found) => found.result);
  const refreshed = settled.then((found) => found.refreshed);
  const final = settled.then(async (found) => (await found.refreshed) ?? found.result);
  return { source, result, refreshed, final, answeredOrLoading: Promise.race([result, loadStarted]) };
}

/**
 * The results a cache answers within SHELL_HOLD_MS, in the order of `lookups` (undefined for the others).
 * A page renders those in its shell rather than behind spinners that would vanish a moment later; a lookup
 * that has to load ends the wait at once.
 */
export async function shellResults(lookups: readonly FragmentLookup[]): Promise<Array<FragmentResult | undefined>> {
  const { shellHoldMs } = getConfig();
  const answered: Array<FragmentResult | undefined> = lookups.map(() => undefined);
  lookups.forEach((lookup, index) => void lookup.result.then((result) => (answered[index] = result)));
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, shellHoldMs)));
  try {
    await Promise.race([Promise.all(lookups.map((lookup) => lookup.answeredOrLoading)), cap]);
  } finally {
    clearTimeout(timer);
  }
  return answered;
}

/** A fragment's result and, for a stale one, the fresh result its refresh brings before the deadline. */
type Settled = { result: FragmentResult; refreshed: Promise<FragmentResult | undefined> };

const noRefresh = Promise.resolve(undefined);

/** The lookup itself, in `span`: a failure is recorded there and answered as an error result. */
async function settle(source: Source, span: Span, onLoading: () => void): Promise<Settled> {
  const { config, cache } = getRuntime();
  const { name, options } = source;
  const deadlineMs = options.deadlineMs ?? config.fragmentTimeoutMs;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const outcome = (result: FragmentResult) => {
    span.setAttribute(ATTRIBUTES.outcome, (result.status === "ready" ? result.origin : result.status) satisfies LookupOutcome);
    return result;
  };
  try {
    const lookup = await withTimeout(
      cache.get(source.key, source.loadData, {
        freshMs: (options.freshSeconds ?? config.cacheTtlSeconds) * 1000,
        graceMs: (options.graceSeconds ?? config.cacheGraceSeconds) * 1000,
        loadTimeoutMs: options.timeoutMs ?? config.upstreamTimeoutMs,
        tags: source.tags,
        onLoading,
      }),
      deadlineMs,
      () => new FragmentDeadlineError(`fragment "${name}" passed its ${deadlineMs} ms deadline`),
    );
    const ready = ({ value, source: origin }: Lookup): FragmentResult => ({ status: "ready", name, data: value, origin, ms: elapsed() });
    // A refresh that misses the deadline leaves the stale value on the page; it still fills the cache.
    const untilDeadline = () => new FragmentDeadlineError(`the refresh of "${name}" passed the deadline`);
    const refreshed = lookup.refreshed
      ? withTimeout(lookup.refreshed, Math.max(0, deadlineMs - elapsed()), untilDeadline).then((fresh) => fresh && ready(fresh), () => undefined)
      : noRefresh;
    return { result: outcome(ready(lookup)), refreshed };
  } catch (error) {
    if (error instanceof FragmentDeadlineError) return { result: outcome({ status: "pending", name, ms: elapsed() }), refreshed: noRefresh };
    // Load failures were logged once where they happened (a shared one on the instance that called);
    // anything else is logged here.
    const loadFailure = [UpstreamError, LoadTimeoutError, SharedLoadError, NotJsonError, ValueTooLargeError].some((kind) => error instanceof kind);
    if (!loadFailure) {
      logEvent("error", "fragment_error", { key: name, error: describeError(error) });
    }
    recordFailure(span, error);
    return { result: outcome({ status: "error", name, ms: elapsed() }), refreshed: noRefresh };
  }
}
