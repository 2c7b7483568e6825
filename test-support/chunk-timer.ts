import { request } from "node:http";

export type TimedResponse = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Each chunk as it left the socket, with its arrival in ms since the request was sent. */
  chunks: Array<{ at: number; text: string }>;
  /** ms until the first chunk whose accumulated body contains `marker`; undefined when none does. */
  arrival(marker: string): number | undefined;
};

/** GETs `url` with a raw HTTP client and records when every chunk of the body arrived. */
export function timeChunks(url: string, headers: Record<string, string> = {}): Promise<TimedResponse> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { headers }, (response) => {
      const chunks: TimedResponse["chunks"] = [];
      response.setEncoding("utf8");
      response.on("data", (text: string) => chunks.push({ at: performance.now() - started, text }));
      response.on("error", reject);
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          chunks,
          arrival(marker) {
            let body = "";
            for (const chunk of chunks) {
              body += chunk.text;
              if (body.includes(marker)) return Math.round(chunk.at);
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
