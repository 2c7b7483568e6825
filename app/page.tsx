import { isbot } from "isbot";
import type { Metadata } from "next";
import { headers } from "next/headers";
import { connection } from "next/server";
import { Suspense } from "react";
import { FragmentOutcome, StreamedFragment } from "./_components/fragment";
import { lookUpOnce } from "./_components/fragment-data";
import { Spinner } from "./_components/spinner";
import { Timeline, TimelinePlaceholder, TimelineView } from "./_components/timeline";
import { RENDERED_TO_KEEP } from "./page-cache";
import { pageParts, searchOf } from "./page-fragments";
import { shellResults, type Part } from "@/lib/fragments";

// Streaming needs the Node.js runtime; on Vercel a function may run this long (the fragment deadline plus
// the background refresh that after() keeps alive).
export const runtime = "nodejs";
export const maxDuration = 60;

/** The page's title says what was asked: the headings of the parts that took parameters. */
export async function generateMetadata({ searchParams }: PageProps<"/">): Promise<Metadata> {
  const asked = pageParts(searchOf(await searchParams)).filter((part) => part.fragment.params && part.params);
  return { title: asked.length === 0 ? "Workerless" : `${asked.map((part) => part.title).join(" · ")} · Workerless` };
}

/** What a visitor uses to ask a part something else (a search box, links), whatever state its data is in. */
function Controls({ part }: { part: Part }) {
  const Render = part.fragment.source.controls;
  if (!Render || !part.controls) return null;
  return (
    <div className="fragment-controls">
      <Render {...part.controls} />
    </div>
  );
}

export default async function Home({ searchParams }: PageProps<"/">) {
  // Rendered per request: fragment data must never be baked in at build time.
  await connection();
  const parts = pageParts(searchOf(await searchParams));
  const lookups = parts.map((part) => lookUpOnce(part));
  // Crawlers and link previewers read the HTML without running the scripts that move a streamed part into
  // place: they wait for every part's final result (each settles by its deadline, a stale value's refresh
  // too), so the page has no boundary at all.
  const requestHeaders = await headers();
  const crawler = isbot(requestHeaders.get("user-agent"));
  // Set by the proxy alone: this rendering is kept, and each view of it is served from the page cache.
  const kept = requestHeaders.has(RENDERED_TO_KEEP);
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
        {parts.map((part, index) => {
          const { name, title } = part;
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
              <Controls part={part} />
              {answer ? (
                <FragmentOutcome
                  part={part}
                  result={answer}
                  refreshed={finalResults ? undefined : lookups[index]!.refreshed}
                  kept={kept}
                />
              ) : (
                <Suspense fallback={<Spinner label={`Loading ${title}`} />}>
                  <StreamedFragment part={part} />
                </Suspense>
              )}
            </section>
          );
        })}
      </div>
      {/* A stale part may still be replaced by its refresh: then the timeline waits for that too. */}
      {finalResults ||
      (answered.length === parts.length &&
        answered.every((answer) => answer.status !== "ready" || answer.origin !== "stale")) ? (
        <TimelineView results={answered} kept={kept} />
      ) : (
        <Suspense fallback={<TimelinePlaceholder />}>
          <Timeline parts={parts} />
        </Suspense>
      )}
    </main>
  );
}
