import { z } from "zod";
import { defineSource } from "@/lib/source";
import { fetchSearch, SEARCH_QUERY } from "./demo-api";

/** Checks the search API's answer and keeps the count and each result's title, snippet and link. */
export const searchSchema = z
  .object({
    search_parameters: z.object({ q: z.string().trim().min(1).max(200) }),
    search_information: z.object({ total_results: z.number().int().min(0) }),
    organic_results: z.array(
      z.object({
        title: z.string().trim().min(1).max(300),
        // Only web links: an upstream's `javascript:` or `data:` URL must never become an href on the page.
        link: z.url({ protocol: /^https?$/ }),
        snippet: z.string().trim().max(1000),
      }),
    ),
  })
  .transform(({ search_parameters, search_information, organic_results }) => ({
    query: search_parameters.q,
    total: search_information.total_results,
    results: organic_results.slice(0, 3).map(({ title, link, snippet }) => ({ title, snippet, url: link })),
  }));

export type Search = z.output<typeof searchSchema>;

const count = new Intl.NumberFormat("en");

/** The link as a reader scans it: host and path, without the scheme. */
function shownUrl(url: string): string {
  const { host, pathname } = new URL(url);
  return host + (pathname === "/" ? "" : pathname);
}

export function SearchView({ data }: { data: Search }) {
  if (data.results.length === 0) return <p className="search-total">{`No results for “${data.query}”.`}</p>;
  return (
    <>
      <p className="search-total">{`About ${count.format(data.total)} ${data.total === 1 ? "result" : "results"}`}</p>
      <ol className="search-results">
        {data.results.map((result) => (
          <li key={result.url}>
            <a href={result.url}>{result.title}</a>
            <span className="search-url">{shownUrl(result.url)}</span>
            {result.snippet && <p className="search-snippet">{result.snippet}</p>}
          </li>
        ))}
      </ol>
    </>
  );
}

/** The slowest API: results hold for five minutes, and stale ones are shown for fifteen more. */
export const search = defineSource({
  name: "search",
  title: `Search: ${SEARCH_QUERY}`,
  load: fetchSearch,
  schema: searchSchema,
  render: SearchView,
  freshSeconds: 300,
  graceSeconds: 900,
  tags: ["news"],
});
