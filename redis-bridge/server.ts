import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Command, Redis } from "ioredis";
import { checkBearer } from "../lib/bearer";

export type BridgeOptions = {
  redisUrl: string;
  token: string;
  /** 0 lets the OS pick a free port. @default 0 */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
};

export type BridgeStats = {
  /** Every HTTP request, refused ones included. */
  requests: number;
  /** Commands sent to Redis for clients, failed ones included; the MULTI/EXEC around /multi-exec are not counted. */
  commands: number;
  /** Keyed by lower-case command name. */
  byCommand: Record<string, number>;
};

export type Bridge = {
  /** e.g. `http://127.0.0.1:8079` */
  url: string;
  port: number;
  stats(): BridgeStats;
  resetStats(): void;
  close(): Promise<void>;
};

const MAX_BODY_BYTES = 1024 * 1024;
// Bounds every command, so a half-open connection cannot hang a request.
const COMMAND_TIMEOUT_MS = 1_000;
const INITIAL_CONNECT_WAIT_MS = 2_000;
// Local Redis restarts are quick; a short cap makes the bridge notice within half a second.
const MAX_RECONNECT_DELAY_MS = 500;

/** A request the bridge answers with `status` and `{ error: message }` instead of a result. */
class BridgeHttpError extends Error {
  override name = "BridgeHttpError";

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Redis could not be asked (not connected, connection lost, timed out), as opposed to answering with an error. */
class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

type Route = "command" | "pipeline" | "multi-exec";
type JsonReply = string | number | null | JsonReply[];
type CommandOutcome = { result: JsonReply } | { error: string };
type Encoding = "base64" | "utf8";

const ROUTES: Record<string, Route> = { "/": "command", "/pipeline": "pipeline", "/multi-exec": "multi-exec" };

/** Serves Upstash Redis's REST protocol (`/`, `/pipeline`, `/multi-exec`) in front of a real Redis. */
export async function createBridge(options: BridgeOptions): Promise<Bridge> {
  if (options.token === "") throw new Error("The bridge token must not be empty");
  const redis = new RedisLink(options.redisUrl);
  const stats = new StatsRecorder();
  const streams = new Set<() => void>();
  const server = createServer((req, res) => {
    stats.request();
    const context = { redis, stats, token: options.token, redisUrl: options.redisUrl, streams };
    handleRequest(req, res, context).catch((error: unknown) => {
      sendError(res, error instanceof BridgeHttpError ? error : new BridgeHttpError(500, describe(error)));
    });
  });
  const host = options.host ?? "127.0.0.1";
  let port: number;
  try {
    port = await listen(server, options.port ?? 0, host);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  await redis.waitUntilReady(INITIAL_CONNECT_WAIT_MS);
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    close: () => {
      for (const end of streams) end();
      return (closing ??= closeAll(server, redis));
    },
  };
}

type Context = {
  redis: RedisLink;
  stats: StatsRecorder;
  token: string;
  redisUrl: string;
  /** Ends each subscription stream open now. */
  streams: Set<() => void>;
};

const SUBSCRIBE_PATH = "/subscribe/";

async function handleRequest(req: IncomingMessage, res: ServerResponse, context: Context): Promise<void> {
  const path = req.url?.split("?")[0] ?? "/";
  if (path.startsWith(SUBSCRIBE_PATH)) return subscribe(req, res, context, path.slice(SUBSCRIBE_PATH.length));
  const route = ROUTES[path];
  if (!route) throw new BridgeHttpError(404, "Not found");
  if (req.method !== "POST") {
    res.setHeader("Allow", "POST");
    throw new BridgeHttpError(405, "Method not allowed; use POST");
  }
  if (checkBearer(req.headers.authorization, context.token) !== "ok") throw new BridgeHttpError(401, "Unauthorized");
  const body = parseJson(await readBody(req));
  const encoding: Encoding = String(req.headers["upstash-encoding"]).toLowerCase() === "base64" ? "base64" : "utf8";
  if (route === "command") {
    const command = parseCommand(body);
    context.stats.commands([command]);
    const outcome = await runCommand(context.redis, command, encoding);
    if ("error" in outcome) throw new BridgeHttpError(400, outcome.error);
    return sendJson(res, 200, outcome);
  }
  const commands = parseCommandList(body);
  context.stats.commands(commands);
  const outcomes =
    route === "pipeline"
      ? await runPipeline(context.redis, commands, encoding)
      : await runTransaction(context.redis, commands, encoding);
  sendJson(res, 200, outcomes);
}

// --- Streaming subscribe ---

/**
 * Upstash's streaming SUBSCRIBE: `POST /subscribe/<channel>` answers with server-sent events, `data:
 * subscribe,<channel>,<count>` once subscribed and `data: message,<channel>,<message>` for each message, on a
 * Redis connection of the request's own. The stream ends when the client goes away, and when that connection
 * is lost (the client must subscribe again, as with Upstash).
 */
async function subscribe(req: IncomingMessage, res: ServerResponse, context: Context, path: string): Promise<void> {
  if (req.method !== "POST") {
    res.setHeader("Allow", "POST");
    throw new BridgeHttpError(405, "Method not allowed; use POST");
  }
  if (checkBearer(req.headers.authorization, context.token) !== "ok") throw new BridgeHttpError(401, "Unauthorized");
  const channel = decodeURIComponent(path);
  if (channel === "" || channel.includes("/")) throw new BridgeHttpError(400, "Expected /subscribe/<channel>");
  context.stats.commands([["subscribe", channel]]);
  await readBody(req);
  const subscriber = new Redis(context.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    // A lost connection ends the stream: a subscription resumed unseen would hide the messages it missed.
    retryStrategy: () => null,
    disableClientInfo: true,
  });
  subscriber.on("error", () => undefined);
  try {
    await subscriber.connect();
    const count = await subscriber.subscribe(channel);
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
    res.write(`data: subscribe,${channel},${String(count)}\n\n`);
  } catch (error) {
    subscriber.disconnect();
    throw new BridgeHttpError(503, `Redis unavailable: ${describe(error)}`);
  }
  const end = () => {
    context.streams.delete(end);
    subscriber.disconnect();
    res.end();
  };
  context.streams.add(end);
  subscriber.on("message", (from: string, message: string) => {
    // A message is one event: server-sent events end a field at a line break.
    res.write(`data: message,${from},${message.replace(/[\r\n]/g, " ")}\n\n`);
  });
  subscriber.on("end", end);
  res.on("close", end);
}

