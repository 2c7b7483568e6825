/** What one `npm run bench` measures; kept small enough for about five minutes on two cores. */
export const PLAN = {
  /** Scripted upstream latency of each fragment on `/`, ms. */
  latencies: { a: 300, b: 1200, c: 3000 } as Record<string, number>,
  coldRuns: 3,
  warmRuns: 5,
  /** Fixed offered rates, page views per second: one the server keeps up with, one it cannot. */
  offeredViewRates: [60, 400],
  loadSeconds: 5,
  loadConnections: 10,
  /**
   * Distinct cold keys asked of one instance for the memory figure. Next serves about 250 cold keys/s on two
   * cores, so the 100,000 take ~7 minutes: `BENCH_FLOOD_KEYS=100000 npm run bench` for that. The
   * default, twice the local tier's 10,000-entry bound, keeps the run near five minutes and still evicts.
   */
  floodKeys: Number(process.env.BENCH_FLOOD_KEYS ?? 20_000),
  /** Cold keys each asked of three instances at once for the cross-instance round-trip figure. */
  sharedColdKeys: 5,
  sharedColdLatencyMs: 300,
  /**
   * The documented bound for one instance after the flood: the in-process tier is capped at
   * CACHE_MAX_BYTES (64 MiB by default) and 10,000 entries; everything else must stay flat.
   */
  memoryBoundMiB: 320,
} as const;

export const FRAGMENT_NAMES = Object.keys(PLAN.latencies);
export const SLOWEST_MS = Math.max(...Object.values(PLAN.latencies));
