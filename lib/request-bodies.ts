import "server-only";
import type { IncomingHttpHeaders } from "node:http";

/** The purge route's JSON body, `{"fragment": "<name>"}` and the like. */
export const PURGE_BODY_MAX_BYTES = 1024;

/** The retry control's server action: its argument, one fragment name, sent as text (`["<name>"]`). */
export const ACTION_BODY_MAX_BYTES = 1024;

/** A request answered on its headers alone, before any of its body is read. */
export type BodyRefusal = { status: 411 | 413; message: string };

/** The largest body a request may carry: the purge route's and the server action's; no other request takes one. */
export function bodyAllowance(method: string | undefined, pathname: string, headers: IncomingHttpHeaders): number {
  if (method !== "POST") return 0;
  if (pathname === "/api/cache/purge") return PURGE_BODY_MAX_BYTES;
  return headers["next-action"] === undefined ? 0 : ACTION_BODY_MAX_BYTES;
}

/** Whether the headers announce a body: a length past zero, or a transfer coding (chunked). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? 0) > 0;
}

function pathnameOf(url: string): string {
  // Never throws: this runs in the server's request listener, where a throw would end the process.
  try {
    return new URL(url, "http://app").pathname;
  } catch {
    return url;
  }
}

/**
 * Refuses a request whose body the app would not take, judged on its headers: a body where none is taken,
 * a Content-Length past the allowance (413), or a body of unknown length (411: every client the app serves
 * sends a Content-Length). Undefined for every request without a body, at the cost of two header lookups.
 */
export function refuseBody(
  method: string | undefined,
  url: string,
  headers: IncomingHttpHeaders,
): BodyRefusal | undefined {
  if (!hasBody(headers)) return undefined;
  const allowance = bodyAllowance(method, pathnameOf(url), headers);
  if (allowance === 0) return { status: 413, message: "This address takes no request body" };
  const length = headers["content-length"];
  if (length === undefined) return { status: 411, message: "Send the body with a Content-Length" };
  if (Number(length) > allowance) return { status: 413, message: `The body may be ${allowance} bytes at most` };
  return undefined;
}
