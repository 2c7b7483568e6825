import "server-only";
import { cache } from "react";
import { lookupFragment } from "@/lib/slow-find";

/** One lookup per fragment per request, shared by the page, the fragment and the timeline below it. */
export const fragmentLookup = cache(lookupFragment);

export function fragmentData(name: string) {
  return fragmentLookup(name).result;
}
