import "server-only";
import { cache } from "react";
import { lookUp, type Fragment } from "@/lib/fragments";

/** One lookup per fragment per request, shared by the page, the fragment and the timeline below it. */
export const lookUpOnce = cache((fragment: Fragment) => lookUp(fragment));
