import "server-only";
import { createHash, timingSafeEqual } from "node:crypto";
import { getRuntime } from "./runtime";

export type AdminCheck = "disabled" | "missing" | "wrong" | "ok";

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Checks an `Authorization` header against CACHE_ADMIN_TOKEN in constant time. */
export function checkAdmin(authorization: string | null): AdminCheck {
  const expected = getRuntime().config.adminToken;
  if (!expected) return "disabled";
  const match = /^Bearer (.+)$/i.exec(authorization?.trim() ?? "");
  if (!match?.[1]) return "missing";
  // Digests have equal lengths, so the comparison takes the same time whatever was sent.
  return timingSafeEqual(digest(match[1]), digest(expected)) ? "ok" : "wrong";
}

/** Forgets one fragment, or all of this app's entries, here and in Redis; resolves with Redis keys deleted. */
export function purge(fragment?: string): Promise<number> {
  return getRuntime().cache.purge(fragment);
}
