import { PLAN } from "../plan";
import { flood, type FloodResult } from "../scenarios/flood";
import { launchApp, log, sleep, type Services } from "../run";

/**
 * Scenario 5: one fresh instance on the embedded store, run with the heap limit the README documents,
 * before and after a flood of distinct cold keys.
 */
export async function memoryPhase(services: Services): Promise<FloodResult> {
  const app = await launchApp(services, "memory", { NODE_OPTIONS: `--max-old-space-size=${PLAN.floodHeapMiB}` });
  try {
    // The page and the route loaded once, so "before" is a serving instance, not a half-loaded one.
    await fetch(`${app.url}/`).then((response) => response.text());
    await fetch(`${app.url}/fragment/warm-up`).then((response) => response.text());
    await sleep(1000);
    log(`memory: ${PLAN.floodKeys} distinct cold keys`);
    return await flood(app.url, app.pid, PLAN.floodKeys);
  } finally {
    await app.stop();
  }
}
