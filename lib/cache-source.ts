/** Where a value came from: fresh in a cache, stale in a cache, this caller's own load, or a load already in flight. */
export type Source = "hit" | "stale" | "miss" | "shared";
