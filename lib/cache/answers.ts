import type { Lifetimes } from "../stores/store";
import type { LoadAdvice } from "../upstream-advice";
import { NotJsonError } from "./errors";
import type { LoadSettings, Policy } from "./policy";

/*
 * How a loader's answer is read: its value as JSON, the upstream's "not found", "not modified" and "wait",
 * and how long the value is kept, from the policy and what the load learned.
 */

/**
 * How long the upstream asked to wait, when `error` is its 429 or 503 with `Retry-After` (an
 * `UpstreamThrottledError` of any bundle's copy, so known by name).
 */
export function retryAfterOf(error: unknown): number | undefined {
  if (!(error instanceof Error) || error.name !== "UpstreamThrottledError") return undefined;
  const { retryAfterMs } = error as Error & { retryAfterMs?: unknown };
  return typeof retryAfterMs === "number" && Number.isFinite(retryAfterMs) ? retryAfterMs : undefined;
}

/**
 * How long a loaded value is kept: fresh for what the loader set, else what the upstream's headers said
 * (within the policy's bounds, unless it opted out), else the policy's own freshness; then grace and
 * fail-safe as the policy says.
 */
export function lifetimesOf({ freshMs, graceMs, failSafeMs, http }: Policy, advice: LoadAdvice): Lifetimes {
  const heard = http.obey ? advice.httpFreshMs : undefined;
  const bounded = heard === undefined ? freshMs : Math.min(Math.max(heard, http.minFreshMs), http.maxFreshMs);
  return { freshMs: advice.freshMs ?? bounded, graceMs, failSafeMs };
}

/** When a value kept for `lifetimes` from `at` is fresh until, stale until and kept until. */
export function timesFrom(at: number, { freshMs, graceMs, failSafeMs }: Lifetimes) {
  return {
    createdAt: at,
    freshUntil: at + freshMs,
    staleUntil: at + freshMs + graceMs,
    safeUntil: at + freshMs + Math.max(graceMs, failSafeMs),
  };
}

/** The `set` a loader is given: what it decides from its value goes into `advice`. */
export function settingsInto(advice: LoadAdvice): (settings: LoadSettings) => void {
  return ({ freshSeconds, tags }) => {
    if (freshSeconds !== undefined && Number.isFinite(freshSeconds) && freshSeconds > 0) {
      advice.freshMs = freshSeconds * 1000;
    }
    if (tags) advice.tags = [...(advice.tags ?? []), ...tags];
  };
}

/** Whether the loader's error is the upstream's 304 to a conditional request (`UpstreamNotModifiedError`). */
export function isNotModified(error: unknown): boolean {
  return error instanceof Error && error.name === "UpstreamNotModifiedError";
}

/** Whether the loader's error says there is nothing: a 404 (`UpstreamNotFoundError`) or its `notFound()`. */
export function isNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === "UpstreamNotFoundError";
}

/** The value as JSON text; throws a `NotJsonError` for a value JSON would change or drop. */
export function toJson(key: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new NotJsonError(`load of "${key}" answered a value that is not JSON`, { cause: error });
  }
  if (text === undefined)
    throw new NotJsonError(`load of "${key}" answered a value that is not JSON (${typeof value})`);
  return text;
}
