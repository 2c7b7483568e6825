import "server-only";
import { after } from "next/server";
import { Cache, LoadTimeoutError } from "./cache";
import { CircuitBreaker } from "./circuit-breaker";
import { getConfig, type Config } from "./config";
import type { FragmentResult } from "./fragment-result";
import { describeError, logEvent } from "./log";
import { GuardedStore } from "./stores/guarded";
import { MemoryStore } from "./stores/memory";
import { UpstashStore } from "./stores/upstash";
import { TimeoutError, withTimeout } from "./timeout";
import { createUpstream, UpstreamError, type Upstream } from "./upstream";

/** Versioned so a change of entry format never reads old entries. */
const NAMESPACE = "workerless:v1";


class FragmentDeadlineError extends TimeoutError {
  override name = "FragmentDeadlineError";
}

type Runtime = { config: Config; cache: Cache; upstream: Upstream; local: MemoryStore; shared?: GuardedStore };

function createRuntime(config: Config): Runtime {
  const local = new MemoryStore({ maxEntries: config.cacheMaxEntries, maxBytes: config.cacheMaxBytes });
  const shared =
    config.store.kind === "upstash"
      ? new GuardedStore(
          new UpstashStore({ url: config.store.url, token: config.store.token, timeoutMs: config.redisTimeoutMs }),
          {
            timeoutMs: config.redisTimeoutMs,
            breaker: new CircuitBreaker({ failureThreshold: 5, coolDownMs: config.redisCoolDownMs }),
          },
        )
      : undefined;
  const cache = new Cache({
    local,
    shared,
    namespace: NAMESPACE,
    freshMs: config.cacheTtlSeconds * 1000,
    graceMs: config.cacheGraceSeconds * 1000,
    loadTimeoutMs: config.upstreamTimeoutMs,
    maxValueBytes: config.cacheMaxValueBytes,
    backoffBaseMs: 1000,
    backoffMaxMs: 30_000,
    // On Vercel this maps to waitUntil, so a refresh outlives the response that started it.
    keepAlive: (task) => after(() => task),
  });
  return { config, cache, upstream: createUpstream(config.upstream), local, shared };
}

// Next bundles each route separately, so a module-level singleton would give the page and the
// `/fragment` route caches of their own; one per process lives on globalThis instead.
const RUNTIME = Symbol.for("workerless.runtime");
const processGlobal = globalThis as typeof globalThis & { [RUNTIME]?: Runtime };

function getRuntime(): Runtime {
  processGlobal[RUNTIME] ??= createRuntime(getConfig());
  return processGlobal[RUNTIME];
}

/** The seed's `slowFind`: the cached answer of the slow external API for `query`. */
export function slowFind(query: string) {
  const { cache, upstream } = getRuntime();
  return cache.get(query, (signal) => upstream(query, signal));
}

/** One fragment's data, or "pending" once the fragment deadline passes (the lookup goes on and fills the cache). */
export async function findFragment(name: string): Promise<FragmentResult> {
  const { config } = getRuntime();
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const lookup = await withTimeout(
      slowFind(name),
      config.fragmentTimeoutMs,
      () => new FragmentDeadlineError(`fragment "${name}" passed its ${config.fragmentTimeoutMs} ms deadline`),
    );
    return { status: "ready", name, value: lookup.value, source: lookup.source, ms: elapsed() };
  } catch (error) {
    if (error instanceof FragmentDeadlineError) return { status: "pending", name, ms: elapsed() };
    // Upstream failures were logged once where they happened; anything else is logged here.
    if (!(error instanceof UpstreamError || error instanceof LoadTimeoutError)) {
      logEvent("error", "fragment_error", { key: name, error: describeError(error) });
    }
    return { status: "error", name, ms: elapsed() };
  }
}

export type StoreHealth = { store: "memory" | "upstash"; ok: boolean; ms: number; breaker?: string; error?: string };

/** A real round trip to the store in use, with a short budget. */
export async function storeHealth(): Promise<StoreHealth> {
  const { shared, local } = getRuntime();
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  if (!shared) {
    const now = Date.now();
    local.set("health:probe", { value: "ok", createdAt: now, freshUntil: now + 1000, staleUntil: now + 1000 }, now);
    return { store: "memory", ok: local.get("health:probe")?.value === "ok", ms: ms() };
  }
  try {
    await shared.ping();
    return { store: shared.kind, ok: true, ms: ms(), breaker: shared.breakerState };
  } catch (error) {
    return { store: shared.kind, ok: false, ms: ms(), breaker: shared.breakerState, error: error instanceof Error ? error.name : "Error" };
  }
}

export function fragmentNames(): string[] {
  return getConfig().fragments;
}
