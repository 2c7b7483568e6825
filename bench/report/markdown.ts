import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { ProfileViews, Results, TargetStatus, ViewSpread } from "../results";
import { FLOOD_NOT_RUN } from "../targets";
import { round } from "../summary";
import { cell, table } from "./table";

const fragmentHeads = FRAGMENT_NAMES.map((name) => `${name} (${PLAN.latencies[name]} ms)`);
const STATUS: Record<TargetStatus, string> = { met: "yes", missed: "**no**", "not run": FLOOD_NOT_RUN };
const CPU_CONTENDERS = [
  "floor, bare Next",
  "streamed, memory",
  "streamed, Redis",
  "streamed, Redis over TCP",
  "seed, Redis",
];

/** The run as README-ready Markdown: one table per scenario, then the targets. */
export function markdownReport(results: Results): string {
  const sections = [
    ...header(results),
    ...coldResponse(results),
    ...paintSummary(results),
    ...(["cold", "warm"] as const).flatMap((phase) => browserTable(phase, results[phase].browser)),
    ...coop(results),
    ...server(results),
    ...memory(results),
    "### Targets",
    table(
      ["target", "measured", "met"],
      results.targets.map((target) => [target.target, target.measured, STATUS[target.status]]),
    ),
  ];
  return `${sections.join("\n\n")}\n`;
}

function header(results: Results): string[] {
  const latencies = FRAGMENT_NAMES.map((name) => `${name} ${PLAN.latencies[name]} ms`).join(", ");
  const runs = results.networkProfiles
    .map((profile) => `${profile.name} ${profile.coldRuns} / ${profile.warmRuns}`)
    .join(", ");
  const floor = results.staticFloor;
  return [
    ...(results.quick
      ? [
          "**A quick run (`BENCH_QUICK=1`): one view per figure and short load phases, to check the bench, not to quote.**",
        ]
      : []),
    `Measured ${results.finishedAt} on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, in ${results.durationSeconds} s. ` +
      `All times in ms: median (min–max). Raw responses: ${PLAN.coldRuns} cold loads each. Browser views, cold / warm, per network profile: ${runs}; ` +
      `COOP: ${PLAN.coopRuns} views of each combination. Upstream latencies: ${latencies}.`,
    table(
      ["network profile", "Chromium emulation", "cold views", "warm views"],
      results.networkProfiles.map((profile) => [
        profile.name,
        profile.description,
        String(profile.coldRuns),
        String(profile.warmRuns),
      ]),
    ),
    `The **static floor** is the warm streamed page's own HTML (${floor.bytes} bytes, ${floor.gzipBytes} gzipped) with its ${floor.scriptsRemoved} ` +
      `scripts and ${floor.preloadsRemoved} script preloads removed and ` +
      (floor.stylesheetsInlined > 0
        ? `${floor.stylesheetsInlined} linked stylesheet(s) inlined`
        : "no linked stylesheet to inline (the app inlines its CSS)") +
      ", served whole from a minimal Node server: the first paint of the same bytes with no scripts. The **bare Next page** is a dynamic page with the " +
      "app's layout, proxy and CSP and no data, built into the bench's copy of the app.",
  ];
}

function coldResponse(results: Results): string[] {
  return [
    "### Cold page, raw response (ms after the request)",
    table(
      [
        "contender",
        "first byte",
        ...fragmentHeads.map((head) => `${head} arrived`),
        "complete",
        "Redis commands / round trips per view",
      ],
      Object.entries(results.cold.raw).map(([name, raw]) => {
        const traffic = results.cold.trafficPerView[name];
        return [
          name,
          cell(raw.firstByte),
          ...FRAGMENT_NAMES.map((fragment) => (raw.fragments[fragment] ? cell(raw.fragments[fragment]) : "")),
          cell(raw.done),
          traffic ? `${traffic.commands.median} / ${traffic.roundTrips.median}` : "(its own client)",
        ];
      }),
    ),
    "Where a cold fragment's time went: its upstream call began this many ms after the page request, and its HTML arrived this many ms after the upstream answered.",
    table(
      ["contender", ...fragmentHeads.flatMap((head) => [`${head} called`, `${head} sent after answer`])],
      Object.entries(results.cold.raw).flatMap(([name, raw]) => {
        const paths = raw.paths;
        return paths
          ? [
              [
                name,
                ...FRAGMENT_NAMES.flatMap((fragment) =>
                  paths[fragment] ? [cell(paths[fragment].called), cell(paths[fragment].afterAnswer)] : ["", ""],
                ),
              ],
            ]
          : [];
      }),
    ),
  ];
}

