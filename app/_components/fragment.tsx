import { Suspense } from "react";
import type { FragmentResult } from "@/lib/fragments";
import { fragmentLookup } from "./fragment-data";
import { FragmentView } from "./fragment-view";
import { RetryableFragment } from "./retryable-fragment";

/** One part of the page: suspends until its data is ready, or until its deadline passes. */
export async function Fragment({ name }: { name: string }) {
  const lookup = fragmentLookup(name);
  return <FragmentOutcome result={await lookup.result} refreshed={lookup.refreshed} />;
}

/**
 * A part whose lookup is over: its data, or the notice with a retry control. A stale value shows at once
 * and, when `refreshed` brings the fresh one before the deadline, is replaced by it in the same response.
 */
export function FragmentOutcome({ result, refreshed }: { result: FragmentResult; refreshed?: Promise<FragmentResult | undefined> }) {
  if (result.status !== "ready") {
    return (
      <RetryableFragment name={result.name} ready={false}>
        <FragmentView result={result} />
      </RetryableFragment>
    );
  }
  if (result.origin !== "stale" || !refreshed) return <FragmentView result={result} />;
  return (
    <Suspense fallback={<FragmentView result={result} />}>
      <Refreshed stale={result} refreshed={refreshed} />
    </Suspense>
  );
}

async function Refreshed({ stale, refreshed }: { stale: FragmentResult; refreshed: Promise<FragmentResult | undefined> }) {
  return <FragmentView result={(await refreshed) ?? stale} />;
}
