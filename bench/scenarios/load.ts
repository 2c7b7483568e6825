import autocannon from "autocannon";
import { PLAN } from "../plan";
import { cpuMs } from "../proc";
import { log } from "../run";
import { round } from "../summary";

/** One fixed-rate load run against one contender; rates and latencies are per page view. */
export type LoadResult = {
  offeredViews: number;
  views: number;
  p50: number;
  p99: number;
  errors: number;
  /** Server CPU time per completed page view, ms. */
  cpuPerView: number;
};

export type LoadTarget = {
  url: string;
  pid: number;
  /** Paths fetched for one page view: `["/"]`, or the seed's skeleton and its parts. */
  paths: string[];
  /** Sent as `If-None-Match`: each request is then answered `304 Not Modified`, which counts as served. */
  ifNoneMatch?: string;
};

/**
 * Offers `views` page views per second for `seconds` and reports what was served. For the seed, one view is
 * its skeleton plus one request per part; latency is then per request, the best case for the seed.
 */
export async function offerLoad(
  target: LoadTarget,
  views: number,
  seconds: number,
  connections: number,
): Promise<LoadResult> {
  const perView = target.paths.length;
  const cpuBefore = cpuMs(target.pid);
  const result = await autocannon({
    url: target.url,
    connections,
    duration: seconds,
    overallRate: views * perView,
    requests: target.paths.map((path) => ({
      method: "GET",
      path,
      ...(target.ifNoneMatch && { headers: { "if-none-match": target.ifNoneMatch } }),
    })),
    // Its own thread, so the load generator does not hold up the bridge and upstream in this process.
    workers: 1,
  });
  const cpuUsed = cpuMs(target.pid) - cpuBefore;
  const served = result.requests.total / perView;
  return {
    offeredViews: views,
    views: round(served / seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + (target.ifNoneMatch ? result["4xx"] + result["5xx"] : result.non2xx),
    cpuPerView: served > 0 ? round(cpuUsed / served, 2) : Number.NaN,
  };
}

/** Each target in turn: an unmeasured run at the highest rate (the JIT settles on its path), then each planned rate. */
export async function throughputOf(targets: Record<string, LoadTarget>): Promise<Record<string, LoadResult[]>> {
  const results: Record<string, LoadResult[]> = {};
  for (const [name, target] of Object.entries(targets)) {
    log(`throughput: ${name}`);
    await offerLoad(target, Math.max(...PLAN.offeredViewRates), PLAN.loadWarmUpSeconds, PLAN.loadConnections);
    const runs: LoadResult[] = [];
    for (const rate of PLAN.offeredViewRates)
      runs.push(await offerLoad(target, rate, PLAN.loadSeconds, PLAN.loadConnections));
    results[name] = runs;
  }
  return results;
}
