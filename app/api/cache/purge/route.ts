import { fragmentNamed, isKnownTag } from "@/app/page-fragments";
import { checkAdmin, purge } from "@/lib/admin";
import type { PurgeTarget } from "@/lib/cache";
import { isFragmentName } from "@/lib/fragment-name";
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

/** What a purge request names: one fragment, the fragments carrying a tag, or all of them. */
type PurgeRequest = { fragment: string } | { tag: string } | { all: true };

/** The cache's target for a request, or undefined when it names a fragment or tag the page does not have. */
function purgeTarget(request: PurgeRequest): PurgeTarget | undefined {
  if ("all" in request) return request;
  if ("tag" in request) return isKnownTag(request.tag) ? request : undefined;
  const fragment = fragmentNamed(request.fragment);
  return fragment && { key: fragment.key };
}

/** `{ "fragment": "<name>" }`, `{ "tag": "<tag>" }` or `{ "all": true }`; anything else is undefined. */
async function readRequest(request: Request): Promise<PurgeRequest | undefined> {
  const text = await readBounded(request, PURGE_BODY_MAX_BYTES);
  if (text === undefined) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const fields = Object.entries(body as Record<string, unknown>);
  if (fields.length !== 1) return undefined;
  const [[field, value]] = fields as [[string, unknown]];
  if (field === "all" && value === true) return { all: true };
  if (field === "fragment" && isFragmentName(value)) return { fragment: value };
  if (field === "tag" && isFragmentName(value)) return { tag: value };
  return undefined;
}

/** How a purge is named in its answer and in the log. */
function describe(request: PurgeRequest): string {
  if ("all" in request) return "all";
  return "tag" in request ? `tag:${request.tag}` : request.fragment;
}

/** Drops cached fragments on demand, so the next view fetches them fresh. Enabled by CACHE_ADMIN_TOKEN. */
export async function POST(request: Request) {
  const auth = checkAdmin(request.headers.get("authorization"));
  if (auth === "disabled") return json({ error: "Not found" }, 404);
  if (auth === "missing")
    return json({ error: "A bearer token is required" }, 401, { "www-authenticate": 'Bearer realm="cache"' });
  if (auth === "wrong") return json({ error: "Wrong token" }, 403);

  const asked = await readRequest(request);
  if (!asked) return json({ error: 'Send {"fragment": "<name>"}, {"tag": "<tag>"} or {"all": true}' }, 400);
  const target = purgeTarget(asked);
  const name = describe(asked);
  if (!target) {
    const unknown = "tag" in asked ? `the tag ${JSON.stringify(asked.tag)}` : `the name ${JSON.stringify(name)}`;
    return json({ error: `No source has ${unknown}` }, 404);
  }
  const started = performance.now();
  try {
    const deleted = await purge(target);
    logEvent("info", "cache_purge", { key: name, outcome: "ok", deleted, ms: Math.round(performance.now() - started) });
    return json({ purged: name, deleted }, 200);
  } catch (error) {
    logEvent("error", "cache_purge", { key: name, outcome: "error", error: describeError(error) });
    return json({ error: "Redis did not answer: the purge may be incomplete, try again" }, 503);
  }
}
