import { startApp, type AppServer } from "../../harness/app-server";
import { sleep } from "../../lib/timeout";
import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { InstanceState, MemoryResult } from "../results";
import { rssMiB } from "../proc";
import { log } from "../run";
import { DESKTOP_USER_AGENT } from "../scenarios/browser-view";
import { startCountingUpstream } from "../scenarios/counting-upstream";
import { flood } from "../scenarios/flood";
import { sampleRss } from "../scenarios/hostile-clients";
import { startVisitor } from "../scenarios/visitor";
import { round } from "../summary";

/** The other visitor's parameter set, loaded before the flood. */
const WARM_VALUE = "warm";
const MIB = 1024 * 1024;
/** Views of the warm page before the quiet measure, so neither measure pays for a first render. */
const DISCARDED_VIEWS = 10;

/**
 * Scenario 5: one fresh instance on the embedded store, run with the heap limit the README documents, whose
 * text fragments take a parameter (`q`, from a `{q}` in `SLOW_API_URL`), flooded with distinct valid values
 * of it on one fragment, while another visitor views the warm page (a `q` loaded before the flood) at a fixed
 * rate. Its own upstream counts the calls under way at once. `appRoot` is the build to run; `connections`, the
 * flood's requests at a time, is the plan's unless given.
 */
export async function memoryPhase(
  appRoot: string,
  { connections = PLAN.flood.connections }: { connections?: number } = {},
): Promise<MemoryResult> {
  const { keys, fragment, maxInFlight, visitorViewsPerSecond, quietSeconds, afterSeconds } = PLAN.flood;
  const upstream = await startCountingUpstream(PLAN.latencies);
  let app: AppServer | undefined;
  try {
    app = await startApp({
      root: appRoot,
      env: {
        SLOW_API_URL: upstream.urlTemplate,
        FRAGMENTS: FRAGMENT_NAMES.join(","),
        UPSTREAM_MAX_IN_FLIGHT: String(maxInFlight),
        NODE_OPTIONS: `--max-old-space-size=${PLAN.floodHeapMiB}`,
      },
    });
    const pagePath = `/?q=${WARM_VALUE}`;
    const page = `${app.url}${pagePath}`;
    const complete = (html: string) =>
      FRAGMENT_NAMES.every((name) => html.includes(`result for ${name} (q=${WARM_VALUE})`));
    // The page loaded once (every part, the slowest last) and the flooded route once, so neither measure
    // pays for a first render or a route's first load.
    log("memory: warming the visitor's page and the fragment route");
    for (let view = 0; view <= DISCARDED_VIEWS; view++)
      await fetch(page, { headers: { "user-agent": DESKTOP_USER_AGENT } }).then((response) => response.text());
    await fetch(`${app.url}/fragment/${fragment}?q=before-the-flood`).then((response) => response.text());
    await sleep(1000);

    log(`memory: the visitor alone, ${quietSeconds} s`);
    const quietVisitor = startVisitor(page, visitorViewsPerSecond, complete);
    await sleep(quietSeconds * 1000);
    const quiet = await quietVisitor.stop();

    log(
      `memory: ${keys} distinct values of q on /fragment/${fragment}, ${connections} at a time, the visitor meanwhile`,
    );
    const before = await instanceState(app.url);
    const rss = sampleRss(app.pid);
    const series = rssEverySecond(app.pid);
    const calls = upstream.watch();
    const visitor = startVisitor(page, visitorViewsPerSecond, complete);
    const flooded = await flood(app.url, `/fragment/${fragment}?q=flood-[<id>]`, keys, connections);
    const during = rss.stop();
    const afterRss = sampleRss(app.pid);
    const ended = performance.now();
    const upstreamCalls = calls.stop();
    // The views still under way arrive within the seconds after, which count from the flood's end.
    const duringFlood = await visitor.stop();
    await sleep(ended + afterSeconds * 1000 - performance.now());
    const after = { ...afterRss.stop(), seconds: afterSeconds };
    const perSecond = series.stop();
    const state = await instanceState(app.url);
    log(
      `memory: ${flooded.keys} keys in ${flooded.seconds} s; RSS peak ${during.peak} MiB during, ${after.peak} MiB after`,
    );
    return {
      heapLimitMiB: PLAN.floodHeapMiB,
      boundMiB: PLAN.memoryBoundMiB,
      maxInFlight,
      flood: flooded,
      rss: { during, after, perSecond },
      upstream: upstreamCalls,
      busyCounted: state.busy - before.busy,
      instance: { before, after: state },
      visitor: { path: pagePath, viewsPerSecond: visitorViewsPerSecond, quiet, duringFlood },
    };
  } finally {
    await app?.stop();
    await upstream.close();
  }
}

/** Resident memory, MiB, once a second until stopped. */
function rssEverySecond(pid: number): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(round(rssMiB(pid))), 1000);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

/** What the instance says of itself: its "busy" count and V8 heap (`/api/metrics`), its in-process tier (`/api/health`). */
async function instanceState(url: string): Promise<InstanceState> {
  const health = (await fetch(`${url}/api/health`).then((response) => response.json())) as {
    local?: { entries?: unknown; bytes?: unknown };
  };
  const { entries, bytes } = health.local ?? {};
  if (typeof entries !== "number" || typeof bytes !== "number")
    throw new Error("the app's /api/health reports no local.entries or local.bytes");
  const metrics = await fetch(`${url}/api/metrics`).then((response) => response.text());
  const metric = (name: string) => {
    const value = new RegExp(`^workerless_${name} (\\S+)$`, "m").exec(metrics)?.[1];
    if (value === undefined) throw new Error(`the app's /api/metrics has no workerless_${name}`);
    return Number(value);
  };
  return {
    busy: metric("cache_busy_total"),
    localEntries: entries,
    localMiB: round(bytes / MIB),
    heapUsedMiB: round(metric("nodejs_heap_size_used_bytes") / MIB),
    heapTotalMiB: round(metric("nodejs_heap_size_total_bytes") / MIB),
  };
}
