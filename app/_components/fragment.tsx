import { Suspense } from "react";
import type { FragmentResult, Part } from "@/lib/fragments";
import { lookUpOnce } from "./fragment-data";
import { FragmentView } from "./fragment-view";
import { RetryableFragment } from "./retryable-fragment";

/** One part of the page: suspends until its data is ready, or until its deadline passes. */
export async function StreamedFragment({ part }: { part: Part }) {
  const lookup = lookUpOnce(part);
  return <FragmentOutcome part={part} result={await lookup.result} refreshed={lookup.refreshed} />;
}

/**
 * A part whose lookup is over: its data, or the notice with a retry control (none when its parameters were
 * refused: asking again would be refused again). A stale value shows at once and, when `refreshed` brings
 * the fresh one before the deadline, is replaced by it in the same response.
 */
export function FragmentOutcome({
  part,
  result,
  refreshed,
  kept,
}: {
  part: Part;
  result: FragmentResult;
  refreshed?: Promise<FragmentResult | undefined>;
  /** The page is rendered to be kept in the page cache: only pages of fresh parts are. */
  kept?: boolean;
}) {
  if (result.status === "refused") return <FragmentView part={part} result={result} />;
  if (result.status === "not-found") return <FragmentView part={part} result={result} />;
  if (result.status !== "ready") {
    return (
      <RetryableFragment name={part.name} input={part.input} ready={false}>
        <FragmentView part={part} result={result} />
      </RetryableFragment>
    );
  }
  if (result.origin !== "stale" || !refreshed) return <FragmentView part={part} result={result} kept={kept} />;
  return (
    <Suspense fallback={<FragmentView part={part} result={result} />}>
      <Refreshed part={part} stale={result} refreshed={refreshed} />
    </Suspense>
  );
}

async function Refreshed({
  part,
  stale,
  refreshed,
}: {
  part: Part;
  stale: FragmentResult;
  refreshed: Promise<FragmentResult | undefined>;
}) {
  return <FragmentView part={part} result={(await refreshed) ?? stale} />;
}
