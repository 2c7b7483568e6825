"use server";

import type { ReactNode } from "react";
import { isFragmentName } from "@/lib/fragment-name";
import { lookUp } from "@/lib/fragments";
import { logEvent } from "@/lib/log";
import { FragmentNotice } from "./_components/fragment-notice";
import { FragmentView } from "./_components/fragment-view";
import { fragmentNamed } from "./page-fragments";

type Retried = { ready: boolean; view: ReactNode };

/**
 * The retry control's server function: one fragment again, usually from the cache its first try filled,
 * rendered here (a source's component runs on the server only). Only a defined source is looked up.
 */
export async function retryFragment(name: unknown): Promise<Retried> {
  const fragment = isFragmentName(name) ? fragmentNamed(name) : undefined;
  if (!fragment) return refused(name);
  const result = await lookUp(fragment).final;
  return { ready: result.status === "ready", view: <FragmentView fragment={fragment} result={result} /> };
}

/**
 * A name no source has: a page from before a deployment that removed its source, or a forged call. It gets
 * the part's error state, not an exception (a 500 and a stack in the log for every forged call); the log
 * line names what was sent only when it has a name's shape, so it stays short.
 */
function refused(name: unknown): Retried {
  const fragment = isFragmentName(name) ? name : undefined;
  logEvent("warn", "retry_refused", fragment ? { key: fragment } : { argument: typeof name });
  return { ready: false, view: <FragmentNotice status="error" name={fragment ?? "unknown"} /> };
}
