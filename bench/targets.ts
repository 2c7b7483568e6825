import { PLAN, SLOWEST_MS } from "./plan";
import type { BusStore, FleetBusResults, MemoryResult, Results, Target, TargetStatus, ViewSpread } from "./results";
import { round } from "./summary";

type Measured = Omit<Results, "targets">;

function at<T>(record: Record<string, T>, key: string): T {
  const value = record[key];
  if (value === undefined) throw new Error(`no result for "${key}"`);
  return value;
}

const status = (met: boolean): TargetStatus => (met ? "met" : "missed");

/** The targets, checked against one run's medians. */
export function checkTargets(results: Measured): Target[] {
  return [
    ...responseTargets(results),
    ...browserTargets(results),
    ...serverTargets(results),
    ...floodTargets(results.memory),
    warmTrafficTarget(results.fleetBus),
    ...fleetBusTargets(results.fleetBus),
  ];
}

function responseTargets(results: Measured): Target[] {
  const streamed = at(results.cold.raw, "streamed");
  const blocking = at(results.cold.raw, "blocking");
  const lastStreamed = Math.max(...Object.values(streamed.fragments).map((fragment) => fragment.median));
  const ttfbBudget = SLOWEST_MS * 0.02;
  return [
    {
      target: `cold: streamed first byte ≤ 2% of ${SLOWEST_MS} ms (${ttfbBudget} ms)`,
      measured: `${streamed.firstByte.median} ms`,
      status: status(streamed.firstByte.median <= ttfbBudget),
    },
    {
      target: `cold: streamed last fragment ≤ ${SLOWEST_MS} + 50 ms`,
      measured: `${lastStreamed} ms`,
      status: status(lastStreamed <= SLOWEST_MS + 50),
    },
    {
      target: `cold: blocking first byte ≈ the slowest latency (${SLOWEST_MS} ms)`,
      measured: `${blocking.firstByte.median} ms`,
      status: status(blocking.firstByte.median >= SLOWEST_MS && blocking.firstByte.median <= SLOWEST_MS + 200),
    },
  ];
}

/** Per profile and phase, from views measured side by side: against the seed, and against the static floor. */
function browserTargets(results: Measured): Target[] {
  const cases = results.networkProfiles.flatMap(({ name: profile }) =>
    (["cold", "warm"] as const).map((phase) => {
      const views = at(results[phase].browser, profile);
      const of = (contender: string) => at<ViewSpread>(views, contender);
      return { label: `${profile}, ${phase}`, streamed: of("streamed"), seed: of("seed"), floor: of("static floor") };
    }),
  );
  const allVisible = cases.map(({ label, streamed, seed }) => ({
    target: `browser, ${label}: streamed shows every fragment no later than seed`,
    measured: `${streamed.allVisible.median} vs ${seed.allVisible.median} ms`,
    status: status(streamed.allVisible.median <= seed.allVisible.median),
  }));
  const paintVsSeed = cases.map(({ label, streamed, seed }) => ({
    target: `browser, ${label}: streamed first contentful paint no later than seed's`,
    measured: `${streamed.firstContentfulPaint.median} vs ${seed.firstContentfulPaint.median} ms`,
    status: status(streamed.firstContentfulPaint.median <= seed.firstContentfulPaint.median),
  }));
  const paintVsFloor = cases.map(({ label, streamed, floor }) => {
    const ratio = streamed.firstContentfulPaint.median / floor.firstContentfulPaint.median;
    return {
      target: `browser, ${label}: streamed first contentful paint ≤ ${PLAN.paintOverFloor} × the static floor's`,
      measured: `${streamed.firstContentfulPaint.median} vs ${floor.firstContentfulPaint.median} ms (× ${round(ratio, 2)})`,
      status: status(ratio <= PLAN.paintOverFloor),
    };
  });
  const complete = results.networkProfiles.map(({ name }) => ({
    name,
    view: at<ViewSpread>(at(results.warm.browser, name), "streamed"),
  }));
  return [
    ...allVisible,
    ...paintVsSeed,
    ...paintVsFloor,
    {
      target: "browser, warm, every profile: streamed paints complete (no spinner, no layout shift)",
      measured: complete
        .map(
          ({ name, view }) => `${name}: spinner in ${view.spinnerLoads}/${view.runs} loads, CLS ${view.maxLayoutShift}`,
        )
        .join("; "),
      status: status(complete.every(({ view }) => view.spinnerLoads === 0 && view.maxLayoutShift === 0)),
    },
  ];
}

