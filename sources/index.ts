import type { Source } from "@/lib/source";
import { headlines } from "./headlines";
import { rates } from "./rates";
import { search } from "./search";
import { weather } from "./weather";

/** The page's sources, in order. Add yours here: see README, Add a source. */
export const definedSources: readonly Source[] = [weather, rates, headlines, search];
