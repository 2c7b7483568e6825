import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** The calls one watch saw, and how many were under way at once. */
export type UpstreamFigures = {
  calls: number;
  /** Most requests under way at once, all queries together. */
  maxInFlight: number;
  /** Most requests under way at once for one query (one source of the app), by query. */
  maxInFlightByQuery: Record<string, number>;
  /** Second by second from the watch's start: requests that arrived, and the most under way at once. */
  perSecond: Array<{ calls: number; maxInFlight: number }>;
};

export type CountingUpstream = {
  /** `SLOW_API_URL` for the app: `http://127.0.0.1:PORT/find/{query}?q={q}`, so `q` is a parameter of every fragment. */
  urlTemplate: string;
  /** Starts counting from now; `stop` gives what arrived meanwhile. */
  watch(): { stop(): UpstreamFigures };
  close(): Promise<void>;
};

/**
 * The slow external API for the flood: answers `/find/<query>?q=<q>` with `result for <query> (q=<q>)` after
 * its query's latency, whatever `q` is, and counts the requests under way at once, per query and in all.
 * It lives in the bench, not in the harness, because only the flood needs these counts.
 */
export async function startCountingUpstream(latencies: Readonly<Record<string, number>>): Promise<CountingUpstream> {
  const inFlight = new Map<string, number>();
  let total = 0;
  let watching: Watch | undefined;

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://upstream");
    const match = /^\/find\/([^/]+)$/.exec(url.pathname);
    const query = match?.[1] && decodeURIComponent(match[1]);
    if (!query) {
      response.writeHead(404).end();
      return;
    }
    inFlight.set(query, (inFlight.get(query) ?? 0) + 1);
    total += 1;
    watching?.arrived(query, inFlight.get(query)!, total);
    const timer = setTimeout(() => {
      response
        .writeHead(200, { "content-type": "text/plain; charset=utf-8" })
        .end(`result for ${query} (q=${url.searchParams.get("q") ?? ""})`);
    }, latencies[query] ?? 0);
    // Counted down once, whether answered or abandoned by the app.
    response.once("close", () => {
      clearTimeout(timer);
      inFlight.set(query, inFlight.get(query)! - 1);
      total -= 1;
      watching?.left(total);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    urlTemplate: `http://127.0.0.1:${port}/find/{query}?q={q}`,
    watch() {
      const watched = new Watch(total);
      watching = watched;
      return {
        stop() {
          if (watching === watched) watching = undefined;
          return watched.figures();
        },
      };
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The counts of one watch, second by second. */
class Watch {
  private readonly started = performance.now();
  private calls = 0;
  private maxInFlight: number;
  private readonly maxByQuery: Record<string, number> = {};
  private readonly seconds: Array<{ calls: number; maxInFlight: number }> = [];
  /** Under way at the latest change: what a second without any change had all along. */
  private current: number;

  constructor(inFlight: number) {
    this.maxInFlight = inFlight;
    this.current = inFlight;
  }

  arrived(query: string, ofQuery: number, inFlight: number): void {
    this.calls += 1;
    this.maxByQuery[query] = Math.max(this.maxByQuery[query] ?? 0, ofQuery);
    this.maxInFlight = Math.max(this.maxInFlight, inFlight);
    const second = this.second();
    second.calls += 1;
    this.changed(second, inFlight);
  }

  left(inFlight: number): void {
    this.changed(this.second(), inFlight);
  }

  figures(): UpstreamFigures {
    this.second();
    return {
      calls: this.calls,
      maxInFlight: this.maxInFlight,
      maxInFlightByQuery: { ...this.maxByQuery },
      perSecond: this.seconds.map((second) => ({ ...second })),
    };
  }

  private changed(second: { maxInFlight: number }, inFlight: number): void {
    second.maxInFlight = Math.max(second.maxInFlight, inFlight);
    this.current = inFlight;
  }

  /** The current second's counts, the seconds since the last change filled in with what was under way then. */
  private second(): { calls: number; maxInFlight: number } {
    const index = Math.floor((performance.now() - this.started) / 1000);
    while (this.seconds.length <= index) this.seconds.push({ calls: 0, maxInFlight: this.current });
    return this.seconds[index]!;
  }
}
