import { chromium, devices, type Browser, type BrowserContext } from "@playwright/test";
import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import { startApp, type AppServer } from "../test-support/app-server";
import type { RedisStack } from "../test-support/redis-stack";
import type { RedisTarget } from "../test-support/redis-targets";
import type { ScriptedUpstream } from "../test-support/upstream-server";
import { startSeed, type SeedServer } from "./baselines/seed/launch";
import { FRAGMENT_NAMES } from "./plan";
import type { RawSpread, ViewSpread } from "./results";
import { viewPage, type BrowserView } from "./scenarios/browser-view";
import type { RawTiming } from "./scenarios/raw-timing";
import { bridgeMeter, tcpMeter, type TrafficMeter } from "./scenarios/round-trips";
import { spread } from "./summary";

/**
 * The services every contender runs against: one scripted upstream; one redis-server behind the bridge
 * (Upstash's REST protocol), and one that the apps on native Redis reach over TCP through a counting proxy.
 */
export type Services = { upstream: ScriptedUpstream; stack: RedisStack; tcp: RedisTarget };

/** The app's shared store: none, Redis through the REST bridge, or Redis over TCP (ioredis). */
export type AppStore = "memory" | "rest" | "tcp";

export function log(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function launchApp({ upstream, stack, tcp }: Services, store: AppStore, env: Record<string, string> = {}): Promise<AppServer> {
  const storeEnv = { memory: {}, rest: stack.env, tcp: { REDIS_URL: tcpAddress(tcp) } };
  return startApp({
    env: {
      SLOW_API_URL: upstream.urlTemplate,
      FRAGMENTS: FRAGMENT_NAMES.join(","),
      ...storeEnv[store],
      ...env,
    },
  });
}

/** Through the proxy, which counts round trips; the REST bridge, too, is a hop in this process. */
function tcpAddress({ address }: RedisTarget): string {
  if (address.kind !== "redis") throw new Error(`the TCP contenders need one redis-server, not ${address.kind}`);
  return address.url;
}

/** Counts the store traffic of the apps on `store`: at the bridge, or at redis-server and the TCP proxy. */
export function storeMeter({ stack, tcp }: Services, store: Exclude<AppStore, "memory">): TrafficMeter {
  if (store === "rest") {
    if (!stack.bridge) throw new Error("the bench needs the in-process bridge to count commands");
    return bridgeMeter(stack.bridge);
  }
  if (!(tcp.client instanceof Redis) || !tcp.proxy) throw new Error("the bench needs one redis-server behind the proxy to count commands");
  return tcpMeter(tcp.client, tcp.proxy);
}

export function launchSeed({ upstream, stack }: Services, ttlSeconds: number): Promise<SeedServer> {
  return startSeed({
    SLOW_API_URL: upstream.urlTemplate,
    REDIS_URL: stack.redis.url,
    CACHE_TTL_SECONDS: String(ttlSeconds),
    FRAGMENTS: FRAGMENT_NAMES.join(","),
  });
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined;
  return chromium.launch({ executablePath });
}

/** A tab per load in one context per contender, so static assets are cached as for a returning visitor. */
export async function viewRuns(
  context: BrowserContext,
  url: string,
  runs: number,
  between: () => Promise<void>,
): Promise<ViewSpread> {
  const views: BrowserView[] = [];
  for (let run = 0; run < runs; run++) {
    await between();
    views.push(await viewPage(context, url, FRAGMENT_NAMES));
  }
  return {
    allVisible: spread(views.map((view) => view.allVisible)),
    fragments: Object.fromEntries(FRAGMENT_NAMES.map((name) => [name, spread(views.map((view) => view.fragments[name] ?? Number.NaN))])),
    firstContentfulPaint: spread(views.map((view) => view.firstContentfulPaint)),
    spinnerLoads: views.filter((view) => view.spinnerPainted).length,
    runs,
    maxLayoutShift: Math.max(...views.map((view) => view.cumulativeLayoutShift)),
  };
}

/** Each page in a browser context of its own: one view to warm it (discarded), then `runs` measured views. */
export async function browserViews(
  browser: Browser,
  label: string,
  urls: Record<string, string>,
  runs: number,
  pauses: { beforeWarmUp: () => Promise<void>; between: () => Promise<void> },
): Promise<Record<string, ViewSpread>> {
  const views: Record<string, ViewSpread> = {};
  for (const [name, url] of Object.entries(urls)) {
    log(`${label}: ${name}`);
    // A person's browser: headless Chromium calls itself HeadlessChrome, which the page serves as a crawler.
    const context = await browser.newContext({ userAgent: devices["Desktop Chrome"].userAgent });
    try {
      await viewRuns(context, url, 1, pauses.beforeWarmUp);
      views[name] = await viewRuns(context, url, runs, pauses.between);
    } finally {
      await context.close();
    }
  }
  return views;
}

export async function rawRuns(measure: () => Promise<RawTiming>, runs: number, between: () => Promise<void>): Promise<RawSpread> {
  const timings: RawTiming[] = [];
  for (let run = 0; run < runs; run++) {
    await between();
    timings.push(await measure());
  }
  const paths = timings.every((timing) => timing.paths)
    ? Object.fromEntries(
        FRAGMENT_NAMES.map((name) => {
          const of = (field: "called" | "afterAnswer") => spread(timings.map((timing) => timing.paths?.[name]?.[field] ?? Number.NaN));
          return [name, { called: of("called"), afterAnswer: of("afterAnswer") }];
        }),
      )
    : undefined;
  return {
    firstByte: spread(timings.map((timing) => timing.firstByte)),
    fragments: Object.fromEntries(FRAGMENT_NAMES.map((name) => [name, spread(timings.map((timing) => timing.fragments[name] ?? Number.NaN))])),
    done: spread(timings.map((timing) => timing.done)),
    ...(paths ? { paths } : {}),
  };
}

