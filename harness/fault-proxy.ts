import { connect, createServer, type AddressInfo, type Socket } from "node:net";

export type FaultProxyStats = {
  /** Client connections accepted. */
  connections: number;
  /**
   * Round trips the clients started: a data event from a client counts when it is the first on its
   * connection or the first since the target last replied on it. Bytes a client writes in one go (an
   * HTTP request, an ioredis pipeline or auto-pipelined batch) count once, and so do separate writes
   * that reach the proxy before the reply to the first of them.
   */
  requests: number;
  /** Reply bursts: a data event from the target that is the first since the client last sent on that connection. */
  replies: number;
  /** Bytes the target sent. */
  replyBytes: number;
};

export type FaultProxy = {
  port: number;
  host: "127.0.0.1";
  /**
   * Holds the next bytes the target sends, on whichever connection they come, for `ms` before passing
   * them on: the command already ran at the target, only its reply is late. Later bytes on that
   * connection queue behind them in order; other connections are not delayed. Resolves once the held
   * bytes were passed on, or dropped because the client connection closed first (a client that gave up,
   * as undici does when a request times out), or the proxy was cut or closed.
   * @throws HoldAlreadyArmedError when a hold is armed and has not caught a reply yet
   */
  holdNextReply(ms: number): Promise<void>;
  stats(): FaultProxyStats;
  resetStats(): void;
  /** Destroys every open connection on both sides, like a network cut. The proxy keeps accepting new ones. */
  cut(): void;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
};

export type FaultProxyOptions = {
  /** @default a free port */
  port?: number;
};

/** `holdNextReply()` was called while an earlier hold still waits for a reply to catch. */
export class HoldAlreadyArmedError extends Error {
  override name = "HoldAlreadyArmedError";
}

const HOST = "127.0.0.1";

type Hold = { ms: number; done: () => void };

/** A connection whose replies are being held: what arrived since, and whether the target has closed. */
type Held = { chunks: Buffer[]; targetClosed: boolean; cancel: () => void; done: () => void };

/**
 * A TCP proxy on 127.0.0.1 in front of an HTTP server or a redis-server that can delay a reply or cut the
 * network, and counts round trips. It forwards bytes as they are, so it works for any protocol.
 */
export async function startFaultProxy(
  target: { host?: string; port: number },
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const targetHost = target.host ?? HOST;
  const open = new Set<Socket>();
  let armed: Hold | null = null;
  let counts: FaultProxyStats = { connections: 0, requests: 0, replies: 0, replyBytes: 0 };

  const server = createServer((client) => {
    counts.connections += 1;
    const upstream = connect({ host: targetHost, port: target.port });
    open.add(client);
    open.add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let lastSender: "client" | "target" | null = null;
    let held: Held | null = null;

    const release = () => {
      if (!held) return;
      const { chunks, targetClosed, done } = held;
      held = null;
      for (const chunk of chunks) client.write(chunk);
      if (targetClosed) closeClientAfterWrites();
      done();
    };
    const closeClientAfterWrites = () => {
      if (!client.destroyed) client.end(() => client.destroy());
    };

    client.on("data", (chunk: Buffer) => {
      if (lastSender !== "client") counts.requests += 1;
      lastSender = "client";
      forward(client, upstream, chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (lastSender !== "target") counts.replies += 1;
      counts.replyBytes += chunk.byteLength;
      lastSender = "target";
      if (held) {
        held.chunks.push(chunk);
        return;
      }
      if (armed) {
        const { ms, done } = armed;
        armed = null;
        held = { chunks: [chunk], targetClosed: false, cancel: holdTimer(ms, release), done };
        return;
      }
      forward(upstream, client, chunk);
    });

    client.on("close", () => {
      open.delete(client);
      upstream.destroy();
      if (!held) return;
      // The client gave up waiting: what the target said is lost with it.
      held.cancel();
      const { done } = held;
      held = null;
      done();
    });
    upstream.on("close", () => {
      open.delete(upstream);
      // The target's close is part of its reply and must not overtake the held bytes.
      if (held) held.targetClosed = true;
      else closeClientAfterWrites();
    });
    // A reset or refused connection shows up as the `close` that follows; the error itself is not news.
    client.on("error", () => {});
    upstream.on("error", () => {});
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });

  const cut = () => {
    for (const socket of open) socket.destroy();
  };

  return {
    port: (server.address() as AddressInfo).port,
    host: HOST,
    holdNextReply(ms) {
      if (armed) throw new HoldAlreadyArmedError("A hold is already waiting for the next reply");
      return new Promise((resolve) => {
        armed = { ms, done: resolve };
      });
    },
    stats: () => ({ ...counts }),
    resetStats() {
      counts = { connections: 0, requests: 0, replies: 0, replyBytes: 0 };
    },
    cut,
    async close() {
      cut();
      armed?.done();
      armed = null;
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** Writes with backpressure: a slow reader pauses the writer's source instead of filling memory. */
function forward(from: Socket, to: Socket, chunk: Buffer): void {
  if (to.write(chunk)) return;
  from.pause();
  to.once("drain", () => from.resume());
}

/**
 * Calls `release` after at least `ms` by `performance.now()`, and returns a cancel function. A bare timer
 * can fire up to a millisecond early on that clock, as libuv counts whole milliseconds, and callers
 * assert "at least `ms` late".
 */
function holdTimer(ms: number, release: () => void): () => void {
  const until = performance.now() + ms;
  let timer: NodeJS.Timeout;
  const schedule = () => {
    timer = setTimeout(
      () => {
        if (performance.now() >= until) release();
        else schedule();
      },
      Math.max(1, Math.ceil(until - performance.now())),
    );
  };
  schedule();
  return () => clearTimeout(timer);
}
