import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { MemoryResult } from "../results";
import { flood } from "../scenarios/flood";
import { sleep } from "../../lib/timeout";
import { launchApp, log, type Services } from "../run";

/**
 * Scenario 5, only when `BENCH_FLOOD_KEYS` asks for it (a long flood of 100,000 keys is minutes on its own):
 * one fresh instance on the embedded store, run with the heap limit the README documents, before and after
 * a flood of distinct cold keys.
 */
export async function memoryPhase(services: Services, keys: number): Promise<MemoryResult> {
  const app = await launchApp(services, "memory", { NODE_OPTIONS: `--max-old-space-size=${PLAN.floodHeapMiB}` });
  try {
    // The page and the route loaded once, so "before" is a serving instance, not a half-loaded one.
    await fetch(`${app.url}/`).then((response) => response.text());
    await fetch(`${app.url}/fragment/${FRAGMENT_NAMES[0]}`).then((response) => response.text());
    await sleep(1000);
    log(`memory: ${keys} distinct cold keys`);
    return { ...(await flood(app.url, app.pid, keys)), heapLimitMiB: PLAN.floodHeapMiB, boundMiB: PLAN.memoryBoundMiB };
  } finally {
    await app.stop();
  }
}
