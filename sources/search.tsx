import { z } from "zod";
import { type ControlsProps, defineSource } from "@/lib/source";
import { fetchSearch, SEARCH_QUERY } from "./demo-api";

/** The longest query taken: the box stops there, and the schema refuses longer from a hand-made URL. */
const QUERY_MAX_CHARS = 100;

/** `?q=…`: the demo's own query when absent, or empty as an empty box submits it; blank or too long is refused. */
const queryParams = z.object({
  q: z.preprocess(
    (value) => (value === "" ? undefined : value),
    z
      .string()
      .trim()
      .min(1, "must not be blank")
      .max(QUERY_MAX_CHARS, `must be at most ${QUERY_MAX_CHARS} characters`)
      .default(SEARCH_QUERY),
  ),
});

type QueryParams = z.output<typeof queryParams>;

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

/**
 * A search box that submits to the page itself: a GET form, so it works without JavaScript. Every other
 * parameter of the page rides along hidden, so the other parts (the weather's `city`) stay as they were.
 */
function SearchControls({ params, search }: ControlsProps<QueryParams>) {
  const kept = [...search].filter(([name]) => name !== "q");
  return (
    <form role="search" method="get" action="/" className="search-form">
      {kept.map(([name, value], index) => (
        <input key={`${index}:${name}`} type="hidden" name={name} value={value} />
      ))}
      <label className="search-field">
        <span className="search-label">Search the web</span>
        <input type="search" name="q" maxLength={QUERY_MAX_CHARS} defaultValue={params.q} />
      </label>
      <button type="submit">Search</button>
    </form>
  );
}

/** The slowest API: results hold for five minutes, and stale ones are shown for fifteen more. */
export const search = defineSource({
  name: "search",
  params: queryParams,
  title: ({ q }) => `Search: ${q}`,
  load: ({ params, signal }) => fetchSearch(params.q, signal),
  schema: searchSchema,
  render: SearchView,
  controls: SearchControls,
  freshSeconds: 300,
  graceSeconds: 900,
  tags: ["news"],
});
