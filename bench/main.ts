import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startRedisStack } from "../test-support/redis-stack";
import { startRedisTarget } from "../test-support/redis-targets";
import { startScriptedUpstream } from "../test-support/upstream-server";
import { coldPhase } from "./phases/cold";
import { memoryPhase } from "./phases/memory";
import { sharedColdPhase } from "./phases/shared-cold";
import { warmPhase } from "./phases/warm";
import { PLAN } from "./plan";
import { markdownReport } from "./report/markdown";
import { throughputSvg } from "./report/throughput-chart";
import { waterfallSvg } from "./report/waterfall";
import type { Results } from "./results";
import { launchBrowser, log } from "./run";
import { round } from "./summary";
import { checkTargets } from "./targets";

const ROOT = join(__dirname, "..");
const RESULTS = join(__dirname, "results");

/** `npm run bench`: builds the app, runs every scenario against fresh local services, writes bench/results/. */
async function main(): Promise<void> {
  const started = performance.now();
  log("building the app for production");
  execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });

  const upstream = await startScriptedUpstream();
  for (const [name, latencyMs] of Object.entries(PLAN.latencies)) upstream.script(name, { latencyMs });
  const stack = await startRedisStack();
  const tcp = await startRedisTarget("redis");
  const browser = await launchBrowser();
  const services = { upstream, stack, tcp };
  try {
    const cold = await coldPhase(services, browser);
    const warm = await warmPhase(services, browser);
    const sharedColdKey = {
      Redis: await sharedColdPhase(services, "rest"),
      "Redis over TCP": await sharedColdPhase(services, "tcp"),
    };
    const memory = await memoryPhase(services);
    const measured = {
      finishedAt: new Date().toISOString(),
      durationSeconds: round((performance.now() - started) / 1000, 0),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? "unknown", node: process.version },
      upstreamLatenciesMs: PLAN.latencies,
      cold,
      warm,
      sharedColdKey,
      memory: { ...memory, heapLimitMiB: PLAN.floodHeapMiB, boundMiB: PLAN.memoryBoundMiB },
    };
    const results: Results = { ...measured, targets: checkTargets(measured) };
    const markdown = markdownReport(results);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(RESULTS, "latest.md"), markdown);
    writeFileSync(join(RESULTS, "waterfall.svg"), waterfallSvg(results));
    writeFileSync(join(RESULTS, "throughput.svg"), throughputSvg(results));
    console.log(markdown);
    log(`done in ${results.durationSeconds} s; wrote bench/results/`);
  } finally {
    await browser.close();
    await tcp.stop();
    await stack.stop();
    await upstream.close();
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
