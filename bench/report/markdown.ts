import { FRAGMENT_NAMES, PLAN } from "../plan";
import type { Results } from "../results";
import { cell, table } from "./table";

/** The run as README-ready Markdown: one table per scenario, then the targets. */
export function markdownReport(results: Results): string {
  const latencies = FRAGMENT_NAMES.map((name) => `${name} ${PLAN.latencies[name]} ms`).join(", ");
  const fragmentHeads = FRAGMENT_NAMES.map((name) => `${name} (${PLAN.latencies[name]} ms)`);
  const sections = [
    `Measured ${results.finishedAt} on ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, in ${results.durationSeconds} s. ` +
      `All times in ms: median (min–max) over ${PLAN.coldRuns} cold / ${PLAN.warmRuns} warm runs. Upstream latencies: ${latencies}.`,
    "### Cold page, raw response (ms after the request)",
    table(
      ["contender", "first byte", ...fragmentHeads.map((head) => `${head} arrived`), "complete", "Redis commands / round trips per view"],
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
        return paths ? [[name, ...FRAGMENT_NAMES.flatMap((fragment) => (paths[fragment] ? [cell(paths[fragment].called), cell(paths[fragment].afterAnswer)] : ["", ""]))]] : [];
      }),
    ),
    ...(["cold", "warm"] as const).flatMap((phase) => [
      `### ${phase === "cold" ? "Cold" : "Warm"} page in headless Chromium (ms after navigation start)`,
      table(
        ["contender", "first contentful paint", ...fragmentHeads.map((head) => `${head} visible`), "all visible", "spinner painted", "max CLS"],
        Object.entries(results[phase].browser).map(([name, view]) => [
          name,
          cell(view.firstContentfulPaint),
          ...FRAGMENT_NAMES.map((fragment) => (view.fragments[fragment] ? cell(view.fragments[fragment]) : "")),
          cell(view.allVisible),
          `${view.spinnerLoads}/${view.runs} loads`,
          String(view.maxLayoutShift),
        ]),
      ),
    ]),
    `### Throughput, warm (${PLAN.loadConnections} connections, ${PLAN.loadSeconds} s per rate; a seed view is its skeleton + ${FRAGMENT_NAMES.length} fragment requests, latency per request)`,
    table(
      ["contender", "offered views/s", "served views/s", "p50 ms", "p99 ms", "errors", "server CPU ms / view"],
      Object.entries(results.warm.throughput).flatMap(([name, runs]) =>
        runs.map((run) => [name, String(run.offeredViews), String(run.views), String(run.p50), String(run.p99), String(run.errors), String(run.cpuPerView)]),
      ),
    ),
    "### Store round trips",
    table(
      ["what", "Redis commands", "round trips"],
      [
        ...Object.entries(results.warm.trafficPerView).map(([name, traffic]) => [`warm view, ${name}`, String(traffic.commands), String(traffic.roundTrips)]),
        ...Object.entries(results.cold.trafficPerView).map(([name, traffic]) => [`cold view, ${name}`, cell(traffic.commands), cell(traffic.roundTrips)]),
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
    `### Memory, one instance on the embedded store, run with \`--max-old-space-size=${results.memory.heapLimitMiB}\``,
    table(
      ["distinct cold keys", "seconds", "errors", "RSS before MiB", "RSS after MiB", "peak MiB", "bound MiB"],
      [[String(results.memory.keys), String(results.memory.seconds), String(results.memory.errors), String(results.memory.rssBeforeMiB), String(results.memory.rssAfterMiB), String(results.memory.rssPeakMiB), String(results.memory.boundMiB)]],
    ),
    "### Targets",
    table(
      ["target", "measured", "met"],
      results.targets.map((target) => [target.target, target.measured, target.met ? "yes" : "**no**"]),
    ),
  ];
  return `${sections.join("\n\n")}\n`;
}
