import type { Json } from "../json";

/** Produces the value for one key, which must survive JSON as it is; must stop work when `signal` aborts. */
export type Loader = (signal: AbortSignal) => Promise<Json>;

/** How one key is cached, decided once (a source's settings over the configuration's) and taken whole. */
export type Policy = {
  /** How long a loaded value is fresh. */
  freshMs: number;
  /** How long after that a stale value may still be served while one refresh runs. */
  graceMs: number;
  /** Budget of one loader call; a slower one is aborted and counts as a failure. */
  upstreamTimeoutMs: number;
  /** Names a purge can address this key by, with every other key that carries them. */
  tags: readonly string[];
  /**
   * Keys sharing an upstream (a source's parameter sets): at most `maxInFlight` of their loads are under way
   * in this process at once; a lookup that would start one more, with nothing cached to answer, is refused
   * with a `BusyError`, and a stale value is served without a refresh.
   */
  group: { name: string; maxInFlight: number };
};
