import { sleep } from "../../lib/timeout";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { IdealCalls, SteadyResults, SteadyRun } from "../results";
import { timePage, timeSeed } from "../scenarios/raw-timing";
import { pageView, seedView, startViews, type View } from "../scenarios/visitor";
import { launchApp, launchSeed, log, type Services } from "../run";
import { round } from "../summary";

type SteadyContender = { name: string; view: View; fill: () => Promise<unknown> };

const complete = (html: string) => FRAGMENT_NAMES.every((name) => html.includes(`result for ${name}`));

/**
 * Each contender in turn, on a fresh instance and freshly flushed Redis servers, viewed at a fixed rate with
 * a short freshness: the upstream calls that arrive during its window are its own, as the others are idle.
 * Every part is loaded before its lead-in, so the window starts warm.
 */
export async function steadyPhase(services: Services): Promise<SteadyResults> {
  const { viewsPerSecond, seconds, leadInSeconds, cache } = PLAN.steady;
  const env = Object.fromEntries(Object.entries(cache).map(([name, value]) => [name, String(value)]));
  // The warm phase left its hour-long entries in both Redis servers, under the same keys.
  await Promise.all([services.stack.client.flushall(), services.tcp.flush()]);
  const [redis, redisTcp, seed] = await Promise.all([
    launchApp(services, "rest", env),
    launchApp(services, "tcp", env),
    launchSeed(services, cache.CACHE_FRESH_SECONDS),
  ]);
  // The blocking page answers once every part is loaded; the seed's client asks for each.
  const app = (name: string, url: string): SteadyContender => ({
    name,
    view: pageView(`${url}/`, complete),
    fill: () => timePage(`${url}/blocking`, FRAGMENT_NAMES),
  });
  const contenders = [
    app("streamed, Redis", redis.url),
    app("streamed, Redis over TCP", redisTcp.url),
    {
      name: "seed, Redis",
      view: seedView(seed.url, FRAGMENT_NAMES, complete),
      fill: () => timeSeed(seed.url, FRAGMENT_NAMES),
    },
  ];
  try {
    const runs: Record<string, SteadyRun> = {};
    for (const { name, view, fill } of contenders) {
      log(`steady: ${name}, ${viewsPerSecond} views/s for ${leadInSeconds} + ${seconds} s`);
      await fill();
      const leadIn = startViews(view, viewsPerSecond);
      await sleep(leadInSeconds * 1000);
      // Stopped, not awaited: its views still under way overlap the window's first ones, as in a steady load.
      const leadInDone = leadIn.stop();
      const run = await steadyWindow(services, view, viewsPerSecond, seconds);
      await leadInDone;
      log(
        `steady: ${name}: ${run.viewsPerSecond} views/s; every part in p50 ${run.untilComplete.p50} ms, ` +
          `p99 ${run.untilComplete.p99} ms; last byte p50 ${run.p50} ms, p99 ${run.p99} ms; ` +
          `${run.upstreamCalls} upstream calls (${run.upstreamCallsPerMinute}/min)`,
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
    await Promise.all([redis, redisTcp, seed].map((server) => server.stop()));
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
async function steadyWindow(services: Services, view: View, perSecond: number, seconds: number): Promise<SteadyRun> {
  const start = performance.now();
  const views = startViews(view, perSecond);
  await sleep(seconds * 1000);
  const stopping = views.stop();
  const end = performance.now();
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
  };
}
