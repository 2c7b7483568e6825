import type { ProfileName } from "./scenarios/network-profiles";

/** `BENCH_QUICK=1`: one run per view and short load phases, to check the bench itself, not to quote. */
export const QUICK = process.env.BENCH_QUICK === "1";

/** Distinct parameter values in the flood: 100,000, 2,000 in a quick run, or `BENCH_FLOOD_KEYS`. */
function floodKeys(): number {
  const raw = process.env.BENCH_FLOOD_KEYS;
  if (raw === undefined || raw === "") return QUICK ? 2000 : 100_000;
  const keys = Number(raw);
  if (!Number.isInteger(keys) || keys <= 0)
    throw new Error(`BENCH_FLOOD_KEYS must be a positive integer, not "${raw}"`);
  return keys;
}

/** What one `npm run bench` measures; kept small enough for about six minutes on two cores. */
export const PLAN = {
  /** Scripted upstream latency of each fragment on `/`, ms. */
  latencies: { a: 300, b: 1200, c: 3000 } as Record<string, number>,
  /** Cold loads of each raw response. */
  coldRuns: QUICK ? 1 : 3,
  /**
   * Measured browser views per network profile, after one discarded view per contender. Fewer under 3G,
   * where every load costs seconds of emulated latency.
   */
  browserRuns: (QUICK
    ? { loopback: { cold: 1, warm: 1 }, "4G": { cold: 1, warm: 1 }, "3G": { cold: 1, warm: 1 } }
    : { loopback: { cold: 3, warm: 5 }, "4G": { cold: 3, warm: 5 }, "3G": { cold: 2, warm: 3 } }) satisfies Record<
    ProfileName,
    { cold: number; warm: number }
  >,
  /** Views of each of the four COOP combinations (warm, loopback). */
  coopRuns: QUICK ? 1 : 5,
  /** Warm page views over which store round trips are averaged. */
  trafficViews: QUICK ? 5 : 20,
  /** Fixed offered rates, page views per second: one the server keeps up with, one it cannot. */
  offeredViewRates: [60, 400],
  loadSeconds: QUICK ? 1 : 3,
  /** The CPU profile's window of warm views, at the lower offered rate. */
  profileSeconds: QUICK ? 3 : 10,
  /** Unmeasured load before each contender's measured rates, so the JIT has settled on its path. */
  loadWarmUpSeconds: 1,
  loadConnections: 10,
  /**
   * The steady load: each contender in turn, on a fresh instance, viewed at a fixed rate with a short
   * freshness, so its upstream calls per minute show how often it refreshes (the app) or reloads on expiry
   * (the seed). The rate is well under what one app instance serves (a warm view costs it about 17 ms of
   * CPU; at 50 views/s its views queued, p50 750 ms), so the latencies are not a queue's.
   */
  steady: {
    viewsPerSecond: 20,
    seconds: QUICK ? 8 : 20,
    /** Unmeasured views at the same rate before the window, once every part is cached: the JIT settles. */
    leadInSeconds: 2,
    /** The apps' settings, set in full so the report can state them; the seed's entries expire after the first. */
    cache: { CACHE_FRESH_SECONDS: 3, CACHE_GRACE_SECONDS: 30, CACHE_EAGER_REFRESH_PERCENT: 80 },
  },
  /**
   * The flood: distinct valid values of one text fragment's parameter (`/fragment/a?q=…`) asked of one
   * instance, while another visitor views the warm page.
   */
  flood: {
    keys: floodKeys(),
    /** The fragment flooded; the upstream answers each of its keys after its latency above. */
    fragment: "a",
    /**
     * Requests under way at once: past the in-flight limit, so the limit is reached and the rest are answered
     * "busy" (cheap next to a load), which is what lets 100,000 keys pass in minutes. The server is CPU-bound
     * and serves every connection from one event loop, so more connections mostly queue: on two cores, 100,000
     * keys took 349-365 s at 64 and 548 s at 32, and the visitor's median view took about twice as long at 64.
     */
    connections: 64,
    /** `UPSTREAM_MAX_IN_FLIGHT` of the flooded instance: the app's default, set so the bench knows it. */
    maxInFlight: 16,
    /** The other visitor's views of the warm page per second, quietly first, then during the flood. */
    visitorViewsPerSecond: 5,
    quietSeconds: QUICK ? 4 : 20,
    /** How long resident memory is still watched once the flood is over. */
    afterSeconds: 5,
  },
  /** Cold keys each asked of three instances at once for the cross-instance round-trip figure. */
  sharedColdKeys: QUICK ? 2 : 5,
  sharedColdLatencyMs: 300,
  /**
   * The heap limit the README tells operators to set: the in-process tier's CACHE_MAX_BYTES (64 MiB by
   * default) plus room for Next and React. Without one, V8 lets a busy heap grow far past the live data
   * (to a quarter of the machine's memory) before it collects hard.
   */
  floodHeapMiB: 192,
  /** The documented bound for one instance with that heap limit, during and after the flood. */
  memoryBoundMiB: 256,
  /** Streamed first contentful paint may be this many times the static floor's. */
  paintOverFloor: 1.25,
  /** Server CPU per warm streamed view may be this many times the bare Next page's. */
  cpuOverFloor: 1.5,
  /** …and this many times the seed's (the Express baseline, a skeleton and its fragment requests). */
  cpuOverSeed: 2,
} as const;

export const FRAGMENT_NAMES = Object.keys(PLAN.latencies);
export const SLOWEST_MS = Math.max(...Object.values(PLAN.latencies));
