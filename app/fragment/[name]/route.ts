import { fragmentHtml } from "@/app/_components/fragment-html";
import { fragmentNamed } from "@/app/page-fragments";
import { FRAGMENT_NAME_RULE, isFragmentName } from "@/lib/fragment-name";
import { lookUp, outcomeOf, type FragmentResult } from "@/lib/fragments";

const STATUS = { ready: 200, pending: 202, error: 502 } as const;

// Streaming needs the Node.js runtime; on Vercel a function may run this long (the fragment deadline plus
// the background refresh that after() keeps alive).
export const runtime = "nodejs";
export const maxDuration = 60;

const plain = (text: string, status: number) =>
  new Response(`${text}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });

/** A fragment's result as JSON: its data when ready. */
function fragmentJson(result: FragmentResult) {
  return result.status === "ready"
    ? { name: result.name, status: result.status, origin: result.origin, data: result.data }
    : { name: result.name, status: result.status };
}

/**
 * One fragment from the same cached lookup the page uses: an HTML snippet, or JSON when the client asks for
 * it (`Accept: application/json`). Only the page's own sources are served: any other name is refused
 * before the cache or the upstream is touched.
 */
export async function GET(request: Request, context: RouteContext<"/fragment/[name]">) {
  const { name } = await context.params;
  if (!isFragmentName(name)) return plain(`Bad fragment name: use ${FRAGMENT_NAME_RULE}`, 400);
  const fragment = fragmentNamed(name);
  if (!fragment) return plain(`No fragment named ${name}`, 404);
  const result = await lookUp(fragment).result;
  const wantsJson = /\bapplication\/json\b/.test(request.headers.get("accept") ?? "");
  const headers = {
    "cache-control": "no-store",
    vary: "accept",
    // Shown in the browser's network panel: where the value came from, and the lookup's time on the server.
    "server-timing": `cache;desc="${outcomeOf(result)}", lookup;desc="fragment lookup";dur=${result.ms}`,
  };
  if (wantsJson) return Response.json(fragmentJson(result), { status: STATUS[result.status], headers });
  return new Response(fragmentHtml(result), {
    status: STATUS[result.status],
    headers: { ...headers, "content-type": "text/html; charset=utf-8" },
  });
}
