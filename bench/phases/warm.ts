import type { Browser } from "@playwright/test";
import type { AppServer } from "../../harness/app-server";
import { NEXT_FLOOR_PATH } from "../baselines/next-floor";
import type { SeedServer } from "../baselines/seed/launch";
import { profileViews } from "../browser-runs";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { ProfileViews, WarmResults } from "../results";
import { throughputOf, type LoadResult, type LoadTarget } from "../scenarios/load";
import { NETWORK_PROFILES } from "../scenarios/network-profiles";
import { serverMeter, trafficPer, type Traffic, type TrafficMeter } from "../scenarios/round-trips";
import { timePage, timeSeed } from "../scenarios/raw-timing";
import { launchApp, launchSeed, log, readBody, storeMeter, type Services } from "../run";
import { coopViews } from "./coop";
import { profilePhase } from "./profile";

const LONG_TTL = { CACHE_FRESH_SECONDS: "3600" };
// Without the bus, whose heartbeats (one PUBLISH a second per instance on that Redis, all counted at the bridge
// or the proxy) would land in the warm views' round trips; the steady load and the fleet's bus report its cost.
const REDIS = { ...LONG_TTL, CACHE_BUS: "off" };

type Contenders = {
  memory: AppServer;
  memoryRendered: AppServer;
  redis: AppServer;
  redisOnly: AppServer;
  redisTcp: AppServer;
  redisOnlyTcp: AppServer;
  seed: SeedServer;
};

// A one-entry local tier: every view of three fragments reads Redis, as on an instance that has not seen
// these keys yet, whose data another instance put in Redis.
const REDIS_ONLY = { ...REDIS, CACHE_MAX_ENTRIES: "1" };
// Every warm view rendered again, as before the page cache: its CPU beside the page cache's.
const RENDERED = { ...LONG_TTL, PAGE_CACHE: "off" };

/**
 * Scenarios 2 and 3, the COOP views and the warm round trips: every fragment cached before anything is
 * measured. The bare Next page is served by the memory store's instance, for its CPU per view; a second
 * instance on the memory store, with the page cache off, renders every warm view again.
 */
export async function warmPhase(services: Services, browser: Browser, staticFloorUrl: string): Promise<WarmResults> {
  const [memory, memoryRendered, redis, redisOnly, redisTcp, redisOnlyTcp, seed] = await Promise.all([
    launchApp(services, "memory", LONG_TTL),
    launchApp(services, "memory", RENDERED),
    launchApp(services, "rest", REDIS),
    launchApp(services, "rest", REDIS_ONLY),
    launchApp(services, "tcp", REDIS),
    launchApp(services, "tcp", REDIS_ONLY),
    launchSeed(services, 3600),
  ]);
  const contenders: Contenders = { memory, memoryRendered, redis, redisOnly, redisTcp, redisOnlyTcp, seed };
  try {
    log("warm: filling the caches");
    const apps = [memory, memoryRendered, redis, redisOnly, redisTcp, redisOnlyTcp];
    // At once; apps on one Redis wait on each other's loads, so the first bodies may miss a deadline, and the
    // blocking page's loads, which wait for every fragment, check that each cache holds them all.
    await Promise.all([...apps.map((app) => readBody(`${app.url}/`)), timeSeed(seed.url, FRAGMENT_NAMES)]);
    await Promise.all(apps.map((app) => timePage(`${app.url}/blocking`, FRAGMENT_NAMES)));
    return {
      browser: await warmViews(contenders, browser, staticFloorUrl),
      coop: await coopViews(browser, memory.url),
      trafficPerView: await warmTraffic(services, contenders),
      throughput: await throughput(contenders),
      profile: {
        "streamed, no page cache": await profilePhase(services, { PAGE_CACHE: "off" }),
        "streamed, page cache": await profilePhase(services),
      },
    };
  } finally {
    await Promise.all(Object.values(contenders).map((server: AppServer | SeedServer) => server.stop()));
  }
}

function warmViews(contenders: Contenders, browser: Browser, staticFloorUrl: string): Promise<ProfileViews> {
  return profileViews(
    browser,
    "warm browser",
    [
      { name: "streamed", url: `${contenders.memory.url}/` },
      { name: "seed", url: contenders.seed.url },
      { name: "blocking", url: `${contenders.memory.url}/blocking` },
      { name: "static floor", url: staticFloorUrl },
      // Whether a page read wholly from Redis still paints complete; loopback is enough to tell.
      { name: "streamed, Redis only", url: `${contenders.redisOnly.url}/`, only: ["loopback"] },
    ],
    NETWORK_PROFILES.map((profile) => ({ profile, runs: PLAN.browserRuns[profile.name].warm })),
  );
}

async function warmTraffic(services: Services, contenders: Contenders): Promise<Record<string, Traffic>> {
  const views = PLAN.trafficViews;
  const per = (meter: TrafficMeter, load: () => Promise<unknown>) =>
    trafficPer(meter, views, async () => {
      for (let view = 0; view < views; view++) await load();
    });
  const page =
    (app: AppServer, path = "/") =>
    () =>
      timePage(`${app.url}${path}`, FRAGMENT_NAMES);
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

/** The blocking page is left out here: it says nothing about a target, and every contender costs seconds. */
async function throughput(contenders: Contenders): Promise<Record<string, LoadResult[]>> {
  const seedPaths = ["/", ...FRAGMENT_NAMES.map((name) => `/fragment/${name}`)];
  // One fragment as a CDN asks for it again: revalidated with the ETag it was given, answered 304.
  const fragmentPath = `/fragment/${FRAGMENT_NAMES[0]}`;
  const etag = (await fetch(`${contenders.memory.url}${fragmentPath}`)).headers.get("etag") ?? undefined;
  if (!etag) throw new Error(`${fragmentPath} answered without an ETag`);
  const target = ({ url, pid }: AppServer | SeedServer, paths = ["/"]): LoadTarget => ({ url, pid, paths });
  const targets: Record<string, LoadTarget> = {
    "streamed, memory": target(contenders.memory),
    "streamed, memory, no page cache": target(contenders.memoryRendered),
    "streamed, Redis": target(contenders.redis),
    "streamed, Redis only": target(contenders.redisOnly),
    "streamed, Redis over TCP": target(contenders.redisTcp),
    "streamed, Redis only, over TCP": target(contenders.redisOnlyTcp),
    "seed, Redis": target(contenders.seed, seedPaths),
    "floor, bare Next": target(contenders.memory, [NEXT_FLOOR_PATH]),
    "one fragment, 200": target(contenders.memory, [fragmentPath]),
    "one fragment, 304": { ...target(contenders.memory, [fragmentPath]), ifNoneMatch: etag },
  };
  return throughputOf(targets);
}
