import "server-only";
import { checkBearer, type BearerCheck } from "./bearer";
import type { PurgeOptions, PurgeTarget } from "./cache";
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
