import type { AppServer } from "../../harness/app-server";
import { sleep } from "../../lib/timeout";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { IdealCalls, SteadyResults, SteadyRun } from "../results";
import { timePage, timeSeed } from "../scenarios/raw-timing";
import { pageView, seedView, startViews, type View } from "../scenarios/visitor";
import { serverMeter, type TrafficMeter } from "../scenarios/round-trips";
import { launchApp, launchSeed, log, storeMeter, type Services } from "../run";
import { round } from "../summary";

type SteadyContender = {
  name: string;
  view: View;
  fill: () => Promise<unknown>;
  /** Where its store traffic is counted during its window. */
  meter: TrafficMeter;
  server: { stop(): Promise<void> };
};

const complete = (html: string) => FRAGMENT_NAMES.every((name) => html.includes(`result for ${name}`));

/**
 * Each contender in turn, on a fresh instance and freshly flushed Redis servers, viewed at a fixed rate with
 * a short freshness: the upstream calls and the store traffic counted during its window are its own, as the
 * others are idle (the apps with the bus on send heartbeats even when idle: each is stopped after its window).
 * Every part is loaded before its lead-in, so the window starts warm.
 */
export async function steadyPhase(services: Services): Promise<SteadyResults> {
  const { viewsPerSecond, seconds, leadInSeconds, cache } = PLAN.steady;
  const env = Object.fromEntries(Object.entries(cache).map(([name, value]) => [name, String(value)]));
  const [redis, redisNoBus, redisTcp, seed] = await Promise.all([
    launchApp(services, "rest", env),
    launchApp(services, "rest", { ...env, CACHE_BUS: "off" }),
    launchApp(services, "tcp", env),
    launchSeed(services, cache.CACHE_FRESH_SECONDS),
  ]);
  // The blocking page answers once every part is loaded; the seed's client asks for each.
  const app = (name: string, server: AppServer, store: "rest" | "tcp"): SteadyContender => ({
    name,
    view: pageView(`${server.url}/`, complete),
    fill: () => timePage(`${server.url}/blocking`, FRAGMENT_NAMES),
    meter: storeMeter(services, store),
    server,
  });
  const contenders: SteadyContender[] = [
    app("streamed, Redis", redis, "rest"),
    app("streamed, Redis, no bus", redisNoBus, "rest"),
    app("streamed, Redis over TCP", redisTcp, "tcp"),
    {
      name: "seed, Redis",
      view: seedView(seed.url, FRAGMENT_NAMES, complete),
      fill: () => timeSeed(seed.url, FRAGMENT_NAMES),
      // The seed talks to the bridge's redis-server directly, one command per round trip.
      meter: serverMeter(services.stack.client),
      server: seed,
    },
  ];
  try {
    const runs: Record<string, SteadyRun> = {};
    for (const { name, view, fill, meter, server } of contenders) {
      log(`steady: ${name}, ${viewsPerSecond} views/s for ${leadInSeconds} + ${seconds} s`);
      // Earlier phases and contenders left entries under the same keys.
      await Promise.all([services.stack.client.flushall(), services.tcp.flush()]);
      await fill();
      const leadIn = startViews(view, viewsPerSecond);
      await sleep(leadInSeconds * 1000);
      // Stopped, not awaited: its views still under way overlap the window's first ones, as in a steady load.
      const leadInDone = leadIn.stop();
      const run = await steadyWindow(services, view, meter, viewsPerSecond, seconds);
      await leadInDone;
      await server.stop();
      log(
        `steady: ${name}: ${run.viewsPerSecond} views/s; every part in p50 ${run.untilComplete.p50} ms, ` +
          `p99 ${run.untilComplete.p99} ms; last byte p50 ${run.p50} ms, p99 ${run.p99} ms; ` +
          `${run.upstreamCalls} upstream calls (${run.upstreamCallsPerMinute}/min); ` +
          `${run.store.commandsPerMinute} Redis commands/min, ${run.store.roundTripsPerView} round trips per view`,
      );
      runs[name] = run;
    }
    const eagerSeconds = (cache.CACHE_FRESH_SECONDS * cache.CACHE_EAGER_REFRESH_PERCENT) / 100;
    return {
      viewsPerSecond,
      seconds,
      leadInSeconds,
      fragments: FRAGMENT_NAMES.length,
      app: cache,
      seedExpirySeconds: cache.CACHE_FRESH_SECONDS,
      ideal: idealCalls(() => eagerSeconds),
      idealWithLatency: idealCalls((name) => eagerSeconds + (PLAN.latencies[name] ?? 0) / 1000),
      runs,
    };
  } finally {
    // Each was stopped after its window; stopping again is a no-op, and covers a run that failed midway.
    await Promise.all([redis, redisNoBus, redisTcp, seed].map((server) => server.stop()));
  }
}

/** One call per part every `periodSeconds(part)`. */
function idealCalls(periodSeconds: (name: string) => number): IdealCalls {
  const byFragment = Object.fromEntries(FRAGMENT_NAMES.map((name) => [name, 60 / periodSeconds(name)]));
  const callsPerMinute = Object.values(byFragment).reduce((sum, calls) => sum + calls, 0);
  return {
    callsPerMinute: round(callsPerMinute),
    byFragment: Object.fromEntries(Object.entries(byFragment).map(([name, calls]) => [name, round(calls)])),
  };
}

/** One contender's measured window: its views, and the upstream calls that arrived from its start to its end. */
async function steadyWindow(
  services: Services,
  view: View,
  meter: TrafficMeter,
  perSecond: number,
  seconds: number,
): Promise<SteadyRun> {
  await meter.start();
  const start = performance.now();
  const views = startViews(view, perSecond);
  await sleep(seconds * 1000);
  const stopping = views.stop();
  const end = performance.now();
  const traffic = await meter.stop();
  const figures = await stopping;
  const minutes = (end - start) / 60_000;
  const calls = (selector?: string) =>
    services.upstream.requests(selector).filter((request) => request.arrivedAt >= start && request.arrivedAt < end)
      .length;
  const upstreamCalls = calls();
  return {
    ...figures,
    viewsPerSecond: round(figures.count / ((end - start) / 1000)),
    upstreamCalls,
    upstreamCallsPerMinute: round(upstreamCalls / minutes),
    callsPerMinuteByFragment: Object.fromEntries(FRAGMENT_NAMES.map((name) => [name, round(calls(name) / minutes)])),
    store: {
      ...traffic,
      commandsPerMinute: round(traffic.commands / minutes),
      roundTripsPerView: round(traffic.roundTrips / figures.count, 3),
    },
  };
}
