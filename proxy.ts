import { NextResponse, type NextRequest } from "next/server";
import { isCaptureRequest, keepRendering, keptResponse, lookUpPage, RENDERED_TO_KEEP } from "./app/page-cache";
import { FRAGMENT_NAME_RULE, isFragmentName } from "@/lib/fragment-name";
import { inlineStyleSources } from "@/lib/inline-style-hashes";
import { pageSecrets } from "@/lib/page-cache/nonce";
import { isForeignOrigin, isPlainActionCall } from "@/lib/server-action-call";
import type { AppRouteHandlerRoutes } from "./.next/types/routes";

function plainAnswer(status: number, message: string, headers: Record<string, string> = {}) {
  return new NextResponse(`${message}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

const badRequest = (message: string) => plainAnswer(400, message);

/** Every route handler, which answers 405 itself; Next generates the union, so an unlisted one fails the type check. */
const ROUTE_HANDLERS: Record<AppRouteHandlerRoutes, true> = {
  "/api/cache/purge": true,
  "/api/health": true,
  "/api/health/live": true,
  "/api/health/ready": true,
  "/api/metrics": true,
  "/fragment/[name]": true,
};
const ROUTE_HANDLER_PATH = new RegExp(
  `^(?:${Object.keys(ROUTE_HANDLERS)
    .map((route) => route.replace(/\[[^\]]+\]/g, "[^/]+"))
    .join("|")})$`,
);

/**
 * Pages are read with GET or HEAD; the only POST they take is the retry control's server action, which
 * sends its argument as text. Anything else would render the page (and reach the upstream) for nothing,
 * or fail deep inside Next on a body it cannot parse.
 */
function refusePageMethod(request: NextRequest): NextResponse | undefined {
  const { method, headers } = request;
  if (method === "GET" || method === "HEAD") return undefined;
  if (method === "POST" && headers.has("next-action")) {
    const type = headers.get("content-type") ?? "";
    return type.startsWith("text/plain") ? undefined : badRequest("Unsupported server action body");
  }
  return plainAnswer(405, "Method not allowed", { allow: "GET, HEAD" });
}

/**
 * The retry control's call, and nothing else, reaches Next's server-action handling: from a page of this site,
 * with one plain argument. Next would answer any other call with a 500 and log its stack.
 */
async function refuseActionCall(request: NextRequest): Promise<NextResponse | undefined> {
  if (request.method !== "POST" || !request.headers.has("next-action")) return undefined;
  if (isForeignOrigin(request.headers)) return plainAnswer(403, "Cross-origin server action call refused");
  return isPlainActionCall(await request.text()) ? undefined : badRequest("Unsupported server action arguments");
}

/**
 * Production allows only this response's nonce for inline scripts, and for inline styles that nonce and the
 * hashes of the build's own stylesheets, which are inlined into the page without a nonce. `next dev` needs
 * more: React's development build evaluates code, and Next's development overlay adds `<style>` elements
 * without a nonce (and a nonce in `style-src` would make the browser ignore `'unsafe-inline'`); so does a
 * server whose build's stylesheets are not on its disk.
 */
function contentSecurityPolicy(nonce: string): string {
  const development = process.env.NODE_ENV === "development";
  const styleHashes = development ? [] : inlineStyleSources();
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ""}`,
    styleHashes.length === 0
      ? "style-src 'self' 'unsafe-inline'"
      : `style-src 'self' 'nonce-${nonce}' ${styleHashes.join(" ")}`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The policy of `/fragment/<name>`, whose answers a CDN may keep and serve to many readers: the same for every
 * response, as a nonce must never be served twice. A snippet runs no script and loads nothing itself.
 */
const FRAGMENT_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Hands the request on to Next. `/_global-error` is the one page Next prerenders whatever its configuration:
 * its 500 page, built once, with scripts that carry no nonce and that this policy blocks. Asked for directly,
 * it is an address with no page, and gets the not-found page, rendered for this response.
 */
function passOn(request: NextRequest, headers: Headers): NextResponse {
  const init = { request: { headers } };
  if (request.nextUrl.pathname !== "/_global-error") return NextResponse.next(init);
  return NextResponse.rewrite(new URL("/_not-found", request.url), init);
}

/**
 * Runs before routing: rejects malformed paths with 400 (Next would answer 500 for a bad percent-encoding),
 * methods a page does not take with 405 and server action calls the retry control would not make with 403 or
 * 400, and gives every page a fresh CSP nonce, which Next puts on each inline script that streaming emits
 * (and `/fragment/<name>`, which a CDN may keep, one fixed policy). A page whose every part is fresh here is
 * answered from the page cache, with that nonce, when it was kept.
 * Paths arrive with dot segments already resolved.
 */
export async function proxy(request: NextRequest) {
  const { pathname } = request.nextUrl;
  try {
    decodeURIComponent(pathname);
  } catch {
    return badRequest("Malformed URL");
  }
  // Names never need percent-encoding, so the path must already be a valid name.
  if (pathname.startsWith("/fragment/") && !isFragmentName(pathname.slice("/fragment/".length))) {
    return badRequest(`Bad fragment name: use ${FRAGMENT_NAME_RULE}`);
  }
  // Route handlers answer 405 to the methods they do not define; pages (and the not-found page) need it said here.
  const isRoute = ROUTE_HANDLER_PATH.test(pathname);
  const refused = isRoute ? undefined : (refusePageMethod(request) ?? (await refuseActionCall(request)));
  if (refused) return refused;

  if (pathname.startsWith("/fragment/")) {
    const response = NextResponse.next();
    response.headers.set("content-security-policy", FRAGMENT_POLICY);
    return response;
  }
  // The process's own request for a page to keep is rendered with the placeholder, which each response of
  // the kept page replaces with its own nonce; that response never leaves the process.
  const capture = isCaptureRequest(request);
  const nonce = capture ? pageSecrets().placeholder : Buffer.from(crypto.randomUUID()).toString("base64");
  const policy = contentSecurityPolicy(nonce);
  const lookup = capture ? undefined : lookUpPage(request);
  const kept = lookup && keptResponse(lookup, nonce);
  let response: NextResponse;
  if (kept) {
    response = new NextResponse(kept.body, { status: 200, headers: kept.headers });
  } else {
    const requestHeaders = new Headers(request.headers);
    requestHeaders.set("content-security-policy", policy);
    requestHeaders.delete(RENDERED_TO_KEEP);
    if (capture) requestHeaders.set(RENDERED_TO_KEEP, "1");
    response = passOn(request, requestHeaders);
    if (lookup) keepRendering(request, lookup);
  }
  response.headers.set("content-security-policy", policy);
  // Streamed responses must pass proxies unbuffered, or every fragment arrives at the end.
  response.headers.set("x-accel-buffering", "no");
  return response;
}

export const config = {
  // Every path but the build's assets and the files that exist in public/ and app/, matched exactly: a path that
  // only starts like one (`/favicon.icox`, `/_next/staticx`) is a page's address, and needs the policy and the checks.
  // A file added to public/ is served unlisted too; listing it only spares it the proxy.
  matcher: [{ source: "/((?!_next/static/|icon\\.svg$|spinner\\.svg$|noscript\\.css$).*)" }],
};
