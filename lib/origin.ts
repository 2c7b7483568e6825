/**
 * Where a value came from: fresh in a cache, stale in a cache, this caller's own load, a load already in
 * flight, the refresh of a stale value that landed while the caller still waited, or a value past its grace
 * kept and served because its refresh failed (fail-safe), or the value held, renewed because the upstream
 * answered 304 Not Modified (revalidated).
 */
export type Origin = "hit" | "stale" | "miss" | "shared" | "refreshed" | "revalidated" | "fail-safe";

/**
 * How a fragment's lookup ended: where its value came from, still working at its deadline, failed, refused
 * at once because its source had its most loads under way (busy), or never looked up because the request's
 * parameters were refused.
 */
export type Outcome = Origin | "pending" | "error" | "busy" | "refused";
