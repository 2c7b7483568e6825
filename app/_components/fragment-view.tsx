import "server-only";
import { outcomeOf, type FragmentResult, type Part } from "@/lib/fragments";
import type { Outcome } from "@/lib/origin";
import { FragmentNotice, notFoundText } from "./fragment-notice";

/** How each outcome is named to a person, beside the value and on the timeline. */
export const OUTCOME_LABELS = {
  hit: "fresh from cache",
  stale: "stale, refreshing",
  miss: "fetched",
  shared: "shared with a concurrent request",
  refreshed: "refreshed while you waited",
  revalidated: "unchanged at the source (304), renewed",
  "fail-safe": "kept while the source is not answering",
  pending: "timed out, still working",
  error: "error",
  busy: "busy, not looked up",
  refused: "parameters refused, not looked up",
} as const satisfies Record<Outcome, string>;

const AS_OF = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

/** "2 Dec 14:02": the parts themselves, since the formatter puts a comma between date and time. */
function asOf(at: number): string {
  const parts = AS_OF.formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((item) => item.type === type)?.value;
  return `${part("day")} ${part("month")} ${part("hour")}:${part("minute")}`;
}

/** Said of every part of a page rendered to be kept: each view of it is served from the page cache. */
export const PAGE_CACHE_NOTE = "page from the page cache";

/**
 * One part's content for each of its states: for data, what its source renders. `kept`: the page is rendered
 * to be kept in the page cache, and says so.
 */
export function FragmentView({ part, result, kept }: { part: Part; result: FragmentResult; kept?: boolean }) {
  // A value kept past its grace says how old it is: the reader decides whether to trust it.
  const label =
    result.status === "ready" && result.asOf !== undefined
      ? `as of ${asOf(result.asOf)} UTC: the source is not answering`
      : OUTCOME_LABELS[outcomeOf(result)];
  const meta = (
    <p className="fragment-meta">{`${label} · ${result.ms} ms on the server${kept ? ` · ${PAGE_CACHE_NOTE}` : ""}`}</p>
  );
  switch (result.status) {
    case "ready": {
      const Render = part.fragment.source.render;
      // Without JavaScript a streamed part stays where React sent it, at the end of the page, away from its
      // section's heading: public/noscript.css shows its title there (the other states name their part already).
      return (
        <>
          <p className="fragment-origin" hidden>
            {part.title}
          </p>
          <div className="fragment-value" data-origin={result.origin} data-page-cache={kept || undefined}>
            <Render data={result.data} />
          </div>
          {meta}
        </>
      );
    }
    case "not-found":
      return (
        <>
          <div className="fragment-value" data-origin={result.origin}>
            <p className="fragment-empty">{notFoundText(part.title)}</p>
          </div>
          {meta}
        </>
      );
    default:
      return (
        <>
          <FragmentNotice result={result} />
          {meta}
        </>
      );
  }
}
