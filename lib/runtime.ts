import "server-only";
import { after } from "next/server";
import { Cache } from "./cache";
import { CircuitBreaker } from "./circuit-breaker";
import { getConfig, type Config } from "./config";
import { existingProcessGlobal, processGlobal } from "./process-global";
import { GuardedStore } from "./stores/guarded";
import { MemoryStore } from "./stores/memory";
import { RedisStore } from "./stores/redis";
import type { SharedStore } from "./stores/store";
import { UpstashStore } from "./stores/upstash";
import { createUpstream, type Upstream } from "./upstream";

/** Everything a request needs, built once per process from the configuration. */
export type Runtime = { config: Config; cache: Cache; upstream: Upstream; local: MemoryStore; shared?: GuardedStore };

function createSharedStore({ store, redisTimeoutMs: timeoutMs }: Config): SharedStore | undefined {
  switch (store.kind) {
    case "memory":
      return undefined;
    case "upstash":
      return new UpstashStore({ url: store.url, token: store.token, timeoutMs });
    case "redis":
    case "redis-cluster":
      return new RedisStore({ target: store, timeoutMs });
  }
}

function createRuntime(config: Config): Runtime {
  const local = new MemoryStore({ maxEntries: config.cacheMaxEntries, maxBytes: config.cacheMaxBytes });
  const store = createSharedStore(config);
  const shared = store
    ? new GuardedStore(store, {
        timeoutMs: config.redisTimeoutMs,
        breaker: new CircuitBreaker({ failureThreshold: 5, coolDownMs: config.redisCoolDownMs }),
      })
    : undefined;
  const cache = new Cache({
    local,
    shared,
    localTrustMs: config.cacheLocalTrustSeconds * 1000,
    ...(config.cacheBus && { bus: { heartbeatMs: config.cacheBusHeartbeatMs } }),
    maxValueBytes: config.cacheMaxValueBytes,
    backoffBaseMs: 1000,
    backoffMaxMs: 30_000,
    // On Vercel this maps to waitUntil, so a refresh outlives the response that started it.
    keepAlive: (task) => after(() => task),
  });
  return { config, cache, upstream: createUpstream(config.upstream, config.http), local, shared };
}

const RUNTIME = "workerless.runtime";

export function getRuntime(): Runtime {
  return processGlobal(RUNTIME, () => createRuntime(getConfig()));
}

/**
 * The runtime if a request of this process made it, else undefined. Where code runs apart from the pages
 * (a proxy deployed on its own, as on Vercel), this process's cache is not the one the pages fill.
 */
export function existingRuntime(): Runtime | undefined {
  return existingProcessGlobal<Runtime>(RUNTIME);
}
