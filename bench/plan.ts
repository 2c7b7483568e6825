import type { ProfileName } from "./scenarios/network-profiles";

/** `BENCH_QUICK=1`: one run per view and short load phases, to check the bench itself, not to quote. */
export const QUICK = process.env.BENCH_QUICK === "1";

function floodKeys(): number | undefined {
  const raw = process.env.BENCH_FLOOD_KEYS;
  if (raw === undefined || raw === "") return undefined;
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
  /** Unmeasured load before each contender's measured rates, so the JIT has settled on its path. */
  loadWarmUpSeconds: 1,
  loadConnections: 10,
  /**
   * Distinct cold keys asked of one instance for the memory figure, or none: Next serves 250-600 cold
   * keys/s on two cores, so `BENCH_FLOOD_KEYS=100000` alone takes 3-7 minutes. Any count above 10,000
   * evicts (the local tier holds 10,000 entries).
   */
  floodKeys: floodKeys(),
  /** Cold keys each asked of three instances at once for the cross-instance round-trip figure. */
  sharedColdKeys: QUICK ? 2 : 5,
  sharedColdLatencyMs: 300,
  /**
   * The heap limit the README tells operators to set: the in-process tier's CACHE_MAX_BYTES (64 MiB by
   * default) plus room for Next and React. Without one, V8 lets a busy heap grow far past the live data
   * (to a quarter of the machine's memory) before it collects hard.
   */
  floodHeapMiB: 192,
  /** The documented bound for one instance with that heap limit, after the flood. */
  memoryBoundMiB: 256,
  /** Streamed first contentful paint may be this many times the static floor's. */
  paintOverFloor: 1.25,
  /** Server CPU per warm streamed view may be this many times the bare Next page's. */
  cpuOverFloor: 1.5,
} as const;

export const FRAGMENT_NAMES = Object.keys(PLAN.latencies);
export const SLOWEST_MS = Math.max(...Object.values(PLAN.latencies));
