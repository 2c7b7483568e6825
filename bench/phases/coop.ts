import type { Browser } from "@playwright/test";
import { profileViews } from "../browser-runs";
import { PLAN } from "../plan";
import type { CoopView } from "../results";
import { startHeaderProxy } from "../scenarios/header-proxy";
import { NETWORK_PROFILES } from "../scenarios/network-profiles";

const LOOPBACK = NETWORK_PROFILES.find((profile) => profile.name === "loopback")!;

/**
 * Part of the warm phase: what `Cross-Origin-Opener-Policy: same-origin` costs the streamed page (warm, on
 * loopback) in a fresh tab, where Chromium moves the page to a new renderer process, and after a same-origin
 * page (the app's icon), where it need not. The same pass-through proxy in front of the app for both
 * variants, one dropping the header, so the header is the only difference.
 */
export async function coopViews(browser: Browser, appUrl: string): Promise<CoopView[]> {
  const kept = await startHeaderProxy(appUrl);
  const dropped = await startHeaderProxy(appUrl, ["cross-origin-opener-policy"]);
  try {
    const combinations = [kept, dropped].flatMap((proxy) => {
      const coop = proxy === kept;
      return [
        { navigation: "fresh tab" as const, coop, name: `fresh tab, COOP ${coop}`, url: `${proxy.url}/` },
        {
          navigation: "after a same-origin page" as const,
          coop,
          name: `same-origin, COOP ${coop}`,
          url: `${proxy.url}/`,
          from: `${proxy.url}/icon.svg`,
        },
      ];
    });
    const views = await profileViews(browser, "COOP", combinations, [{ profile: LOOPBACK, runs: PLAN.coopRuns }]);
    return combinations.map(({ navigation, coop, name }) => ({ navigation, coop, view: views[LOOPBACK.name]![name]! }));
  } finally {
    await Promise.all([kept.close(), dropped.close()]);
  }
}
