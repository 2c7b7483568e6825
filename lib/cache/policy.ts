import type { Json } from "../json";

/** What a loader may decide from what it loaded: its entry's freshness, and tags to add. */
export type LoadSettings = { freshSeconds?: number; tags?: readonly string[] };

/**
 * Produces the value for one key, which must survive JSON as it is; must stop work when `signal` aborts. It
 * may call `set` to decide its entry's freshness or add tags from the value.
 */
export type Loader = (signal: AbortSignal, set: (settings: LoadSettings) => void) => Promise<Json>;

/** How one key is cached, decided once (a source's settings over the configuration's) and taken whole. */
export type Policy = {
  /** How long a loaded value is fresh. */
  freshMs: number;
  /** How long after that a stale value may still be served while one refresh runs. */
  graceMs: number;
  /**
   * How long past its grace a value is kept, to be served (labelled with its age) while refreshes fail: an
   * upstream's outage is outlived. 0: never served past grace.
   */
  failSafeMs: number;
  /**
   * Whether the upstream's caching headers (`Cache-Control`, `Expires`, `Age`, reported by `fetchJson` and
   * text fragments) decide a value's freshness, within `minFreshMs`…`maxFreshMs`; `freshMs` stays the
   * default when they say nothing. `no-store` is served and not cached.
   */
  http: { obey: boolean; minFreshMs: number; maxFreshMs: number };
  /** How long a "not found" answer (a 404, or the loader's `notFound()`) is kept, fresh, with no grace. */
  notFoundMs: number;
  /**
   * A value served once this share of its freshness has passed is refreshed in the background, through the
   * lease, so a key read steadily never goes stale; 0: never (it waits until it is stale).
   */
  eagerRefresh: number;
  /** Budget of one loader call; a slower one is aborted and counts as a failure. */
  upstreamTimeoutMs: number;
  /** Names a purge can address this key by, with every other key that carries them. */
  tags: readonly string[];
  /**
   * Keys sharing an upstream (a source's parameter sets): at most `maxInFlight` of their loads are under way
   * in this process at once; a lookup that would start one more, with nothing cached to answer, is refused
   * with a `BusyError`, and a stale value is served without a refresh.
   */
  group: Group;
};

/** Keys sharing an upstream (a source's parameter sets), bounded together. */
export type Group = {
  name: string;
  /** Most loads under way at once in this process. */
  maxInFlight: number;
  /** Most calls to the upstream in any `perMs`, across the fleet; none when absent. */
  rate?: { calls: number; perMs: number };
};
