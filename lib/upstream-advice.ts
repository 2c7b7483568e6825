import { AsyncLocalStorage } from "node:async_hooks";
import { processGlobal } from "./process-global";

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
};

/** One per process: the loader may run in another bundle's copy of this module than the cache's. */
const advice = processGlobal("workerless.load-advice", () => new AsyncLocalStorage<LoadAdvice>());

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
  const freshness = httpFreshness(headers);
  if (freshness === "no-store") into.noStore = true;
  else if (freshness !== undefined) into.httpFreshMs = Math.min(into.httpFreshMs ?? Infinity, freshness);
}
