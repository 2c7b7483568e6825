import { sleep } from "../../lib/timeout";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { BusStore, WarmTraffic } from "../results";
import { timePage } from "../scenarios/raw-timing";
import { busUp } from "../scenarios/fleet-views";
import { pageView, startViews } from "../scenarios/visitor";
import { launchApp, log, storeMeter, type Services } from "../run";
import { round } from "../summary";

const complete = (html: string) => FRAGMENT_NAMES.every((name) => html.includes(`result for ${name}`));

/**
 * What warm views cost the store at a steady rate, with the bus on and off: one instance, every part fresh
 * for an hour, the page viewed `viewsPerSecond` times a second. Everything the instance sends counts (the
 * bus's heartbeats and the trust window's rechecks included), so the difference is what the bus adds.
 */
export async function warmTraffic(services: Services, store: BusStore, bus: "on" | "off"): Promise<WarmTraffic> {
  const { viewsPerSecond, seconds } = PLAN.fleetBus.warmTraffic;
  await (store === "rest" ? services.stack.client.flushall() : services.tcp.flush());
  const app = await launchApp(services, store, { CACHE_FRESH_SECONDS: "3600", CACHE_BUS: bus });
  try {
    if (bus === "on") await busUp(app.url);
    await timePage(`${app.url}/blocking`, FRAGMENT_NAMES);
    log(`fleet bus (${store}, bus ${bus}): warm views, ${viewsPerSecond}/s for ${seconds} s`);
    const meter = storeMeter(services, store);
    await meter.start();
    const start = performance.now();
    const views = startViews(pageView(`${app.url}/`, complete), viewsPerSecond);
    await sleep(seconds * 1000);
    const figures = await views.stop();
    const traffic = await meter.stop();
    const minutes = (performance.now() - start) / 60_000;
    return {
      views: figures.count,
      failed: figures.failed,
      commandsPerMinute: round(traffic.commands / minutes),
      roundTripsPerView: round(traffic.roundTrips / figures.count, 3),
    };
  } finally {
    await app.stop();
  }
}
