import { Cache, type Policy } from "../lib/cache";
import { CircuitBreaker } from "../lib/circuit-breaker";
import { GuardedStore } from "../lib/stores/guarded";
import { MemoryStore } from "../lib/stores/memory";
import type { StoreBackend } from "./store-backends";

// For the tests of a fleet of caches (bus.test.ts, failover.test.ts): instances as the app makes them.

/** A policy that keeps values an hour and lets every load through. */
export const FLEET_POLICY: Policy = {
  freshMs: 60_000,
  graceMs: 300_000,
  failSafeMs: 0,
  notFoundMs: 60_000,
  eagerRefresh: 0,
  http: { obey: false, minFreshMs: 1000, maxFreshMs: 86_400_000 },
  upstreamTimeoutMs: 5000,
  tags: [],
  group: { name: "fleet", maxInFlight: 1000 },
};

/**
 * One app instance on `backend`: its own in-process tier, its own client behind the guard, and its bus with a
 * 200 ms heartbeat. `keepAlive` collects the work that outlives a lookup (store writes), as `after()` runs it.
 */
export function fleetInstance(
  backend: StoreBackend,
  {
    namespace,
    timeoutMs,
    keepAlive,
  }: { namespace: string; timeoutMs: number; keepAlive: (task: Promise<unknown>) => void },
): Cache {
  return new Cache({
    local: new MemoryStore({ maxEntries: 10_000, maxBytes: 1 << 22 }),
    shared: new GuardedStore(backend.store(timeoutMs), {
      timeoutMs,
      breaker: new CircuitBreaker({ failureThreshold: 5, coolDownMs: 200 }),
    }),
    namespace,
    maxValueBytes: 4096,
    backoffBaseMs: 1000,
    backoffMaxMs: 8000,
    bus: { heartbeatMs: 200 },
    keepAlive,
    listeners: [],
  });
}
