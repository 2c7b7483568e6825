import "server-only";
import { checkBearer, type BearerCheck } from "./bearer";
import type { PurgeOptions, PurgeTarget } from "./cache";
import { purgeCdn } from "./cdn-purge";
import { getRuntime } from "./runtime";

export type AdminCheck = "disabled" | BearerCheck;

/** Checks an `Authorization` header against CACHE_ADMIN_TOKEN in constant time. */
export function checkAdmin(authorization: string | null): AdminCheck {
  const expected = getRuntime().config.adminToken;
  return expected ? checkBearer(authorization, expected) : "disabled";
}

/**
 * Forgets the target here and in Redis, loads under way included: none of them writes its value back, and
 * the next view loads again. A soft purge instead makes its fresh values stale: the next view shows them at
 * once and refreshes them. Resolves with the entries deleted in Redis (here, without Redis).
 */
export function purge(target: PurgeTarget, options: PurgeOptions = {}): Promise<number> {
  return getRuntime().cache.purge(target, options);
}

/**
 * After a purge of the cache, asks the CDN configured by CDN_PURGE_URL to drop its copies of the same target
 * (after, not before: a CDN purged first could fetch the old value back from the cache). Resolves false when
 * no CDN is configured; rejects with a `CdnPurgeError` when it did not take the purge.
 */
export async function forwardPurge(target: PurgeTarget): Promise<boolean> {
  const cdn = getRuntime().config.cdnPurge;
  if (!cdn) return false;
  await purgeCdn(target, cdn);
  return true;
}
