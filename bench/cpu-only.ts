import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startApp, type AppServer } from "../harness/app-server";
import { startRedisStack } from "../harness/redis-stack";
import { startScriptedUpstream } from "../harness/upstream-server";
import { buildAppWithFloor, NEXT_FLOOR_PATH } from "./baselines/next-floor";
import type { SeedServer } from "./baselines/seed/launch";
import { profilePhase } from "./phases/profile";
import { FRAGMENT_NAMES, PLAN } from "./plan";
import { profileSection } from "./report/markdown";
import { table } from "./report/table";
import { launchSeed, log } from "./run";
import { offerLoad, type LoadResult } from "./scenarios/load";
import { timePage, timeSeed } from "./scenarios/raw-timing";
import { round } from "./summary";

// `npx tsx bench/cpu-only.ts`: the warm phase's server figures of `npm run bench` on their own, side by side in
// one run: CPU per warm view and views per second at the plan's offered rates for the page with the page cache
// and without, the bare Next page and the seed (the Express baseline), then the CPU profiles. Builds a copy of
// the working tree with the bare page; honours BENCH_QUICK; writes results/tmp/cpu.*.
const RESULTS = join(__dirname, "results", "tmp");
const LONG_TTL = { CACHE_FRESH_SECONDS: "3600" };

async function main(): Promise<void> {
  log("building a copy of the app, with the bare Next page, for production");
  const copy = buildAppWithFloor();
  const upstream = await startScriptedUpstream();
  for (const [name, latencyMs] of Object.entries(PLAN.latencies)) upstream.script(name, { latencyMs });
  const stack = await startRedisStack();
  const servers: Array<AppServer | SeedServer> = [];
  try {
    const app = async (env: Record<string, string>) => {
      const server = await startApp({
        root: copy.root,
        env: { SLOW_API_URL: upstream.urlTemplate, FRAGMENTS: FRAGMENT_NAMES.join(","), ...LONG_TTL, ...env },
      });
      servers.push(server);
      return server;
    };
    const [kept, rendered, seed] = await Promise.all([
      app({}),
      app({ PAGE_CACHE: "off" }),
      launchSeed({ upstream, stack }, 3600),
    ]);
    servers.push(seed);
    await Promise.all([
      ...[kept, rendered].map((server) => timePage(`${server.url}/blocking`, FRAGMENT_NAMES)),
      timeSeed(seed.url, FRAGMENT_NAMES),
    ]);
    const targets = {
      "streamed, memory": { url: kept.url, pid: kept.pid, paths: ["/"] },
      "streamed, memory, no page cache": { url: rendered.url, pid: rendered.pid, paths: ["/"] },
      "floor, bare Next": { url: rendered.url, pid: rendered.pid, paths: [NEXT_FLOOR_PATH] },
      "seed, Redis": {
        url: seed.url,
        pid: seed.pid,
        paths: ["/", ...FRAGMENT_NAMES.map((name) => `/fragment/${name}`)],
      },
    };
    const throughput: Record<string, LoadResult[]> = {};
    for (const [name, target] of Object.entries(targets)) {
      log(`throughput: ${name}`);
      await offerLoad(target, Math.max(...PLAN.offeredViewRates), PLAN.loadWarmUpSeconds, PLAN.loadConnections);
      const runs: LoadResult[] = [];
      for (const rate of PLAN.offeredViewRates)
        runs.push(await offerLoad(target, rate, PLAN.loadSeconds, PLAN.loadConnections));
      throughput[name] = runs;
    }
    const profile = {
      "streamed, no page cache": await profilePhase({ upstream, appRoot: copy.root }, { PAGE_CACHE: "off" }),
      "streamed, page cache": await profilePhase({ upstream, appRoot: copy.root }),
    };
    const cpu = (name: string) => throughput[name]![0]!.cpuPerView;
    const markdown = [
      table(
        ["contender", "offered views/s", "served views/s", "p50 ms", "p99 ms", "errors", "server CPU ms / view"],
        Object.entries(throughput).flatMap(([name, runs]) =>
          runs.map((run) => [
            name,
            ...[run.offeredViews, run.views, run.p50, run.p99, run.errors, run.cpuPerView].map(String),
          ]),
        ),
      ),
      table(
        ["contender", "server CPU ms / view", "× the bare Next page", "× the seed (Express)"],
        Object.keys(throughput).map((name) => [
          name,
          String(cpu(name)),
          `× ${round(cpu(name) / cpu("floor, bare Next"), 2)}`,
          `× ${round(cpu(name) / cpu("seed, Redis"), 2)}`,
        ]),
      ),
      ...profileSection(profile),
    ].join("\n\n");
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "cpu.json"), `${JSON.stringify({ throughput, profile }, null, 2)}\n`);
    writeFileSync(join(RESULTS, "cpu.md"), `${markdown}\n`);
    console.log(markdown);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
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
