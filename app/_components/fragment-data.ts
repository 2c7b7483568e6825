import "server-only";
import { cache } from "react";
import { getSources, lookUp, sourceNamed } from "@/lib/fragments";

/** One lookup per fragment per request, shared by the page, the fragment and the timeline below it. */
export const fragmentLookup = cache((name: string) => {
  const source = sourceNamed(name);
  if (!source) throw new Error(`No source named "${name}"`);
  return lookUp(source);
});

/** The timeline's scale: the longest any fragment may hold the page. */
export function longestDeadlineMs(fallbackMs: number): number {
  return Math.max(...getSources().map((source) => source.options.deadlineMs ?? fallbackMs));
}
