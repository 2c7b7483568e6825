import "server-only";
import { getConfig, PLACEHOLDER, type HttpLimits, type UpstreamConfig } from "./config";
import { conditionalHeaders, reportHttpAnswer } from "./upstream-advice";

/** The slow external API answered with a failure, or could not be reached. */
export class UpstreamError extends Error {
  override name = "UpstreamError";
}

/** The API's answer was larger than the configured cap; it was abandoned as soon as it passed it. */
export class UpstreamTooLargeError extends UpstreamError {
  override name = "UpstreamTooLargeError";
}

/**
 * The API answered 429 or 503 with `Retry-After`: it asks every caller to wait `retryAfterMs`. The cache holds
 * the whole source off the upstream, fleet-wide, for that long (capped).
 */
export class UpstreamThrottledError extends UpstreamError {
  override name = "UpstreamThrottledError";
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/**
 * The API answered 304 Not Modified to a conditional request: the value the cache holds is still good. The
 * cache renews it, with no body read, parsed or checked.
 */
export class UpstreamNotModifiedError extends UpstreamError {
  override name = "UpstreamNotModifiedError";
}

/** The API answered 404: there is nothing for this call, an answer the cache keeps for a short while. */
export class UpstreamNotFoundError extends UpstreamError {
  override name = "UpstreamNotFoundError";
}

/**
 * `Retry-After` in ms from `now`: whole seconds, or an HTTP date; undefined when absent or unreadable. A date
 * in the past is 0.
 */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month; Date.parse alone would read "-5" as a year.
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The API answered with a redirect and following redirects is not enabled. */
export class UpstreamRedirectError extends UpstreamError {
  override name = "UpstreamRedirectError";
}

/** Looks one query up in the slow external API, with the template's other parameters, and resolves with its text. */
export type Upstream = (
  query: string,
  params: Readonly<Record<string, string>>,
  signal?: AbortSignal,
) => Promise<string>;

function abortable(signal: AbortSignal | undefined, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Waits a random time between `minMs` and `maxMs` (a simulated API's latency); rejects when `signal` aborts. */
export function simulatedLatency(minMs: number, maxMs: number, signal?: AbortSignal): Promise<void> {
  return abortable(signal, minMs + Math.floor(Math.random() * (Math.max(minMs, maxMs) - minMs + 1)));
}

/** A slow external API to try the app with: a random delay of 0 to `maxMs`, then `result for <query>`. */
export function simulatedUpstream(maxMs: number): Upstream {
  return async (query, _params, signal) => {
    await simulatedLatency(0, maxMs, signal);
    return `result for ${query}`;
  };
}

/** How one HTTP call is bounded. */
export type FetchOptions = {
  signal?: AbortSignal;
  /**
   * Largest answer accepted, in bytes of the (decompressed) body. A larger one is abandoned as soon as it
   * passes the cap, so memory stays bounded, and fails with `UpstreamTooLargeError`.
   */
  maxBytes: number;
  /**
   * Whether a redirect is followed (up to fetch's 20 hops); when false, a 3xx answer fails with
   * `UpstreamRedirectError` so an API that moves is noticed instead of silently trusted.
   * @default false
   */
  followRedirects?: boolean;
  /** What errors name the call by. @default the URL */
  label?: string;
};

/** Options of `httpUpstream`. */
export type HttpUpstreamOptions = Omit<FetchOptions, "signal" | "label"> & {
  /** URL of the API; every `{query}`, and every `{<name>}` of a parameter, is replaced by its value URL-encoded. */
  urlTemplate: string;
};

/**
 * A real API: GET the template with each placeholder replaced by its value, URL-encoded, in one pass (a value
 * that looks like a placeholder stays text); a 2xx body is the result.
 */
export function httpUpstream({ urlTemplate, ...limits }: HttpUpstreamOptions): Upstream {
  return (query, params, signal) => {
    const url = urlTemplate.replace(PLACEHOLDER, (placeholder, name: string) => {
      const value = name === "query" ? query : params[name];
      return value === undefined ? placeholder : encodeURIComponent(value);
    });
    return fetchText(url, { ...limits, signal, label: query });
  };
}

/**
 * GETs `url` and parses its 2xx body as JSON, bounded as every upstream call is (UPSTREAM_MAX_BYTES,
 * UPSTREAM_REDIRECTS) unless `options` say otherwise. Every failure is an `UpstreamError`, a body that is
 * not JSON included; an abort through `signal` rejects with its reason.
 */
export async function fetchJson(url: string, options: Partial<FetchOptions> = {}): Promise<unknown> {
  const text = await fetchText(url, { ...getConfig().http, ...options });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UpstreamError(`upstream answer for "${options.label ?? url}" is not JSON`, { cause: error });
  }
}

/** GETs `url` and resolves with its 2xx body as text, read no further than `maxBytes`. */
export async function fetchText(
  url: string,
  { signal, maxBytes, followRedirects = false, label: query = url }: FetchOptions,
): Promise<string> {
  let response: Response;
  try {
    const headers = conditionalHeaders();
    response = await fetch(url, {
      signal,
      headers,
      cache: "no-store",
      redirect: followRedirects ? "follow" : "manual",
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new UpstreamError(`upstream unreachable for "${query}"`, { cause: error });
  }
  if (response.status === 304) {
    await response.body?.cancel();
    // Only a request the cache made conditional can get one; its headers may give the value more freshness.
    reportHttpAnswer(response.headers);
    throw new UpstreamNotModifiedError(`upstream answered 304 (not modified) for "${query}"`);
  }
  const location = response.headers.get("location");
  if (!followRedirects && response.status >= 300 && response.status < 400 && location !== null) {
    await response.body?.cancel();
    throw new UpstreamRedirectError(
      `upstream redirected "${query}" (${response.status}) to ${location}; set UPSTREAM_REDIRECTS=follow to follow redirects`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    const { status } = response;
    const wait = status === 429 || status === 503 ? retryAfterMs(response.headers.get("retry-after")) : undefined;
    if (wait !== undefined)
      throw new UpstreamThrottledError(`upstream answered ${status} for "${query}", retry after ${wait} ms`, wait);
    if (status === 404) throw new UpstreamNotFoundError(`upstream answered 404 (nothing found) for "${query}"`);
    throw new UpstreamError(`upstream answered ${status} for "${query}"`);
  }
  // How long the answer stays good, told to the load under way (the cache decides what to do with it).
  reportHttpAnswer(response.headers);
  const tooLarge = () => new UpstreamTooLargeError(`upstream answer for "${query}" is over ${maxBytes} bytes`);
  // A compressed body's Content-Length counts wire bytes, not the answer's, so only the read below can judge it.
  if (!response.headers.has("content-encoding") && Number(response.headers.get("content-length")) > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  try {
    return response.body ? await readText(response.body, maxBytes, tooLarge) : "";
  } catch (error) {
    // The caller gave up; that is not the upstream failing, so it must not count as one.
    if (signal?.aborted) throw signal.reason;
    if (error instanceof UpstreamError) throw error;
    throw new UpstreamError(`upstream answer for "${query}" broke off`, { cause: error });
  }
}

/** Decodes a UTF-8 body, cancelling it (which closes the connection) as soon as it passes `maxBytes`. */
async function readText(body: ReadableStream<Uint8Array>, maxBytes: number, tooLarge: () => Error): Promise<string> {
  const reader = body.getReader();
  // Streaming mode keeps a character whose bytes straddle two chunks whole.
  const decoder = new TextDecoder();
  let received = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    received += value.byteLength;
    if (received > maxBytes) {
      const error = tooLarge();
      await reader.cancel(error);
      throw error;
    }
    text += decoder.decode(value, { stream: true });
  }
}

export function createUpstream(config: UpstreamConfig, limits: HttpLimits): Upstream {
  return config.kind === "http"
    ? httpUpstream({ urlTemplate: config.urlTemplate, ...limits })
    : simulatedUpstream(config.maxMs);
}
