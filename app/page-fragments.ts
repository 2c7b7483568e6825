import "server-only";
import { getConfig } from "@/lib/config";
import { fragmentsOf, type Fragment } from "@/lib/fragments";
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
    fragments = fragmentsOf(config.fragments ? textSources(config.fragments) : definedSources, config);
  }
  return fragments;
}

/** The fragment of that name, if the page has one: nothing else is ever looked up. */
export function fragmentNamed(name: string): Fragment | undefined {
  return pageFragments().find((fragment) => fragment.name === name);
}

/** Whether some fragment carries `tag`. */
export function isKnownTag(tag: string): boolean {
  return pageFragments().some((fragment) => fragment.tags.includes(tag));
}

/** The timeline's scale: the longest any fragment may hold the page. */
export function longestDeadlineMs(): number {
  return Math.max(...pageFragments().map((fragment) => fragment.deadlineMs));
}
