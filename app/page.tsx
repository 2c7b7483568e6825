import { connection } from "next/server";
import { Suspense } from "react";
import { Fragment, FragmentOutcome } from "./_components/fragment";
import { fragmentLookup } from "./_components/fragment-data";
import { Spinner } from "./_components/spinner";
import { Timeline, TimelinePlaceholder, TimelineView } from "./_components/timeline";
import { awaitCachedAnswers, fragmentNames } from "@/lib/slow-find";

// Streaming needs the Node.js runtime; on Vercel a function may run this long (the fragment deadline plus
// the background refresh that after() keeps alive).
export const runtime = "nodejs";
export const maxDuration = 60;

export default async function Home() {
  // Rendered per request: fragment data must never be baked in at build time.
  await connection();
  const names = fragmentNames();
  const lookups = names.map((name) => fragmentLookup(name));
  // Parts a cache answers within a moment are rendered in the shell itself, with no Suspense boundary:
  // a warm page arrives complete, however its chunks are scheduled. The rest stream in behind spinners.
  await awaitCachedAnswers(lookups);
  const answers = lookups.map((lookup) => lookup.answer());
  const answered = answers.flatMap((answer) => (answer ? [answer] : []));
  return (
    <main>
      <h1>Workerless</h1>
      <p className="lede">
        Each part of this page waits on a slow external call. The page and its spinners arrive at once; each part
        streams into the same response the moment its data is ready, from a cache when it can.
      </p>
      <div className="fragments">
        {names.map((name, index) => {
          const answer = answers[index];
          return (
            <section key={name} className="fragment" data-fragment={name} aria-labelledby={`fragment-${name}`}>
              <h2 id={`fragment-${name}`}>{`Fragment ${name}`}</h2>
              {answer ? (
                <FragmentOutcome result={answer} />
              ) : (
                <Suspense fallback={<Spinner label={`Loading fragment ${name}`} />}>
                  <Fragment name={name} />
                </Suspense>
              )}
            </section>
          );
        })}
      </div>
      {answered.length === names.length ? (
        <TimelineView results={answered} />
      ) : (
        <Suspense fallback={<TimelinePlaceholder />}>
          <Timeline names={names} />
        </Suspense>
      )}
    </main>
  );
}
