import "server-only";
import type { CacheStats } from "./cache";
import { getRuntime } from "./runtime";
import type { StoreStats } from "./stores/guarded";
import type { StoreKind } from "./stores/store";

export type Counters = CacheStats & { storeErrors: number; storeSkipped: number };

export type Health = {
  store: "memory" | StoreKind;
  ok: boolean;
  /** Round trip of the probe, in ms. */
  ms: number;
  breaker: "closed" | "open" | "half-open" | "none";
  error?: string;
  local: { entries: number; bytes: number };
  counters: Counters;
};

const NO_STORE_STATS: StoreStats = { errors: 0, skipped: 0 };

/** What the cache has done since this process started. */
export function counters(): Counters {
  const { cache, shared } = getRuntime();
  const store = shared?.stats ?? NO_STORE_STATS;
  return { ...cache.stats, storeErrors: store.errors, storeSkipped: store.skipped };
}

/** Which store is in use and whether it answers a real round trip now, with the cache's counters. */
export async function health(): Promise<Health> {
  const { shared, local } = getRuntime();
  const started = performance.now();
  const base = { local: { entries: local.size, bytes: local.bytes }, counters: counters() };
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  if (!shared) {
    const now = Date.now();
    local.set("health:probe", { value: "ok", createdAt: now, freshUntil: now + 1000, staleUntil: now + 1000 }, now);
    const ok = local.get("health:probe")?.value === "ok";
    local.delete("health:probe");
    return { store: "memory", ok, ms: ms(), breaker: "none", ...base };
  }
  try {
    await shared.ping();
    return { store: shared.kind, ok: true, ms: ms(), breaker: shared.breakerState, ...base };
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    return { store: shared.kind, ok: false, ms: ms(), breaker: shared.breakerState, error: name, ...base };
  }
}
