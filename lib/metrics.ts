import "server-only";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { cacheSnapshot, type CacheSnapshot, type Counters } from "./health";
import { PAGE_CACHE_SLOT, type PageCache } from "./page-cache/page-cache";
import { existingProcessGlobal, processGlobal } from "./process-global";

const COUNTERS: Array<[keyof Counters, string, string]> = [
  ["hits", "workerless_cache_hits_total", "Lookups answered by a fresh cached value."],
  ["stale", "workerless_cache_stale_total", "Lookups answered by a stale value while one refresh ran."],
  ["misses", "workerless_cache_misses_total", "Lookups that found no usable value and started a load."],
  [
    "coalesced",
    "workerless_cache_coalesced_total",
    "Lookups that waited for a load already in flight, here or on another instance.",
  ],
  ["loads", "workerless_upstream_calls_total", "Calls to the slow upstream API."],
  ["loadErrors", "workerless_upstream_errors_total", "Upstream calls that failed."],
  ["loadTimeouts", "workerless_upstream_timeouts_total", "Upstream calls abandoned past UPSTREAM_TIMEOUT_MS."],
  [
    "skippedLoads",
    "workerless_upstream_backoff_total",
    "Loads not attempted because the key is backing off after a failure, here or on another instance.",
  ],
  [
    "busy",
    "workerless_cache_busy_total",
    "Lookups answered busy at once, with nothing cached: their source had its most loads under way here (UPSTREAM_MAX_IN_FLIGHT).",
  ],
  [
    "eagerRefreshes",
    "workerless_cache_eager_refreshes_total",
    "Refreshes started in the background while the value was still fresh, past its share of freshness.",
  ],
  [
    "revalidated",
    "workerless_upstream_not_modified_total",
    "Refreshes the upstream answered 304 Not Modified: the value held was renewed without a transfer.",
  ],
  [
    "failSafe",
    "workerless_cache_fail_safe_total",
    "Lookups answered with a value past its grace, kept for fail-safe, because its refresh failed.",
  ],
  [
    "gateClosed",
    "workerless_upstream_gate_closed_total",
    "Loads that did not call: their source's upstream asked to wait (Retry-After), or the source was at its rate.",
  ],
  [
    "uncacheable",
    "workerless_cache_uncacheable_total",
    "Loaded values served but not cached for being over CACHE_MAX_VALUE_BYTES as JSON; their key backs off.",
  ],
  ["storeErrors", "workerless_store_errors_total", "Redis calls that failed or ran out of time."],
  ["storeSkipped", "workerless_store_skipped_total", "Redis calls skipped while the circuit was open."],
  [
    "busEvents",
    "workerless_bus_events_total",
    "Changes heard on the fleet's bus: fills, renewals, failures and purges, here or on other instances.",
  ],
  [
    "busResumed",
    "workerless_bus_resumed_total",
    "Times the bus came back after being down; every in-process copy was then rechecked on its next use.",
  ],
];

/** The snapshot the scrape under way reports: every metric of one scrape reads the same one. */
let scraped: CacheSnapshot | undefined;
const current = () => (scraped ??= cacheSnapshot());

function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "workerless_" });
  for (const [field, name, help] of COUNTERS) {
    new Counter({
      name,
      help,
      registers: [registry],
      // The cache keeps the numbers; a scrape copies them.
      collect() {
        this.reset();
        this.inc(current().counters[field]);
      },
    });
  }
  new Gauge({
    name: "workerless_store_circuit_open",
    help: "1 while Redis is skipped after repeated failures, else 0.",
    registers: [registry],
    collect() {
      this.set(current().breaker === "open" ? 1 : 0);
    },
  });
  new Gauge({
    name: "workerless_bus_connected",
    help: "1 while this instance hears the fleet's bus (its own heartbeat comes back on every channel), else 0.",
    registers: [registry],
    collect() {
      this.set(current().bus.state === "up" ? 1 : 0);
    },
  });
  new Gauge({
    name: "workerless_bus_last_gap_seconds",
    help: "How long the bus's last outage lasted, from the last heartbeat heard before it to the first after.",
    registers: [registry],
    collect() {
      const { bus } = current();
      this.set("lastGapMs" in bus && bus.lastGapMs !== undefined ? bus.lastGapMs / 1000 : 0);
    },
  });
  new Gauge({
    name: "workerless_local_entries",
    help: "Entries held by the in-process tier.",
    registers: [registry],
    collect() {
      this.set(current().local.entries);
    },
  });
  new Gauge({
    name: "workerless_local_bytes",
    help: "Bytes held by the in-process tier, as it counts them against CACHE_MAX_BYTES.",
    registers: [registry],
    collect() {
      this.set(current().local.bytes);
    },
  });
  registerPageCacheMetrics(registry);
  return registry;
}

/** The page cache's figures: zero until the proxy made it (and always, when it is off). */
function registerPageCacheMetrics(registry: Registry): void {
  const pages = () => existingProcessGlobal<PageCache>(PAGE_CACHE_SLOT);
  new Counter({
    name: "workerless_page_cache_served_total",
    help: "Page views answered from a kept page, rendering nothing: their parts' lookups are not counted as hits.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pages()?.stats.served ?? 0);
    },
  });
  new Counter({
    name: "workerless_page_cache_kept_total",
    help: "Pages rendered to be kept in the page cache.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pages()?.stats.kept ?? 0);
    },
  });
  new Gauge({
    name: "workerless_page_cache_bytes",
    help: "Bytes of kept pages, as counted against PAGE_CACHE_MAX_BYTES.",
    registers: [registry],
    collect() {
      this.set(pages()?.bytes ?? 0);
    },
  });
}

function metricsRegistry(): Registry {
  return processGlobal("workerless.metrics", createRegistry);
}

/** One scrape: the cache's metrics from one snapshot of it, and the process's own. */
export async function scrapeMetrics(): Promise<{ text: string; contentType: string }> {
  const registry = metricsRegistry();
  scraped = cacheSnapshot();
  try {
    return { text: await registry.metrics(), contentType: registry.contentType };
  } finally {
    scraped = undefined;
  }
}
