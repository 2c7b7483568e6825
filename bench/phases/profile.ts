import { startApp } from "../../harness/app-server";
import { freePort } from "../../harness/free-port";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { WarmProfile } from "../results";
import { profileDuring } from "../scenarios/cpu-profile";
import { offerLoad, type LoadResult } from "../scenarios/load";
import { summariseProfile } from "../scenarios/profile-summary";
import { timePage } from "../scenarios/raw-timing";
import { log, type Services } from "../run";

/**
 * Where a warm view's CPU goes: the memory store's app, every part fresh, viewed at the plan's lower offered
 * rate while the inspector samples its CPU; each sample's function is traced to its module through the build's
 * source maps. `env` adds to the app's settings (the page cache off, say).
 */
export async function profilePhase(
  { upstream, appRoot }: Pick<Services, "upstream" | "appRoot">,
  env: Record<string, string> = {},
): Promise<WarmProfile> {
  const inspectPort = await freePort();
  const app = await startApp({
    root: appRoot,
    env: {
      SLOW_API_URL: upstream.urlTemplate,
      FRAGMENTS: FRAGMENT_NAMES.join(","),
      CACHE_FRESH_SECONDS: "3600",
      NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}`,
      ...env,
    },
  });
  try {
    log(`profile: warm views of ${app.url}/ ${JSON.stringify(env)}`);
    await timePage(`${app.url}/blocking`, FRAGMENT_NAMES);
    const target = { url: app.url, pid: app.pid, paths: ["/"] };
    const rate = PLAN.offeredViewRates[0];
    await offerLoad(target, rate, PLAN.loadWarmUpSeconds + 1, PLAN.loadConnections);
    let load: LoadResult | undefined;
    const profile = await profileDuring(inspectPort, async () => {
      load = await offerLoad(target, rate, PLAN.profileSeconds, PLAN.loadConnections);
    });
    const views = load!.views * PLAN.profileSeconds;
    return { offeredViews: rate, seconds: PLAN.profileSeconds, load: load!, ...summariseProfile(profile, views) };
  } finally {
    await app.stop();
  }
}
