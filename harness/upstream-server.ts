import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How the scripted upstream answers one query. */
export type Script = {
  /** Delay before answering. @default 0 */
  latencyMs?: number;
  /** HTTP status of the answer. @default 200 */
  status?: number;
  /** Body of the answer. @default `result for <query>` */
  body?: string;
  /** Destroy the socket instead of answering (a network error). */
  drop?: boolean;
};

export type ScriptedUpstream = {
  /** `SLOW_API_URL` for the app: `http://127.0.0.1:PORT/find/{query}`. */
  urlTemplate: string;
  script(query: string, script: Script): void;
  /** Holds every request for `query` open until the returned function is called. */
  hold(query: string): () => void;
  /** Requests received for `query` (all queries when omitted). */
  calls(query?: string): number;
  /** Requests for `query` answered so far (a dropped one counts too). */
  answered(query: string): number;
  /** When the latest request for `query` arrived and was answered, on this process's `performance.now()` clock. */
  lastCall(query: string): { arrivedAt: number; answeredAt?: number } | undefined;
  /** Requests for `query` currently waiting on a hold. */
  waiting(query: string): number;
  /** Resolves once `count` requests for `query` have arrived. */
  waitForCalls(query: string, count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
};

/**
 * A stand-in for the slow external API that a test scripts per query (latency, status, body) and that
 * counts the calls it receives, so tests assert cache behaviour without sleeping in app code.
 */
export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const scripts = new Map<string, Script>();
  const holds = new Map<string, { release: Promise<void>; waiting: number; open: () => void }>();
  const counts = new Map<string, number>();
  const answers = new Map<string, number>();
  const lastCalls = new Map<string, { arrivedAt: number; answeredAt?: number }>();
  const listeners = new Set<() => void>();
  let total = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const match = /^\/find\/([^/?]*)/.exec(request.url ?? "");
    if (!match?.[1]) {
      response.writeHead(404).end();
      return;
    }
    const query = decodeURIComponent(match[1]);
    const call: { arrivedAt: number; answeredAt?: number } = { arrivedAt: performance.now() };
    lastCalls.set(query, call);
    counts.set(query, (counts.get(query) ?? 0) + 1);
    total += 1;
    for (const listener of listeners) listener();
    const hold = holds.get(query);
    if (hold) {
      hold.waiting += 1;
      await hold.release;
      hold.waiting -= 1;
    }
    const { latencyMs = 0, status = 200, body = `result for ${query}`, drop = false } = scripts.get(query) ?? {};
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    answers.set(query, (answers.get(query) ?? 0) + 1);
    call.answeredAt = performance.now();
    if (drop) {
      request.socket.destroy();
      return;
    }
    response.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(body);
  };

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    urlTemplate: `http://127.0.0.1:${port}/find/{query}`,
    script: (query, script) => scripts.set(query, script),
    hold(query) {
      let open!: () => void;
      const held = { release: new Promise<void>((resolve) => (open = resolve)), waiting: 0, open };
      holds.set(query, held);
      return () => {
        if (holds.get(query) === held) holds.delete(query);
        open();
      };
    },
    calls: (query) => (query === undefined ? total : (counts.get(query) ?? 0)),
    answered: (query) => answers.get(query) ?? 0,
    lastCall: (query) => lastCalls.get(query),
    waiting: (query) => holds.get(query)?.waiting ?? 0,
    waitForCalls(query, count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if ((counts.get(query) ?? 0) < count) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`expected ${count} upstream calls for "${query}", saw ${counts.get(query) ?? 0}`));
        }, timeoutMs);
        if (!check()) listeners.add(check);
      });
    },
    close() {
      for (const held of holds.values()) held.open();
      holds.clear();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
