import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startRedisStack } from "../harness/redis-stack";
import { startRedisTarget } from "../harness/redis-targets";
import { startScriptedUpstream } from "../harness/upstream-server";
import { copyApp } from "./app-copy";
import { staticFloorOf } from "./baselines/static-floor";
import { firstVisitPhase } from "./phases/first-visit";
import { PLAN } from "./plan";
import { visitsSection } from "./report/visits";
import { launchBrowser, log } from "./run";
import { round } from "./summary";

// `npx tsx bench/first-visit-only.ts [--root <checkout>] [--before <checkout>] [--runs <n>]`: the first and
// return visits of `npm run bench` on their own (about two minutes, and the build), on a fresh build of a copy
// of the working tree or on the build already in `--root`. `--before` adds the streamed page of another
// build (the code before a change) as "streamed, before", taking turns with the rest in the same run; `--runs`
// replaces the plan's rounds. Honours BENCH_QUICK; writes results/tmp/first-visit.*.
const { values: args } = parseArgs({
  options: { root: { type: "string" }, before: { type: "string" }, runs: { type: "string" } },
});
const RESULTS = join(__dirname, "results", "tmp");
const runs = args.runs === undefined ? PLAN.visits.runs : Number(args.runs);
if (!(Number.isInteger(runs) && runs > 0)) throw new Error(`--runs must be a positive integer, not "${args.runs}"`);

async function main(): Promise<void> {
  const started = performance.now();
  let copy: ReturnType<typeof copyApp> | undefined;
  if (!args.root) {
    log("building a copy of the app for production");
    copy = copyApp("workerless-visits-");
  }
  const upstream = await startScriptedUpstream();
  for (const [name, latencyMs] of Object.entries(PLAN.latencies)) upstream.script(name, { latencyMs });
  const stack = await startRedisStack();
  const tcp = await startRedisTarget("redis");
  const browser = await launchBrowser();
  try {
    copy?.build();
    const services = { upstream, stack, tcp, appRoot: args.root ?? copy!.root };
    const floor = await staticFloorOf(services);
    try {
      const builds = { streamed: services.appRoot, ...(args.before ? { "streamed, before": args.before } : {}) };
      const firstVisit = await firstVisitPhase(services, browser, floor.url, { builds, runs });
      const markdown = `${visitsSection(firstVisit).join("\n\n")}\n`;
      mkdirSync(RESULTS, { recursive: true });
      writeFileSync(join(RESULTS, "first-visit.json"), `${JSON.stringify({ firstVisit }, null, 2)}\n`);
      writeFileSync(join(RESULTS, "first-visit.md"), markdown);
      console.log(markdown);
    } finally {
      await floor.close();
    }
    log(`done in ${round((performance.now() - started) / 1000, 0)} s; wrote ${RESULTS}`);
  } finally {
    await browser.close();
    await tcp.stop();
    await stack.stop();
    await upstream.close();
    copy?.remove();
  }
}

main().then(
  // Child processes and sockets are gone; exit even if a library keeps a timer alive.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