// --- HTTP plumbing ---

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

async function closeAll(server: Server, redis: RedisLink): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  } finally {
    redis.disconnect();
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = new BridgeHttpError(400, `Request body exceeds ${MAX_BODY_BYTES} bytes`);
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
    req.resume();
    return Promise.reject(tooLarge);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      // Keep draining so the client can still read the answer instead of seeing a reset.
      req.off("data", onData);
      req.resume();
      reject(tooLarge);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
    // Without this, a client that disconnects mid-body would leave the promise pending forever.
    req.once("close", () => reject(new BridgeHttpError(400, "Request body was cut off")));
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) });
  res.end(payload);
}

function sendError(res: ServerResponse, error: BridgeHttpError): void {
  if (res.headersSent) return void res.destroy();
  // The request body may be unread (e.g. a rejected oversized upload), so the connection cannot be reused.
  if (!res.req.complete) res.setHeader("Connection", "close");
  sendJson(res, error.status, { error: error.message });
}

// --- Request validation ---

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new BridgeHttpError(400, "Request body is not valid JSON");
  }
}

function parseCommandList(body: unknown): string[][] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new BridgeHttpError(400, "Expected a non-empty JSON array of commands");
  }
  return body.map((command: unknown, index) => {
    try {
      return parseCommand(command);
    } catch (error) {
      throw new BridgeHttpError(400, `Command ${index + 1}: ${describe(error)}`);
    }
  });
}

