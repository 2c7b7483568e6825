import { createHash, timingSafeEqual } from "node:crypto";

/** How an `Authorization` header compares with the token a route requires. */
export type BearerCheck = "missing" | "wrong" | "ok";

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * Checks `Authorization: Bearer <token>` against `expected` in constant time: digests have equal lengths,
 * so the comparison takes the same time whatever was sent.
 */
export function checkBearer(authorization: string | null | undefined, expected: string): BearerCheck {
  const match = /^Bearer (.+)$/i.exec(authorization?.trim() ?? "");
  if (!match?.[1]) return "missing";
  return timingSafeEqual(digest(match[1]), digest(expected)) ? "ok" : "wrong";
}
