"use server";

import type { ReactNode } from "react";
import { lookUp } from "@/lib/fragments";
import { FragmentView } from "./_components/fragment-view";
import { fragmentNamed } from "./page-fragments";

/**
 * The retry control's server function: one fragment again, usually from the cache its first try filled,
 * rendered here (a source's component runs on the server only). Only a defined source is looked up.
 */
export async function retryFragment(name: unknown): Promise<{ ready: boolean; view: ReactNode }> {
  const fragment = typeof name === "string" ? fragmentNamed(name) : undefined;
  if (!fragment) throw new Error("Unknown fragment");
  const result = await lookUp(fragment).final;
  return { ready: result.status === "ready", view: <FragmentView fragment={fragment} result={result} /> };
}
