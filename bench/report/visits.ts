import type { VisitFigures, VisitResults } from "../results";
import type { Tail } from "../summary";
import { round } from "../summary";
import { table } from "./table";

const FLOOR = "static floor";

const both = ({ median, p90 }: Tail) => `${median} / ${p90}`;

/** The contender's median and p90 over the floor's, for the same condition and kind of visit. */
function overFloor(value: Tail, floor: Tail | undefined): string {
  if (!floor || floor.median === 0 || floor.p90 === 0) return "";
  return `× ${round(value.median / floor.median, 2)} / × ${round(value.p90 / floor.p90, 2)}`;
}

/** First visits beside return visits, per network profile and CPU slowdown, with ratios to the static floor. */
export function visitsSection(visits: VisitResults): string[] {
  return [
    `### First visit and return visit of the warm page (${visits.runs} views each; median / p90, ms after navigation start)`,
    ...visits.conditions.flatMap(({ profile, network, cpuSlowdown, contenders }) => {
      const floor = contenders[FLOOR];
      return [
        `**${profile}** (${network}), CPU ${cpuSlowdown}× slower`,
        table(
          [
            "contender",
            "visit",
            "first contentful paint",
            "÷ floor",
            "time to interactive",
            "÷ floor",
            "total blocking time",
            "long tasks",
            "kB over the network",
          ],
          Object.entries(contenders).flatMap(([name, byVisit]) =>
            (["first", "return"] as const).map((visit) => {
              const figures: VisitFigures = byVisit[visit];
              const floorFigures = name === FLOOR ? undefined : floor?.[visit];
              return [
                name,
                visit,
                both(figures.firstContentfulPaint),
                overFloor(figures.firstContentfulPaint, floorFigures?.firstContentfulPaint),
                both(figures.interactive),
                overFloor(figures.interactive, floorFigures?.interactive),
                both(figures.totalBlockingTime),
                both(figures.longTasks),
                `${round(figures.transferredBytes.median / 1000, 1)}`,
              ];
            }),
          ),
        ),
      ];
    }),
    "A first visit is a new browser context (empty HTTP cache, no cookies, service workers blocked); a return visit is a fresh tab in a " +
      "context whose discarded first load cached the page's assets. Every server cache is warm: only the browser's differs. The CPU is slowed " +
      "through `Emulation.setCPUThrottlingRate`. A view ends once the page has been quiet, after its load event, for " +
      `${visits.quietMs} ms (no long task, no request under way); its time to interactive is the end of the last long task before that ` +
      "(or its first contentful paint, if later), and its total blocking time sums, over the long tasks between the two, what each has past " +
      "50 ms. p90 is the nearest rank. kB over the network: the median of what the page's requests transferred, not counting what came from " +
      "the cache.",
  ];
}
