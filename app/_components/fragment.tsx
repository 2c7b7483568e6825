import { Suspense } from "react";
import type { Fragment, FragmentResult } from "@/lib/fragments";
import { lookUpOnce } from "./fragment-data";
import { FragmentView } from "./fragment-view";
import { RetryableFragment } from "./retryable-fragment";

/** One part of the page: suspends until its data is ready, or until its deadline passes. */
export async function StreamedFragment({ fragment }: { fragment: Fragment }) {
  const lookup = lookUpOnce(fragment);
  return <FragmentOutcome fragment={fragment} result={await lookup.result} refreshed={lookup.refreshed} />;
}

/**
 * A part whose lookup is over: its data, or the notice with a retry control. A stale value shows at once
 * and, when `refreshed` brings the fresh one before the deadline, is replaced by it in the same response.
 */
export function FragmentOutcome({
  fragment,
  result,
  refreshed,
}: {
  fragment: Fragment;
  result: FragmentResult;
  refreshed?: Promise<FragmentResult | undefined>;
}) {
  if (result.status !== "ready") {
    return (
      <RetryableFragment name={fragment.name} ready={false}>
        <FragmentView fragment={fragment} result={result} />
      </RetryableFragment>
    );
  }
  if (result.origin !== "stale" || !refreshed) return <FragmentView fragment={fragment} result={result} />;
  return (
    <Suspense fallback={<FragmentView fragment={fragment} result={result} />}>
      <Refreshed fragment={fragment} stale={result} refreshed={refreshed} />
    </Suspense>
  );
}

async function Refreshed({
  fragment,
  stale,
  refreshed,
}: {
  fragment: Fragment;
  stale: FragmentResult;
  refreshed: Promise<FragmentResult | undefined>;
}) {
  return <FragmentView fragment={fragment} result={(await refreshed) ?? stale} />;
}
