import type { Source } from "./cache-source";

/** What a page renders for one fragment; never a wire format. */
export type FragmentResult =
  | { status: "ready"; name: string; value: string; source: Source; ms: number }
  | { status: "pending"; name: string; ms: number }
  | { status: "error"; name: string; ms: number };
