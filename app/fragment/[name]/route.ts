import { fragmentHtml } from "@/app/_components/fragment-html";
import { outcomeOf } from "@/app/_components/fragment-view";
import { isFragmentName } from "@/lib/fragment-name";
import { findFragment } from "@/lib/slow-find";

const STATUS = { ready: 200, pending: 202, error: 502 } as const;

// Streaming needs the Node.js runtime; on Vercel a function may run this long (the fragment deadline plus
// the background refresh that after() keeps alive).
export const runtime = "nodejs";
export const maxDuration = 60;

/** The seed's endpoint: one fragment's HTML, from the same cached lookup the page uses. */
export async function GET(_request: Request, context: RouteContext<"/fragment/[name]">) {
  const { name } = await context.params;
  if (!isFragmentName(name)) {
    return new Response("Bad fragment name: use 1-64 characters of A-Z a-z 0-9 _ -\n", {
      status: 400,
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  }
  const result = await findFragment(name);
  return new Response(fragmentHtml(result), {
    status: STATUS[result.status],
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      // Shown in the browser's network panel: where the value came from, and the lookup's time on the server.
      "server-timing": `cache;desc="${outcomeOf(result)}", lookup;desc="fragment lookup";dur=${result.ms}`,
    },
  });
}
