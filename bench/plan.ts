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
   * Distinct cold keys asked of one instance for the memory figure. Next serves 250-600 cold keys/s on two
   * cores, so this alone takes 3-7 minutes; `BENCH_FLOOD_KEYS=20000` gives a quicker run that still evicts
   * (the local tier holds 10,000 entries).
   */
  floodKeys: Number(process.env.BENCH_FLOOD_KEYS ?? 100_000),
  /** Cold keys each asked of three instances at once for the cross-instance round-trip figure. */
  sharedColdKeys: 5,
  sharedColdLatencyMs: 300,
  /**
   * The heap limit the README tells operators to set: the in-process tier's CACHE_MAX_BYTES (64 MiB by
   * default) plus room for Next and React. Without one, V8 lets a busy heap grow far past the live data
   * (to a quarter of the machine's memory) before it collects hard.
   */
  floodHeapMiB: 192,
  /** The documented bound for one instance with that heap limit, after the flood. */
  memoryBoundMiB: 256,
} as const;

export const FRAGMENT_NAMES = Object.keys(PLAN.latencies);
export const SLOWEST_MS = Math.max(...Object.values(PLAN.latencies));
