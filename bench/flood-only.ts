import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { copyApp } from "./app-copy";
import { memoryPhase } from "./phases/memory";
import { floodSection, targetsSection } from "./report/markdown";
import { log } from "./run";
import { round } from "./summary";
import { floodTargets } from "./targets";

// `npx tsx bench/flood-only.ts [--root <checkout>] [--connections <n>]`: the flood of `npm run bench` on its
// own (its memory, upstream calls in flight and the other visitor's latency), on a fresh build of a copy of
// the working tree, or on the build already in `--root`; `--connections` replaces the plan's requests at a
// time. Honours BENCH_QUICK and BENCH_FLOOD_KEYS; writes results/tmp/flood.*.
const { values: args } = parseArgs({ options: { root: { type: "string" }, connections: { type: "string" } } });
const RESULTS = join(__dirname, "results", "tmp");
const connections = args.connections === undefined ? undefined : Number(args.connections);
if (connections !== undefined && !(Number.isInteger(connections) && connections > 0))
  throw new Error(`--connections must be a positive integer, not "${args.connections}"`);

async function main(): Promise<void> {
  const started = performance.now();
  let copy: ReturnType<typeof copyApp> | undefined;
  if (!args.root) {
    log("building a copy of the app for production");
    copy = copyApp("workerless-flood-");
  }
  try {
    copy?.build();
    const memory = await memoryPhase(args.root ?? copy!.root, connections === undefined ? {} : { connections });
    const targets = floodTargets(memory);
    const markdown = `${[...floodSection(memory), ...targetsSection(targets)].join("\n\n")}\n`;
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "flood.json"), `${JSON.stringify({ memory, targets }, null, 2)}\n`);
    writeFileSync(join(RESULTS, "flood.md"), markdown);
    console.log(markdown);
    log(`done in ${round((performance.now() - started) / 1000, 0)} s; wrote ${RESULTS}`);
  } finally {
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
