import "server-only";
import { outcomeOf, type Fragment, type FragmentResult } from "@/lib/fragments";
import type { Outcome } from "@/lib/origin";
import { FragmentNotice } from "./fragment-notice";

/** How each outcome is named to a person, beside the value and on the timeline. */
export const OUTCOME_LABELS = {
  hit: "fresh from cache",
  stale: "stale, refreshing",
  miss: "fetched",
  shared: "shared with a concurrent request",
  refreshed: "refreshed while you waited",
  pending: "timed out, still working",
  error: "error",
} as const satisfies Record<Outcome, string>;

/** One fragment's content for each of its states: for data, what its source renders. */
export function FragmentView({ fragment, result }: { fragment: Fragment; result: FragmentResult }) {
  const meta = (
    <p className="fragment-meta">{`${OUTCOME_LABELS[outcomeOf(result)]} · ${result.ms} ms on the server`}</p>
  );
  switch (result.status) {
    case "ready": {
      const Render = fragment.render;
      // Without JavaScript a streamed part stays where React sent it, at the end of the page, away from its
      // section's heading: public/noscript.css shows its title there (the other states name their part already).
      return (
        <>
          <p className="fragment-origin" hidden>
            {fragment.title}
          </p>
          <div className="fragment-value" data-origin={result.origin}>
            <Render data={result.data} />
          </div>
          {meta}
        </>
      );
    }
    case "pending":
    case "error":
      return (
        <>
          <FragmentNotice status={result.status} name={result.name} />
          {meta}
        </>
      );
  }
}
