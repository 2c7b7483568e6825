import { PLAN } from "../plan";
import { trafficPer, type Traffic } from "../scenarios/round-trips";
import { launchApp, log, type Services } from "../run";
import { round } from "../summary";

const INSTANCES = 3;

/** Scenario 4, last part: each cold key asked of three instances at once; one loads, two wait on its lease. */
export async function sharedColdPhase(services: Services): Promise<{ perKey: Traffic; upstreamCallsPerKey: number }> {
  const bridge = services.stack.bridge;
  if (!bridge) throw new Error("the bench needs the in-process bridge to count commands");
  const apps = await Promise.all(Array.from({ length: INSTANCES }, () => launchApp(services, "redis", { CACHE_TTL_SECONDS: "3600" })));
  try {
    log("round trips: one cold key, three instances");
    // Route code loaded and JIT-warm before counting.
    await Promise.all(apps.map((app) => fetch(`${app.url}/fragment/warm-up-${app.port}`).then((response) => response.text())));
    const keys = Array.from({ length: PLAN.sharedColdKeys }, (_, index) => `shared-${index}`);
    for (const key of keys) services.upstream.script(key, { latencyMs: PLAN.sharedColdLatencyMs });
    const callsBefore = services.upstream.calls();
    const perKey = await trafficPer(bridge, keys.length, async () => {
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
