import "server-only";
import type { FragmentResult } from "@/lib/fragments";
import { sourceNamed } from "@/lib/fragments";
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
} as const;

export function outcomeOf(result: FragmentResult): keyof typeof OUTCOME_LABELS {
  return result.status === "ready" ? result.origin : result.status;
}

/** One fragment's content for each of its states: for data, what its source renders. */
export function FragmentView({ result }: { result: FragmentResult }) {
  const meta = <p className="fragment-meta">{`${OUTCOME_LABELS[outcomeOf(result)]} · ${result.ms} ms on the server`}</p>;
  switch (result.status) {
    case "ready": {
      const source = sourceNamed(result.name);
      const Render = source?.render;
      // Without JavaScript a streamed part stays where React sent it, at the end of the page, away from its
      // section's heading: public/noscript.css shows its title there (the other states name their part already).
      return (
        <>
          <p className="fragment-origin" hidden>
            {source?.title ?? result.name}
          </p>
          <div className="fragment-value" data-source={result.origin}>
            {Render && <Render data={result.data} />}
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
