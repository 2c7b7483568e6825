import { NextResponse, type NextRequest } from "next/server";
import { isFragmentName } from "@/lib/fragment-name";

function badRequest(message: string) {
  return new NextResponse(`${message}\n`, {
    status: 400,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}

function contentSecurityPolicy(nonce: string): string {
  const scripts = process.env.NODE_ENV === "development" ? " 'unsafe-eval'" : "";
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${scripts}`,
    `style-src 'self' 'nonce-${nonce}'`,
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
 * Runs before routing: rejects malformed paths with 400 (Next would answer 500 for a bad percent-encoding),
 * and gives every page a fresh CSP nonce, which Next puts on each inline script that streaming emits.
 */
export function proxy(request: NextRequest) {
  const { pathname } = request.nextUrl;
  try {
    decodeURIComponent(pathname);
  } catch {
    return badRequest("Malformed URL");
  }
  // Names never need percent-encoding, so the raw path must already be a valid name.
  if (pathname.startsWith("/fragment/") && !isFragmentName(pathname.slice("/fragment/".length))) {
    return badRequest("Bad fragment name: use 1-64 characters of A-Z a-z 0-9 _ -");
  }

  const nonce = Buffer.from(crypto.randomUUID()).toString("base64");
  const policy = contentSecurityPolicy(nonce);
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", policy);
  // Streamed responses must pass proxies unbuffered, or every fragment arrives at the end.
  response.headers.set("x-accel-buffering", "no");
  return response;
}

export const config = {
  matcher: [{ source: "/((?!_next/static|_next/image|favicon.ico|icon.svg|spinner.svg).*)" }],
};
