import "server-only";
import { splitAtPlaceholder, type NoncedPage } from "./nonce";

/** The request header that asks the proxy for a rendering to keep; its value is the process's capture token. */
export const CAPTURE_HEADER = "x-workerless-page-capture";

/** The page's own rendering could not be kept: not a complete 200 HTML page rendered with the placeholder. */
export class CaptureError extends Error {
  override name = "CaptureError";
}

/** Headers a kept page is not served with: each response has its own policy, length, date and connection. */
const NOT_KEPT = new Set([
  "content-security-policy",
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "date",
  "set-cookie",
]);

export type Capture = { page: NoncedPage; headers: Array<[string, string]> };

/**
 * Renders the page at `url` through this very server, as the reader `userAgent` would get it, with the
 * placeholder for a nonce, and reads it whole. Only a page whose every part is fresh here is asked for, so its
 * rendering ends within moments; `timeoutMs` bounds it anyway.
 */
export async function capturePage(
  url: URL,
  userAgent: string | null,
  { placeholder, captureToken }: { placeholder: string; captureToken: string },
  timeoutMs: number,
): Promise<Capture> {
  const response = await fetch(url, {
    headers: {
      [CAPTURE_HEADER]: captureToken,
      accept: "text/html",
      "accept-encoding": "identity",
      ...(userAgent === null ? {} : { "user-agent": userAgent }),
    },
    redirect: "manual",
    signal: AbortSignal.timeout(timeoutMs),
  });
  const html = await response.text();
  const type = response.headers.get("content-type") ?? "";
  if (response.status !== 200 || !type.startsWith("text/html"))
    throw new CaptureError(`the page answered ${response.status} ${type}`);
  // Next puts the request's nonce on every script it writes: a page without it was not rendered for us.
  if (!html.includes(placeholder)) throw new CaptureError("the page carries no placeholder nonce");
  const headers = [...response.headers].filter(([name]) => !NOT_KEPT.has(name));
  return { page: splitAtPlaceholder(html, placeholder), headers };
}
