import "server-only";
import { cache } from "react";
import { lookUp, type Part } from "@/lib/fragments";

/** One lookup per part per request, shared by the page, the fragment and the timeline below it. */
export const lookUpOnce = cache((part: Part) => lookUp(part));
