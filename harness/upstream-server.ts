import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How the scripted upstream answers one query. */
export type Script = {
  /** Delay before answering. @default 0 */
  latencyMs?: number;
  /** HTTP status of the answer. @default 200 */
  status?: number;
  /**
   * Body of the answer. @default `result for <query>`, followed by `?<name>=<value>&…` (decoded) when the
   * request has a query string
   */
  body?: string;
  /**
   * Headers of the answer besides its content type: `Cache-Control`, `Expires`, `Age`, `Retry-After`… as the
   * app reads them. @default none
   */
  headers?: Readonly<Record<string, string>>;
  /** Destroy the socket instead of answering (a network error). */
  drop?: boolean;
};

/**
 * Which requests a method is about: `<query>` names every request for `/find/<query>`, whatever its query
 * string; `<query>?<name>=<value>&…` only those whose query string has each of these parameters with that
 * value (a URL-encoded selector, compared decoded), so calls per parameter set can be told apart.
 */
export type Selector = string;

/** One request received, as the upstream saw it. */
export type UpstreamRequest = {
  /** The path's `{query}` segment, decoded. */
  query: string;
  /** The path and query string as sent: `/find/a?city=porto`. */
  url: string;
  /** The query string's parameters, decoded. */
  search: URLSearchParams;
  /** When it arrived and was answered, on this process's `performance.now()` clock. */
  arrivedAt: number;
  answeredAt?: number;
};

