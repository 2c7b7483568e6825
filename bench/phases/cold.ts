import type { Browser } from "@playwright/test";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { RawSpread, ViewSpread } from "../results";
import { timePage, timeSeed, type RawTiming } from "../scenarios/raw-timing";
import { trafficPer, type Traffic, type TrafficMeter } from "../scenarios/round-trips";
import { browserViews, launchApp, launchSeed, log, rawRuns, sleep, storeMeter, type Services } from "../run";
import { spread, type Spread } from "../summary";

// Entries live one second and have no grace, so waiting past that makes every run cold again.
const TTL_SECONDS = 1;
const EXPIRY_WAIT_MS = TTL_SECONDS * 1000 + 300;

export type ColdResults = {
  raw: Record<string, RawSpread>;
  browser: Record<string, ViewSpread>;
  trafficPerView: Record<string, { commands: Spread; roundTrips: Spread }>;
};

/**
 * Scenario 1: every fragment cold, on the raw response and in Chromium; the app on Redis, like the seed.
 * The app on Redis over TCP too, on the raw response only, where its round trips are counted.
 */
export async function coldPhase(services: Services, browser: Browser): Promise<ColdResults> {
  const env = { CACHE_TTL_SECONDS: String(TTL_SECONDS), CACHE_GRACE_SECONDS: "0" };
  const app = await launchApp(services, "rest", env);
  const tcpApp = await launchApp(services, "tcp", env);
  const seed = await launchSeed(services, TTL_SECONDS);
  const expire = () => sleep(EXPIRY_WAIT_MS);
  try {
    log("cold: discarded first loads");
    // Two redis-servers: the apps on each do not share their keys.
    await Promise.all([timePage(`${app.url}/`, FRAGMENT_NAMES), timePage(`${tcpApp.url}/`, FRAGMENT_NAMES), timeSeed(seed.url, FRAGMENT_NAMES)]);
    await expire();
    await timePage(`${app.url}/blocking`, FRAGMENT_NAMES);

    const traffic: Record<string, Traffic[]> = {};
    // Counted around the raw loads: the app's Redis commands and round trips for one cold page view.
    const counted = (name: string, url: string, meter: TrafficMeter) => async () => {
      let timing: RawTiming | undefined;
      const perView = await trafficPer(meter, 1, async () => (timing = await timePage(url, FRAGMENT_NAMES, services.upstream)));
      (traffic[name] ??= []).push(perView);
      if (!timing) throw new Error(`no timing for ${name}`);
      return timing;
    };
    const rest = storeMeter(services, "rest");
    const measures = {
      streamed: counted("streamed", `${app.url}/`, rest),
      "streamed, Redis over TCP": counted("streamed, Redis over TCP", `${tcpApp.url}/`, storeMeter(services, "tcp")),
      blocking: counted("blocking", `${app.url}/blocking`, rest),
      seed: () => timeSeed(seed.url, FRAGMENT_NAMES),
    };
    const raw: Record<string, RawSpread> = {};
    for (const [name, measure] of Object.entries(measures)) {
      log(`cold raw: ${name}`);
      raw[name] = await rawRuns(measure, PLAN.coldRuns, expire);
    }

    const urls = { streamed: `${app.url}/`, blocking: `${app.url}/blocking`, seed: seed.url };
    const views = await browserViews(browser, "cold browser", urls, PLAN.coldRuns, { beforeWarmUp: expire, between: expire });
    return {
      raw,
      browser: views,
      trafficPerView: Object.fromEntries(
        Object.entries(traffic).map(([name, runs]) => [
          name,
          { commands: spread(runs.map((run) => run.commands)), roundTrips: spread(runs.map((run) => run.roundTrips)) },
        ]),
      ),
    };
  } finally {
    await Promise.all([app.stop(), tcpApp.stop(), seed.stop()]);
  }
}
