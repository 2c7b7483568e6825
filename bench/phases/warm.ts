import type { Browser } from "@playwright/test";
import type { AppServer } from "../../test-support/app-server";
import type { SeedServer } from "../baselines/seed/launch";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { ViewSpread } from "../results";
import { offerLoad, type LoadResult, type LoadTarget } from "../scenarios/load";
import { redisTrafficPer, trafficPer, type Traffic } from "../scenarios/round-trips";
import { timePage, timeSeed } from "../scenarios/raw-timing";
import { browserViews, launchApp, launchSeed, log, sleep, type Services } from "../run";

const LONG_TTL = { CACHE_TTL_SECONDS: "3600" };
const WARM_UP_SECONDS = 2;
const noWait = () => Promise.resolve();

export type WarmResults = {
  browser: Record<string, ViewSpread>;
  throughput: Record<string, LoadResult[]>;
  trafficPerView: Record<string, Traffic>;
};

type Contenders = { memory: AppServer; redis: AppServer; redisOnly: AppServer; seed: SeedServer };

/** Scenarios 2 and 3 and the warm round trips: every fragment cached before anything is measured. */
export async function warmPhase(services: Services, browser: Browser): Promise<WarmResults> {
  const contenders: Contenders = {
    memory: await launchApp(services, "memory", LONG_TTL),
    redis: await launchApp(services, "redis", LONG_TTL),
    // A one-entry local tier: every view of three fragments reads Redis, as on an instance that has not
    // seen these keys yet, whose data another instance put in Redis.
    redisOnly: await launchApp(services, "redis", { ...LONG_TTL, CACHE_MAX_ENTRIES: "1" }),
    seed: await launchSeed(services, 3600),
  };
  try {
    log("warm: filling the caches");
    for (const app of [contenders.memory, contenders.redis, contenders.redisOnly]) {
      await timePage(`${app.url}/`, FRAGMENT_NAMES);
      await timePage(`${app.url}/blocking`, FRAGMENT_NAMES);
    }
    await timeSeed(contenders.seed.url, FRAGMENT_NAMES);
    return {
      browser: await warmViews(contenders, browser),
      trafficPerView: await warmTraffic(services, contenders),
      throughput: await throughput(contenders),
    };
  } finally {
    await Promise.all(Object.values(contenders).map((server: AppServer | SeedServer) => server.stop()));
  }
}

async function warmViews(contenders: Contenders, browser: Browser): Promise<Record<string, ViewSpread>> {
  const urls = {
    streamed: `${contenders.memory.url}/`,
    "streamed, Redis only": `${contenders.redisOnly.url}/`,
    blocking: `${contenders.memory.url}/blocking`,
    seed: contenders.seed.url,
  };
  return browserViews(browser, "warm browser", urls, PLAN.warmRuns, { beforeWarmUp: noWait, between: () => sleep(100) });
}

async function warmTraffic({ stack }: Services, contenders: Contenders): Promise<Record<string, Traffic>> {
  const bridge = stack.bridge;
  if (!bridge) throw new Error("the bench needs the in-process bridge to count commands");
  const views = 20;
  const repeat = (load: () => Promise<unknown>) => async () => {
    for (let view = 0; view < views; view++) await load();
  };
  return {
    streamed: await trafficPer(bridge, views, repeat(() => timePage(`${contenders.redis.url}/`, FRAGMENT_NAMES))),
    "streamed, Redis only": await trafficPer(bridge, views, repeat(() => timePage(`${contenders.redisOnly.url}/`, FRAGMENT_NAMES))),
    blocking: await trafficPer(bridge, views, repeat(() => timePage(`${contenders.redis.url}/blocking`, FRAGMENT_NAMES))),
    seed: await redisTrafficPer(stack.client, views, repeat(() => timeSeed(contenders.seed.url, FRAGMENT_NAMES))),
  };
}

async function throughput(contenders: Contenders): Promise<Record<string, LoadResult[]>> {
  const seedPaths = ["/", ...FRAGMENT_NAMES.map((name) => `/fragment/${name}`)];
  const targets: Record<string, LoadTarget> = {
    "streamed, memory": { url: contenders.memory.url, pid: contenders.memory.pid, paths: ["/"] },
    "streamed, Redis": { url: contenders.redis.url, pid: contenders.redis.pid, paths: ["/"] },
    "streamed, Redis only": { url: contenders.redisOnly.url, pid: contenders.redisOnly.pid, paths: ["/"] },
    "blocking, Redis": { url: contenders.redis.url, pid: contenders.redis.pid, paths: ["/blocking"] },
    "seed, Redis": { url: contenders.seed.url, pid: contenders.seed.pid, paths: seedPaths },
  };
  const results: Record<string, LoadResult[]> = {};
  for (const [name, target] of Object.entries(targets)) {
    log(`throughput: ${name}`);
    // Unmeasured: lets the JIT settle on this exact path before the measured runs.
    await offerLoad(target, Math.max(...PLAN.offeredViewRates), WARM_UP_SECONDS, PLAN.loadConnections);
    const runs: LoadResult[] = [];
    for (const rate of PLAN.offeredViewRates) runs.push(await offerLoad(target, rate, PLAN.loadSeconds, PLAN.loadConnections));
    results[name] = runs;
  }
  return results;
}
