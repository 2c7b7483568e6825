import { isbot } from "isbot";
import { headers } from "next/headers";
import { connection } from "next/server";
import { Suspense } from "react";
import { FragmentOutcome, StreamedFragment } from "./_components/fragment";
import { lookUpOnce } from "./_components/fragment-data";
import { Spinner } from "./_components/spinner";
import { Timeline, TimelinePlaceholder, TimelineView } from "./_components/timeline";
import { pageFragments } from "./page-fragments";
import { shellResults } from "@/lib/fragments";

// Streaming needs the Node.js runtime; on Vercel a function may run this long (the fragment deadline plus
// the background refresh that after() keeps alive).
export const runtime = "nodejs";
export const maxDuration = 60;

export default async function Home() {
  // Rendered per request: fragment data must never be baked in at build time.
  await connection();
  const fragments = pageFragments();
  const lookups = fragments.map((fragment) => lookUpOnce(fragment));
  // Crawlers and link previewers read the HTML without running the scripts that move a streamed part into
  // place: they wait for every part's final result (each settles by its deadline, a stale value's refresh
  // too), so the page has no boundary at all.
  const crawler = isbot((await headers()).get("user-agent"));
  const finalResults = crawler ? await Promise.all(lookups.map((lookup) => lookup.final)) : undefined;
  // Parts a cache answers within a moment are rendered in the shell itself, with no Suspense boundary:
  // a warm page arrives complete, however its chunks are scheduled. The rest stream in behind spinners.
  const answers = finalResults ?? (await shellResults(lookups));
  const answered = answers.flatMap((answer) => (answer ? [answer] : []));
  return (
    <main>
      <h1>Workerless</h1>
      <p className="lede">
        Each part of this page waits on a slow external call. The page and its spinners arrive at once; each part
        streams into the same response the moment its data is ready, from a cache when it can.
      </p>
      <div className="fragments">
        {fragments.map((fragment, index) => {
          const { name, title } = fragment;
          const answer = answers[index];
          // A polite live region, read whole: a screen reader hears the part's title and its data when the part
          // replaces its spinner. No aria-busy here: the swap replaces the section's content, never its attributes.
          return (
            <section
              key={name}
              className="fragment"
              data-fragment={name}
              aria-labelledby={`fragment-${name}`}
              aria-live="polite"
              aria-atomic="true"
            >
              <h2 id={`fragment-${name}`}>{title}</h2>
              {answer ? (
                <FragmentOutcome
                  fragment={fragment}
                  result={answer}
                  refreshed={finalResults ? undefined : lookups[index]!.refreshed}
                />
              ) : (
                <Suspense fallback={<Spinner label={`Loading ${title}`} />}>
                  <StreamedFragment fragment={fragment} />
                </Suspense>
              )}
            </section>
          );
        })}
      </div>
      {/* A stale part may still be replaced by its refresh: then the timeline waits for that too. */}
      {finalResults ||
      (answered.length === fragments.length &&
        answered.every((answer) => answer.status !== "ready" || answer.origin !== "stale")) ? (
        <TimelineView results={answered} />
      ) : (
        <Suspense fallback={<TimelinePlaceholder />}>
          <Timeline fragments={fragments} />
        </Suspense>
      )}
    </main>
  );
}