function serverTargets(results: Measured): Target[] {
  const warmTraffic = at(results.warm.trafficPerView, "streamed");
  const warmRedisOnly = at(results.warm.trafficPerView, "streamed, Redis only");
  const warmTcp = at(results.warm.trafficPerView, "streamed, Redis over TCP");
  const warmTcpRedisOnly = at(results.warm.trafficPerView, "streamed, Redis only, over TCP");
  // The highest offered rate shows capacity; the lowest, CPU per view of a server that keeps up.
  const top = (name: string) => at(results.warm.throughput, name).at(-1)!.views;
  const low = (name: string) => at(results.warm.throughput, name)[0]!.cpuPerView;
  const memory = top("streamed, memory");
  const ofMemory = (views: number) => `${views} (${Math.round((views / memory) * 100)}%)`;
  const floorCpu = low("floor, bare Next");
  const streamedCpu = low("streamed, memory");
  return [
    {
      target: "throughput: warm streamed on Redis (REST or TCP) ≥ 90% of the memory store's views/s",
      measured:
        `${ofMemory(top("streamed, Redis"))} vs ${memory} views/s; Redis only: ${ofMemory(top("streamed, Redis only"))}; ` +
        `over TCP: ${ofMemory(top("streamed, Redis over TCP"))}, Redis only ${ofMemory(top("streamed, Redis only, over TCP"))}`,
      status: status(Math.min(top("streamed, Redis"), top("streamed, Redis over TCP")) >= memory * 0.9),
    },
    {
      target: "≤ 1 Redis round trip per warm page view",
      measured:
        `${warmTraffic.roundTrips} (local tier warm), ${warmRedisOnly.roundTrips} (Redis only); ` +
        `over TCP: ${warmTcp.roundTrips}, ${warmTcpRedisOnly.roundTrips}`,
      status: status(
        [warmTraffic, warmRedisOnly, warmTcp, warmTcpRedisOnly].every((traffic) => traffic.roundTrips <= 1),
      ),
    },
    {
      target: `server CPU per warm view: streamed ≤ ${PLAN.cpuOverSeed} × the seed's, skeleton and fragment requests together (at ${PLAN.offeredViewRates[0]} views/s offered)`,
      measured: `${streamedCpu} ms with the page cache, ${low("streamed, memory, no page cache")} ms without, vs seed ${low("seed, Redis")} ms (× ${round(streamedCpu / low("seed, Redis"), 2)})`,
      status: status(streamedCpu <= low("seed, Redis") * PLAN.cpuOverSeed),
    },
    {
      target: `server CPU per warm view: streamed ≤ ${PLAN.cpuOverFloor} × the bare Next page's (at ${PLAN.offeredViewRates[0]} views/s offered)`,
      measured:
        `${streamedCpu} ms (memory; ${low("streamed, Redis")} on Redis) vs floor ${floorCpu} ms (× ${round(streamedCpu / floorCpu, 2)}); ` +
        `seed ${low("seed, Redis")} ms`,
      status: status(streamedCpu <= floorCpu * PLAN.cpuOverFloor),
    },
  ];
}

