import "server-only";
import type { UpstreamConfig } from "./config";

/** The slow external API answered with a failure, or could not be reached. */
export class UpstreamError extends Error {
  override name = "UpstreamError";
}

/** Looks one query up in the slow external API and resolves with its text. */
export type Upstream = (query: string, signal?: AbortSignal) => Promise<string>;

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

/** The talk's external API: a random delay of 0 to `maxMs`, then `result for <query>`. */
export function simulatedUpstream(maxMs: number): Upstream {
  return async (query, signal) => {
    await abortable(signal, Math.floor(Math.random() * (maxMs + 1)));
    return `result for ${query}`;
  };
}

/** A real API: GET the template with `{query}` replaced by the URL-encoded query; a 2xx body is the result. */
export function httpUpstream(urlTemplate: string): Upstream {
  return async (query, signal) => {
    const url = urlTemplate.replaceAll("{query}", encodeURIComponent(query));
    let response: Response;
    try {
      response = await fetch(url, { signal, cache: "no-store" });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new UpstreamError(`upstream unreachable for "${query}"`, { cause: error });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new UpstreamError(`upstream answered ${response.status} for "${query}"`);
    }
    return response.text();
  };
}

export function createUpstream(config: UpstreamConfig): Upstream {
  return config.kind === "http" ? httpUpstream(config.urlTemplate) : simulatedUpstream(config.maxMs);
}
