import "server-only";
import type { Span } from "@opentelemetry/api";
import {
  isBusyError,
  isLoadError,
  originalError,
  type Answer,
  type BusyReason,
  type Loader,
  type Policy,
} from "./cache";
import { getConfig, type Config } from "./config";
import type { Json } from "./json";
import { describeError, logEvent } from "./log";
import type { Origin, Outcome } from "./origin";
import { getRuntime } from "./runtime";
import { paramsKey, parseParams, ParamsError, type ParamInput, type Params, type ParamsSchema } from "./params";
import { checkSources, type ControlsProps, type Source } from "./source";
import { TimeoutError, withTimeout } from "./timeout";
import { ATTRIBUTES, recordFailure, traceLookup } from "./tracing";

/**
 * The cache entry a result was read from: the load that made it, and until when it is fresh, served stale
 * and kept for fail-safe (epoch ms on this process's clock, placed there from the store's own clock), so a
 * response can tell a CDN how long to keep it.
 */
export type Kept = { version: string; freshUntil: number; staleUntil: number; safeUntil: number };

/** What a page renders for one fragment; never a wire format. */
export type FragmentResult =
  /** `asOf`, for a value kept past its grace (`fail-safe`): when it was loaded, which the page tells. */
  | { status: "ready"; name: string; data: Json; origin: Origin; ms: number; asOf?: number; kept: Kept }
  /** The upstream found nothing for these parameters: an answer, cached a short while like data. */
  | { status: "not-found"; name: string; origin: Origin; ms: number; kept: Kept }
  | { status: "pending"; name: string; ms: number }
  | { status: "error"; name: string; ms: number }
  /**
   * Nothing was cached and its source may not call now: it has its most loads under way here (`in-flight`),
   * is at its rate, or its upstream asked to wait (`held`). Ask again after `retryAfterSeconds`.
   */
  | { status: "busy"; name: string; ms: number; retryAfterSeconds: number; reason: BusyReason }
  /** The request's parameters were refused by the source's schema: nothing was looked up. */
  | { status: "refused"; name: string; ms: number; message: string };

/** How a result is named in the page, the timeline, headers and traces. */
export function outcomeOf(result: FragmentResult): Outcome {
  return result.status === "ready" || result.status === "not-found" ? result.origin : result.status;
}

/** The fragment passed its deadline; its load goes on and fills the cache. */
class FragmentDeadlineError extends TimeoutError {
  override name = "FragmentDeadlineError";
}

/**
 * One part of the page: a source with its policy and deadline decided once, against the configuration, when
 * the page's fragments are made. A request makes it a `Part` by giving it its parameters.
 */
export type Fragment = {
  readonly name: string;
  /** The cache key of a fragment without parameters; the prefix of every key of one with them. */
  readonly key: string;
  readonly params: ParamsSchema | undefined;
  readonly source: Source;
  /** The policy of each of its keys, but for the tags, which its parameters may decide. */
  readonly policy: Omit<Policy, "tags">;
  /** How long the page waits for it before showing "still working". */
  readonly deadlineMs: number;
};

/** The fragments of a page showing `sources`, in their order; a bad list throws a `SourceDefinitionError`. */
export function fragmentsOf(sources: readonly Source[], config: Config = getConfig()): readonly Fragment[] {
  return checkSources(sources).map((source) => {
    const { name, key, params, settings } = source;
    return {
      name,
      key,
      params,
      source,
      policy: {
        freshMs: (settings.freshSeconds ?? config.cacheFreshSeconds) * 1000,
        graceMs: (settings.graceSeconds ?? config.cacheGraceSeconds) * 1000,
        notFoundMs: (settings.notFoundSeconds ?? config.cacheNotFoundSeconds) * 1000,
        failSafeMs: (settings.failSafeSeconds ?? config.cacheFailSafeSeconds) * 1000,
        http: {
          obey: settings.httpCaching ?? true,
          minFreshMs: (settings.minFreshSeconds ?? 1) * 1000,
          maxFreshMs: (settings.maxFreshSeconds ?? 86_400) * 1000,
        },
        eagerRefresh: settings.eagerRefresh === false ? 0 : (settings.eagerRefresh ?? config.cacheEagerRefresh),
        upstreamTimeoutMs: settings.upstreamTimeoutMs ?? config.upstreamTimeoutMs,
        group: {
          name: key,
          maxInFlight: settings.maxInFlight ?? config.upstreamMaxInFlight,
          rate: settings.rate
            ? { calls: settings.rate.calls, perMs: settings.rate.perSeconds * 1000 }
            : config.upstreamRate,
        },
      },
      deadlineMs: settings.deadlineMs ?? config.fragmentDeadlineMs,
    };
  });
}

/**
 * The name every key of a fragment with parameters is indexed under, so a purge of the fragment reaches all
 * its parameter sets. `@` cannot begin a tag a source declares.
 */
export function everyKeyOf(fragment: Fragment): string {
  return `@${fragment.key}`;
}

