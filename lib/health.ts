import "server-only";
import type { BusStats, CacheStats } from "./cache";
import { processGlobal } from "./process-global";
import { getRuntime } from "./runtime";
import type { StoreStats } from "./stores/guarded";
import type { StoreKind } from "./stores/store";

export type Counters = CacheStats & {
  storeErrors: number;
  storeSkipped: number;
  busEvents: number;
  busResumed: number;
};

/** Whether the shared store answered a real round trip, and how long it took (ms). */
export type StoreProbe = { store: "memory" | StoreKind; ok: boolean; ms: number; error?: string };

/** The cache's state at one moment: its circuit, its in-process tier, its bus and its counters. */
export type CacheSnapshot = {
  breaker: "closed" | "open" | "half-open" | "none";
  local: { entries: number; bytes: number };
  /** `off`: no shared store, or the bus is switched off (CACHE_BUS). */
  bus: BusStats | { state: "off" };
  counters: Counters;
};

export type Health = StoreProbe & CacheSnapshot;

/** How long a probe's answer is reused, so load balancers and dashboards polling often cost Redis one PING a second. */
const PROBE_REUSE_MS = 1000;

const NO_STORE_STATS: StoreStats = { errors: 0, skipped: 0 };

/** The cache's state now, read in one go, so the figures reported together belong together. */
export function cacheSnapshot(): CacheSnapshot {
  const { cache, shared, local } = getRuntime();
  const store = shared?.stats ?? NO_STORE_STATS;
  return {
    breaker: shared?.breakerState ?? "none",
    local: { entries: local.size, bytes: local.bytes },
    bus: cache.busStats ? { ...cache.busStats } : { state: "off" },
    counters: {
      ...cache.stats,
      storeErrors: store.errors,
      storeSkipped: store.skipped,
      busEvents: cache.busStats?.events ?? 0,
      busResumed: cache.busStats?.resumed ?? 0,
    },
  };
}

/**
 * Whether the store answers a real round trip, asked at most once a second; concurrent callers share one
 * probe. The embedded store lives in this process: it answers whenever the process does.
 */
export function probeStore(): Promise<StoreProbe> {
  const now = performance.now();
  const probes = processGlobal("workerless.probes", (): { last?: { at: number; probe: Promise<StoreProbe> } } => ({}));
  if (probes.last && now - probes.last.at < PROBE_REUSE_MS) return probes.last.probe;
  probes.last = { at: now, probe: pingStore() };
  return probes.last.probe;
}

async function pingStore(): Promise<StoreProbe> {
  const { shared } = getRuntime();
  if (!shared) return { store: "memory", ok: true, ms: 0 };
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  try {
    await shared.ping();
    return { store: shared.kind, ok: true, ms: ms() };
  } catch (error) {
    return { store: shared.kind, ok: false, ms: ms(), error: error instanceof Error ? error.name : "Error" };
  }
}

/** The detailed view: the store probe, the circuit, the in-process tier and the cache's counters. */
export async function health(): Promise<Health> {
  const probe = await probeStore();
  return { ...probe, ...cacheSnapshot() };
}
