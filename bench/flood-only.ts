import { parseArgs } from "node:util";
import { runAlone, withBuild, writeAlone } from "./alone";
import { memoryPhase } from "./phases/memory";
import { floodSection, targetsSection } from "./report/markdown";
import { floodTargets } from "./targets";

// `npx tsx bench/flood-only.ts [--root <checkout>] [--connections <n>]`: the flood of `npm run bench` on its
// own (its memory, upstream calls in flight and the other visitor's latency), on a fresh build of a copy of
// the working tree, or on the build already in `--root`; `--connections` replaces the plan's requests at a
// time. Honours BENCH_QUICK and BENCH_FLOOD_KEYS; writes results/tmp/flood.*.
const { values: args } = parseArgs({ options: { root: { type: "string" }, connections: { type: "string" } } });
const connections = args.connections === undefined ? undefined : Number(args.connections);
if (connections !== undefined && !(Number.isInteger(connections) && connections > 0))
  throw new Error(`--connections must be a positive integer, not "${args.connections}"`);

runAlone(async () => {
  const started = performance.now();
  await withBuild(args.root, "workerless-flood-", async (appRoot) => {
    const memory = await memoryPhase(appRoot, connections === undefined ? {} : { connections });
    const targets = floodTargets(memory);
    const markdown = `${[...floodSection(memory), ...targetsSection(targets)].join("\n\n")}\n`;
    writeAlone("flood", { memory, targets }, markdown, started);
  });
});
