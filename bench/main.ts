import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startRedisStack } from "../harness/redis-stack";
import { startRedisTarget } from "../harness/redis-targets";
import { startScriptedUpstream } from "../harness/upstream-server";
import { buildAppWithFloor } from "./baselines/next-floor";
import { staticFloorOf, type StaticFloor } from "./baselines/static-floor";
import { coldPhase } from "./phases/cold";
import { firstVisitPhase } from "./phases/first-visit";
import { fleetBusPhase } from "./phases/fleet-bus";
import { memoryPhase } from "./phases/memory";
import { sharedColdPhase } from "./phases/shared-cold";
import { steadyPhase } from "./phases/steady";
import { warmPhase } from "./phases/warm";
import { PLAN, QUICK } from "./plan";
import { markdownReport } from "./report/markdown";
import { paintSvg } from "./report/paint-chart";
import { throughputSvg } from "./report/throughput-chart";
import { waterfallSvg } from "./report/waterfall";
import type { Results } from "./results";
import { NETWORK_PROFILES } from "./scenarios/network-profiles";
import { launchBrowser, log, type Services } from "./run";
import { round } from "./summary";
import { checkTargets } from "./targets";

// A quick run checks the bench itself; its figures never replace a full run's.
const RESULTS = join(__dirname, "results", ...(QUICK ? ["tmp"] : []));

/**
 * `npm run bench`: builds a copy of the app with the bare Next page, runs every scenario against fresh local
 * services, writes bench/results/ (bench/results/tmp/ for a quick run).
 */
async function main(): Promise<void> {
  const started = performance.now();
  log("building a copy of the app, with the bare Next page, for production");
  const copy = buildAppWithFloor();
  const upstream = await startScriptedUpstream();
  for (const [name, latencyMs] of Object.entries(PLAN.latencies)) upstream.script(name, { latencyMs });
  const stack = await startRedisStack();
  const tcp = await startRedisTarget("redis");
  const browser = await launchBrowser();
  const services: Services = { upstream, stack, tcp, appRoot: copy.root };
  let staticFloor: StaticFloor | undefined;
  try {
    staticFloor = await staticFloorOf(services);
    const cold = await coldPhase(services, browser, staticFloor.url);
    const warm = await warmPhase(services, browser, staticFloor.url);
    const firstVisit = await firstVisitPhase(services, browser, staticFloor.url);
    const steady = await steadyPhase(services);
    const sharedColdKey = {
      Redis: await sharedColdPhase(services, "rest"),
      "Redis over TCP": await sharedColdPhase(services, "tcp"),
    };
    const fleetBus = await fleetBusPhase(services);
    const memory = await memoryPhase(copy.root);
    const measured = {
      finishedAt: new Date().toISOString(),
      durationSeconds: round((performance.now() - started) / 1000, 0),
      quick: QUICK,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "unknown", node: process.version },
      upstreamLatenciesMs: PLAN.latencies,
      networkProfiles: NETWORK_PROFILES.map((profile) => ({
        ...profile,
        coldRuns: PLAN.browserRuns[profile.name].cold,
        warmRuns: PLAN.browserRuns[profile.name].warm,
      })),
      staticFloor: staticFloor.document,
      cold,
      warm,
      firstVisit,
      steady,
      sharedColdKey,
      fleetBus,
      memory,
    };
    const results: Results = { ...measured, targets: checkTargets(measured) };
    const markdown = markdownReport(results);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(RESULTS, "latest.md"), markdown);
    writeFileSync(join(RESULTS, "waterfall.svg"), waterfallSvg(results));
    writeFileSync(join(RESULTS, "throughput.svg"), throughputSvg(results));
    writeFileSync(join(RESULTS, "paint.svg"), paintSvg(results));
    console.log(markdown);
    log(`done in ${results.durationSeconds} s; wrote ${RESULTS}`);
  } finally {
    await staticFloor?.close();
    await browser.close();
    await tcp.stop();
    await stack.stop();
    await upstream.close();
    copy.remove();
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
