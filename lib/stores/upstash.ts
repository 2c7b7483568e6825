import "server-only";
import { Redis } from "@upstash/redis";
import { isCacheEntry, type CacheEntry, type Claim, type SharedStore } from "./store";

export type UpstashStoreOptions = {
  url: string;
  token: string;
  /** Budget for one HTTP round trip; the request is aborted past it. */
  timeoutMs: number;
};

// Read and lease in one script: as two commands they could run in either order (the client sends
// same-tick reads and writes as separate requests) and miss a value stored just before a lease was freed.
// An entry still within grace comes back with the lease attempt, so its reader can serve it meanwhile.
const CLAIM = `
local value = redis.call("get", KEYS[1])
local now = tonumber(ARGV[3])
if value then
  local ok, entry = pcall(cjson.decode, value)
  if not (ok and type(entry) == "table" and tonumber(entry.freshUntil) and tonumber(entry.staleUntil)) then
    value = false
  elseif tonumber(entry.freshUntil) > now then
    return {value, 0}
  elseif tonumber(entry.staleUntil) <= now then
    value = false
  end
end
local leased = redis.call("set", KEYS[2], ARGV[1], "NX", "PX", ARGV[2])
return {value or "", leased and 1 or 0}`;

// A read through a script too: the client batches reads and writes into separate requests, and a plain GET
// (a re-check of a local copy) would cost a round trip of its own beside the claims of the same page view.
const READ = `return redis.call("get", KEYS[1])`;

// Deletes the lease only while it still holds the caller's token.
const RELEASE_LEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/** Upstash Redis through its REST client; commands issued in one tick share one HTTP request. */
export class UpstashStore implements SharedStore {
  readonly kind = "upstash";
  private readonly redis: Redis;

  constructor({ url, token, timeoutMs }: UpstashStoreOptions) {
    this.redis = new Redis({
      url,
      token,
      // The client's default retries back off for ~4 s; a page never waits that long for its cache.
      retry: false,
      // A function (not a signal) makes an abort throw instead of resolving to a fake "Aborted" result.
      signal: () => AbortSignal.timeout(timeoutMs),
      enableTelemetry: false,
    });
  }

  async get(key: string): Promise<CacheEntry | null> {
    const value = await this.redis.eval<[], unknown>(READ, [key], []);
    return isCacheEntry(value) ? value : null;
  }

  async set(key: string, entry: CacheEntry): Promise<void> {
    const ttlMs = entry.staleUntil - Date.now();
    if (ttlMs > 0) await this.redis.set(key, entry, { px: ttlMs });
  }

  async claim(key: string, leaseKey: string, token: string, ttlMs: number, now: number): Promise<Claim> {
    const [value, leased] = await this.redis.eval<string[], [unknown, unknown]>(CLAIM, [key, leaseKey], [token, String(Math.ceil(ttlMs)), String(now)]);
    // The client has already JSON-parsed the stored entry; an empty string means there was none.
    return { entry: isCacheEntry(value) ? value : undefined, leased: leased === 1 };
  }

  async releaseLease(key: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE_LEASE, [key], [token]);
  }

  delete(key: string): Promise<number> {
    return this.redis.del(key);
  }

  async deleteMatching(pattern: string): Promise<number> {
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.scan(cursor, { match: pattern, count: 500 });
      if (keys.length > 0) deleted += await this.redis.del(...keys);
      cursor = String(next);
    } while (cursor !== "0");
    return deleted;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }
}
