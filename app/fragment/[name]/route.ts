import { fragmentHtml } from "@/app/_components/fragment-html";
import { fragmentNamed } from "@/app/page-fragments";
import { FRAGMENT_NAME_RULE, isFragmentName } from "@/lib/fragment-name";
import { lookUp, outcomeOf, partOf, type FragmentResult } from "@/lib/fragments";
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
 * One fragment from the same cached lookup the page uses, with the parameters of the URL's query
 * (`/fragment/weather?city=porto`): an HTML snippet, or JSON when the client asks for it (`Accept:
 * application/json`). Only the page's own sources are served, with parameters their schema accepts: any other
 * name or value is refused before the cache or the upstream is touched.
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
    "cache-control": "no-store",
    vary: "accept",
    // Shown in the browser's network panel: where the value came from, and the lookup's time on the server.
    "server-timing": `cache;desc="${outcomeOf(result)}", lookup;desc="fragment lookup";dur=${result.ms}`,
  };
  if (result.status === "busy") headers["retry-after"] = String(result.retryAfterSeconds);
  if (wantsJson) return Response.json(fragmentJson(result), { status: STATUS[result.status], headers });
  return new Response(fragmentHtml(result), {
    status: STATUS[result.status],
    headers: { ...headers, "content-type": "text/html; charset=utf-8" },
  });
}
