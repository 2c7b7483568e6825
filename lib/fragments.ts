import "server-only";
import type { Span } from "@opentelemetry/api";
import { isLoadError, originalError, type Answer, type Policy } from "./cache";
import { getConfig, type Config } from "./config";
import type { Json } from "./json";
import { describeError, logEvent } from "./log";
import type { Origin, Outcome } from "./origin";
import { getRuntime } from "./runtime";
import { checkSources, type Source } from "./source";
import { TimeoutError, withTimeout } from "./timeout";
import { ATTRIBUTES, recordFailure, traceLookup } from "./tracing";

/** What a page renders for one fragment; never a wire format. */
export type FragmentResult =
  | { status: "ready"; name: string; data: Json; origin: Origin; ms: number }
  | { status: "pending"; name: string; ms: number }
  | { status: "error"; name: string; ms: number };

/** How a result is named in the page, the timeline, headers and traces. */
export function outcomeOf(result: FragmentResult): Outcome {
  return result.status === "ready" ? result.origin : result.status;
}

/** The fragment passed its deadline; its load goes on and fills the cache. */
class FragmentDeadlineError extends TimeoutError {
  override name = "FragmentDeadlineError";
}

/**
 * One part of the page: a source with its policy and deadline decided once, against the configuration, when
 * the page's fragments are made. The cache takes the policy whole.
 */
export type Fragment = {
  readonly name: string;
  readonly title: string;
  readonly tags: readonly string[];
  /** The cache key: the name, and the version when it is not the first. */
  readonly key: string;
  readonly load: Source["loadData"];
  readonly render: Source["render"];
  readonly policy: Policy;
  /** How long the page waits for it before showing "still working". */
  readonly deadlineMs: number;
};

/** The fragments of a page showing `sources`, in their order; a bad list throws a `SourceDefinitionError`. */
export function fragmentsOf(sources: readonly Source[], config: Config = getConfig()): readonly Fragment[] {
  return checkSources(sources).map(({ name, title, tags, key, loadData, render, settings }) => ({
    name,
    title,
    tags,
    key,
    load: loadData,
    render,
    policy: {
      freshMs: (settings.freshSeconds ?? config.cacheFreshSeconds) * 1000,
      graceMs: (settings.graceSeconds ?? config.cacheGraceSeconds) * 1000,
      upstreamTimeoutMs: settings.upstreamTimeoutMs ?? config.upstreamTimeoutMs,
      tags,
    },
    deadlineMs: settings.deadlineMs ?? config.fragmentDeadlineMs,
  }));
}

/** A fragment lookup under way. None of its promises rejects: every failure is a result. */
export type FragmentLookup = {
  /** The first result, by the fragment's deadline at the latest. */
  result: Promise<FragmentResult>;
  /** For a stale result: the fresh one, if its refresh lands before the deadline; otherwise undefined. */
  refreshed: Promise<FragmentResult | undefined>;
  /** What the page ends up showing: the refreshed result if there is one, else the first. */
  final: Promise<FragmentResult>;
  /** Settles once the result is in or the lookup waits on a load: only a cache's answer is worth waiting for. */
  answeredOrWaiting: Promise<unknown>;
};

/** Starts looking up one fragment's data, through the cache, bounded by the fragment's deadline. */
export function lookUp(fragment: Fragment): FragmentLookup {
  let waiting!: () => void;
  const waitStarted = new Promise<void>((resolve) => (waiting = resolve));
  const settled = traceLookup(fragment.name, getRuntime().shared?.kind ?? "memory", (span) =>
    settle(fragment, span, waiting),
  );
  const result = settled.then((found) => found.result);
  const refreshed = settled.then((found) => found.refreshed);
  const final = settled.then(async (found) => (await found.refreshed) ?? found.result);
  return { result, refreshed, final, answeredOrWaiting: Promise.race([result, waitStarted]) };
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
    await Promise.race([Promise.all(lookups.map((lookup) => lookup.answeredOrWaiting)), cap]);
  } finally {
    clearTimeout(timer);
  }
  return answered;
}

/** A fragment's result and, for a stale one, the fresh result its refresh brings before the deadline. */
type Settled = { result: FragmentResult; refreshed: Promise<FragmentResult | undefined> };

const noRefresh = Promise.resolve(undefined);

/** The lookup itself, in `span`: a failure is recorded there and answered as an error result. */
async function settle(fragment: Fragment, span: Span, onWaiting: () => void): Promise<Settled> {
  const { cache } = getRuntime();
  const { name, deadlineMs } = fragment;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const outcome = (result: FragmentResult) => {
    span.setAttribute(ATTRIBUTES.outcome, outcomeOf(result));
    return result;
  };
  try {
    const lookup = await withTimeout(
      cache.get(fragment.key, fragment.load, fragment.policy, { onWaiting }),
      deadlineMs,
      () => new FragmentDeadlineError(`fragment "${name}" passed its ${deadlineMs} ms deadline`),
    );
    const ready = ({ value, origin }: Answer): FragmentResult => ({
      status: "ready",
      name,
      data: value,
      origin,
      ms: elapsed(),
    });
    // A refresh that misses the deadline leaves the stale value on the page; it still fills the cache.
    const untilDeadline = () => new FragmentDeadlineError(`the refresh of "${name}" passed the deadline`);
    const refreshed = lookup.refreshed
      ? withTimeout(lookup.refreshed, Math.max(0, deadlineMs - elapsed()), untilDeadline).then(
          (fresh) => fresh && ready(fresh),
          () => undefined,
        )
      : noRefresh;
    return { result: outcome(ready(lookup)), refreshed };
  } catch (error) {
    if (error instanceof FragmentDeadlineError)
      return { result: outcome({ status: "pending", name, ms: elapsed() }), refreshed: noRefresh };
    // Load failures were logged once where they happened (a shared one on the instance that called);
    // anything else is logged here.
    if (!isLoadError(error)) logEvent("error", "fragment_error", { key: name, error: describeError(error) });
    recordFailure(span, isLoadError(error) ? originalError(error) : error);
    return { result: outcome({ status: "error", name, ms: elapsed() }), refreshed: noRefresh };
  }
}
