import type { FragmentResult } from "@/lib/fragment-result";
import { fragmentData } from "./fragment-data";
import { OUTCOME_LABELS, outcomeOf } from "./fragment-view";

/**
 * When each fragment was ready, relative to the shell (which left at 0 ms), drawn as bars. It streams in
 * after the last fragment, from the same lookups the fragments rendered.
 */
export async function Timeline({ names }: { names: string[] }) {
  return <TimelineView results={await Promise.all(names.map((name) => fragmentData(name)))} />;
}

export function TimelineView({ results }: { results: FragmentResult[] }) {
  const longest = Math.max(1, ...results.map((result) => result.ms));
  return (
    <figure className="timeline" aria-labelledby="timeline-title">
      <figcaption id="timeline-title">When each fragment was ready, after the shell left at 0 ms</figcaption>
      <ol>
        {results.map((result) => (
          <li key={result.name} data-timeline={result.name} data-outcome={outcomeOf(result)}>
            <span className="timeline-name">{result.name}</span>
            {/* SVG geometry, not a style attribute: the page's CSP allows no inline styles. */}
            <svg className="timeline-track" aria-hidden="true" focusable="false">
              <rect className="timeline-bar" x="0" y="0" height="100%" width={`${Math.max(1, (result.ms / longest) * 100)}%`} />
            </svg>
            <span className="timeline-time">{`${result.ms} ms · ${OUTCOME_LABELS[outcomeOf(result)]}`}</span>
          </li>
        ))}
      </ol>
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
