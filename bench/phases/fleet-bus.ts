import type { AppServer } from "../../harness/app-server";
import { PLAN } from "../plan";
import type { BusStore, ChangeLags, FleetBusResults, FleetStoreRun } from "../results";
import {
  purgeTrial,
  refreshTrial,
  waiterTrials,
  warmEverywhere,
  type TrialLags,
  type WaiterLag,
} from "../scenarios/bus-trials";
import { ADMIN_TOKEN, busUp } from "../scenarios/fleet-views";
import { launchApp, log, type Services } from "../run";
import { percentiles } from "../summary";
import { clusterFailover, subscriptionsKilled } from "./bus-outages";
import { warmTraffic } from "./bus-traffic";

/** The one fragment the purge and refresh trials use with the bus on. */
const PURGED = "p";
const names = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}${index}`);

/** Waits, each capped: percentiles over all of them, the capped ones counted at the cap. */
function lagsOf(lags: TrialLags, capMs: number): ChangeLags {
  return {
    ...percentiles(lags.map((lag) => lag?.sentMs ?? capMs)),
    answered: percentiles(lags.map((lag) => lag?.readMs ?? capMs)),
    capped: lags.filter((lag) => lag === undefined).length,
  };
}

/** Waiting lookups are not capped: each answers by its fragment's deadline. */
const waiterLags = (lags: readonly WaiterLag[]) => ({
  waiter: { ...percentiles(lags.map(({ lagMs }) => lagMs)), capped: 0 },
  waited: lags.filter(({ waited }) => waited).length,
});

/** Three instances on `store` defining `fragments`, each serving purges, its bus up unless switched off. */
async function launchFleet(services: Services, store: BusStore, fragments: string[], bus: "on" | "off") {
  // Each group starts from an empty store: the apps define the same names on both.
  await (store === "rest" ? services.stack.client.flushall() : services.tcp.flush());
  const env = { FRAGMENTS: fragments.join(","), CACHE_ADMIN_TOKEN: ADMIN_TOKEN, CACHE_BUS: bus };
  const apps = await Promise.all([0, 1, 2].map(() => launchApp(services, store, env)));
  if (bus === "on") await Promise.all(apps.map((app) => busUp(app.url)));
  return apps;
}

/** Lookups of cold fragments, `waitersAtOnce` at a time, each waiting on the first instance's load on the second. */
async function waiters(services: Services, apps: readonly AppServer[], waiterNames: string[]): Promise<WaiterLag[]> {
  const { waitersAtOnce, waiterLatencyMs, waiterDelayMs } = PLAN.fleetBus;
  for (const name of waiterNames) services.upstream.script(name, { latencyMs: waiterLatencyMs });
  const lags: WaiterLag[] = [];
  for (let start = 0; start < waiterNames.length; start += waitersAtOnce)
    lags.push(...(await waiterTrials(apps, waiterNames.slice(start, start + waitersAtOnce), waiterDelayMs)));
  return lags;
}

/** Purges, refreshes and waiting lookups on three instances of one store, bus on. */
async function storeRun(services: Services, store: BusStore): Promise<FleetStoreRun> {
  const { trials, waiterTrials: waiterCount, capMs } = PLAN.fleetBus;
  const waiterNames = names("w", waiterCount);
  const apps = await launchFleet(services, store, [PURGED, ...waiterNames], "on");
  try {
    log(`fleet bus (${store}): ${trials} purges, ${trials} refreshes, ${waiterCount} waiting lookups`);
    const purged: TrialLags = [];
    for (let trial = 0; trial < trials; trial += 1)
      purged.push(...(await purgeTrial(services.upstream, apps, PURGED, `${store} purge ${trial}`, { capMs })));
    await warmEverywhere(services.upstream, apps, PURGED, `${store} before the refreshes`);
    const refreshed: TrialLags = [];
    for (let trial = 0; trial < trials; trial += 1)
      refreshed.push(...(await refreshTrial(services.upstream, apps, PURGED, `${store} refresh ${trial}`, { capMs })));
    const run = {
      purge: lagsOf(purged, capMs),
      refresh: lagsOf(refreshed, capMs),
      ...waiterLags(await waiters(services, apps, waiterNames)),
    };
    log(
      `fleet bus (${store}): purge p99 ${run.purge.p99} ms, refresh p99 ${run.refresh.p99} ms, ` +
        `waiter p99 ${run.waiter.p99} ms (${run.waited} of ${run.waiter.count} waited)`,
    );
    return run;
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
  }
}

/** Today, through the bridge: purges seen only past the trust window, waiters woken by polling. */
async function withoutBus(services: Services): Promise<FleetBusResults["withoutBus"]> {
  const { trialsWithoutBus: trials, capWithoutBusMs: capMs, pauseWithoutBusMs, waiterTrialsWithoutBus } = PLAN.fleetBus;
  // A fragment per purge trial: with no bus, the others' copies of a reused one would outlive the next warm-up.
  const purgedNames = names("p", trials);
  const waiterNames = names("w", waiterTrialsWithoutBus);
  const apps = await launchFleet(services, "rest", [...purgedNames, ...waiterNames], "off");
  try {
    log(
      `fleet bus (rest, CACHE_BUS=off): ${trials} purges (each wait capped at ${capMs} ms), ${waiterNames.length} waiting lookups`,
    );
    const purged: TrialLags = [];
    for (const [trial, name] of purgedNames.entries()) {
      const limits = { capMs, pauseMs: pauseWithoutBusMs };
      purged.push(...(await purgeTrial(services.upstream, apps, name, `no bus, purge ${trial}`, limits)));
    }
    return {
      trials,
      capMs,
      purge: lagsOf(purged, capMs),
      waiterTrials: waiterNames.length,
      ...waiterLags(await waiters(services, apps, waiterNames)),
    };
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
  }
}

/**
 * The fleet's bus (issue 22), through the REST bridge and over TCP side by side: purge and refresh on one
 * instance seen from two others, a lookup waiting on another's load, today's figures without the bus, the
 * subscriptions killed under load, and a Cluster failover.
 */
export async function fleetBusPhase(services: Services): Promise<FleetBusResults> {
  const { trials, waiterTrials: waiterCount, waiterLatencyMs } = PLAN.fleetBus;
  const stores = { rest: await storeRun(services, "rest"), tcp: await storeRun(services, "tcp") };
  const today = await withoutBus(services);
  const killed = {
    rest: await subscriptionsKilled(services, "rest"),
    tcp: await subscriptionsKilled(services, "tcp"),
  };
  const failover = await clusterFailover(services);
  const { viewsPerSecond, seconds } = PLAN.fleetBus.warmTraffic;
  const traffic = async (store: BusStore) => ({
    on: await warmTraffic(services, store, "on"),
    off: await warmTraffic(services, store, "off"),
  });
  return {
    warmTraffic: { viewsPerSecond, seconds, rest: await traffic("rest"), tcp: await traffic("tcp") },
    trials,
    waiterTrials: waiterCount,
    waiterLatencyMs,
    stores,
    withoutBus: today,
    subscriptionsKilled: killed,
    failover,
  };
}
