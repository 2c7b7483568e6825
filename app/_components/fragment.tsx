import { fragmentData } from "./fragment-data";
import { FragmentView } from "./fragment-view";
import { RetryableFragment } from "./retryable-fragment";

/** One part of the page: suspends until its data is ready, or until the fragment deadline passes. */
export async function Fragment({ name }: { name: string }) {
  const result = await fragmentData(name);
  return result.status === "ready" ? <FragmentView result={result} /> : <RetryableFragment initial={result} />;
}