function parseCommand(body: unknown): string[] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new BridgeHttpError(400, 'Expected a command as a non-empty JSON array, e.g. ["get","key"]');
  }
  const [name] = body;
  if (typeof name !== "string" || name === "") {
    throw new BridgeHttpError(400, "The command name must be a non-empty string");
  }
  const args = body.map(toArgument);
  refuseConnectionHazards(args);
  return args;
}

function toArgument(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new BridgeHttpError(400, "Command arguments must be strings, numbers or booleans");
}

// Every request shares one Redis connection, so commands that change its state or block it would
// leak into, or stall, everybody else's requests.
const CONNECTION_STATE_COMMANDS = new Set([
  ...["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "monitor"],
  ...["multi", "exec", "discard", "watch", "unwatch"],
  ...["auth", "hello", "select", "client", "reset", "quit", "sync", "psync"],
]);
const BLOCKING_COMMANDS = new Set([
  ...["blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop"],
  ...["wait", "waitaof"],
]);

function refuseConnectionHazards([name = "", ...args]: string[]): void {
  const lower = name.toLowerCase();
  if (CONNECTION_STATE_COMMANDS.has(lower) || BLOCKING_COMMANDS.has(lower) || isBlockingStreamRead(lower, args)) {
    const reason = "it would tie up the connection all requests share";
    throw new BridgeHttpError(400, `ERR '${lower}' is not supported by the bridge: ${reason}`);
  }
}

/** XREAD/XREADGROUP block only with the BLOCK option, which must come before STREAMS. */
function isBlockingStreamRead(name: string, args: string[]): boolean {
  if (name !== "xread" && name !== "xreadgroup") return false;
  for (let i = 0; i < args.length;) {
    const option = args[i]?.toLowerCase();
    if (option === "streams") return false;
    if (option === "block") return true;
    i += option === "group" ? 3 : option === "count" ? 2 : 1;
  }
  return false;
}

// --- Running commands ---

async function runCommand(redis: RedisLink, command: string[], encoding: Encoding): Promise<CommandOutcome> {
  try {
    return { result: encodeReply(await redis.send(command), encoding) };
  } catch (error) {
    return { error: replyErrorMessage(error) };
  }
}

async function runPipeline(redis: RedisLink, commands: string[][], encoding: Encoding): Promise<CommandOutcome[]> {
  const settled = await Promise.allSettled(commands.map((command) => redis.send(command)));
  return settled.map((result) =>
    result.status === "fulfilled"
      ? { result: encodeReply(result.value, encoding) }
      : { error: replyErrorMessage(result.reason) },
  );
}

/**
 * MULTI, the commands and EXEC are written back to back on the shared connection within one tick,
 * so no other request's command can land inside the transaction.
 */
async function runTransaction(redis: RedisLink, commands: string[][], encoding: Encoding): Promise<CommandOutcome[]> {
  const multi = redis.send(["MULTI"]);
  const queued = commands.map((command) => redis.send(command));
  const exec = redis.send(["EXEC"]);
  const settled = await Promise.allSettled([multi, ...queued, exec]);
  // Runtime errors come back inside EXEC's reply; a rejection means the transaction did not run,
  // e.g. a syntax error at queue time, which then also fails EXEC with EXECABORT.
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failure) throw new BridgeHttpError(400, replyErrorMessage(failure.reason));
  const replies = settled.at(-1);
  if (replies?.status !== "fulfilled" || !Array.isArray(replies.value)) {
    throw new BridgeHttpError(400, "EXECABORT Transaction aborted");
  }
  return replies.value.map((reply: unknown) =>
    reply instanceof Error ? { error: reply.message } : { result: encodeReply(reply, encoding) },
  );
}

