import { parseArgs } from "node:util";
import { runAlone, withBuild, withServices, writeAlone } from "./alone";
import { fleetBusPhase } from "./phases/fleet-bus";
import { fleetBusSection } from "./report/fleet-bus";
import { targetsSection } from "./report/markdown";
import { fleetBusTargets } from "./targets";

// `npx tsx bench/fleet-bus-only.ts [--root <checkout>]`: the fleet-bus phase of `npm run bench` on its own, on
// a fresh build of a copy of the working tree, or on the build already in `--root`. Honours BENCH_QUICK;
// writes results/tmp/fleet-bus.*.
const { values: args } = parseArgs({ options: { root: { type: "string" } } });

runAlone(async () => {
  const started = performance.now();
  await withBuild(args.root, "workerless-fleet-bus-", (appRoot) =>
    withServices(appRoot, async (services) => {
      const fleetBus = await fleetBusPhase(services);
      const targets = fleetBusTargets(fleetBus);
      const markdown = `${[...fleetBusSection(fleetBus), ...targetsSection(targets)].join("\n\n")}\n`;
      writeAlone("fleet-bus", { fleetBus, targets }, markdown, started);
    }),
  );
});
