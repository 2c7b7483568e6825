import type { FragmentResult } from "@/lib/fragment-result";

const SOURCE_LABELS = {
  hit: "cached",
  stale: "stale, refreshing",
  miss: "fetched",
  shared: "fetched by a concurrent request",
} as const;

/** One fragment's content for each of its states; shared by the server render and the retry control. */
export function FragmentView({ result }: { result: FragmentResult }) {
  switch (result.status) {
    case "ready":
      return (
        <>
          <p className="fragment-value" data-source={result.source}>
            {result.value}
          </p>
          <p className="fragment-meta">{`${SOURCE_LABELS[result.source]} · ${result.ms} ms`}</p>
        </>
      );
    case "pending":
      return (
        <p className="fragment-pending" role="status">
          {`Still working on ${result.name}: its data is on the way.`}
        </p>
      );
    case "error":
      return (
        <p className="fragment-alert" role="alert">
          {`This part (${result.name}) could not be loaded.`}
        </p>
      );
  }
}
