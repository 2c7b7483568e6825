"use server";

import type { ReactNode } from "react";
import { isFragmentName } from "@/lib/fragment-name";
import { lookUp, partOf } from "@/lib/fragments";
import { logEvent } from "@/lib/log";
import { FragmentNotice } from "./_components/fragment-notice";
import { FragmentView } from "./_components/fragment-view";
import { fragmentNamed } from "./page-fragments";

type Retried = { ready: boolean; view: ReactNode };

/** Input as the retry control sends it: names to a string or a list of strings, nothing else. */
function isInput(value: unknown): value is Record<string, string | string[]> {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value).every(
    (item) => typeof item === "string" || (Array.isArray(item) && item.every((text) => typeof text === "string")),
  );
}

/**
 * The retry control's server function: one fragment again, with the parameters its part was asked with,
 * usually from the cache its first try filled, rendered here (a source's component runs on the server only).
 * Only a defined source is looked up, and only with parameters its schema accepts.
 */
export async function retryFragment(name: unknown, input: unknown = {}): Promise<Retried> {
  const fragment = isFragmentName(name) ? fragmentNamed(name) : undefined;
  if (!fragment || !isInput(input)) return refused(name);
  const part = partOf(fragment, input);
  const result = await lookUp(part).final;
  const ready = result.status === "ready" || result.status === "not-found";
  return { ready, view: <FragmentView part={part} result={result} /> };
}

/**
 * A name no source has (a page from before a deployment that removed its source), or a forged call. It gets
 * the part's error state, not an exception (a 500 and a stack in the log for every forged call); the log
 * line names what was sent only when it has a name's shape, so it stays short.
 */
function refused(name: unknown): Retried {
  const fragment = isFragmentName(name) ? name : undefined;
  logEvent("warn", "retry_refused", fragment ? { key: fragment } : { argument: typeof name });
  return { ready: false, view: <FragmentNotice result={{ status: "error", name: fragment ?? "unknown", ms: 0 }} /> };
}
