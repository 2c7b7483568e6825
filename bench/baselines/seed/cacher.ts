import type { Redis } from "ioredis";

/**
 * The talk's `Cacher`: cache-aside in Redis. GET; on a hit answer; on a miss run the slow call, SET the
 * result with an expiry, then answer. No single flight, no stale serving: that is the seed's design.
 */
export async function performCached(
  client: Redis,
  options: { key: string; ttlSeconds: number; miss: () => Promise<string> },
): Promise<string> {
  const cached = await client.get(options.key);
  if (cached !== null) return cached;
  const result = await options.miss();
  await client.set(options.key, result, "EX", options.ttlSeconds);
  return result;
}