/** The figures the browser targets compare, side by side, per profile and phase. */
function paintSummary(results: Results): string[] {
  const contenders = ["streamed", "seed", "blocking", "static floor"];
  const rows = results.networkProfiles.flatMap(({ name: profile }) =>
    (["cold", "warm"] as const).map((phase) => {
      const views = results[phase].browser[profile] ?? {};
      const median = (contender: string, field: "firstContentfulPaint" | "allVisible") =>
        views[contender]?.[field].median;
      const streamed = median("streamed", "firstContentfulPaint");
      const floor = median("static floor", "firstContentfulPaint");
      return [
        profile,
        phase,
        ...contenders.map((contender) => String(median(contender, "firstContentfulPaint") ?? "")),
        streamed !== undefined && floor ? `× ${round(streamed / floor, 2)}` : "",
        ...contenders.slice(0, 3).map((contender) => String(median(contender, "allVisible") ?? "")),
      ];
    }),
  );
  return [
    "### First paint and all visible, per network profile (medians, ms after navigation start)",
    table(
      [
        "profile",
        "phase",
        ...["streamed", "seed", "blocking", "static floor"].map((name) => `${name} first paint`),
        "streamed ÷ floor",
        ...["streamed", "seed", "blocking"].map((name) => `${name} all visible`),
      ],
      rows,
    ),
    "Every browser view is a fresh tab in a context of its own per contender, whose first (discarded) view cached its static assets; cold and warm views of " +
      "the static floor load the same complete document. Each request a page makes costs the profile's latency once more: the seed's skeleton and then " +
      `its ${FRAGMENT_NAMES.length} fragment requests, against one streamed response.`,
  ];
}

function browserTable(phase: "cold" | "warm", byProfile: ProfileViews): string[] {
  const row = (profile: string, name: string, view: ViewSpread) => [
    profile,
    name,
    cell(view.firstContentfulPaint),
    ...FRAGMENT_NAMES.map((fragment) => (view.fragments[fragment] ? cell(view.fragments[fragment]) : "")),
    cell(view.allVisible),
    `${view.spinnerLoads}/${view.runs} loads`,
    String(view.maxLayoutShift),
  ];
  return [
    `### ${phase === "cold" ? "Cold" : "Warm"} page in headless Chromium (ms after navigation start)`,
    table(
      [
        "profile",
        "contender",
        "first contentful paint",
        ...fragmentHeads.map((head) => `${head} visible`),
        "all visible",
        "spinner painted",
        "max CLS",
      ],
      Object.entries(byProfile).flatMap(([profile, views]) =>
        Object.entries(views).map(([name, view]) => row(profile, name, view)),
      ),
    ),
  ];
}

function coop(results: Results): string[] {
  const cost = (["fresh tab", "after a same-origin page"] as const).map((navigation) => {
    const paint = (coop: boolean) =>
      results.warm.coop.find((view) => view.navigation === navigation && view.coop === coop)?.view.firstContentfulPaint
        .median ?? Number.NaN;
    return `${round(paint(true) - paint(false), 0)} ms ${navigation === "fresh tab" ? "in a fresh tab" : "after a same-origin page"}`;
  });
  return [
    `### Cross-Origin-Opener-Policy: the streamed page, warm, on loopback (${PLAN.coopRuns} views each, ms after navigation start)`,
    table(
      ["reached", "COOP header", "first contentful paint", "all visible"],
      results.warm.coop.map(({ navigation, coop, view }) => [
        navigation,
        coop ? "same-origin" : "none",
        cell(view.firstContentfulPaint),
        cell(view.allVisible),
      ]),
    ),
    `What the header adds to the median first contentful paint: ${cost.join(", ")}.`,
    "Both variants pass the same streaming proxy in front of the app; without COOP, the proxy drops the header. A fresh tab is `context.newPage()` then " +
      "`goto`, as for every other view; after a same-origin page, the tab first loaded the app's `/icon.svg` (which carries the same headers).",
  ];
}

