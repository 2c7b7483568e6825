"use server";

import { isFragmentName } from "@/lib/fragment-name";
import type { FragmentResult } from "@/lib/fragment-result";
import { findFragment } from "@/lib/slow-find";

/** The retry control's server function: one fragment again, usually from the cache its first try filled. */
export async function retryFragment(name: unknown): Promise<FragmentResult> {
  if (!isFragmentName(name)) throw new Error("Unknown fragment");
  return findFragment(name);
}
