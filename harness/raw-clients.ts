import { connect, type Socket } from "node:net";

/** What one raw connection saw, in ms since it was opened. */
export type RawOutcome = {
  /** The status of the answer, if one came. */
  status?: number;
  /** When the answer's first byte arrived. */
  answeredMs?: number;
  /** When the connection closed, from either end; undefined if it was still open when the client gave up. */
  closedMs?: number;
  /** Body bytes the client managed to write. */
  sentBytes: number;
  /** The code of the socket error that ended the connection (a reset: ECONNRESET, EPIPE), if it did not end cleanly. */
  error?: string;
};

export type BodyOptions = {
  port: number;
  /** @default "POST" */
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** The Content-Length the request announces. */
  announcedBytes: number;
  /** Body bytes sent at full speed (as fast as the server reads them); then the client sends nothing more. */
  sendBytes: number;
  /** Send the body one byte per this many ms instead, up to `sendBytes`. */
  trickleEveryMs?: number;
  /** How long the client waits for an answer and the close before it closes the connection itself. */
  waitMs: number;
};

const CHUNK = Buffer.alloc(64 * 1024, "x");

function head(method: string, path: string, port: number, headers: Record<string, string>): string {
  const lines = Object.entries({ host: `127.0.0.1:${port}`, ...headers }).map(([name, value]) => `${name}: ${value}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * Sends one request with a body the way a careless or hostile client does (more announced than sent, or sent
 * a byte at a time) on a raw socket, and records whether and when the server answered and closed.
 */
export function sendBody(options: BodyOptions): Promise<RawOutcome> {
  const { port, method = "POST", path, headers = {}, announcedBytes, sendBytes, trickleEveryMs, waitMs } = options;
  return new Promise((resolve) => {
    const started = performance.now();
    const since = () => Math.round(performance.now() - started);
    const outcome: RawOutcome = { sentBytes: 0 };
    let answer = "";
    const socket = connect(port, "127.0.0.1");
    let gaveUp = false;
    const giveUp = setTimeout(() => {
      gaveUp = true;
      socket.destroy();
    }, waitMs);
    let trickle: NodeJS.Timeout | undefined;
    // The server's end: its FIN, a reset, or a failed write on a connection it closed; never the client giving up.
    const closedByServer = () => {
      if (!gaveUp) outcome.closedMs ??= since();
    };

    const pump = () => {
      while (socket.writable && outcome.sentBytes < sendBytes) {
        const chunk = CHUNK.subarray(0, Math.min(CHUNK.length, sendBytes - outcome.sentBytes));
        outcome.sentBytes += chunk.length;
        if (!socket.write(chunk)) return void socket.once("drain", pump);
      }
    };
    socket.once("connect", () => {
      socket.write(head(method, path, port, { "content-length": String(announcedBytes), ...headers }));
      if (trickleEveryMs === undefined) return pump();
      trickle = setInterval(() => {
        if (!socket.writable || outcome.sentBytes >= sendBytes) return clearInterval(trickle);
        socket.write("x");
        outcome.sentBytes += 1;
      }, trickleEveryMs);
    });
    socket.on("data", (data: Buffer) => {
      outcome.answeredMs ??= since();
      if (outcome.status !== undefined) return;
      answer += data.toString("latin1");
      outcome.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]) || undefined;
    });
    socket.once("end", closedByServer);
    socket.on("error", (error: NodeJS.ErrnoException) => {
      outcome.error ??= error.code ?? error.message;
      closedByServer();
    });
    socket.once("close", () => {
      clearTimeout(giveUp);
      clearInterval(trickle);
      closedByServer();
      resolve(outcome);
    });
  });
}

export type StalledReaders = {
  sockets: Socket[];
  /** Closes every socket still open (from the client's end). */
  close(): void;
};

/**
 * Opens `count` connections that each send `GET path` and then never read a byte of the answer: the
 * server's writes back up, first in the kernel's buffers, then in the server process.
 */
export async function stallReaders(
  port: number,
  path: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<StalledReaders> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, "127.0.0.1");
          socket.on("error", () => undefined);
          socket.once("connect", () => {
            socket.pause();
            socket.write(head("GET", path, port, headers));
            resolve(socket);
          });
          socket.once("error", reject);
        }),
    ),
  );
  return { sockets, close: () => sockets.forEach((socket) => socket.destroy()) };
}
