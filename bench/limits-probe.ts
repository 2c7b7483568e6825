import { parseArgs } from "node:util";
import { devices } from "@playwright/test";
import { startApp, type AppServer } from "../harness/app-server";
import { startScriptedUpstream } from "../harness/upstream-server";
import type { RawOutcome } from "../harness/raw-clients";
import { bodyFlood, readerStall } from "./scenarios/hostile-clients";

// `npx tsx bench/limits-probe.ts [--root <checkout>] [--standalone]`: what hostile clients cost one instance
// (a flood of large bodies, bodies that stall or trickle, readers that never read a big page), run with the
// app's default limits. Point --root at another checkout's build to compare two versions of the app.
const { values: args } = parseArgs({
  options: { root: { type: "string" }, standalone: { type: "boolean", default: false } },
});

const BROWSER = { "user-agent": devices["Desktop Chrome"].userAgent };
const TOKEN = "probe-admin-token-0123456789";
const BIG_FRAGMENT = `big ${"0123456789 ".repeat(340_000)}end`;
const MIB = 1024 * 1024;

const summary = (outcomes: RawOutcome[]) => {
  const max = (values: Array<number | undefined>) => {
    const known = values.filter((value) => value !== undefined);
    return known.length ? Math.max(...known) : undefined;
  };
  return {
    statuses: [...new Set(outcomes.map((outcome) => outcome.status ?? "none"))].join(","),
    answered: outcomes.filter((outcome) => outcome.status !== undefined).length,
    lastAnswerMs: max(outcomes.map((outcome) => outcome.answeredMs)),
    closedByServer: outcomes.filter((outcome) => outcome.closedMs !== undefined).length,
    lastCloseMs: max(outcomes.map((outcome) => outcome.closedMs)),
    sentMiB: Math.round(outcomes.reduce((sum, outcome) => sum + outcome.sentBytes, 0) / MIB),
  };
};

/** A fresh instance per scenario, so what one scenario leaves behind does not count in the next. */
async function withApp<T>(run: (app: AppServer) => Promise<T>): Promise<T> {
  const upstream = await startScriptedUpstream();
  upstream.script("big", { body: BIG_FRAGMENT });
  const app = await startApp({
    ...(args.root ? { root: args.root } : {}),
    standalone: args.standalone,
    env: {
      SLOW_API_URL: upstream.urlTemplate,
      FRAGMENTS: "big",
      UPSTREAM_MAX_BYTES: String(16 * MIB),
      CACHE_MAX_VALUE_BYTES: String(16 * MIB),
      CACHE_ADMIN_TOKEN: TOKEN,
    },
  });
  try {
    return await run(app);
  } finally {
    await app.stop("SIGKILL");
    await upstream.close();
  }
}

const report = (label: string, figures: unknown) => console.log(`${label}: ${JSON.stringify(figures)}`);

async function main() {
  await withApp(async (app) => {
    const flood = await bodyFlood(
      app,
      40,
      { path: "/", announcedBytes: 2 ** 30, sendBytes: 12_000_000, waitMs: 10_000 },
      2000,
    );
    report("40 × POST / announcing 1 GiB, sending 12 MB", { rssMiB: flood.rss, ...summary(flood.outcomes) });
  });

  await withApp(async (app) => {
    const stalled = { announcedBytes: 1_000_000, sendBytes: 7, waitMs: 25_000 };
    const json = { "content-type": "application/json", authorization: `Bearer ${TOKEN}` };
    const action = { "next-action": "0".repeat(42), "content-type": "text/plain;charset=UTF-8" };
    const probes = {
      "POST / (1 MB announced, 7 B sent)": { path: "/", ...stalled },
      "POST /api/cache/purge (1 MB announced, 7 B sent)": { path: "/api/cache/purge", headers: json, ...stalled },
      "POST /api/health/live (1 MB announced, 7 B sent)": { path: "/api/health/live", ...stalled },
      "POST /fragment/big (1 MB announced, 7 B sent)": { path: "/fragment/big", ...stalled },
      "server action (1 MB announced, 7 B sent)": { path: "/", headers: action, ...stalled },
      "POST /api/cache/purge (100 B announced, 7 B sent)": {
        path: "/api/cache/purge",
        headers: json,
        ...stalled,
        announcedBytes: 100,
      },
      "POST /api/cache/purge (500 B announced, 1 B each 500 ms)": {
        path: "/api/cache/purge",
        headers: json,
        ...stalled,
        announcedBytes: 500,
        sendBytes: 500,
        trickleEveryMs: 500,
      },
    };
    const results = await Promise.all(Object.values(probes).map((probe) => bodyFlood(app, 1, probe)));
    Object.keys(probes).forEach((label, index) => report(label, summary(results[index]!.outcomes)));
  });

  await withApp(async (app) => {
    const page = await (await fetch(`${app.url}/`, { headers: BROWSER })).text();
    const readers = await readerStall(app, "/", 40, BROWSER, 45_000, 5000);
    report(
      `40 readers of a ${(page.length / MIB).toFixed(1)} MiB page that never read, watched 45 s (memory after: 5 s later)`,
      readers,
    );
  });
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
