import { FRAGMENT_NAMES, PLAN } from "../plan";
import type {
  IdealCalls,
  MemoryResult,
  ProfileViews,
  Results,
  SteadyResults,
  Target,
  TargetStatus,
  ViewSpread,
  WarmProfile,
} from "../results";
import type { VisitorFigures } from "../scenarios/visitor";
import { round } from "../summary";
import { fleetBusSection } from "./fleet-bus";
import type { LoadResult } from "../scenarios/load";
import { cell, table } from "./table";
import { visitsSection } from "./visits";

const fragmentHeads = FRAGMENT_NAMES.map((name) => `${name} (${PLAN.latencies[name]} ms)`);
const STATUS: Record<TargetStatus, string> = { met: "yes", missed: "**no**" };
const CPU_CONTENDERS = [
  "floor, bare Next",
  "streamed, memory",
  "streamed, memory, no page cache",
  "streamed, Redis",
  "streamed, Redis over TCP",
  "seed, Redis",
  "one fragment, 200",
  "one fragment, 304",
];

/** The run as README-ready Markdown: one table per scenario, then the targets. */
export function markdownReport(results: Results): string {
  const sections = [
    ...header(results),
    ...coldResponse(results),
    ...paintSummary(results),
    ...(["cold", "warm"] as const).flatMap((phase) => browserTable(phase, results[phase].browser)),
    ...coop(results),
    ...visitsSection(results.firstVisit),
    ...server(results),
    ...profileSection(results.warm.profile),
    ...steadySection(results.steady),
    ...fleetBusSection(results.fleetBus),
    ...floodSection(results.memory),
    ...targetsSection(results.targets),
  ];
  return `${sections.join("\n\n")}\n`;
}

