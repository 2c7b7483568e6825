import "server-only";
import { getConfig } from "@/lib/config";
import { fragmentsOf, partOf, type Fragment, type Part } from "@/lib/fragments";
import { inputOf, type ParamInput } from "@/lib/params";
import { textSources } from "@/lib/text-sources";
import { definedSources } from "@/sources";

let fragments: readonly Fragment[] | undefined;

/**
 * The page's fragments, in order: text fragments from FRAGMENTS (or SLOW_API_URL) when set, otherwise the
 * sources defined in `sources/`. Kept per module instance, not per process: each bundle renders with its
 * own copy of the definitions, and `next dev` picks up an edited source on its next request.
 */
export function pageFragments(): readonly Fragment[] {
  if (!fragments) {
    const config = getConfig();
    const placeholders = config.upstream.kind === "http" ? config.upstream.params : [];
    fragments = fragmentsOf(config.fragments ? textSources(config.fragments, placeholders) : definedSources, config);
  }
  return fragments;
}

/** The page's parts for one request: each fragment with the parameters `search` (and route segments) give it. */
export function pageParts(search: URLSearchParams, segments: ParamInput = {}): readonly Part[] {
  const input = { ...inputOf(search), ...segments };
  return pageFragments().map((fragment) => partOf(fragment, input, search));
}

/** A page's `searchParams` as a URL's: the same names and values, in their order. */
export function searchOf(searchParams: Readonly<Record<string, string | string[] | undefined>>): URLSearchParams {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(searchParams)) {
    for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) search.append(name, item);
  }
  return search;
}

/** The fragment of that name, if the page has one: nothing else is ever looked up. */
export function fragmentNamed(name: string): Fragment | undefined {
  return pageFragments().find((fragment) => fragment.name === name);
}

/** Whether some fragment carries `tag`, or may: tags made from parameters are known only once asked. */
export function mayCarryTag(tag: string): boolean {
  return pageFragments().some(({ source }) => source.fixedTags === undefined || source.fixedTags.includes(tag));
}

/** The timeline's scale: the longest any fragment may hold the page. */
export function longestDeadlineMs(): number {
  return Math.max(...pageFragments().map((fragment) => fragment.deadlineMs));
}
