import "server-only";
import type { PurgeTarget } from "./cache";
import { keySurrogate } from "./cdn-headers";
import type { CdnPurgeConfig } from "./config";

/** The CDN did not take a purge: it may go on serving copies of what the cache dropped. */
export class CdnPurgeError extends Error {
  override name = "CdnPurgeError";
}

/** A CDN that does not answer within this long is not waited for: the purge can be sent again. */
const CDN_PURGE_TIMEOUT_MS = 5000;

/**
 * The surrogate keys a CDN drops for a purge of the cache: the tag, or the key's own surrogate key (which a
 * response of that key carries); undefined for everything.
 */
export function surrogateKeysPurged(target: PurgeTarget): readonly string[] | undefined {
  if ("all" in target) return undefined;
  return ["tag" in target ? target.tag : keySurrogate(target.key)];
}

/**
 * Asks the CDN at `url` to drop what `target` names: `POST` with the keys in a `Surrogate-Key` header and as
 * JSON, `{"tags":[…]}` (or `{"purge_everything":true}`, and no header, for all), the body Cloudflare's purge
 * API takes as it is, and `token` as a bearer token. A soft purge is forwarded as a hard one: the CDN then
 * asks the app, which serves the stale value at once and refreshes it. Rejects with a `CdnPurgeError` unless
 * the CDN answers 2xx within 5 s.
 */
export async function purgeCdn(target: PurgeTarget, { url, token }: CdnPurgeConfig): Promise<void> {
  const keys = surrogateKeysPurged(target);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (keys) headers["surrogate-key"] = keys.join(" ");
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify(keys ? { tags: keys } : { purge_everything: true }),
      redirect: "error",
      signal: AbortSignal.timeout(CDN_PURGE_TIMEOUT_MS),
    });
  } catch (error) {
    throw new CdnPurgeError(`the CDN at ${new URL(url).host} did not answer the purge`, { cause: error });
  }
  // Nothing in the body is used: let the connection go.
  await response.body?.cancel();
  if (!response.ok) throw new CdnPurgeError(`the CDN at ${new URL(url).host} answered the purge ${response.status}`);
}
