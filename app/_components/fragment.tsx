import type { FragmentResult } from "@/lib/fragment-result";
import { fragmentData } from "./fragment-data";
import { FragmentView } from "./fragment-view";
import { RetryableFragment } from "./retryable-fragment";

/** One part of the page: suspends until its data is ready, or until the fragment deadline passes. */
export async function Fragment({ name }: { name: string }) {
  return <FragmentOutcome result={await fragmentData(name)} />;
}

/** A part whose lookup is over: its value, or the notice with a retry control. */
export function FragmentOutcome({ result }: { result: FragmentResult }) {
  return result.status === "ready" ? <FragmentView result={result} /> : <RetryableFragment initial={result} />;
}
