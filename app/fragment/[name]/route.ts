import { fragmentHtml } from "@/app/_components/fragment-html";
import { fragmentNamed } from "@/app/page-fragments";
import { FRAGMENT_NAME_RULE, isFragmentName } from "@/lib/fragment-name";
import { sharedCacheControl, surrogateHeaders, surrogateKeysOf } from "@/lib/cdn-headers";
import { clientHolds, etagOf, type Representation } from "@/lib/etag";
import { lookUp, outcomeOf, partOf, type FragmentResult, type Part } from "@/lib/fragments";
import { inputOf } from "@/lib/params";

const STATUS = { ready: 200, "not-found": 404, pending: 202, error: 502, busy: 503, refused: 400 } as const;

// Streaming needs the Node.js runtime; on Vercel a function may run this long (the fragment deadline plus
// the background refresh that after() keeps alive).
export const runtime = "nodejs";
export const maxDuration = 60;

const plain = (text: string, status: number) =>
  new Response(`${text}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });

/** A fragment's result as JSON: its data when ready, the reason when refused. */
function fragmentJson(result: FragmentResult) {
  switch (result.status) {
    case "ready":
      return { name: result.name, status: result.status, origin: result.origin, data: result.data };
    case "not-found":
      return { name: result.name, status: result.status, origin: result.origin };
    case "busy":
      return {
        name: result.name,
        status: result.status,
        reason: result.reason,
        retryAfterSeconds: result.retryAfterSeconds,
      };
    case "refused":
      return { name: result.name, status: result.status, error: result.message };
    default:
      return { name: result.name, status: result.status };
  }
}

/**
 * What lets a CDN keep a ready or not-found answer and purge it: how long (from what is left of its entry's
 * lifetimes), its entity tag (a ready one's) and its surrogate keys. Every other answer, and one with nothing
 * left to keep, is `no-store`.
 */
function cachingHeaders(part: Part, result: FragmentResult, representation: Representation): Record<string, string> {
  if (result.status !== "ready" && result.status !== "not-found") return { "cache-control": "no-store" };
  const cacheControl = sharedCacheControl(result.kept, Date.now());
  return {
    "cache-control": cacheControl,
    // A 304 answers only what would have been a 200 (RFC 9110 §13.2.1), so only a value gets a tag.
    ...(result.status === "ready" && { etag: etagOf(result.kept.version, representation) }),
    ...(cacheControl !== "no-store" && surrogateHeaders(surrogateKeysOf(part))),
  };
}

/**
 * One fragment from the same cached lookup the page uses, with the parameters of the URL's query
 * (`/fragment/weather?city=porto`): an HTML snippet, or JSON when the client asks for it (`Accept:
 * application/json`). Only the page's own sources are served, with parameters their schema accepts: any other
 * name or value is refused before the cache or the upstream is touched. A value is answered with what a CDN
 * needs to keep it as long as the cache does, revalidate it (`ETag`, `304`) and purge it (surrogate keys).
 */
export async function GET(request: Request, context: RouteContext<"/fragment/[name]">) {
  const { name } = await context.params;
  if (!isFragmentName(name)) return plain(`Bad fragment name: use ${FRAGMENT_NAME_RULE}`, 400);
  const fragment = fragmentNamed(name);
  if (!fragment) return plain(`No fragment named ${name}`, 404);
  const part = partOf(fragment, inputOf(new URL(request.url).searchParams));
  const result = await lookUp(part).result;
  const wantsJson = /\bapplication\/json\b/.test(request.headers.get("accept") ?? "");
  if (result.status === "refused" && !wantsJson) return plain(`Bad parameters for ${name}: ${result.message}`, 400);
  const headers: Record<string, string> = {
    ...cachingHeaders(part, result, wantsJson ? "json" : "html"),
    vary: "accept",
    // Shown in the browser's network panel: where the value came from, and the lookup's time on the server.
    "server-timing": `cache;desc="${outcomeOf(result)}", lookup;desc="fragment lookup";dur=${result.ms}`,
  };
  if (result.status === "busy") headers["retry-after"] = String(result.retryAfterSeconds);
  if (headers.etag && clientHolds(request.headers.get("if-none-match"), headers.etag))
    return new Response(null, { status: 304, headers });
  if (wantsJson) return Response.json(fragmentJson(result), { status: STATUS[result.status], headers });
  return new Response(fragmentHtml(result), {
    status: STATUS[result.status],
    headers: { ...headers, "content-type": "text/html; charset=utf-8" },
  });
}
