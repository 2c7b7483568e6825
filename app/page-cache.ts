import "server-only";
import type { NextRequest } from "next/server";
import { pageParts } from "./page-fragments";
import { getConfig } from "@/lib/config";
import { logEvent, describeError } from "@/lib/log";
import { capturePage, CAPTURE_HEADER } from "@/lib/page-cache/capture";
import { isCaptureToken, pageSecrets, withNonce } from "@/lib/page-cache/nonce";
import { PAGE_CACHE_SLOT, PageCache } from "@/lib/page-cache/page-cache";
import { readerKind } from "@/lib/page-cache/reader";
import { processGlobal } from "@/lib/process-global";
import { existingRuntime } from "@/lib/runtime";
import type { Part } from "@/lib/fragments";

/** Set by the proxy on the process's own request for a rendering to keep: the page then says it is served from the page cache. */
export const RENDERED_TO_KEEP = "x-workerless-rendered-to-keep";

/** The pages kept: `/`, the one page whose parts come from the cache. */
const ROUTES = new Set(["/"]);

/** Requests for something else than a page's HTML: Next's client navigations and prefetches (RSC payloads). */
const RSC_HEADERS = [
  "rsc",
  "next-router-state-tree",
  "next-router-prefetch",
  "next-router-segment-prefetch",
  "next-action",
];

/** A request the page cache may answer or keep: its key, and its parts' current versions. */
export type PageLookup = { key: string; parts: readonly Part[]; versions: readonly string[] };

function pageCache(): PageCache | undefined {
  const settings = getConfig().pageCache;
  return settings && processGlobal(PAGE_CACHE_SLOT, () => new PageCache(settings));
}

/** Each part's fresh local version, or undefined if any part is not fresh here (or not looked up at all). */
function versionsOf(parts: readonly Part[]): string[] | undefined {
  const cache = existingRuntime()?.cache;
  if (!cache) return undefined;
  const versions: string[] = [];
  for (const part of parts) {
    // A refused or broken part has no entry: its notice is rendered anew each time.
    const version = part.params === undefined ? undefined : cache.freshLocalVersion(part.key, part.policy);
    if (version === undefined) return undefined;
    versions.push(version);
  }
  return versions;
}

/** Whether the request is the process's own, for a rendering to keep (the token is this process's secret). */
export function isCaptureRequest(request: NextRequest): boolean {
  return isCaptureToken(request.headers.get(CAPTURE_HEADER));
}

/**
 * The page-cache lookup of a page view, or undefined when the page must be rendered as usual: the cache is
 * off (or in `next dev`), this is not a GET of a kept route's HTML, or some part is not fresh in this process.
 */
export function lookUpPage(request: NextRequest): PageLookup | undefined {
  if (!pageCache() || process.env.NODE_ENV === "development" || request.method !== "GET") return undefined;
  const { pathname, search, searchParams } = request.nextUrl;
  if (!ROUTES.has(pathname) || RSC_HEADERS.some((name) => request.headers.has(name))) return undefined;
  const parts = pageParts(searchParams);
  const versions = versionsOf(parts);
  if (!versions) return undefined;
  // The whole query, as the page's controls echo it back in their links.
  return { key: `${pathname}${search} ${readerKind(request.headers.get("user-agent"))}`, parts, versions };
}

/** The kept page for `lookup`, with `nonce` in place of the placeholder: its headers and body (status 200). */
export function keptResponse(
  lookup: PageLookup,
  nonce: string,
): { body: Uint8Array<ArrayBuffer>; headers: Headers } | undefined {
  const kept = pageCache()?.find(lookup.key, lookup.versions);
  if (!kept) return undefined;
  return { body: withNonce(kept.page, nonce), headers: new Headers(kept.headers as Array<[string, string]>) };
}

/**
 * On a page's second miss, renders it through this server to keep it, in the background. Kept only if no part
 * changed version meanwhile: a value refreshed or purged during the rendering may be in it, or not.
 */
export function keepRendering(request: NextRequest, lookup: PageLookup): void {
  const cache = pageCache();
  if (!cache?.shouldCapture(lookup.key)) return;
  // The server's own address (Next builds the proxy's URL from it), in plain HTTP whatever the client used.
  const url = new URL(request.nextUrl.pathname + request.nextUrl.search, request.url);
  url.protocol = "http:";
  const { fragmentDeadlineMs } = getConfig();
  void capturePage(url, request.headers.get("user-agent"), pageSecrets(), fragmentDeadlineMs)
    .then(({ page, headers }) => {
      const now = versionsOf(lookup.parts);
      if (now && now.every((version, index) => version === lookup.versions[index]))
        cache.keep(lookup.key, { versions: lookup.versions, page, headers });
    })
    .catch((error: unknown) => logEvent("warn", "page_capture", { key: lookup.key, error: describeError(error) }))
    .finally(() => cache.captured(lookup.key));
}
