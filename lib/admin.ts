import "server-only";
import { checkBearer, type BearerCheck } from "./bearer";
import { getRuntime } from "./runtime";

export type AdminCheck = "disabled" | BearerCheck;

/** Checks an `Authorization` header against CACHE_ADMIN_TOKEN in constant time. */
export function checkAdmin(authorization: string | null): AdminCheck {
  const expected = getRuntime().config.adminToken;
  return expected ? checkBearer(authorization, expected) : "disabled";
}

/** Forgets one fragment, or all of this app's entries, here and in Redis; resolves with Redis keys deleted. */
export function purge(fragment?: string): Promise<number> {
  return getRuntime().cache.purge(fragment);
}