/** The message of an error reply from Redis; any other failure means Redis could not be asked at all. */
function replyErrorMessage(error: unknown): string {
  if (!isReplyError(error)) throw new BridgeHttpError(503, describe(error));
  return describe(error);
}

function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === "ReplyError";
}

/**
 * Converts a RESP2 reply to JSON. With base64, every string at any depth, bulk and status replies alike,
 * becomes the base64 of its raw bytes: @upstash/redis's `decode` base64-decodes every string it finds
 * (it passes only a top-level "OK" through as is, so encoding that one is harmless too), and a status
 * reply sent as plain text would be decoded into garbage ("OK" nested in an array → "8", "PONG" → "<\uFFFDF").
 */
function encodeReply(reply: unknown, encoding: Encoding): JsonReply {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return reply.toString(encoding);
  if (Array.isArray(reply)) return reply.map((element: unknown) => encodeReply(element, encoding));
  // A nested error reply (e.g. a Lua table holding redis.error_reply) has no JSON form; keep its text.
  if (reply instanceof Error) return Buffer.from(reply.message).toString(encoding);
  return Buffer.from(String(reply)).toString(encoding);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// --- Redis connection ---

/** The one ioredis connection all requests share; fails fast while Redis is down and reconnects on its own. */
class RedisLink {
  private readonly client: Redis;
  private lastConnectionError: string | undefined;

  constructor(url: string) {
    this.client = new Redis(url, {
      // Upstash answers with RESP2 shapes (flat arrays, doubles as strings); ioredis 6 defaults to RESP3.
      protocol: 2,
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // A command cut off by a disconnect may already have run; resending it could run it twice.
      autoResendUnfulfilledCommands: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 50, MAX_RECONNECT_DELAY_MS),
      disableClientInfo: true,
    });
    // Without a listener ioredis prints every failed reconnect; the last one explains later 503s instead.
    this.client.on("error", (error: Error) => {
      this.lastConnectionError = error.message;
    });
    this.client.on("ready", () => {
      this.lastConnectionError = undefined;
    });
  }

  /** Resolves with the raw reply (Buffers for strings); rejects with Redis's ReplyError or a RedisUnavailableError. */
  send([name = "", ...args]: string[]): Promise<unknown> {
    if (this.client.status !== "ready") {
      return Promise.reject(this.unavailable(`not connected (${this.client.status})`));
    }
    // Upper-case, because ioredis applies reply transformers keyed by lower-case name
    // (HGETALL → object, ZRANGE … WITHSCORES → pairs) and the protocol wants Redis's own reply.
    const command = new Command(name.toUpperCase(), args, { replyEncoding: null });
    this.client.sendCommand(command);
    const reply: Promise<unknown> = command.promise;
    return reply.catch((error: unknown) => {
      throw isReplyError(error) ? error : this.unavailable(describe(error));
    });
  }

  private unavailable(reason: string): RedisUnavailableError {
    const cause = this.lastConnectionError === undefined ? "" : `; last connection error: ${this.lastConnectionError}`;
    return new RedisUnavailableError(`Redis unavailable: ${reason}${cause}`);
  }

  waitUntilReady(timeoutMs: number): Promise<void> {
    if (this.client.status === "ready") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off("ready", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.client.once("ready", done);
    });
  }

  disconnect(): void {
    this.client.disconnect();
  }
}

// --- Stats ---

class StatsRecorder {
  private requests = 0;
  private total = 0;
  private readonly perCommand = new Map<string, number>();

  request(): void {
    this.requests += 1;
  }

  commands(commands: string[][]): void {
    for (const [name = ""] of commands) {
      const key = name.toLowerCase();
      this.total += 1;
      this.perCommand.set(key, (this.perCommand.get(key) ?? 0) + 1);
    }
  }

  snapshot(): BridgeStats {
    return { requests: this.requests, commands: this.total, byCommand: Object.fromEntries(this.perCommand) };
  }

  reset(): void {
    this.requests = 0;
    this.total = 0;
    this.perCommand.clear();
  }
}