function server(results: Results): string[] {
  const low = (name: string) => results.warm.throughput[name]?.[0]?.cpuPerView;
  const floor = low("floor, bare Next");
  return [
    `### Throughput, warm (${PLAN.loadConnections} connections, ${PLAN.loadSeconds} s per rate; a seed view is its skeleton + ${FRAGMENT_NAMES.length} fragment requests, latency per request)`,
    table(
      ["contender", "offered views/s", "served views/s", "p50 ms", "p99 ms", "errors", "server CPU ms / view"],
      Object.entries(results.warm.throughput).flatMap(([name, runs]) =>
        runs.map((run) => [
          name,
          String(run.offeredViews),
          String(run.views),
          String(run.p50),
          String(run.p99),
          String(run.errors),
          String(run.cpuPerView),
        ]),
      ),
    ),
    `### Server CPU per warm view, at ${PLAN.offeredViewRates[0]} views/s offered`,
    table(
      ["contender", "server CPU ms / view", "× the bare Next page"],
      CPU_CONTENDERS.map((name) => {
        const cpu = low(name);
        return [name, String(cpu ?? ""), cpu !== undefined && floor ? `× ${round(cpu / floor, 2)}` : ""];
      }),
    ),
    'The bare Next page is served by the same instance as "streamed, memory": what any page of this app costs in Next and React before it reads data.',
    "### Store round trips",
    table(
      ["what", "Redis commands", "round trips"],
      [
        ...Object.entries(results.warm.trafficPerView).map(([name, traffic]) => [
          `warm view, ${name}`,
          String(traffic.commands),
          String(traffic.roundTrips),
        ]),
        ...Object.entries(results.cold.trafficPerView).map(([name, traffic]) => [
          `cold view, ${name}`,
          cell(traffic.commands),
          cell(traffic.roundTrips),
        ]),
        ...Object.entries(results.sharedColdKey).map(([name, shared]) => [
          `cold key asked of 3 instances at once, ${name} (lease and waits included; ${shared.upstreamCallsPerKey} upstream calls per key)`,
          String(shared.perKey.commands),
          String(shared.perKey.roundTrips),
        ]),
      ],
    ),
    "The app's figures are counted at the bridge (Upstash's REST protocol), except those over TCP: its commands at redis-server (`MONITOR`, " +
      "without the commands its scripts run), its round trips at a TCP proxy between it and redis-server (its writes, an auto-pipelined batch " +
      "counting once). The seed's are counted at redis-server (it talks to Redis directly, one command per round trip).",
  ];
}

function memory(results: Results): string[] {
  const flood = results.memory;
  if (!flood) {
    return [
      "### Memory",
      `Not run: the flood of distinct cold keys takes minutes, so it runs only when asked, e.g. \`BENCH_FLOOD_KEYS=100000 npm run bench\`. Its target is reported as "${FLOOD_NOT_RUN}".`,
    ];
  }
  return [
    `### Memory, one instance on the embedded store, run with \`--max-old-space-size=${flood.heapLimitMiB}\``,
    table(
      [
        "distinct cold keys",
        "served",
        "refused (404)",
        "errors",
        "seconds",
        "RSS before MiB",
        "RSS after MiB",
        "peak MiB",
        "bound MiB",
      ],
      [
        [
          flood.keys,
          flood.served,
          flood.refused,
          flood.errors,
          flood.seconds,
          flood.rssBeforeMiB,
          flood.rssAfterMiB,
          flood.rssPeakMiB,
          flood.boundMiB,
        ].map(String),
      ],
    ),
    "The app serves only the fragments it defines: a name it does not define is refused (404) before its cache or the upstream is touched.",
  ];
}
