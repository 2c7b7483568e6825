import { request } from "node:http";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";

export type TimedResponse = {
  status: number;
  /** When the request was sent, on this process's `performance.now()` clock. */
  startedAt: number;
  headers: Record<string, string | string[] | undefined>;
  /** Each chunk as it left the socket (or the decompressor), with its arrival in ms since the request was sent. */
  chunks: Array<{ at: number; text: string }>;
  /** ms until the first chunk whose accumulated body contains `marker`; undefined when none does. */
  arrival(marker: string): number | undefined;
};

export type TimeChunksOptions = {
  headers?: Record<string, string>;
  /** Accept gzip, and time the chunks as they come out of the decompressor. */
  gzip?: boolean;
};

/** GETs `url` with a raw HTTP client and records when every chunk of the body arrived. */
export function timeChunks(
  url: string,
  { headers = {}, gzip = false }: TimeChunksOptions = {},
): Promise<TimedResponse> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const sent = gzip ? { ...headers, "accept-encoding": "gzip" } : headers;
    const req = request(url, { headers: sent }, (response) => {
      const chunks: TimedResponse["chunks"] = [];
      const body: Readable = response.headers["content-encoding"] === "gzip" ? response.pipe(createGunzip()) : response;
      body.on("data", (data: Buffer) => chunks.push({ at: performance.now() - started, text: data.toString("utf8") }));
      body.on("error", reject);
      body.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          startedAt: started,
          headers: response.headers,
          chunks,
          arrival(marker) {
            let text = "";
            for (const chunk of chunks) {
              text += chunk.text;
              if (text.includes(marker)) return Math.round(chunk.at);
            }
            return undefined;
          },
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}
