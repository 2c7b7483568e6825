import { fragmentNamed, mayCarryTag } from "@/app/page-fragments";
import { checkAdmin, forwardPurge, purge } from "@/lib/admin";
import type { PurgeTarget } from "@/lib/cache";
import { isFragmentName, isTag } from "@/lib/fragment-name";
import { everyKeyOf, partOf } from "@/lib/fragments";
import { describeError, logEvent } from "@/lib/log";
import { PURGE_BODY_MAX_BYTES } from "@/lib/request-bodies";

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  Response.json(body, { status, headers: { "cache-control": "no-store", ...headers } });

/** The body as text, or undefined once it passes `limit` bytes (reading stops there). */
async function readBounded(request: Request, limit: number): Promise<string | undefined> {
  if (Number(request.headers.get("content-length") ?? 0) > limit) return undefined;
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * What a purge request names: one fragment (with parameters, one of its keys; without, every key it has),
 * the keys carrying a tag, or all of them.
 */
type PurgeRequest = { fragment: string; params?: Record<string, unknown> } | { tag: string } | { all: true };

/** A purge the request cannot get: its answer's status and message. */
type Refusal = { status: 400 | 404; error: string };

/** The cache's target for a request, or why there is none. */
function purgeTarget(request: PurgeRequest): PurgeTarget | Refusal {
  if ("all" in request) return request;
  if ("tag" in request) {
    return mayCarryTag(request.tag)
      ? request
      : { status: 404, error: `No source has the tag ${JSON.stringify(request.tag)}` };
  }
  const fragment = fragmentNamed(request.fragment);
  if (!fragment) return { status: 404, error: `No source has the name ${JSON.stringify(request.fragment)}` };
  if (!fragment.params) {
    return request.params === undefined
      ? { key: fragment.key }
      : { status: 400, error: `${fragment.name} takes no parameters` };
  }
  if (request.params === undefined) return { tag: everyKeyOf(fragment) };
  const part = partOf(fragment, request.params);
  if (part.refused) return { status: 400, error: `Bad parameters for ${fragment.name}: ${part.refused.message}` };
  // A source that fails on these parameters (logged) has never stored a value for them.
  return part.broken ? { status: 400, error: `${fragment.name} cannot key these parameters` } : { key: part.key };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `{ "fragment": "<name>" }`, `{ "fragment": "<name>", "params": { … } }`, `{ "tag": "<tag>" }` or
 * `{ "all": true }`, the first three with `"soft": true` if asked; anything else is undefined.
 */
async function readRequest(request: Request): Promise<{ asked: PurgeRequest; soft: boolean } | undefined> {
  const text = await readBounded(request, PURGE_BODY_MAX_BYTES);
  if (text === undefined) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(body)) return undefined;
  const { soft, ...rest } = body;
  if (soft !== undefined && typeof soft !== "boolean") return undefined;
  const asked = targetOf(rest);
  return asked && !(soft && "all" in asked) ? { asked, soft: soft === true } : undefined;
}

/** The purge a body's fields (besides `soft`) name, if they name one. */
function targetOf(body: Record<string, unknown>): PurgeRequest | undefined {
  const fields = Object.keys(body).sort().join(",");
  if (fields === "all" && body.all === true) return { all: true };
  if (fields === "tag" && isTag(body.tag)) return { tag: body.tag };
  if (fields === "fragment" && isFragmentName(body.fragment)) return { fragment: body.fragment };
  if (fields === "fragment,params" && isFragmentName(body.fragment) && isObject(body.params))
    return { fragment: body.fragment, params: body.params };
  return undefined;
}

/** How a purge is named in its answer and in the log (parameters as JSON, which the log escapes). */
function describe(request: PurgeRequest): string {
  if ("all" in request) return "all";
  if ("tag" in request) return `tag:${request.tag}`;
  return request.params ? `${request.fragment} ${JSON.stringify(request.params)}` : request.fragment;
}

/** Drops cached fragments on demand, so the next view fetches them fresh. Enabled by CACHE_ADMIN_TOKEN. */
export async function POST(request: Request) {
  const auth = checkAdmin(request.headers.get("authorization"));
  if (auth === "disabled") return json({ error: "Not found" }, 404);
  if (auth === "missing")
    return json({ error: "A bearer token is required" }, 401, { "www-authenticate": 'Bearer realm="cache"' });
  if (auth === "wrong") return json({ error: "Wrong token" }, 403);

  const read = await readRequest(request);
  if (!read) {
    const shapes = '{"fragment": "<name>"}, {"fragment": "<name>", "params": {…}}, {"tag": "<tag>"} or {"all": true}';
    return json({ error: `Send ${shapes}; the first three may add "soft": true` }, 400);
  }
  const { asked, soft } = read;
  const target = purgeTarget(asked);
  const name = describe(asked);
  if ("status" in target) return json({ error: target.error }, target.status);
  const started = performance.now();
  let deleted: number;
  try {
    deleted = await purge(target, { soft });
  } catch (error) {
    logEvent("error", "cache_purge", { key: name, outcome: "error", error: describeError(error) });
    return json({ error: "Redis did not answer: the purge may be incomplete, try again" }, 503);
  }
  const ms = Math.round(performance.now() - started);
  const done = soft ? { purged: name, soft: true, softened: deleted } : { purged: name, deleted };
  logEvent("info", "cache_purge", { key: name, outcome: "ok", [soft ? "softened" : "deleted"]: deleted, ms });
  try {
    return json((await forwardPurge(target)) ? { ...done, cdn: "purged" } : done, 200);
  } catch (error) {
    logEvent("error", "cdn_purge", { key: name, outcome: "error", error: describeError(error) });
    return json({ ...done, error: "The CDN did not take the purge: it may still serve copies, try again" }, 502);
  }
}
