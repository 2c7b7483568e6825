import type { Browser } from "@playwright/test";
import { profileViews } from "../browser-runs";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { ColdResults } from "../results";
import { NETWORK_PROFILES } from "../scenarios/network-profiles";
import { timePage, timeSeed, type RawTiming } from "../scenarios/raw-timing";
import { trafficPer, type Traffic, type TrafficMeter } from "../scenarios/round-trips";
import { expiryGate, launchApp, launchSeed, log, rawRuns, readBody, storeMeter, type Services } from "../run";
import { spread } from "../summary";

// Entries live one second and have no grace, so waiting past that makes every run cold again.
const TTL_SECONDS = 1;
const EXPIRY_WAIT_MS = TTL_SECONDS * 1000 + 300;

/**
 * Scenario 1: every fragment cold, on the raw response and in Chromium under each network profile; the app
 * on Redis, like the seed, and the static floor beside them. The app on Redis over TCP too, on the raw
 * response only, where its round trips are counted.
 */
export async function coldPhase(services: Services, browser: Browser, staticFloorUrl: string): Promise<ColdResults> {
  // Without the bus: its heartbeats (one PUBLISH a second) would add about 3 to each counted view of 3 s.
  const env = { CACHE_FRESH_SECONDS: String(TTL_SECONDS), CACHE_GRACE_SECONDS: "0", CACHE_BUS: "off" };
  const [app, tcpApp, seed] = await Promise.all([
    launchApp(services, "rest", env),
    launchApp(services, "tcp", env),
    launchSeed(services, TTL_SECONDS),
  ]);
  // One gate per cache: the apps on the two redis-servers and the seed do not share their keys.
  const gates = {
    app: expiryGate(EXPIRY_WAIT_MS),
    tcpApp: expiryGate(EXPIRY_WAIT_MS),
    seed: expiryGate(EXPIRY_WAIT_MS),
  };
  try {
    log("cold: discarded first loads, all at once");
    // Whole bodies only: two loads of one key at once may wait on each other past a fragment's deadline.
    await Promise.all([
      readBody(`${app.url}/`),
      readBody(`${app.url}/blocking`),
      readBody(`${tcpApp.url}/`),
      timeSeed(seed.url, FRAGMENT_NAMES),
    ]);
    for (const gate of Object.values(gates)) gate.used();

    const traffic: Record<string, Traffic[]> = {};
    // Counted around the raw loads: the app's Redis commands and round trips for one cold page view.
    const counted = (name: string, url: string, meter: TrafficMeter) => async () => {
      let timing: RawTiming | undefined;
      const perView = await trafficPer(
        meter,
        1,
        async () => (timing = await timePage(url, FRAGMENT_NAMES, services.upstream)),
      );
      (traffic[name] ??= []).push(perView);
      if (!timing) throw new Error(`no timing for ${name}`);
      return timing;
    };
    const rest = storeMeter(services, "rest");
    log(`cold raw: ${PLAN.coldRuns} load(s) of each`);
    const raw = await rawRuns(
      [
        { name: "streamed", measure: counted("streamed", `${app.url}/`, rest), gate: gates.app },
        {
          name: "streamed, Redis over TCP",
          measure: counted("streamed, Redis over TCP", `${tcpApp.url}/`, storeMeter(services, "tcp")),
          gate: gates.tcpApp,
        },
        { name: "blocking", measure: counted("blocking", `${app.url}/blocking`, rest), gate: gates.app },
        { name: "seed", measure: () => timeSeed(seed.url, FRAGMENT_NAMES), gate: gates.seed },
      ],
      PLAN.coldRuns,
    );

    // Streamed and blocking read the same keys: the seed's load between them lets those expire.
    const views = await profileViews(
      browser,
      "cold browser",
      [
        { name: "streamed", url: `${app.url}/`, gate: gates.app },
        { name: "seed", url: seed.url, gate: gates.seed },
        { name: "blocking", url: `${app.url}/blocking`, gate: gates.app },
        { name: "static floor", url: staticFloorUrl },
      ],
      NETWORK_PROFILES.map((profile) => ({ profile, runs: PLAN.browserRuns[profile.name].cold })),
    );
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
