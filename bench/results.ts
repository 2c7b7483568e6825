import type { StaticFloorDocument } from "./baselines/static-floor";
import type { FloodResult } from "./scenarios/flood";
import type { LoadResult } from "./scenarios/load";
import type { NetworkProfile } from "./scenarios/network-profiles";
import type { Traffic } from "./scenarios/round-trips";
import type { Spread } from "./summary";

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

export type WarmResults = {
  browser: ProfileViews;
  coop: CoopView[];
  throughput: Record<string, LoadResult[]>;
  trafficPerView: Record<string, Traffic>;
};

export type SharedColdKey = { perKey: Traffic; upstreamCallsPerKey: number };

export type MemoryResult = FloodResult & { heapLimitMiB: number; boundMiB: number };

export type TargetStatus = "met" | "missed" | "not run";

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
  /** By the store the three instances share: "Redis" through the bridge, "Redis over TCP". */
  sharedColdKey: Record<string, SharedColdKey>;
  /** Null unless `BENCH_FLOOD_KEYS` was set. */
  memory: MemoryResult | null;
  targets: Target[];
};
