import type { Browser, BrowserContext } from "@playwright/test";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { VisitCondition, VisitFigures, VisitKind, VisitResults } from "../results";
import { DESKTOP_USER_AGENT, primeCache } from "../scenarios/browser-view";
import { NETWORK_PROFILES } from "../scenarios/network-profiles";
import { visitPage, type VisitView } from "../scenarios/visit-view";
import { launchApp, launchSeed, log, readBody, type Services } from "../run";
import { tail } from "../summary";
import { timeSeed } from "../scenarios/raw-timing";

/** The contenders of the first visit, by name (the static floor's is `static floor`), and their URLs. */
export type VisitContenders = Record<string, string>;

const VISITS: VisitKind[] = ["first", "return"];

/** A person's browser with nothing of the site: no HTTP cache, no cookies, no service worker. */
const newVisitor = (browser: Browser) => browser.newContext({ userAgent: DESKTOP_USER_AGENT, serviceWorkers: "block" });

export type VisitPhaseOptions = {
  /** The streamed page's contenders by name, each from a build of its own; `streamed` from the bench's build. */
  builds?: Record<string, string>;
  /** Rounds per condition; the plan's by default. */
  runs?: number;
};

/**
 * The warm streamed page (an instance per build) and the seed, each on an instance of its own (every value
 * fresh for an hour), and the static floor already running: first and return visits of each.
 */
export async function firstVisitPhase(
  services: Services,
  browser: Browser,
  staticFloorUrl: string,
  { builds = { streamed: services.appRoot }, runs = PLAN.visits.runs }: VisitPhaseOptions = {},
): Promise<VisitResults> {
  const [seed, ...apps] = await Promise.all([
    launchSeed(services, 3600),
    ...Object.values(builds).map((appRoot) =>
      launchApp({ ...services, appRoot }, "memory", { CACHE_FRESH_SECONDS: "3600" }),
    ),
  ]);
  try {
    log("first visit: filling the caches");
    await Promise.all([...apps.map((app) => readBody(`${app.url}/`)), timeSeed(seed.url, FRAGMENT_NAMES)]);
    const streamed = Object.fromEntries(Object.keys(builds).map((name, index) => [name, `${apps[index]!.url}/`]));
    return await visitViews(browser, { ...streamed, seed: seed.url, "static floor": staticFloorUrl }, runs);
  } finally {
    await Promise.all([seed, ...apps].map((server) => server.stop()));
  }
}

/**
 * Per condition, `runs` rounds in which each contender is visited once for the first time (a new browser
 * context: its HTTP cache empty) and once again (a context of its own whose discarded first load cached its
 * assets), a fresh tab each time; contenders and visits take turns, so a drift in the machine's load touches
 * them all alike.
 */
export async function visitViews(browser: Browser, contenders: VisitContenders, runs: number): Promise<VisitResults> {
  const { quietMs, conditions } = PLAN.visits;
  const entries = Object.entries(contenders);
  const names = entries.map(([name]) => name);
  const returning = new Map<string, BrowserContext>();
  try {
    for (const name of names) returning.set(name, await newVisitor(browser));
    log("first visit: a discarded load of each, for the return visits");
    await Promise.all(entries.map(([name, url]) => primeCache(returning.get(name)!, url)));
    const results: VisitCondition[] = [];
    for (const { profile: profileName, cpuSlowdown } of conditions) {
      const profile = NETWORK_PROFILES.find(({ name }) => name === profileName)!;
      log(`first visit: ${runs} first and return visit(s) of each on ${profile.name}, CPU ${cpuSlowdown}× slower`);
      const options = {
        ...(profile.conditions ? { network: profile.conditions } : {}),
        cpuSlowdown,
        quietMs,
        expectText: FRAGMENT_NAMES.map((name) => `result for ${name}`),
      };
      const views = new Map(names.map((name) => [name, { first: [] as VisitView[], return: [] as VisitView[] }]));
      for (let run = 0; run < runs; run++) {
        for (const [name, url] of entries) {
          for (const visit of VISITS) {
            const fresh = visit === "first" ? await newVisitor(browser) : undefined;
            try {
              views.get(name)![visit].push(await visitPage(fresh ?? returning.get(name)!, url, options));
            } finally {
              await fresh?.close();
            }
          }
        }
      }
      results.push({
        profile: profile.name,
        network: profile.description,
        cpuSlowdown,
        contenders: Object.fromEntries(
          [...views].map(([name, byVisit]) => [
            name,
            { first: figures(byVisit.first), return: figures(byVisit.return) },
          ]),
        ),
      });
    }
    return { runs, quietMs, conditions: results };
  } finally {
    await Promise.all([...returning.values()].map((context) => context.close()));
  }
}

function figures(views: VisitView[]): VisitFigures {
  const of = (field: keyof VisitView) => tail(views.map((view) => view[field]));
  return {
    firstContentfulPaint: of("firstContentfulPaint"),
    interactive: of("interactive"),
    totalBlockingTime: of("totalBlockingTime"),
    longTasks: of("longTasks"),
    transferredBytes: of("transferredBytes"),
  };
}
