import "server-only";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Config } from "./config";
import { ConfigError } from "./config-error";
import type { Fragment } from "./fragments";
import { describeError, logEvent } from "./log";
import { hasBody, refuseBody, type BodyRefusal } from "./request-bodies";

/** How long a client may take, and hold the server, on one connection. */
export type ServerLimits = {
  /** A connection on which no byte moves either way for this long is closed. */
  idleTimeoutMs: number;
  /** The time a client has to send a whole request; a body is cut this long after its headers. */
  requestTimeoutMs: number;
};

/** The default idle timeout is the longest pause a streamed page makes (its longest fragment deadline) plus this. */
const IDLE_MARGIN_MS = 10_000;

/**
 * The limits the configuration asks for. A streamed page may send nothing for as long as its slowest fragment's
 * deadline, so an idle timeout that short would cut healthy pages: that stops the server (ConfigError).
 */
export function serverLimits(
  config: Config,
  fragments: ReadonlyArray<Pick<Fragment, "name" | "deadlineMs">>,
): ServerLimits {
  const longest = fragments.reduce((a, b) => (b.deadlineMs > a.deadlineMs ? b : a));
  const idleTimeoutMs = config.idleTimeoutMs ?? longest.deadlineMs + IDLE_MARGIN_MS;
  if (idleTimeoutMs <= longest.deadlineMs) {
    throw new ConfigError(
      `IDLE_TIMEOUT_MS is invalid: must be longer than the deadline of fragment "${longest.name}" (${longest.deadlineMs} ms), for which a streamed page may send nothing`,
    );
  }
  return { idleTimeoutMs, requestTimeoutMs: config.requestTimeoutMs };
}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** How long a refused client may go on sending, unread, after its answer, before its connection is dropped. */
const LINGER_MS = 1000;

/**
 * Answers and ends the connection without reading the body. Closing at once, with the client's body still
 * arriving, would reset the connection, and a client busy sending may lose the answer with it: so the answer
 * goes out, then the end of the connection, and what the client still sends is discarded for a moment.
 */
function refuse(request: IncomingMessage, response: ServerResponse, { status, message }: BodyRefusal): void {
  const headers = {
    "content-type": "text/plain; charset=utf-8",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
  };
  // Node would close at once after an answer that ends the connection (the client's `Connection: close` too).
  response.shouldKeepAlive = true;
  response.writeHead(status, headers).end(`${message}\n`, () => {
    request.socket.end();
    setTimeout(() => request.socket.destroy(), LINGER_MS).unref();
  });
}

/** Cuts a body that is still arriving `ms` after its headers, with a 408 if nothing was answered yet (as Node does). */
function limitBodyTime(request: IncomingMessage, response: ServerResponse, ms: number): void {
  const timer = setTimeout(() => {
    if (request.complete) return;
    if (!response.headersSent)
      request.socket.write("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    request.socket.destroy();
  }, ms);
  response.once("close", () => clearTimeout(timer));
}

/**
 * Puts the limits on one HTTP server: idle connections closed (a reader that stops reading no longer holds
 * its response's unsent bytes), request and header timeouts, and every request's body judged on its headers
 * before the server's own listeners see the request. Next reads a body whole before its proxy answers, so
 * only here can a body the app would refuse be refused without being read.
 */
export function limitRequests(server: Server, limits: ServerLimits): void {
  server.timeout = limits.idleTimeoutMs;
  // Node checks these every 30 s; a body is also timed exactly, below.
  server.headersTimeout = limits.requestTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  const listeners = server.listeners("request") as RequestListener[];
  server.removeAllListeners("request");
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const refusal = refuseBody(request.method, request.url ?? "/", request.headers);
    if (refusal) return refuse(request, response, refusal);
    // Connections accepted before the limits were put on the server.
    if (request.socket.timeout !== limits.idleTimeoutMs) request.socket.setTimeout(limits.idleTimeoutMs);
    if (hasBody(request.headers)) limitBodyTime(request, response, limits.requestTimeoutMs);
    for (const listener of listeners) listener.call(server, request, response);
  });
  // Without this, Node answers `Expect: 100-continue` at once, and the client sends the body it was about to be refused.
  server.on("checkContinue", (request: IncomingMessage, response: ServerResponse) => {
    const refusal = refuseBody(request.method, request.url ?? "/", request.headers);
    if (refusal) return refuse(request, response, refusal);
    response.writeContinue();
    server.emit("request", request, response);
  });
}

const REQUEST_START = "http.server.request.start";

/**
 * Puts the limits on the server Next listens with, which the app never gets a handle on: Node announces each
 * request on a diagnostics channel, with its server, before the server's listeners run. The first one names
 * the server (the process has no other); the subscription ends there, so later requests pay nothing for it.
 */
export function limitServer(limits: ServerLimits): void {
  const onRequestStart = (message: unknown) => {
    unsubscribe(REQUEST_START, onRequestStart);
    try {
      limitRequests((message as { server: Server }).server, limits);
    } catch (error) {
      // A throw here would end the process; the server goes on without the limits, and says so.
      logEvent("error", "server_limits", { outcome: "not_applied", error: describeError(error) });
    }
  };
  subscribe(REQUEST_START, onRequestStart);
}
