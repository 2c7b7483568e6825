/**
 * Where a value came from: fresh in a cache, stale in a cache, this caller's own load, a load already in
 * flight, or the refresh of a stale value that landed while the caller still waited.
 */
export type Origin = "hit" | "stale" | "miss" | "shared" | "refreshed";

/** How a fragment's lookup ended: where its value came from, still working at its deadline, or failed. */
export type Outcome = Origin | "pending" | "error";