export function targetsSection(targets: readonly Target[]): string[] {
  return [
    "### Targets",
    table(
      ["target", "measured", "met"],
      targets.map((target) => [target.target, target.measured, STATUS[target.status]]),
    ),
  ];
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

/**
 * Each profile's CPU by category, side by side: ms per view (and share of the sampled CPU), then the
 * heaviest functions of the first one.
 */
export function profileSection(profiles: Record<string, WarmProfile>): string[] {
  const entries = Object.entries(profiles);
  const categories = [...new Set(entries.flatMap(([, profile]) => profile.rows.map((row) => row.category)))];
  const first = entries[0]?.[1];
  if (!first) return [];
  const perView = (profile: WarmProfile, category: string) => {
    const row = profile.rows.find((item) => item.category === category);
    return row ? `${row.perView} (${row.share}%)` : "";
  };
  return [
    `### Where a warm view's CPU goes (inspector samples over ${first.seconds} s at ${first.offeredViews} views/s offered, by module through the build's source maps)`,
    table(
      ["category", ...entries.map(([name]) => `${name}: ms / view (share)`)],
      [
        ...categories.map((category) => [category, ...entries.map(([, profile]) => perView(profile, category))]),
        ["**sampled CPU per view**", ...entries.map(([, profile]) => `**${profile.perViewMs}**`)],
        ["process CPU per view (/proc, same window)", ...entries.map(([, profile]) => String(profile.load.cpuPerView))],
      ],
    ),
    `Heaviest functions by self time, ${entries[0]![0]}:`,
    table(
      ["function", "source", "ms in the window"],
      first.top.slice(0, 15).map((item) => [`\`${item.name}\``, item.source, String(item.ms)]),
    ),
  ];
}

function server(results: Results): string[] {
  return [
    `### Throughput, warm (${PLAN.loadConnections} connections, ${PLAN.loadSeconds} s per rate; a seed view is its skeleton + ${FRAGMENT_NAMES.length} fragment requests, latency per request)`,
    throughputTable(results.warm.throughput),
    `### Server CPU per warm view, at ${PLAN.offeredViewRates[0]} views/s offered`,
    cpuTable(results.warm.throughput, CPU_CONTENDERS),
    'The bare Next page is served by the same instance as "streamed, memory": what any page of this app costs in Next and React before it reads data. ' +
      '"streamed, memory" answers warm views from the page cache; "no page cache" renders each again (`PAGE_CACHE=off`). ' +
      '"one fragment" is `/fragment/<name>` as a CDN asks for it: a full answer, or revalidated with its `ETag` (`If-None-Match`), answered `304` with no body; "views" there are requests.',
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
      "counting once). The seed's are counted at redis-server (it talks to Redis directly, one command per round trip). The warm and cold " +
      "views' apps run with `CACHE_BUS=off`: with the bus, every instance on that Redis sends a heartbeat (`PUBLISH`) each second, which " +
      "these counts would take for the views' own traffic. The steady load reports the traffic with the bus on and off; the cold key on " +
      "three instances runs with it on (its waiters wake on the fill), heartbeats included.",
  ];
}

/** How often each contender calls the upstream under a steady load with a short freshness, beside its views' figures. */
function steadySection(steady: SteadyResults): string[] {
  const { app, seedExpirySeconds, viewsPerSecond, seconds, leadInSeconds, fragments } = steady;
  const fresh = app.CACHE_FRESH_SECONDS;
  const share = app.CACHE_EAGER_REFRESH_PERCENT;
  const eagerAfter = round((fresh * share) / 100, 2);
  const perFragment = (byFragment: Record<string, number>) =>
    FRAGMENT_NAMES.map((name) => String(byFragment[name] ?? "")).join(" / ");
  const ideal = (what: string, { callsPerMinute, byFragment }: IdealCalls) => [
    what,
    ...Array<string>(8).fill(""),
    `**${callsPerMinute}**`,
    perFragment(byFragment),
    "",
    "",
  ];
  return [
    `### Upstream calls under a steady load: ${viewsPerSecond} views/s for ${seconds} s per contender, ${fresh} s freshness`,
    `Each contender in turn, on a fresh instance and freshly flushed Redis servers, the others idle: every part loaded, then ${leadInSeconds} s of ` +
      `views at the same rate (not measured), then the window. A view is made on schedule (${viewsPerSecond} a second, whether or not the ` +
      `previous ones have arrived) with a desktop Chrome user agent and timed until its HTML held every part's data and until its ` +
      `last byte; a seed view is its skeleton, then its ${fragments} fragment requests at once. A page has ${fragments} fragments, each its own upstream query (${fragmentHeads.join(", ")}). ` +
      `The apps run with \`CACHE_FRESH_SECONDS=${fresh}\`, \`CACHE_GRACE_SECONDS=${app.CACHE_GRACE_SECONDS}\`, ` +
      `\`CACHE_EAGER_REFRESH_PERCENT=${share}\` (a value served once ${eagerAfter} s old is refreshed in the background, one load at a time, ` +
      `through the lease) and no \`UPSTREAM_RATE\`; the seed's entries expire ${seedExpirySeconds} s after they were written ` +
      `(no grace, no single flight). Upstream calls are those the scripted upstream received from the window's start to its end.`,
    table(
      [
        "contender",
        "offered views/s",
        "served views/s",
        "every part in, p50 / p99 ms",
        "last byte, p50 / p99 ms",
        "failed",
        "a part missing",
        "a part streamed",
        "upstream calls",
        "calls / min",
        `${FRAGMENT_NAMES.join(" / ")} per min`,
        "Redis commands / min",
        "Redis round trips / view",
      ],
      [
        ...Object.entries(steady.runs).map(([name, run]) => [
          name,
          String(viewsPerSecond),
          String(run.viewsPerSecond),
          `${run.untilComplete.p50} / ${run.untilComplete.p99}`,
          `${run.p50} / ${run.p99}`,
          String(run.failed),
          String(run.incomplete),
          `${run.streamed} of ${run.count}`,
          String(run.upstreamCalls),
          `**${run.upstreamCallsPerMinute}**`,
          perFragment(run.callsPerMinuteByFragment),
          String(run.store.commandsPerMinute),
          String(run.store.roundTripsPerView),
        ]),
        ideal(`ideal, eager refresh: 60 / (${fresh} s × ${share} %) per fragment`, steady.ideal),
        ideal(`ideal, each period from the previous answer: 60 / (${eagerAfter} s + latency)`, steady.idealWithLatency),
      ],
    ),
    `The app counts a value's age from when its answer arrived, so a part's refresh period is ${eagerAfter} s plus its upstream latency: the ` +
      `second ideal. A part whose refresh outlasts the ${round(fresh - eagerAfter, 2)} s of freshness left goes stale meanwhile: a view then ` +
      `shows the stale value in its shell, and its response stays open until the refresh's answer replaces it (within ` +
      `\`FRAGMENT_DEADLINE_MS\`), so every part is in at once and the last byte comes with the refresh. A seed view always shows its ` +
      `skeleton's spinners first ("a part streamed"); each expiry of a seed entry lets every request in the next upstream latency miss and ` +
      `call the upstream (about 1 + ${viewsPerSecond} × the latency per expiry), and their answers write the entry again.`,
    "Redis traffic is counted over each window where the store round trips table counts it: at the bridge, at redis-server and " +
      "the TCP proxy, and for the seed at redis-server (one command per round trip). With the bus on, each instance sends a heartbeat " +
      "(a `PUBLISH`) every second and hears its own; a fill's or a renewal's event is published from inside its script, in the same round " +
      'trip. "streamed, Redis, no bus" is the same instance with `CACHE_BUS=off`, as today. Each app is stopped after its window, so an ' +
      "idle instance's heartbeats do not land in another's count.",
  ];
}

/** The flood's tables: its answers, the instance's memory, the upstream's calls, the other visitor's latency. */
export function floodSection(memory: MemoryResult): string[] {
  const { flood, rss, upstream, visitor, maxInFlight, heapLimitMiB, boundMiB, busyCounted } = memory;
  const other = Object.entries(flood.statuses.other).map(([code, count]) => `${count} × ${code}`);
  const perSecond = upstream.perSecond.map((second) => second.maxInFlight);
  const atLimit = perSecond.filter((inFlight) => inFlight >= maxInFlight).length;
  const percentilesRow = (when: string, figures: VisitorFigures) => [
    when,
    String(figures.count),
    String(figures.p50),
    String(figures.p95),
    String(figures.p99),
    String(figures.max),
    String(figures.failed),
    String(figures.incomplete),
    String(figures.streamed),
  ];
  return [
    `### A flood of distinct parameter values: one instance on the embedded store, \`--max-old-space-size=${heapLimitMiB}\`, \`UPSTREAM_MAX_IN_FLIGHT=${maxInFlight}\``,
    `\`${flood.path}\`, \`[<id>]\` a value never asked before, ${flood.connections} requests at a time; the upstream answers each after ${PLAN.latencies[PLAN.flood.fragment]} ms.`,
    table(
      ["distinct values", "seconds", "keys/s", "200", "503 busy", "other", "errors", "busy counted by the app"],
      [
        [
          flood.keys,
          flood.seconds,
          flood.keysPerSecond,
          flood.statuses.ok,
          flood.statuses.busy,
          other.length > 0 ? other.join(", ") : "0",
          flood.errors,
          busyCounted,
        ].map(String),
      ],
    ),
    table(
      [
        "RSS before MiB",
        "peak during MiB",
        `peak in the ${rss.after.seconds} s after MiB`,
        "at the end MiB",
        "bound MiB",
      ],
      [[rss.during.before, rss.during.peak, rss.after.peak, rss.after.after, boundMiB].map(String)],
    ),
    table(
      ["instance", "in-process tier entries", "tier MiB", "V8 heap used MiB", "V8 heap reserved MiB"],
      (
        [
          ["before the flood", memory.instance.before],
          [`${rss.after.seconds} s after it`, memory.instance.after],
        ] as const
      ).map(([when, state]) =>
        [when, state.localEntries, state.localMiB, state.heapUsedMiB, state.heapTotalMiB].map(String),
      ),
    ),
    table(
      [
        "upstream calls",
        `most in flight, /fragment/${PLAN.flood.fragment}`,
        "most in flight, all sources",
        "limit per source",
        "seconds at the limit",
      ],
      [
        [
          upstream.calls,
          upstream.maxInFlightByQuery[PLAN.flood.fragment] ?? 0,
          upstream.maxInFlight,
          maxInFlight,
          `${atLimit} of ${perSecond.length}`,
        ].map(String),
      ],
    ),
    `Another visitor (desktop Chrome) views the warm page \`${visitor.path}\` ${visitor.viewsPerSecond} times a second, each view on schedule, timed until its whole body arrived: alone first, then during the flood, on the same instance.`,
    table(
      ["visitor", "views", "p50 ms", "p95 ms", "p99 ms", "max ms", "failed", "a part missing", "a part streamed"],
      [
        percentilesRow("quiet, before the flood", visitor.quiet),
        percentilesRow("during the flood", visitor.duringFlood),
      ],
    ),
    "The busy answers (503 with `Retry-After`) are counted by the client and by the app (`workerless_cache_busy_total`). The upstream counts the calls under way at once, per source. Both series, second by second (calls and most in flight; resident memory), are in the results JSON.",
  ];
}

/** Every contender's fixed-rate runs: what was offered and served, latencies, errors and CPU per view. */
export function throughputTable(throughput: Record<string, LoadResult[]>): string {
  return table(
    ["contender", "offered views/s", "served views/s", "p50 ms", "p99 ms", "errors", "server CPU ms / view"],
    Object.entries(throughput).flatMap(([name, runs]) =>
      runs.map((run) => [
        name,
        ...[run.offeredViews, run.views, run.p50, run.p99, run.errors, run.cpuPerView].map(String),
      ]),
    ),
  );
}

/** CPU per view at the lowest offered rate of each of `names`, and as a multiple of the bare Next page's and the seed's. */
export function cpuTable(throughput: Record<string, LoadResult[]>, names: readonly string[]): string {
  const low = (name: string) => throughput[name]?.[0]?.cpuPerView;
  const floor = low("floor, bare Next");
  const seed = low("seed, Redis");
  return table(
    ["contender", "server CPU ms / view", "× the bare Next page", "× the seed (Express)"],
    names.map((name) => {
      const cpu = low(name);
      const times = (of: number | undefined) => (cpu !== undefined && of ? `× ${round(cpu / of, 2)}` : "");
      return [name, String(cpu ?? ""), times(floor), times(seed)];
    }),
  );
}
