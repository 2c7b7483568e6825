import "server-only";
import { cache } from "react";
import { findFragment } from "@/lib/slow-find";

/** One lookup per fragment per request, shared by the fragment and the timeline below the page. */
export const fragmentData = cache(findFragment);
