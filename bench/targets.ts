import { PLAN, SLOWEST_MS } from "./plan";
import type { Results, Target, ViewSpread } from "./results";

type Measured = Omit<Results, "targets">;

function at<T>(record: Record<string, T>, key: string): T {
  const value = record[key];
  if (value === undefined) throw new Error(`no result for "${key}"`);
  return value;
}

/** The targets, checked against one run's medians. */
export function checkTargets(results: Measured): Target[] {
  const raw = results.cold.raw;
  const streamed = at(raw, "streamed");
  const blocking = at(raw, "blocking");
  const coldViews = results.cold.browser;
  const warmViews = results.warm.browser;
  const view = at<ViewSpread>;
  const lastStreamed = Math.max(...Object.values(streamed.fragments).map((fragment) => fragment.median));
  // The highest offered rate shows capacity; the lowest, CPU per view of a server that keeps up.
  const top = (name: string) => at(results.warm.throughput, name).at(-1)!;
  const low = (name: string) => at(results.warm.throughput, name)[0]!;
  const warmStreamed = view(warmViews, "streamed");
  const warmTraffic = at(results.warm.trafficPerView, "streamed");
  const warmRedisOnly = at(results.warm.trafficPerView, "streamed, Redis only");
  const warmTcp = at(results.warm.trafficPerView, "streamed, Redis over TCP");
  const warmTcpRedisOnly = at(results.warm.trafficPerView, "streamed, Redis only, over TCP");
  const memory = top("streamed, memory").views;
  const redis = top("streamed, Redis").views;
  const redisOnly = top("streamed, Redis only").views;
  const tcp = top("streamed, Redis over TCP").views;
  const tcpRedisOnly = top("streamed, Redis only, over TCP").views;
  const ofMemory = (views: number) => `${views} (${Math.round((views / memory) * 100)}%)`;
  const ttfbBudget = SLOWEST_MS * 0.02;

  return [
    {
      target: `cold: streamed first byte ≤ 2% of ${SLOWEST_MS} ms (${ttfbBudget} ms)`,
      measured: `${streamed.firstByte.median} ms`,
      met: streamed.firstByte.median <= ttfbBudget,
    },
    {
      target: `cold: streamed last fragment ≤ ${SLOWEST_MS} + 50 ms`,
      measured: `${lastStreamed} ms`,
      met: lastStreamed <= SLOWEST_MS + 50,
    },
    {
      target: `cold: blocking first byte ≈ the slowest latency (${SLOWEST_MS} ms)`,
      measured: `${blocking.firstByte.median} ms`,
      met: blocking.firstByte.median >= SLOWEST_MS && blocking.firstByte.median <= SLOWEST_MS + 200,
    },
    ...(["cold", "warm"] as const).map((phase) => {
      const views = phase === "cold" ? coldViews : warmViews;
      const ours = view(views, "streamed").allVisible.median;
      const seed = view(views, "seed").allVisible.median;
      return { target: `browser, ${phase}: streamed shows every fragment no later than seed`, measured: `${ours} vs ${seed} ms`, met: ours <= seed };
    }),
    {
      target: "browser, warm: streamed paints complete (no spinner, no layout shift)",
      measured: `spinner in ${warmStreamed.spinnerLoads}/${warmStreamed.runs} loads, CLS ${warmStreamed.maxLayoutShift}`,
      met: warmStreamed.spinnerLoads === 0 && warmStreamed.maxLayoutShift === 0,
    },
    {
      target: "throughput: warm streamed on Redis (REST or TCP) ≥ 90% of the memory store's views/s",
      measured:
        `${ofMemory(redis)} vs ${memory} views/s; Redis only: ${ofMemory(redisOnly)}; ` +
        `over TCP: ${ofMemory(tcp)}, Redis only ${ofMemory(tcpRedisOnly)}`,
      met: Math.min(redis, tcp) >= memory * 0.9,
    },
    {
      target: "≤ 1 Redis round trip per warm page view",
      measured:
        `${warmTraffic.roundTrips} (local tier warm), ${warmRedisOnly.roundTrips} (Redis only); ` +
        `over TCP: ${warmTcp.roundTrips}, ${warmTcpRedisOnly.roundTrips}`,
      met: [warmTraffic, warmRedisOnly, warmTcp, warmTcpRedisOnly].every((traffic) => traffic.roundTrips <= 1),
    },
    {
      target: `CPU per view: streamed < seed (at ${PLAN.offeredViewRates[0]} views/s offered)`,
      measured:
        `${low("streamed, memory").cpuPerView} ms (memory), ${low("streamed, Redis").cpuPerView} ms (Redis), ` +
        `${low("streamed, Redis over TCP").cpuPerView} ms (Redis over TCP) vs seed ${low("seed, Redis").cpuPerView} ms`,
      met: low("streamed, Redis").cpuPerView < low("seed, Redis").cpuPerView,
    },
    {
      target: `memory: one instance (heap limit ${results.memory.heapLimitMiB} MiB) ≤ ${results.memory.boundMiB} MiB RSS during and after ${PLAN.floodKeys} cold keys`,
      measured: `${results.memory.rssBeforeMiB} → ${results.memory.rssAfterMiB} MiB (peak ${results.memory.rssPeakMiB})`,
      met: results.memory.rssPeakMiB <= results.memory.boundMiB && results.memory.keys >= PLAN.floodKeys,
    },
  ];
}
