import { AsyncLocalStorage } from "node:async_hooks";
import { processGlobal } from "./process-global";
import type { Validators } from "./stores/store";

/**
 * What a load learns while it runs, beyond its value: how long the upstream says its answer stays good, and
 * what the loader itself decides from the value. The cache opens one per load; `fetchJson` and text
 * fragments report the upstream's caching headers into it without the loader passing anything along.
 */
export type LoadAdvice = {
  /** Freshness the loader set (`set({ freshSeconds })`): it wins over the upstream's headers. */
  freshMs?: number;
  /** Tags the loader added from the value. */
  tags?: string[];
  /** The shortest freshness any of the load's HTTP answers gave, from `Cache-Control`, `Expires` and `Age`. */
  httpFreshMs?: number;
  /** An answer said `no-store`: the value is served and not cached. */
  noStore?: boolean;
  /** Set by the cache for a refresh: the validators of the value it holds, sent with the load's first request. */
  conditional?: Validators;
  /** How many HTTP answers the load had: validators are kept only from a load of exactly one. */
  answers?: number;
  /** The ETag and Last-Modified of the load's answer. */
  validators?: Validators;
};

/** One per process: the loader may run in another bundle's copy of this module than the cache's. */
const advice = processGlobal("workerless.load-advice", () => new AsyncLocalStorage<LoadAdvice>());

/**
 * The headers that make the load's first request conditional, when the cache holds a value with validators:
 * the upstream may then answer 304 and send nothing. Later requests of the same load are plain.
 */
export function conditionalHeaders(): Record<string, string> {
  const into = advice.getStore();
  if (!into?.conditional || (into.answers ?? 0) > 0) return {};
  const { etag, lastModified } = into.conditional;
  return { ...(etag && { "if-none-match": etag }), ...(lastModified && { "if-modified-since": lastModified }) };
}

/** Runs `load` with `into` as the advice its calls report to. */
export function adviseInto<T>(into: LoadAdvice, load: () => Promise<T>): Promise<T> {
  return advice.run(into, load);
}

/** How long an HTTP answer stays good by its headers, in ms, or `no-store`; undefined when they say nothing. */
export function httpFreshness(headers: Headers, now = Date.now()): number | "no-store" | undefined {
  const directives = new Map(
    (headers.get("cache-control") ?? "")
      .split(",")
      .map((part) => part.trim().toLowerCase())
      .filter(Boolean)
      .map((part) => {
        const [name = "", value] = part.split("=", 2);
        return [name.trim(), value?.trim().replace(/^"|"$/g, "")] as const;
      }),
  );
  if (directives.has("no-store")) return "no-store";
  if (directives.has("no-cache")) return 0;
  const age = seconds(headers.get("age")) ?? 0;
  // A shared cache obeys s-maxage first: this cache is shared by every visitor.
  const maxAge = seconds(directives.get("s-maxage")) ?? seconds(directives.get("max-age"));
  if (maxAge !== undefined) return Math.max(0, maxAge - age) * 1000;
  const expires = headers.get("expires");
  if (expires === null) return undefined;
  const at = Date.parse(expires);
  // An Expires that is not a date (often "0") means already expired.
  if (Number.isNaN(at)) return 0;
  const date = Date.parse(headers.get("date") ?? "");
  return Math.max(0, at - (Number.isNaN(date) ? now : date));
}

function seconds(text: string | null | undefined): number | undefined {
  return text !== null && text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Reports an HTTP answer's headers to the load under way, if any: the shortest freshness wins, `no-store` always. */
export function reportHttpAnswer(headers: Headers): void {
  const into = advice.getStore();
  if (!into) return;
  into.answers = (into.answers ?? 0) + 1;
  const etag = headers.get("etag") ?? undefined;
  const lastModified = headers.get("last-modified") ?? undefined;
  into.validators =
    into.answers === 1 && (etag || lastModified)
      ? { ...(etag && { etag }), ...(lastModified && { lastModified }) }
      : undefined;
  const freshness = httpFreshness(headers);
  if (freshness === "no-store") into.noStore = true;
  else if (freshness !== undefined) into.httpFreshMs = Math.min(into.httpFreshMs ?? Infinity, freshness);
}
