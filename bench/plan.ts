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
  /**
   * First and return visits of the warm page (server caches full): first paint and Lighthouse-style blocking
   * time, on loopback at full speed and on 4G with Lighthouse's 4× slower CPU. `quietMs` is how long a page
   * must be quiet after its load event (no long task, no request under way) before its time to interactive is
   * taken: Lighthouse waits 5 s; 1 s keeps the phase at about two minutes.
   */
  visits: {
    runs: QUICK ? 1 : 5,
    quietMs: 1000,
    conditions: [
      { profile: "loopback", cpuSlowdown: 1 },
      { profile: "4G", cpuSlowdown: 4 },
    ] satisfies Array<{ profile: ProfileName; cpuSlowdown: number }>,
  },
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
  /**
   * The fleet's bus (issue 22), on each shared store: a purge or a refresh on one instance reaching two
   * others, a lookup waiting on another instance's load, the subscriptions killed, a Cluster failover. The
   * "bus off" trials show today's bounds (the 5 s trust window, polling 25 → 250 ms) and are capped.
   */
  fleetBus: {
    /** Purge and refresh trials per store, each seen by two other instances. */
    trials: QUICK ? 10 : 50,
    /** Purge trials with CACHE_BUS=off (through the bridge), each wait capped. */
    trialsWithoutBus: QUICK ? 2 : 5,
    capWithoutBusMs: 7000,
    /** A view that has not seen a change with the bus on after this long fails the run: something broke. */
    capMs: 3000,
    /** Pause between the capped views of the bus-off trials: they may last the whole trust window. */
    pauseWithoutBusMs: 20,
    /** Lookups waiting on another instance's load: per store, then with CACHE_BUS=off; this many at once. */
    waiterTrials: QUICK ? 5 : 50,
    waiterTrialsWithoutBus: QUICK ? 5 : 10,
    waitersAtOnce: 5,
    waiterLatencyMs: 1000,
    /** The second instance asks this long after the first, so it finds the first one's lease. */
    waiterDelayMs: 200,
    /** Views while the subscriptions are killed: per instance, for this long, the kill this long after the start. */
    killViewsPerSecond: 20,
    killSeconds: 8,
    killAfterMs: 2000,
    /** How long the bench waits for the bus to be back, or for the promoted master's slots to be cached again. */
    resumeCapMs: 15_000,
    failoverCapMs: 30_000,
    /** Warm views on one instance at the steady load's rate, bus on and off: what they cost the store. */
    warmTraffic: { viewsPerSecond: 20, seconds: QUICK ? 5 : 15 },
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
