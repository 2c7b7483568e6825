import { outcomeOf, type FragmentResult, type Part } from "@/lib/fragments";
import { longestDeadlineMs } from "../page-fragments";
import { lookUpOnce } from "./fragment-data";
import { OUTCOME_LABELS, PAGE_CACHE_NOTE } from "./fragment-view";

/**
 * When each fragment was ready, relative to the shell (which left at 0 ms), drawn as bars. It streams in
 * after the last fragment, from the same lookups the fragments rendered.
 */
export async function Timeline({ parts }: { parts: readonly Part[] }) {
  return <TimelineView results={await Promise.all(parts.map((part) => lookUpOnce(part).final))} />;
}

/** A bar's share of the track, in percent: at least a sliver, so a 2 ms cache hit still shows. */
const barPercent = (ms: number, scaleMs: number) =>
  Number(Math.min(100, Math.max(0.5, (ms / scaleMs) * 100)).toFixed(2));

/**
 * The axis runs from 0 to the longest fragment deadline (`FRAGMENT_DEADLINE_MS`, or a source's own), the
 * longest a fragment may hold the page, or to the slowest fragment if that took longer. Scaled to the slowest alone, a warm page of 3 ms cache
 * hits would draw full bars, like a cold page of 3 s upstream calls.
 */
export function TimelineView({
  results,
  deadlineMs = longestDeadlineMs(),
  kept,
}: {
  results: FragmentResult[];
  deadlineMs?: number;
  /** The page is rendered to be kept in the page cache: each view of it shows these same times. */
  kept?: boolean;
}) {
  const scaleMs = Math.max(deadlineMs, ...results.map((result) => result.ms));
  const scaleLabel = scaleMs === deadlineMs ? `${scaleMs} ms, the fragment deadline` : `${scaleMs} ms`;
  return (
    <figure className="timeline" aria-labelledby="timeline-title" data-timeline-scale={scaleMs}>
      <figcaption id="timeline-title">When each fragment was ready, after the shell left at 0 ms</figcaption>
      <ol>
        {results.map((result) => (
          <li
            key={result.name}
            data-timeline={result.name}
            data-outcome={outcomeOf(result)}
            data-page-cache={kept || undefined}
          >
            <span className="timeline-name">{result.name}</span>
            {/* SVG geometry, not a style attribute: the page's CSP allows no inline styles. */}
            <svg className="timeline-track" aria-hidden="true" focusable="false">
              <rect className="timeline-bar" x="0" y="0" height="100%" width={`${barPercent(result.ms, scaleMs)}%`} />
            </svg>
            <span className="timeline-time">
              {`${result.ms} ms · ${OUTCOME_LABELS[outcomeOf(result)]}${kept ? ` · ${PAGE_CACHE_NOTE}` : ""}`}
            </span>
          </li>
        ))}
      </ol>
      <p className="timeline-axis">
        <span className="timeline-axis-range">
          <span>0 ms</span>
          <span>{scaleLabel}</span>
        </span>
      </p>
    </figure>
  );
}

export function TimelinePlaceholder() {
  return (
    <p className="timeline timeline-waiting" role="status" aria-label="Timeline waiting for every fragment">
      The timeline draws itself once every fragment has arrived.
    </p>
  );
}
