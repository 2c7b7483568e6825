import { PLAN } from "../plan";
import { trafficPer, type Traffic } from "../scenarios/round-trips";
import { launchApp, log, storeMeter, type AppStore, type Services } from "../run";
import { round } from "../summary";

const INSTANCES = 3;

export type SharedColdKey = { perKey: Traffic; upstreamCallsPerKey: number };

/**
 * Scenario 4, last part: each cold key asked of three instances at once, on `store`; one loads, two wait
 * on its lease.
 */
export async function sharedColdPhase(services: Services, store: Exclude<AppStore, "memory">): Promise<SharedColdKey> {
  const meter = storeMeter(services, store);
  const apps = await Promise.all(Array.from({ length: INSTANCES }, () => launchApp(services, store, { CACHE_TTL_SECONDS: "3600" })));
  try {
    log(`round trips: one cold key, three instances (${store})`);
    // Route code loaded and JIT-warm, and the store connected, before counting.
    await Promise.all(apps.map((app) => fetch(`${app.url}/fragment/warm-up-${app.port}`).then((response) => response.text())));
    const keys = Array.from({ length: PLAN.sharedColdKeys }, (_, index) => `shared-${store}-${index}`);
    for (const key of keys) services.upstream.script(key, { latencyMs: PLAN.sharedColdLatencyMs });
    const callsBefore = services.upstream.calls();
    const perKey = await trafficPer(meter, keys.length, async () => {
      for (const key of keys) {
        const answers = await Promise.all(apps.map((app) => fetch(`${app.url}/fragment/${key}`).then((response) => response.text())));
        if (!answers.every((html) => html.includes(`result for ${key}`))) throw new Error(`an instance failed on ${key}`);
      }
    });
    return { perKey, upstreamCallsPerKey: round((services.upstream.calls() - callsBefore) / keys.length, 2) };
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
  }
}
