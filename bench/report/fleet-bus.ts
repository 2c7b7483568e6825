import { PLAN } from "../plan";
import type { BusStore, ChangeLags, FleetBusResults, Lags } from "../results";
import { table } from "./table";

export const STORE_LABELS: Record<BusStore, string> = {
  rest: "Redis through the bridge (REST)",
  tcp: "Redis over TCP",
};

const lagCells = (lags: Lags | ChangeLags) => [
  String(lags.count),
  String(lags.p50),
  String(lags.p99),
  String(lags.max),
  "answered" in lags ? `${lags.answered.p50} / ${lags.answered.p99} / ${lags.answered.max}` : "",
  lags.capped > 0 ? `**${lags.capped}**` : "0",
];

const optional = (value: number | undefined) => (value === undefined ? "not within the cap" : String(value));

/** "The fleet's bus": cross-instance lags with the bus on and off, the subscriptions killed, a Cluster failover. */
export function fleetBusSection(fleet: FleetBusResults): string[] {
  const { trials, waiterTrials, waiterLatencyMs, withoutBus, failover } = fleet;
  const { waiterDelayMs, waitersAtOnce, capMs, killViewsPerSecond, killSeconds, killAfterMs } = PLAN.fleetBus;
  const stores = Object.entries(fleet.stores) as Array<[BusStore, FleetBusResults["stores"][BusStore]]>;
  const killed = Object.entries(fleet.subscriptionsKilled) as Array<
    [BusStore, FleetBusResults["subscriptionsKilled"][BusStore]]
  >;
  return [
    "### The fleet's bus",
    `Three instances per store, bus on (\`CACHE_BUS=on\`, heartbeat 1 s), the default trust window (\`CACHE_LOCAL_TRUST_SECONDS=5\`), one fragment. ` +
      `**Purge → next view elsewhere** (${trials} trials, 2 instances each): the fragment warmed on all three with a body of the trial's own, then ` +
      "purged on the first; each other instance is viewed back to back until a view no longer shows that body from its own copy (`data-origin` not " +
      '"hit", or another body), from the purge\'s answer. **Refresh → visible elsewhere** (' +
      `${trials} trials): a soft purge on the first, which is viewed until it shows the new body (its refresh); then the others until they show ` +
      "it, from the first's answer. Both are given until the first view that showed the change was sent (a view made then no longer shows " +
      "the old value: the targets' figure), and until its answer was read. " +
      `**Waiting lookup → after the fill** (${waiterTrials} trials, ${waitersAtOnce} at a time, a fresh fragment each, upstream ${waiterLatencyMs} ms): ` +
      `asked of one instance, ${waiterDelayMs} ms later of another, which waits on the first one's lease: (second's answer) − (first's answer), ms. ` +
      `A wait with the bus on that passes ${capMs} ms fails the run.`,
    table(
      ["store", "bus", "measurement", "n", "p50 ms", "p99 ms", "max ms", "answered: p50 / p99 / max ms", "capped"],
      [
        ...stores.flatMap(([store, run]) => [
          [STORE_LABELS[store], "on", "purge → next view elsewhere misses", ...lagCells(run.purge)],
          [STORE_LABELS[store], "on", "refresh → visible elsewhere", ...lagCells(run.refresh)],
          [
            STORE_LABELS[store],
            "on",
            `waiting lookup, after the loader's answer (${run.waited} of ${run.waiter.count} waited)`,
            ...lagCells(run.waiter),
          ],
        ]),
        [STORE_LABELS.rest, "off", "purge → next view elsewhere misses", ...lagCells(withoutBus.purge)],
        [
          STORE_LABELS.rest,
          "off",
          `waiting lookup, after the loader's answer (${withoutBus.waited} of ${withoutBus.waiter.count} waited)`,
          ...lagCells(withoutBus.waiter),
        ],
      ],
    ),
    `Without the bus (\`CACHE_BUS=off\`, ${withoutBus.trials} purge trials, a fragment each, views ${PLAN.fleetBus.pauseWithoutBusMs} ms apart, ` +
      `each wait capped at ${withoutBus.capMs} ms and a capped one counted at the cap): an instance serves its copy until the trust window has ` +
      "passed and its background check found the purge, and a waiting lookup polls the lease 25, 50, 100, 200, then every 250 ms.",
    `**Subscriptions killed.** Two instances per store, the page's own fragments cached, viewed ${killViewsPerSecond} times a second in all ` +
      `(taking turns, desktop Chrome user agent) for ${killSeconds} s; ${killAfterMs} ms in, \`CLIENT KILL TYPE pubsub\` on the store's ` +
      "redis-server (the bridge's subscription streams, or the apps' subscriber connections). Each instance's `/api/health` is polled every " +
      "50 ms until its bus is up with `resumed` ≥ 1.",
    table(
      [
        "store",
        "connections killed",
        "views",
        "failed",
        "a part missing",
        "p50 / p99 ms",
        "bus seen down",
        "up again after ms",
        "lastGapMs",
      ],
      killed.map(([store, run]) => [
        STORE_LABELS[store],
        String(run.killed),
        String(run.views.count),
        String(run.views.failed),
        String(run.views.incomplete),
        `${run.views.p50} / ${run.views.p99}`,
        run.instances.map((instance) => (instance.sawDown ? "yes" : "no")).join(", "),
        run.instances.map((instance) => optional(instance.resumedAfterMs)).join(", "),
        run.instances.map((instance) => optional(instance.lastGapMs)).join(", "),
      ]),
    ),
    "**Cluster failover.** Three masters with a replica each (`redis-server` processes on loopback), two instances with " +
      "`CACHE_FRESH_SECONDS=1`, three fragments, one of them on the first master's slots; the page viewed on each instance every 100 ms from " +
      "just before that master is SIGKILLed. Cached again: the fragment's entry on the promoted replica has a longer time to live than at the " +
      "kill (a refresh stored there; a read during the failover answers CLUSTERDOWN and counts as not yet).",
    table(
      [
        "views",
        "failed",
        "a part missing",
        "p50 / p99 ms",
        "cached again after ms",
        "bus seen down",
        "bus up again after ms",
      ],
      [
        [
          String(failover.views.count),
          String(failover.views.failed),
          String(failover.views.incomplete),
          `${failover.views.p50} / ${failover.views.p99}`,
          optional(failover.cachedAgainMs),
          failover.busDownSeen ? "yes" : "no",
          failover.busDownSeen ? optional(failover.busBackMs) : "",
        ],
      ],
    ),
    `**Warm views' store traffic.** One instance, every part fresh for an hour, the page viewed ${fleet.warmTraffic.viewsPerSecond} times a ` +
      `second for ${fleet.warmTraffic.seconds} s, with the bus on and off; everything the instance sent counts: the bus's heartbeats (one ` +
      "`PUBLISH` a second) and the trust window's background checks (each part's copy every 5 s) included.",
    table(
      ["store", "bus", "views", "failed", "Redis round trips per view", "Redis commands per minute"],
      (["rest", "tcp"] as const).flatMap((store) =>
        (["on", "off"] as const).map((bus) => {
          const run = fleet.warmTraffic[store][bus];
          return [
            STORE_LABELS[store],
            bus,
            String(run.views),
            String(run.failed),
            String(run.roundTripsPerView),
            String(run.commandsPerMinute),
          ];
        }),
      ),
    ),
  ];
}
