import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startRedisStack } from "../harness/redis-stack";
import { startRedisTarget } from "../harness/redis-targets";
import { startScriptedUpstream } from "../harness/upstream-server";
import { copyApp } from "./app-copy";
import { fleetBusPhase } from "./phases/fleet-bus";
import { PLAN } from "./plan";
import { fleetBusSection } from "./report/fleet-bus";
import { targetsSection } from "./report/markdown";
import { log } from "./run";
import { round } from "./summary";
import { fleetBusTargets } from "./targets";

// `npx tsx bench/fleet-bus-only.ts [--root <checkout>]`: the fleet-bus phase of `npm run bench` on its own, on
// a fresh build of a copy of the working tree, or on the build already in `--root`. Honours BENCH_QUICK;
// writes results/tmp/fleet-bus.*.
const { values: args } = parseArgs({ options: { root: { type: "string" } } });
const RESULTS = join(__dirname, "results", "tmp");

async function main(): Promise<void> {
  const started = performance.now();
  let copy: ReturnType<typeof copyApp> | undefined;
  if (!args.root) {
    log("building a copy of the app for production");
    copy = copyApp("workerless-fleet-bus-");
  }
  const upstream = await startScriptedUpstream();
  for (const [name, latencyMs] of Object.entries(PLAN.latencies)) upstream.script(name, { latencyMs });
  const stack = await startRedisStack();
  const tcp = await startRedisTarget("redis");
  try {
    copy?.build();
    const fleetBus = await fleetBusPhase({ upstream, stack, tcp, appRoot: args.root ?? copy!.root });
    const targets = fleetBusTargets(fleetBus);
    const markdown = `${[...fleetBusSection(fleetBus), ...targetsSection(targets)].join("\n\n")}\n`;
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "fleet-bus.json"), `${JSON.stringify({ fleetBus, targets }, null, 2)}\n`);
    writeFileSync(join(RESULTS, "fleet-bus.md"), markdown);
    console.log(markdown);
    log(`done in ${round((performance.now() - started) / 1000, 0)} s; wrote ${RESULTS}`);
  } finally {
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
