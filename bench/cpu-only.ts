import { startApp, type AppServer } from "../harness/app-server";
import { startRedisStack } from "../harness/redis-stack";
import { startScriptedUpstream } from "../harness/upstream-server";
import { runAlone, writeAlone } from "./alone";
import { buildAppWithFloor, NEXT_FLOOR_PATH } from "./baselines/next-floor";
import type { SeedServer } from "./baselines/seed/launch";
import { profilePhase } from "./phases/profile";
import { FRAGMENT_NAMES, PLAN } from "./plan";
import { cpuTable, profileSection, throughputTable } from "./report/markdown";
import { launchSeed, log } from "./run";
import { throughputOf } from "./scenarios/load";
import { timePage, timeSeed } from "./scenarios/raw-timing";

// `npx tsx bench/cpu-only.ts`: the warm phase's server figures of `npm run bench` on their own, side by side in
// one run: CPU per warm view and views per second at the plan's offered rates for the page with the page cache
// and without, the bare Next page and the seed (the Express baseline), then the CPU profiles. Builds a copy of
// the working tree with the bare page; honours BENCH_QUICK; writes results/tmp/cpu.*.
const LONG_TTL = { CACHE_FRESH_SECONDS: "3600" };

runAlone(async () => {
  const started = performance.now();
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
    const throughput = await throughputOf({
      "streamed, memory": { url: kept.url, pid: kept.pid, paths: ["/"] },
      "streamed, memory, no page cache": { url: rendered.url, pid: rendered.pid, paths: ["/"] },
      "floor, bare Next": { url: rendered.url, pid: rendered.pid, paths: [NEXT_FLOOR_PATH] },
      "seed, Redis": {
        url: seed.url,
        pid: seed.pid,
        paths: ["/", ...FRAGMENT_NAMES.map((name) => `/fragment/${name}`)],
      },
    });
    const profile = {
      "streamed, no page cache": await profilePhase({ upstream, appRoot: copy.root }, { PAGE_CACHE: "off" }),
      "streamed, page cache": await profilePhase({ upstream, appRoot: copy.root }),
    };
    const markdown = [
      throughputTable(throughput),
      cpuTable(throughput, Object.keys(throughput)),
      ...profileSection(profile),
    ].join("\n\n");
    writeAlone("cpu", { throughput, profile }, `${markdown}\n`, started);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await stack.stop();
    await upstream.close();
    copy.remove();
  }
});
