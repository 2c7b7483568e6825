"use server";

import type { ReactNode } from "react";
import { lookUp, sourceNamed } from "@/lib/fragments";
import { FragmentView } from "./_components/fragment-view";

/**
 * The retry control's server function: one fragment again, usually from the cache its first try filled,
 * rendered here (a source's component runs on the server only). Only a defined source is looked up.
 */
export async function retryFragment(name: unknown): Promise<{ ready: boolean; view: ReactNode }> {
  const source = typeof name === "string" ? sourceNamed(name) : undefined;
  if (!source) throw new Error("Unknown fragment");
  const result = await lookUp(source).final;
  return { ready: result.status === "ready", view: <FragmentView result={result} /> };
}
