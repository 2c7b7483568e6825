import "server-only";
import type { Kept, Part } from "./fragments";

/**
 * The surrogate key a CDN files one cache key's responses under, so a purge of that key reaches them. `@`
 * begins no tag a source may declare, and the keys of a fragment with parameters are all tagged
 * `@<fragment key>` already (`everyKeyOf`): for a fragment without them the two are the same word.
 */
export function keySurrogate(key: string): string {
  return `@${key}`;
}

/** The surrogate keys of a part's responses: its tags and its key's own; none for a part never looked up. */
export function surrogateKeysOf(part: Part): readonly string[] {
  if (part.refused !== undefined || part.broken) return [];
  return [...new Set([...part.tags, keySurrogate(part.key)])];
}

/**
 * The headers that let a CDN purge a response by its keys: `Surrogate-Key` (Fastly, Varnish's xkey) is
 * space-separated, `Cache-Tag` (Cloudflare) comma-separated. Neither a tag nor a key holds a space or a comma.
 */
export function surrogateHeaders(keys: readonly string[]): Record<string, string> {
  return keys.length === 0 ? {} : { "surrogate-key": keys.join(" "), "cache-tag": keys.join(",") };
}

const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));

/**
 * `Cache-Control` for a shared cache keeping a response made from an entry kept as `kept`, at `now` (this
 * process's clock, on which `kept` was placed from the store's): `s-maxage` is what is left of its
 * freshness, `stale-while-revalidate` what is left of its grace after that, `stale-if-error` what is left
 * after that of the longer of fail-safe and grace. Each end is rounded down to a whole second from now, so a
 * CDN never serves a copy past the moment this cache itself would stop. `no-store` when nothing is left.
 */
export function sharedCacheControl({ freshUntil, staleUntil, safeUntil }: Omit<Kept, "version">, now: number): string {
  const fresh = seconds(freshUntil - now);
  const stale = Math.max(0, seconds(staleUntil - now) - fresh);
  const safe = Math.max(stale, seconds(safeUntil - now) - fresh);
  if (fresh + safe === 0) return "no-store";
  return `public, s-maxage=${fresh}, stale-while-revalidate=${stale}, stale-if-error=${safe}`;
}
