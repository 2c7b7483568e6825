import type { Browser } from "@playwright/test";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { RawSpread, ViewSpread } from "../results";
import { timePage, timeSeed, type RawTiming } from "../scenarios/raw-timing";
import { trafficPer } from "../scenarios/round-trips";
import { browserViews, launchApp, launchSeed, log, rawRuns, sleep, type Services } from "../run";
import { spread, type Spread } from "../summary";
import type { Traffic } from "../scenarios/round-trips";

// Entries live one second and have no grace, so waiting past that makes every run cold again.
const TTL_SECONDS = 1;
const EXPIRY_WAIT_MS = TTL_SECONDS * 1000 + 300;

export type ColdResults = {
  raw: Record<string, RawSpread>;
  browser: Record<string, ViewSpread>;
  trafficPerView: Record<string, { commands: Spread; roundTrips: Spread }>;
};

/** Scenario 1: every fragment cold, on the raw response and in Chromium; the app on Redis, like the seed. */
export async function coldPhase(services: Services, browser: Browser): Promise<ColdResults> {
  const app = await launchApp(services, "redis", { CACHE_TTL_SECONDS: String(TTL_SECONDS), CACHE_GRACE_SECONDS: "0" });
  const seed = await launchSeed(services, TTL_SECONDS);
  const expire = () => sleep(EXPIRY_WAIT_MS);
  const bridge = services.stack.bridge;
  if (!bridge) throw new Error("the bench needs the in-process bridge to count commands");
  try {
    log("cold: discarded first loads");
    await Promise.all([timePage(`${app.url}/`, FRAGMENT_NAMES), timeSeed(seed.url, FRAGMENT_NAMES)]);
    await expire();
    await timePage(`${app.url}/blocking`, FRAGMENT_NAMES);

    const traffic: Record<string, Traffic[]> = { streamed: [], blocking: [] };
    // Counted at the bridge around the raw loads: the app's Redis commands for one cold page view.
    const counted = (name: "streamed" | "blocking", path: string) => async () => {
      let timing: RawTiming | undefined;
      const perView = await trafficPer(bridge, 1, async () => (timing = await timePage(`${app.url}${path}`, FRAGMENT_NAMES, services.upstream)));
      traffic[name]?.push(perView);
      if (!timing) throw new Error(`no timing for ${name}`);
      return timing;
    };
    const measures = {
      streamed: counted("streamed", "/"),
      blocking: counted("blocking", "/blocking"),
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
    await Promise.all([app.stop(), seed.stop()]);
  }
}
