import "server-only";
import { cache } from "react";
import { lookupFragment } from "@/lib/slow-find";

/** One lookup per fragment per request, shared by the page, the fragment and the timeline below it. */
export const fragmentLookup = cache(lookupFragment);

/** The result the page ends up showing: the fresh one when a stale value's refresh landed before the deadline. */
export async function shownFragment(name: string) {
  const lookup = fragmentLookup(name);
  return (await lookup.refreshed) ?? (await lookup.result);
}