export type ScriptedUpstream = {
  /** `SLOW_API_URL` for the app: `http://127.0.0.1:PORT/find/{query}`; append `?city={city}` for parameters. */
  urlTemplate: string;
  /**
   * How to answer the requests `selector` names; a selector with parameters wins over the bare query. A list
   * answers them in turn, one script per request (`[{ status: 429 }, {}]`: refused once, then answered), its
   * last one every request after.
   */
  script(selector: Selector, script: Script | readonly Script[]): void;
  /** Holds every request `selector` names open until the returned function is called. */
  hold(selector: Selector): () => void;
  /** Requests received that `selector` names (all requests when omitted). */
  calls(selector?: Selector): number;
  /** The requests `selector` names (all when omitted), in arrival order. */
  requests(selector?: Selector): UpstreamRequest[];
  /** Requests `selector` names answered so far (a dropped one counts too). */
  answered(selector: Selector): number;
  /** When the latest request `selector` names arrived and was answered, on this process's `performance.now()` clock. */
  lastCall(selector: Selector): { arrivedAt: number; answeredAt?: number } | undefined;
  /** Requests `selector` names currently waiting on a hold. */
  waiting(selector: Selector): number;
  /**
   * Requests `selector` names (all when omitted) by the second they arrived in, counted from the first one's
   * arrival: `[in its first second, in the next, …]`; empty when none arrived.
   */
  callsPerSecond(selector?: Selector): number[];
  /** The most requests `selector` names (all when omitted) that arrived within any `windowMs`, a sliding window. */
  busiestWindow(windowMs: number, selector?: Selector): number;
  /** Resolves once `count` requests that `selector` names have arrived. */
  waitForCalls(selector: Selector, count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

type Match = { query: string; params: Array<[string, string]> };

function parseSelector(selector: Selector): Match {
  const mark = selector.indexOf("?");
  if (mark === -1) return { query: selector, params: [] };
  return { query: selector.slice(0, mark), params: [...new URLSearchParams(selector.slice(mark + 1))] };
}

const matches = (match: Match, request: { query: string; search: URLSearchParams }) =>
  request.query === match.query && match.params.every(([name, value]) => request.search.getAll(name).includes(value));

/** The default body: `result for <query>`, and the query string's parameters decoded when there are any. */
function defaultBody(query: string, search: URLSearchParams): string {
  const pairs = [...search].map(([name, value]) => `${name}=${value}`);
  return pairs.length === 0 ? `result for ${query}` : `result for ${query}?${pairs.join("&")}`;
}

/**
 * A stand-in for the slow external API that a test scripts per query (latency, status, body) and that
 * records the requests it receives, so tests assert cache behaviour without sleeping in app code.
 */
export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  // `used`: requests a list has answered, so each gets the next script.
  const scripts: Array<{ match: Match; turns: readonly Script[]; used: number }> = [];
  const holds: Array<{ match: Match; release: Promise<void>; open: () => void }> = [];
  const log: Array<UpstreamRequest & { waiting: boolean }> = [];
  const listeners = new Set<() => void>();

  const scriptFor = (request: UpstreamRequest): Script => {
    const scripted = scripts
      .filter(({ match }) => matches(match, request))
      .sort((a, b) => b.match.params.length - a.match.params.length)[0];
    if (!scripted) return {};
    const turn = Math.min(scripted.used, scripted.turns.length - 1);
    scripted.used += 1;
    return scripted.turns[turn] ?? {};
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? "";
    const match = /^\/find\/([^/?]*)/.exec(url);
    if (!match?.[1]) {
      response.writeHead(404).end();
      return;
    }
    const call = {
      query: decodeURIComponent(match[1]),
      url,
      search: new URL(url, "http://upstream").searchParams,
      arrivedAt: performance.now(),
      answeredAt: undefined as number | undefined,
      waiting: false,
    };
    log.push(call);
    for (const listener of listeners) listener();
    const holding = holds.filter((hold) => matches(hold.match, call));
    if (holding.length > 0) {
      call.waiting = true;
      await Promise.all(holding.map((hold) => hold.release));
      call.waiting = false;
    }
    const {
      latencyMs = 0,
      status = 200,
      body = defaultBody(call.query, call.search),
      headers = {},
      drop = false,
    } = scriptFor(call);
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    call.answeredAt = performance.now();
    if (drop) {
      request.socket.destroy();
      return;
    }
    response.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers }).end(body);
  };

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const named = (selector?: Selector) => {
    if (selector === undefined) return log;
    const match = parseSelector(selector);
    return log.filter((call) => matches(match, call));
  };

  return {
    urlTemplate: `http://127.0.0.1:${port}/find/{query}`,
    script(selector, script) {
      const match = parseSelector(selector);
      const same = scripts.findIndex((entry) => JSON.stringify(entry.match) === JSON.stringify(match));
      if (same !== -1) scripts.splice(same, 1);
      const turns = Array.isArray(script) ? (script as readonly Script[]) : [script as Script];
      scripts.push({ match, turns: turns.length > 0 ? turns : [{}], used: 0 });
    },
    hold(selector) {
      let open!: () => void;
      const held = { match: parseSelector(selector), release: new Promise<void>((resolve) => (open = resolve)), open };
      holds.push(held);
      return () => {
        const index = holds.indexOf(held);
        if (index !== -1) holds.splice(index, 1);
        open();
      };
    },
    calls: (selector) => named(selector).length,
    requests: (selector) =>
      named(selector).map(({ query, url, search, arrivedAt, answeredAt }) => ({
        query,
        url,
        search,
        arrivedAt,
        answeredAt,
      })),
    answered: (selector) => named(selector).filter((call) => call.answeredAt !== undefined).length,
    lastCall(selector) {
      const call = named(selector).at(-1);
      return call && { arrivedAt: call.arrivedAt, answeredAt: call.answeredAt };
    },
    waiting: (selector) => named(selector).filter((call) => call.waiting).length,
    callsPerSecond(selector) {
      const arrivals = named(selector).map((call) => call.arrivedAt);
      const first = arrivals[0];
      if (first === undefined) return [];
      const seconds = arrivals.map((at) => Math.floor((at - first) / 1000));
      const counts: number[] = Array.from({ length: Math.max(...seconds) + 1 }, () => 0);
      for (const second of seconds) counts[second] = (counts[second] ?? 0) + 1;
      return counts;
    },
    busiestWindow(windowMs, selector) {
      const arrivals = named(selector).map((call) => call.arrivedAt);
      let busiest = 0;
      let start = 0;
      for (let end = 0; end < arrivals.length; end += 1) {
        while (arrivals[end]! - arrivals[start]! >= windowMs) start += 1;
        busiest = Math.max(busiest, end - start + 1);
      }
      return busiest;
    },
    waitForCalls(selector, count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (named(selector).length < count) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`expected ${count} upstream calls for "${selector}", saw ${named(selector).length}`));
        }, timeoutMs);
        if (!check()) listeners.add(check);
      });
    },
    close() {
      for (const held of holds.splice(0)) held.open();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
