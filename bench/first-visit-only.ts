import { parseArgs } from "node:util";
import { runAlone, withBuild, withServices, writeAlone } from "./alone";
import { staticFloorOf } from "./baselines/static-floor";
import { firstVisitPhase } from "./phases/first-visit";
import { PLAN } from "./plan";
import { visitsSection } from "./report/visits";
import { launchBrowser } from "./run";

// `npx tsx bench/first-visit-only.ts [--root <checkout>] [--before <checkout>] [--runs <n>]`: the first and
// return visits of `npm run bench` on their own (about two minutes, and the build), on a fresh build of a copy
// of the working tree or on the build already in `--root`. `--before` adds the streamed page of another
// build (the code before a change) as "streamed, before", taking turns with the rest in the same run; `--runs`
// replaces the plan's rounds. Honours BENCH_QUICK; writes results/tmp/first-visit.*.
const { values: args } = parseArgs({
  options: { root: { type: "string" }, before: { type: "string" }, runs: { type: "string" } },
});
const runs = args.runs === undefined ? PLAN.visits.runs : Number(args.runs);
if (!(Number.isInteger(runs) && runs > 0)) throw new Error(`--runs must be a positive integer, not "${args.runs}"`);

runAlone(async () => {
  const started = performance.now();
  await withBuild(args.root, "workerless-visits-", (appRoot) =>
    withServices(appRoot, async (services) => {
      const browser = await launchBrowser();
      const floor = await staticFloorOf(services);
      try {
        const builds = { streamed: services.appRoot, ...(args.before ? { "streamed, before": args.before } : {}) };
        const firstVisit = await firstVisitPhase(services, browser, floor.url, { builds, runs });
        writeAlone("first-visit", { firstVisit }, `${visitsSection(firstVisit).join("\n\n")}\n`, started);
      } finally {
        await floor.close();
        await browser.close();
      }
    }),
  );
});
