/**
 * The one server action call the app takes, the retry control's, checked before Next handles it: Next
 * answers a call it refuses or cannot decode with a 500 and logs an error with its stack.
 */

/**
 * Whether a browser says the call comes from another site: its Origin does not name the host the request
 * was sent to (the first `X-Forwarded-Host`, which a proxy in front sets, else `Host`). This is Next's own
 * CSRF check, compared the same way. A call without Origin is let through, as Next does: browsers always
 * send one with a POST, so it is no visitor's browser acting for another site.
 */
export function isForeignOrigin(headers: Headers): boolean {
  const origin = headers.get("origin");
  if (origin === null) return false;
  const host = headers.get("x-forwarded-host")?.split(",")[0]?.trim() || headers.get("host");
  // "null" (a sandboxed or privacy-sensitive context) and anything else that is no URL are foreign too.
  return !URL.canParse(origin) || new URL(origin).host !== host;
}

/** A string React's decoder reads as text: one starting with `$` is a reference to another part of the call. */
const isText = (value: unknown): value is string => typeof value === "string" && !value.startsWith("$");

/** The retry control's parameters: names to text, or to a list of texts. Nothing deeper. */
function isFlatInput(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((item) => isText(item) || (Array.isArray(item) && item.every(isText)));
}

/**
 * Whether a body is what the retry control sends: React's encoding of a plain first argument (a string,
 * number, boolean or null) and, optionally, the part's parameters (an object of texts or lists of texts).
 * React's decoder reads nested arrays and objects recursively (a deep one overflows the stack) and a string
 * starting with `$` as a reference to another part of the call; a body that is not JSON fails inside Next.
 */
export function isPlainActionCall(body: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  if (!Array.isArray(parsed) || parsed.length < 1 || parsed.length > 2) return false;
  const [argument, input] = parsed as unknown[];
  if (parsed.length === 2 && !isFlatInput(input)) return false;
  if (typeof argument === "string") return isText(argument);
  return argument === null || typeof argument === "number" || typeof argument === "boolean";
}
