import { PLAN } from "../plan";
import type { SharedColdKey } from "../results";
import { trafficPer } from "../scenarios/round-trips";
import { launchApp, log, storeMeter, type AppStore, type Services } from "../run";
import { round } from "../summary";

const INSTANCES = 3;

/**
 * Scenario 4, last part: each cold key asked of three instances at once, on `store`; one loads, two wait
 * on its lease.
 */
export async function sharedColdPhase(services: Services, store: Exclude<AppStore, "memory">): Promise<SharedColdKey> {
  const meter = storeMeter(services, store);
  const keys = Array.from({ length: PLAN.sharedColdKeys }, (_, index) => `shared-${store}-${index}`);
  const warmUps = Array.from({ length: INSTANCES }, (_, index) => `warm-up-${store}-${index}`);
  // The app serves only the fragments it defines: these keys and each instance's warm-up among them.
  const env = { CACHE_FRESH_SECONDS: "3600", FRAGMENTS: [...keys, ...warmUps].join(",") };
  const apps = await Promise.all(warmUps.map(() => launchApp(services, store, env)));
  try {
    log(`round trips: one cold key, three instances (${store})`);
    // Route code loaded and JIT-warm, and the store connected, before counting: a key of its own each.
    await Promise.all(apps.map((app, index) => fetchFragment(app.url, warmUps[index]!)));
    for (const key of keys) services.upstream.script(key, { latencyMs: PLAN.sharedColdLatencyMs });
    const callsBefore = services.upstream.calls();
    const perKey = await trafficPer(meter, keys.length, async () => {
      for (const key of keys) await Promise.all(apps.map((app) => fetchFragment(app.url, key)));
    });
    return { perKey, upstreamCallsPerKey: round((services.upstream.calls() - callsBefore) / keys.length, 2) };
  } finally {
    await Promise.all(apps.map((app) => app.stop()));
  }
}

async function fetchFragment(url: string, key: string): Promise<void> {
  const response = await fetch(`${url}/fragment/${key}`);
  const html = await response.text();
  if (!html.includes(`result for ${key}`))
    throw new Error(`an instance answered ${response.status} for ${key}: ${html.slice(0, 200)}`);
}
