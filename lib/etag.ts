/** The representations `/fragment/<name>` answers in; each has its own entity tag. */
export type Representation = "html" | "json";

/**
 * The entity tag of a response made from the cache entry `version` as `representation`. Weak: two responses
 * of one version carry the same data but may differ in bytes (each says where its value came from, `hit` or
 * `miss`), and a strong tag promises identical bytes. The representation is in the tag so a cache never
 * answers a request for HTML with a stored JSON copy, or the reverse, on a matching tag.
 */
export function etagOf(version: string, representation: Representation): string {
  return `W/"${version}.${representation}"`;
}

/** An entity tag's opaque part, quotes included: what the weak comparison compares. */
const opaque = (tag: string) => tag.replace(/^W\//, "");

/**
 * Whether the client already holds `etag`: its `If-None-Match` (`*`, or a comma-separated list of entity tags,
 * weak or strong) names it by the weak comparison GET uses (RFC 9110 §13.1.2), so it may be answered 304. A
 * malformed member names nothing.
 */
export function clientHolds(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const wanted = opaque(etag);
  return [...ifNoneMatch.matchAll(/(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"/g)].some(([tag]) => opaque(tag) === wanted);
}
