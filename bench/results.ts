import type { ColdResults } from "./phases/cold";
import type { SharedColdKey } from "./phases/shared-cold";
import type { WarmResults } from "./phases/warm";
import type { FloodResult } from "./scenarios/flood";
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

export type Target = { target: string; measured: string; met: boolean };

/** Everything one run measured; `latest.json` holds exactly this. */
export type Results = {
  finishedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; node: string };
  upstreamLatenciesMs: Record<string, number>;
  cold: ColdResults;
  warm: WarmResults;
  /** By the store the three instances share: "Redis" through the bridge, "Redis over TCP". */
  sharedColdKey: Record<string, SharedColdKey>;
  memory: FloodResult & { heapLimitMiB: number; boundMiB: number };
  targets: Target[];
};
