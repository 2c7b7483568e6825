import type { StaticFloorDocument } from "./baselines/static-floor";
import type { UpstreamFigures } from "./scenarios/counting-upstream";
import type { FloodResult } from "./scenarios/flood";
import type { LoadResult } from "./scenarios/load";
import type { ProfileSummary } from "./scenarios/profile-summary";
import type { NetworkProfile } from "./scenarios/network-profiles";
import type { RssFigures } from "./scenarios/hostile-clients";
import type { Traffic } from "./scenarios/round-trips";
import type { VisitorFigures } from "./scenarios/visitor";
import type { Percentiles, Spread, Tail } from "./summary";

export type RawSpread = {
  firstByte: Spread;
  fragments: Record<string, Spread>;
  done: Spread;
  /** Per fragment: when its upstream call began after the request, and its HTML arrived after the answer. */
  paths?: Record<string, { called: Spread; afterAnswer: Spread }>;
};

export type ViewSpread = {
  allVisible: Spread;
  fragments: Record<string, Spread>;
  firstContentfulPaint: Spread;
  /** Loads in which a spinner was painted, of `runs`. */
  spinnerLoads: number;
  runs: number;
  maxLayoutShift: number;
};

/** Browser views by network profile name, then by contender. */
export type ProfileViews = Record<string, Record<string, ViewSpread>>;

export type ColdResults = {
  raw: Record<string, RawSpread>;
  browser: ProfileViews;
  trafficPerView: Record<string, { commands: Spread; roundTrips: Spread }>;
};

/** The streamed page, warm, on loopback: reached in a fresh tab or from a same-origin page, with or without COOP. */
export type CoopView = { navigation: "fresh tab" | "after a same-origin page"; coop: boolean; view: ViewSpread };

/** A CPU profile of warm views of `/` at a fixed offered rate, summarised by module. */
export type WarmProfile = ProfileSummary & { offeredViews: number; seconds: number; load: LoadResult };

export type WarmResults = {
  browser: ProfileViews;
  coop: CoopView[];
  throughput: Record<string, LoadResult[]>;
  trafficPerView: Record<string, Traffic>;
  /** Where a warm view's CPU goes, with the page cache and without. */
  profile: Record<string, WarmProfile>;
};

/** How the steady load's apps cache, as their environment sets it; none sets `UPSTREAM_RATE`. */
export type SteadyCache = {
  CACHE_FRESH_SECONDS: number;
  CACHE_GRACE_SECONDS: number;
  CACHE_EAGER_REFRESH_PERCENT: number;
};

/** One contender's window of the steady load: its views, and the upstream calls that arrived meanwhile. */
export type SteadyRun = VisitorFigures & {
  /** Views that arrived whole (any status) per second of the window. */
  viewsPerSecond: number;
  upstreamCalls: number;
  upstreamCallsPerMinute: number;
  /** By fragment, calls per minute. */
  callsPerMinuteByFragment: Record<string, number>;
  /**
   * Its store traffic over the window, where `Store round trips` counts it (the bridge; redis-server and the
   * TCP proxy; for the seed, redis-server): heartbeats and every refresh included.
   */
  store: Traffic & { commandsPerMinute: number; roundTripsPerView: number };
};

/** Upstream calls per minute: in all, and by fragment. */
export type IdealCalls = { callsPerMinute: number; byFragment: Record<string, number> };

/** Each contender, in turn, viewed at a fixed rate with a short freshness: how often it calls the upstream. */
export type SteadyResults = {
  viewsPerSecond: number;
  /** The measured window of each contender, after its lead-in. */
  seconds: number;
  leadInSeconds: number;
  /** Parts per page view, each its own upstream query. */
  fragments: number;
  app: SteadyCache;
  /** The seed's entries expire this long after they were written; no grace, no single flight. */
  seedExpirySeconds: number;
  /** One eager refresh per part every freshness × eager share: 60 ÷ that, per part. */
  ideal: IdealCalls;
  /**
   * The same, each period counted from when the previous refresh's answer arrived, as the app counts an
   * entry's age: 60 ÷ (that share of the freshness + the part's upstream latency) per part.
   */
  idealWithLatency: IdealCalls;
  runs: Record<string, SteadyRun>;
};

export type VisitKind = "first" | "return";

/** A contender's visits of one kind under one condition: median and p90 of each figure, ms or bytes. */
export type VisitFigures = {
  firstContentfulPaint: Tail;
  interactive: Tail;
  totalBlockingTime: Tail;
  longTasks: Tail;
  transferredBytes: Tail;
};

/** One network profile and CPU slowdown: each contender's first and return visits. */
export type VisitCondition = {
  profile: string;
  network: string;
  cpuSlowdown: number;
  contenders: Record<string, Record<VisitKind, VisitFigures>>;
};

/** First visits (an empty browser cache) beside return visits of the warm page, Lighthouse-style. */
export type VisitResults = {
  runs: number;
  /** Quiet after the load event (no long task, no request under way) that ends a view. */
  quietMs: number;
  conditions: VisitCondition[];
};

/** Lags of a set of trials, ms: percentiles (nearest rank) over every measurement, `capped` of them cut short. */
export type Lags = Percentiles & {
  /** Measurements where the cap came first: counted at the cap. */
  capped: number;
};

/**
 * How soon a change on one instance showed on others, ms after it: until the first view that showed it was
 * sent (a view made then no longer shows the old value), and until that view's answer was read.
 */
