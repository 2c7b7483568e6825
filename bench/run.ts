import { chromium, type Browser } from "@playwright/test";
import { Redis } from "ioredis";
import { startApp, type AppServer } from "../harness/app-server";
import { systemChromium } from "../harness/chromium";
import type { RedisStack } from "../harness/redis-stack";
import type { RedisTarget } from "../harness/redis-targets";
import type { ScriptedUpstream } from "../harness/upstream-server";
import { startSeed, type SeedServer } from "./baselines/seed/launch";
import { FRAGMENT_NAMES } from "./plan";
import type { RawSpread } from "./results";
import type { RawTiming } from "./scenarios/raw-timing";
import { bridgeMeter, tcpMeter, type TrafficMeter } from "./scenarios/round-trips";
import { sleep } from "../lib/timeout";
import { spread } from "./summary";

/**
 * The services every contender runs against: one scripted upstream; one redis-server behind the bridge
 * (Upstash's REST protocol), and one that the apps on native Redis reach over TCP through a counting proxy;
 * and the build every app contender runs from (a copy of the app with the bare Next page added).
 */
export type Services = { upstream: ScriptedUpstream; stack: RedisStack; tcp: RedisTarget; appRoot: string };

/** The app's shared store: none, Redis through the REST bridge, or Redis over TCP (ioredis). */
export type AppStore = "memory" | "rest" | "tcp";

export function log(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** GETs `url` and reads its whole body, whatever it says: a load that only warms something up. */
export async function readBody(url: string): Promise<void> {
  await fetch(url).then((response) => response.text());
}

/** Loads that share one cache: `ready` waits until what the last of them (marked by `used`) wrote has expired. */
export type ExpiryGate = { ready(): Promise<void>; used(): void };

export function expiryGate(expiryMs: number): ExpiryGate {
  let last = Number.NEGATIVE_INFINITY;
  return {
    ready: () => sleep(last + expiryMs - performance.now()),
    used: () => {
      last = performance.now();
    },
  };
}

export function launchApp(
  { upstream, stack, tcp, appRoot }: Services,
  store: AppStore,
  env: Record<string, string> = {},
): Promise<AppServer> {
  const storeEnv = { memory: {}, rest: stack.env, tcp: { REDIS_URL: tcpAddress(tcp) } };
  return startApp({
    root: appRoot,
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
  if (!(tcp.client instanceof Redis) || !tcp.proxy)
    throw new Error("the bench needs one redis-server behind the proxy to count commands");
  return tcpMeter(tcp.client, tcp.proxy);
}

export function launchSeed(
  { upstream, stack }: Pick<Services, "upstream" | "stack">,
  ttlSeconds: number,
): Promise<SeedServer> {
  return startSeed({
    SLOW_API_URL: upstream.urlTemplate,
    REDIS_URL: stack.redis.url,
    CACHE_FRESH_SECONDS: String(ttlSeconds),
    FRAGMENTS: FRAGMENT_NAMES.join(","),
  });
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: systemChromium });
}

export type RawContender = { name: string; measure: () => Promise<RawTiming>; gate?: ExpiryGate };

/**
 * `runs` loads of each contender, taking turns, so a drift in the machine's load touches them all alike; a
 * contender's gate holds its load until the previous one's entries have expired, which the others' loads
 * mostly cover.
 */
export async function rawRuns(contenders: RawContender[], runs: number): Promise<Record<string, RawSpread>> {
  const timings = new Map<string, RawTiming[]>(contenders.map((contender) => [contender.name, []]));
  for (let run = 0; run < runs; run++) {
    for (const { name, measure, gate } of contenders) {
      await gate?.ready();
      timings.get(name)!.push(await measure());
      gate?.used();
    }
  }
  return Object.fromEntries([...timings].map(([name, runsOf]) => [name, rawSpread(runsOf)]));
}

function rawSpread(timings: RawTiming[]): RawSpread {
  const paths = timings.every((timing) => timing.paths)
    ? Object.fromEntries(
        FRAGMENT_NAMES.map((name) => {
          const of = (field: "called" | "afterAnswer") =>
            spread(timings.map((timing) => timing.paths?.[name]?.[field] ?? Number.NaN));
          return [name, { called: of("called"), afterAnswer: of("afterAnswer") }];
        }),
      )
    : undefined;
  return {
    firstByte: spread(timings.map((timing) => timing.firstByte)),
    fragments: Object.fromEntries(
      FRAGMENT_NAMES.map((name) => [name, spread(timings.map((timing) => timing.fragments[name] ?? Number.NaN))]),
    ),
    done: spread(timings.map((timing) => timing.done)),
    ...(paths ? { paths } : {}),
  };
}