/** A fragment as one request asks it: with its parameters checked, or refused. */
export type Part = {
  readonly fragment: Fragment;
  readonly name: string;
  /** The heading: made from the parameters, or the name when they were refused. */
  readonly title: string;
  /** The input the parameters came from (only the names the schema reads): what a retry sends again. */
  readonly input: Readonly<Record<string, string | string[]>>;
  /** What a visitor uses to ask something else, rendered once per request. */
  readonly controls: ControlsProps<Params> | undefined;
} & (
  | {
      readonly params: Params;
      readonly key: string;
      readonly tags: readonly string[];
      readonly policy: Policy;
      readonly load: Loader;
      readonly refused?: undefined;
      readonly broken?: undefined;
    }
  | { readonly refused: ParamsError; readonly params?: undefined; readonly broken?: undefined }
  /** The source failed to make its key, tags or title from accepted parameters: its mistake, logged once. */
  | { readonly broken: true; readonly refused?: undefined; readonly params?: undefined }
);

/**
 * `fragment` with the parameters `input` gives it (search parameters, route segments, a purge body): asked,
 * refused with a `ParamsError` that names the parameter, or broken when the source's own functions fail on
 * accepted parameters (computed tags that break the rule, a title that throws, parameters JSON cannot carry).
 * `search` is the page's own search parameters, handed to the source's controls.
 */
export function partOf(fragment: Fragment, input: ParamInput = {}, search = new URLSearchParams()): Part {
  const { name, source } = fragment;
  try {
    const parsed = fragment.params ? parseParams(fragment.params, input) : { params: {}, input: {} };
    if (!(parsed instanceof ParamsError)) return askedPart(fragment, parsed.params, parsed.input, search);
    // The controls stay, so the visitor can correct what was refused: given the defaults, if there are any.
    const defaults = parseParams(fragment.params!, {});
    const controls =
      source.controls && !(defaults instanceof ParamsError) ? { params: defaults.params, search } : undefined;
    return { fragment, name, title: name, input: {}, controls, refused: parsed };
  } catch (error) {
    logEvent("error", "fragment_error", { key: name, error: describeError(error) });
    return { fragment, name, title: name, input: {}, controls: undefined, broken: true };
  }
}

function askedPart(fragment: Fragment, params: Params, input: Part["input"], search: URLSearchParams): Part {
  const { name, source } = fragment;
  const key = fragment.params ? paramsKey(source.key, params) : source.key;
  const declared = source.tags(params);
  const tags = fragment.params ? [...declared, everyKeyOf(fragment)] : declared;
  return {
    fragment,
    name,
    title: source.title(params),
    input,
    controls: source.controls && { params, search },
    params,
    key,
    tags,
    policy: { ...fragment.policy, tags },
    load: (signal, set) => source.loadData(params, signal, set),
  };
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

/** Starts looking up one part's data, through the cache, bounded by its deadline; a refused part at once. */
export function lookUp(part: Part): FragmentLookup {
  if (part.refused !== undefined) {
    // One line per refused lookup, a warning: a visitor's mistake, not the app's. JSON escapes the message.
    const { param, message } = part.refused;
    logEvent("warn", "params_refused", { key: part.name, param: param ?? null, error: message });
    const result = Promise.resolve<FragmentResult>({
      status: "refused",
      name: part.name,
      ms: 0,
      message: part.refused.message,
    });
    return { result, refreshed: noRefresh, final: result, answeredOrWaiting: result };
  }
  if (part.broken) {
    const result = Promise.resolve<FragmentResult>({ status: "error", name: part.name, ms: 0 });
    return { result, refreshed: noRefresh, final: result, answeredOrWaiting: result };
  }
  let waiting!: () => void;
  const waitStarted = new Promise<void>((resolve) => (waiting = resolve));
  const settled = traceLookup(part.name, getRuntime().shared?.kind ?? "memory", (span) => settle(part, span, waiting));
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

/** A part whose parameters were accepted. */
type Asked = Extract<Part, { refused?: undefined; broken?: undefined }>;

/** The lookup itself, in `span`: a failure is recorded there and answered as an error result. */
async function settle(part: Asked, span: Span, onWaiting: () => void): Promise<Settled> {
  const { cache } = getRuntime();
  const { name } = part;
  const { deadlineMs } = part.fragment;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const outcome = (result: FragmentResult) => {
    span.setAttribute(ATTRIBUTES.outcome, outcomeOf(result));
    return result;
  };
  try {
    const lookup = await withTimeout(
      cache.get(part.key, part.load, part.policy, { onWaiting }),
      deadlineMs,
      () => new FragmentDeadlineError(`fragment "${name}" passed its ${deadlineMs} ms deadline`),
    );
    const ready = (answer: Answer): FragmentResult => {
      const { value, origin, notFound, createdAt, version, freshUntil, staleUntil, safeUntil } = answer;
      const kept = { version, freshUntil, staleUntil, safeUntil };
      return notFound
        ? { status: "not-found", name, origin, ms: elapsed(), kept }
        : {
            status: "ready",
            name,
            data: value,
            origin,
            ms: elapsed(),
            ...(origin === "fail-safe" && { asOf: createdAt }),
            kept,
          };
    };
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
    // Refused at once, calling nothing: counted, never logged per view (a flood would fill the log).
    if (isBusyError(error)) {
      const busy = { retryAfterSeconds: Math.ceil(error.retryAfterMs / 1000), reason: error.reason };
      return { result: outcome({ status: "busy", name, ms: elapsed(), ...busy }), refreshed: noRefresh };
    }
    // Load failures were logged once where they happened (a shared one on the instance that called);
    // anything else is logged here.
    if (!isLoadError(error)) logEvent("error", "fragment_error", { key: name, error: describeError(error) });
    recordFailure(span, isLoadError(error) ? originalError(error) : error);
    return { result: outcome({ status: "error", name, ms: elapsed() }), refreshed: noRefresh };
  }
}