export type ChangeLags = Lags & { answered: Percentiles };

/** The shared stores the fleet-bus phase runs on side by side: Redis through the REST bridge, Redis over TCP. */
export type BusStore = "rest" | "tcp";

/** Three instances on one store, bus on: a purge, a refresh and a load on one, seen from the others. */
export type FleetStoreRun = {
  /** Purge on one → the next view on each of two others misses: 2 per trial. */
  purge: ChangeLags;
  /** A refresh filled by one → visible on each of two others: 2 per trial. */
  refresh: ChangeLags;
  /** A lookup waiting on another instance's load of a slow upstream: its answer after the loader's. */
  waiter: Lags;
  /** Of the waiter trials, those whose second instance said it waited on the other's load. */
  waited: number;
};

/** Every pubsub connection killed while two instances serve pages. */
export type SubscriptionsKilled = {
  /** Connections `CLIENT KILL TYPE pubsub` closed. */
  killed: number;
  views: VisitorFigures;
  /** Per instance: whether it reported the bus down, ms from the kill until it reported it up with `resumed` ≥ 1, its `lastGapMs`. */
  instances: Array<{ sawDown: boolean; resumedAfterMs?: number; lastGapMs?: number }>;
};

/** A Cluster master SIGKILLed while two instances serve pages: its replica is promoted. */
export type ClusterFailover = {
  /** The page on both instances from the kill on, each every 100 ms: `failed` is a status other than 200, or none. */
  views: VisitorFigures;
  /** From the kill until a refresh was stored on the promoted replica; undefined: not within the cap. */
  cachedAgainMs?: number;
  /** From the kill until both instances reported their bus up again, when one reported it down. */
  busBackMs?: number;
  busDownSeen: boolean;
};

/** The fleet's bus (issue 22). */
/** Warm views at a steady rate on one instance: what they cost the store, the bus's heartbeats included. */
export type WarmTraffic = { views: number; failed: number; commandsPerMinute: number; roundTripsPerView: number };

export type FleetBusResults = {
  /** Warm views at `PLAN.fleetBus.warmTraffic`'s rate, by store, with the bus on and off. */
  warmTraffic: { viewsPerSecond: number; seconds: number } & Record<BusStore, Record<"on" | "off", WarmTraffic>>;
  trials: number;
  waiterTrials: number;
  waiterLatencyMs: number;
  stores: Record<BusStore, FleetStoreRun>;
  /** Through the bridge with CACHE_BUS=off: today's trust window and polling, capped. */
  withoutBus: { trials: number; capMs: number; purge: ChangeLags; waiterTrials: number; waiter: Lags; waited: number };
  subscriptionsKilled: Record<BusStore, SubscriptionsKilled>;
  failover: ClusterFailover;
};

export type SharedColdKey = { perKey: Traffic; upstreamCallsPerKey: number };

/** An instance's own figures: its "busy" count and V8 heap (`/api/metrics`), its in-process tier (`/api/health`). */
export type InstanceState = {
  busy: number;
  localEntries: number;
  localMiB: number;
  /** Used and reserved by V8's heap (garbage not yet collected included). */
  heapUsedMiB: number;
  heapTotalMiB: number;
};

/** One instance flooded with distinct valid parameter values, run with the documented heap limit. */
export type MemoryResult = {
  heapLimitMiB: number;
  boundMiB: number;
  /** The instance's `UPSTREAM_MAX_IN_FLIGHT`. */
  maxInFlight: number;
  flood: FloodResult;
  /**
   * Resident memory, MiB: from the flood's start to its end, then over the seconds after it (sampled every
   * 100 ms), and once a second from the flood's start to the end of those seconds.
   */
  rss: { during: RssFigures; after: RssFigures & { seconds: number }; perSecond: number[] };
  /** The upstream's calls from the flood's start to its end. */
  upstream: UpstreamFigures;
  /** The instance's own count of "busy" answers (`workerless_cache_busy_total`) over the flood. */
  busyCounted: number;
  /** What the instance said of itself before the flood, and once the seconds after it were over. */
  instance: { before: InstanceState; after: InstanceState };
  /** Another visitor's views of the warm page, quietly before the flood and during it, same instance. */
  visitor: { path: string; viewsPerSecond: number; quiet: VisitorFigures; duringFlood: VisitorFigures };
};

export type TargetStatus = "met" | "missed";

export type Target = { target: string; measured: string; status: TargetStatus };

/** Everything one run measured; `latest.json` holds exactly this. */
export type Results = {
  finishedAt: string;
  durationSeconds: number;
  /** A `BENCH_QUICK=1` run: one view per figure, short load phases; a check of the bench, not figures to quote. */
  quick: boolean;
  machine: { cpus: number; cpuModel: string; node: string };
  upstreamLatenciesMs: Record<string, number>;
  /** Each profile with the number of cold and warm views measured under it. */
  networkProfiles: Array<NetworkProfile & { coldRuns: number; warmRuns: number }>;
  staticFloor: StaticFloorDocument;
  cold: ColdResults;
  warm: WarmResults;
  firstVisit: VisitResults;
  steady: SteadyResults;
  /** By the store the three instances share: "Redis" through the bridge, "Redis over TCP". */
  sharedColdKey: Record<string, SharedColdKey>;
  memory: MemoryResult;
  fleetBus: FleetBusResults;
  targets: Target[];
};
