import type { Browser, BrowserContext } from "@playwright/test";
import { FRAGMENT_NAMES } from "./plan";
import type { ProfileViews, ViewSpread } from "./results";
import { DESKTOP_USER_AGENT, primeCache, viewPage, type BrowserView } from "./scenarios/browser-view";
import type { NetworkProfile, ProfileName } from "./scenarios/network-profiles";
import { log, type ExpiryGate } from "./run";
import { spread } from "./summary";

export type BrowserContender = {
  name: string;
  url: string;
  /** Held until the entries its previous load wrote have expired (cold views). */
  gate?: ExpiryGate;
  /** Loaded in the tab first, so `url` is reached by a same-origin navigation. */
  from?: string;
  /** Measured under these profiles only; every one by default. */
  only?: ProfileName[];
};

/**
 * Each contender in a browser context of its own, where one discarded load on loopback caches its static
 * assets as for a returning visitor (the contenders' at once); then, per profile, `runs` views of each, a fresh tab per load, the
 * contenders taking turns so a drift in the machine's load touches them all alike.
 */
export async function profileViews(
  browser: Browser,
  label: string,
  contenders: BrowserContender[],
  plan: Array<{ profile: NetworkProfile; runs: number }>,
): Promise<ProfileViews> {
  const contexts = new Map<string, BrowserContext>();
  try {
    for (const { name } of contenders) contexts.set(name, await browser.newContext({ userAgent: DESKTOP_USER_AGENT }));
    const view = async (contender: BrowserContender, profile: NetworkProfile) => {
      await contender.gate?.ready();
      const options = {
        ...(profile.conditions ? { network: profile.conditions } : {}),
        ...(contender.from ? { from: contender.from } : {}),
      };
      const result = await viewPage(contexts.get(contender.name)!, contender.url, FRAGMENT_NAMES, options);
      contender.gate?.used();
      return result;
    };
    log(`${label}: a discarded load of each, all at once`);
    // Only what they cache counts, not their timing: at once saves seconds of waiting on cold fragments.
    await Promise.all(
      contenders.map((contender) => primeCache(contexts.get(contender.name)!, contender.url, contender.from)),
    );
    for (const contender of contenders) contender.gate?.used();
    const views: ProfileViews = {};
    for (const { profile, runs } of plan) {
      log(`${label}: ${runs} view(s) of each on ${profile.name}`);
      const measured = contenders.filter((contender) => !contender.only || contender.only.includes(profile.name));
      const results = new Map<string, BrowserView[]>(measured.map((contender) => [contender.name, []]));
      for (let run = 0; run < runs; run++) {
        for (const contender of measured) results.get(contender.name)!.push(await view(contender, profile));
      }
      views[profile.name] = Object.fromEntries([...results].map(([name, runsOf]) => [name, viewSpread(runsOf)]));
    }
    return views;
  } finally {
    await Promise.all([...contexts.values()].map((context) => context.close()));
  }
}

function viewSpread(views: BrowserView[]): ViewSpread {
  return {
    allVisible: spread(views.map((view) => view.allVisible)),
    fragments: Object.fromEntries(
      FRAGMENT_NAMES.map((name) => [name, spread(views.map((view) => view.fragments[name] ?? Number.NaN))]),
    ),
    firstContentfulPaint: spread(views.map((view) => view.firstContentfulPaint)),
    spinnerLoads: views.filter((view) => view.spinnerPainted).length,
    runs: views.length,
    maxLayoutShift: Math.max(...views.map((view) => view.cumulativeLayoutShift)),
  };
}
