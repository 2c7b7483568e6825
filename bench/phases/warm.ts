import type { Browser } from "@playwright/test";
import type { AppServer } from "../../test-support/app-server";
import type { SeedServer } from "../baselines/seed/launch";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { ViewSpread } from "../results";
import { offerLoad, type LoadResult, type LoadTarget } from "../scenarios/load";
import { serverMeter, trafficPer, type Traffic, type TrafficMeter } from "../scenarios/round-trips";
import { timePage, timeSeed } from "../scenarios/raw-timing";
import { browserViews, launchApp, launchSeed, log, sleep, storeMeter, type Services } from "../run";

const LONG_TTL = { CACHE_TTL_SECONDS: "3600" };
const WARM_UP_SECONDS = 2;
const noWait = () => Promise.resolve();

export type WarmResults = {
  browser: Record<string, ViewSpread>;
  throughput: Record<string, LoadResult[]>;
  trafficPerView: Record<string, Traffic>;
};

type Contenders = {
  memory: AppServer;
  redis: AppServer;
  redisOnly: AppServer;
  redisTcp: AppServer;
  redisOnlyTcp: AppServer;
  seed: SeedServer;
};

// A one-entry local tier: every view of three fragments reads Redis, as on an instance that has not seen
// these keys yet, whose data another instance put in Redis.
const REDIS_ONLY = { ...LONG_TTL, CACHE_MAX_ENTRIES: "1" };

/** Scenarios 2 and 3 and the warm round trips: every fragment cached before anything is measured. */
export async function warmPhase(services: Services, browser: Browser): Promise<WarmResults> {
  const contenders: Contenders = {
    memory: await launchApp(services, "memory", LONG_TTL),
    redis: await launchApp(services, "rest", LONG_TTL),
    redisOnly: await launchApp(services, "rest", REDIS_ONLY),
    redisTcp: await launchApp(services, "tcp", LONG_TTL),
    redisOnlyTcp: await launchApp(services, "tcp", REDIS_ONLY),
    seed: await launchSeed(services, 3600),
  };
  try {
    log("warm: filling the caches");
    for (const app of [contenders.memory, contenders.redis, contenders.redisOnly, contenders.redisTcp, contenders.redisOnlyTcp]) {
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

async function warmTraffic(services: Services, contenders: Contenders): Promise<Record<string, Traffic>> {
  const views = 20;
  const per = (meter: TrafficMeter, load: () => Promise<unknown>) =>
    trafficPer(meter, views, async () => {
      for (let view = 0; view < views; view++) await load();
    });
  const page = (app: AppServer, path = "/") => () => timePage(`${app.url}${path}`, FRAGMENT_NAMES);
  const rest = storeMeter(services, "rest");
  const tcp = storeMeter(services, "tcp");
  return {
    streamed: await per(rest, page(contenders.redis)),
    "streamed, Redis only": await per(rest, page(contenders.redisOnly)),
    "streamed, Redis over TCP": await per(tcp, page(contenders.redisTcp)),
    "streamed, Redis only, over TCP": await per(tcp, page(contenders.redisOnlyTcp)),
    blocking: await per(rest, page(contenders.redis, "/blocking")),
    seed: await per(serverMeter(services.stack.client), () => timeSeed(contenders.seed.url, FRAGMENT_NAMES)),
  };
}

async function throughput(contenders: Contenders): Promise<Record<string, LoadResult[]>> {
  const seedPaths = ["/", ...FRAGMENT_NAMES.map((name) => `/fragment/${name}`)];
  const target = ({ url, pid }: AppServer | SeedServer, paths = ["/"]): LoadTarget => ({ url, pid, paths });
  const targets: Record<string, LoadTarget> = {
    "streamed, memory": target(contenders.memory),
    "streamed, Redis": target(contenders.redis),
    "streamed, Redis only": target(contenders.redisOnly),
    "streamed, Redis over TCP": target(contenders.redisTcp),
    "streamed, Redis only, over TCP": target(contenders.redisOnlyTcp),
    "blocking, Redis": target(contenders.redis, ["/blocking"]),
    "seed, Redis": target(contenders.seed, seedPaths),
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