/** The flood of distinct parameter values: memory within the bound, calls within the limit, no errors. */
export function floodTargets(memory: MemoryResult): Target[] {
  const { flood, rss, upstream, maxInFlight, boundMiB, heapLimitMiB } = memory;
  const ranWhole = flood.keys >= PLAN.flood.keys;
  const flooded = upstream.maxInFlightByQuery[PLAN.flood.fragment] ?? 0;
  const perSource = Math.max(0, ...Object.values(upstream.maxInFlightByQuery));
  const other = Object.entries(flood.statuses.other).map(([code, count]) => `, ${count} × ${code}`);
  return [
    {
      target: `flood: one instance (heap limit ${heapLimitMiB} MiB) ≤ ${boundMiB} MiB RSS during and after ${PLAN.flood.keys} distinct parameter values`,
      measured:
        `${rss.during.before} MiB before, peak ${rss.during.peak} during, ${rss.after.peak} in the ${rss.after.seconds} s after` +
        (ranWhole ? "" : ` (only ${flood.keys} keys answered)`),
      status: status(ranWhole && rss.during.peak <= boundMiB && rss.after.peak <= boundMiB),
    },
    {
      target: `flood: upstream calls of one source in flight ≤ UPSTREAM_MAX_IN_FLIGHT (${maxInFlight})`,
      measured: `${flooded} (/fragment/${PLAN.flood.fragment}); every source: ${perSource}; all together ${upstream.maxInFlight}; ${upstream.calls} calls`,
      status: status(perSource <= maxInFlight),
    },
    {
      target: "flood: no errors (network errors, timeouts, 5xx other than busy 503)",
      measured: `${flood.errors} errors; ${flood.statuses.ok} × 200, ${flood.statuses.busy} × 503${other.join("")}`,
      status: status(flood.errors === 0),
    },
  ];
}

/**
 * Issue 22: warm views keep ≤ 0.1 round trips per view, the bus's heartbeats and the trust window's rechecks
 * included, at the steady load's rate on one instance.
 */
function warmTrafficTarget({ warmTraffic }: FleetBusResults): Target {
  const stores = ["rest", "tcp"] as const;
  return {
    target: `warm views at ${warmTraffic.viewsPerSecond}/s, bus on: ≤ 0.1 Redis round trips per view on average (REST and TCP)`,
    measured: stores
      .map((store) => {
        const { on, off } = warmTraffic[store];
        return `${store}: ${on.roundTripsPerView} (${on.commandsPerMinute} commands/min; bus off ${off.roundTripsPerView}, ${off.commandsPerMinute}/min)`;
      })
      .join("; "),
    status: status(stores.every((store) => warmTraffic[store].on.roundTripsPerView <= 0.1)),
  };
}

/** Issue 22's figures: cross-instance lags with the bus on (p99), no error when it is lost, caching back after a failover. */
export function fleetBusTargets(fleet: FleetBusResults): Target[] {
  const stores = Object.keys(fleet.stores) as BusStore[];
  const p99 = (what: string, boundMs: number, of: (store: BusStore) => { p99: number; capped: number }) => ({
    target: `fleet bus: ${what}, p99 ≤ ${boundMs} ms (REST and TCP)`,
    measured: stores.map((store) => `${store} ${of(store).p99} ms`).join(", "),
    status: status(stores.every((store) => of(store).capped === 0 && of(store).p99 <= boundMs)),
  });
  const killed = Object.entries(fleet.subscriptionsKilled);
  const { failover } = fleet;
  return [
    p99("purge on one instance → a view sent then on two others misses", 50, (store) => fleet.stores[store].purge),
    p99(
      "a refresh filled by one instance → a view sent then on two others shows it",
      50,
      (store) => fleet.stores[store].refresh,
    ),
    p99(
      `a lookup waiting on another instance's load of a ${fleet.waiterLatencyMs} ms upstream answers after it`,
      10,
      (store) => fleet.stores[store].waiter,
    ),
    {
      target: "fleet bus: subscriptions killed while pages are served: no failed view, the bus back on every instance",
      measured: killed
        .map(
          ([store, run]) =>
            `${store}: ${run.views.failed} failed of ${run.views.count}, back after ` +
            run.instances.map((instance) => instance.resumedAfterMs ?? "never").join(", ") +
            " ms",
        )
        .join("; "),
      status: status(
        killed.every(
          ([, run]) =>
            run.views.failed === 0 && run.instances.every((instance) => instance.resumedAfterMs !== undefined),
        ),
      ),
    },
    {
      target: "fleet bus: Cluster failover: every page 200, the promoted master's slots cached again",
      measured:
        `${failover.views.failed} failed of ${failover.views.count}; cached again ` +
        (failover.cachedAgainMs === undefined ? "not within the cap" : `after ${failover.cachedAgainMs} ms`),
      status: status(failover.views.failed === 0 && failover.cachedAgainMs !== undefined),
    },
  ];
}
