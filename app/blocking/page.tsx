import { connection } from "next/server";
import { FragmentView } from "../_components/fragment-view";
import { pageParts, searchOf } from "../page-fragments";
import { lookUp } from "@/lib/fragments";

/**
 * The contrast to `/`: the same parts, with the same parameters, awaited before anything is rendered, as a
 * page without Suspense does. No byte leaves until the slowest part is ready (the benchmark's "blocking").
 */
export default async function Blocking({ searchParams }: PageProps<"/blocking">) {
  // Rendered per request: fragment data must never be baked in at build time.
  await connection();
  const parts = pageParts(searchOf(await searchParams));
  const results = await Promise.all(parts.map((part) => lookUp(part).result));
  return (
    <main>
      <h1>Workerless, blocking</h1>
      <p className="lede">
        This page asks for the same parts as the home page but waits for all of them before sending anything: the
        browser shows nothing at all until the slowest part is ready. The home page sends the page and its spinners at
        once and streams each part the moment it is ready.
      </p>
      <div className="fragments">
        {results.map((result, index) => (
          <section
            key={result.name}
            className="fragment"
            data-fragment={result.name}
            aria-labelledby={`fragment-${result.name}`}
          >
            <h2 id={`fragment-${result.name}`}>{parts[index]!.title}</h2>
            <FragmentView part={parts[index]!} result={result} />
          </section>
        ))}
      </div>
    </main>
  );
}
