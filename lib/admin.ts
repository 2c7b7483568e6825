import "server-only";
import { checkBearer, type BearerCheck } from "./bearer";
import type { PurgeTarget } from "./cache";
import { isKnownTag, sourceNamed } from "./fragments";
import { getRuntime } from "./runtime";

export type AdminCheck = "disabled" | BearerCheck;

/** Checks an `Authorization` header against CACHE_ADMIN_TOKEN in constant time. */
export function checkAdmin(authorization: string | null): AdminCheck {
  const expected = getRuntime().config.adminToken;
  return expected ? checkBearer(authorization, expected) : "disabled";
}

/** What a purge request names: one fragment, the fragments carrying a tag, or all of them. */
export type PurgeRequest = { fragment: string } | { tag: string } | { all: true };

/** The cache's target for a request, or undefined when it names a fragment or tag no source has. */
export function purgeTarget(request: PurgeRequest): PurgeTarget | undefined {
  if ("all" in request) return request;
  if ("tag" in request) return isKnownTag(request.tag) ? request : undefined;
  const source = sourceNamed(request.fragment);
  return source && { key: source.key };
}

/**
 * Forgets the target here and in Redis, loads under way included: none of them writes its value back, and
 * the next view loads again. Resolves with the entries deleted in Redis (here, without Redis).
 */
export function purge(target: PurgeTarget): Promise<number> {
  return getRuntime().cache.purge(target);
}
