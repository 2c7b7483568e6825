import { connection } from "next/server";
import { Suspense } from "react";
import { Fragment } from "./_components/fragment";
import { Spinner } from "./_components/spinner";
import { Timeline, TimelinePlaceholder } from "./_components/timeline";
import { fragmentNames } from "@/lib/slow-find";

// Streaming needs the Node.js runtime; on Vercel a function may run this long (the fragment deadline plus
// the background refresh that after() keeps alive).
export const runtime = "nodejs";
export const maxDuration = 60;

export default async function Home() {
  // Rendered per request: fragment data must never be baked in at build time.
  await connection();
  const names = fragmentNames();
  return (
    <main>
      <h1>Workerless</h1>
      <p className="lede">
        Each part of this page waits on a slow external call. The page and its spinners arrive at once; each part
        streams into the same response the moment its data is ready, from a cache when it can.
      </p>
      <div className="fragments">
        {names.map((name) => (
          <section key={name} className="fragment" data-fragment={name} aria-labelledby={`fragment-${name}`}>
            <h2 id={`fragment-${name}`}>{`Fragment ${name}`}</h2>
            <Suspense fallback={<Spinner label={`Loading fragment ${name}`} />}>
              <Fragment name={name} />
            </Suspense>
          </section>
        ))}
      </div>
      <Suspense fallback={<TimelinePlaceholder />}>
        <Timeline names={names} />
      </Suspense>
    </main>
  );
}
