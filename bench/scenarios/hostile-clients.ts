import type { Socket } from "node:net";
import { sendBody, stallReaders, type BodyOptions, type RawOutcome } from "../../harness/raw-clients";
import { sleep } from "../../lib/timeout";
import { openConnections, rssMiB } from "../proc";
import { round } from "../summary";

/** Resident memory of the app over one scenario, in MiB. */
export type RssFigures = { before: number; peak: number; after: number };

export type BodyFlood = { rss: RssFigures; outcomes: RawOutcome[] };

export type ReaderStall = {
  /** `after` is read `settleMs` after the server let go of the readers (or the watch ended). */
  rss: RssFigures;
  /** ms after the readers' requests went out until the server held none of their connections, if it came to that. */
  allClosedMs?: number;
  /** Connections the server still held when the watch ended. */
  openAtEnd: number;
};

type App = { pid: number; port: number };

const SAMPLE_EVERY_MS = 100;

/** Samples the app's resident memory until stopped; `after` is read at the stop. */
export function sampleRss(pid: number): { stop(): RssFigures } {
  const before = rssMiB(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), SAMPLE_EVERY_MS);
  return {
    stop() {
      clearInterval(sampler);
      const after = rssMiB(pid);
      return { before: round(before), peak: round(Math.max(peak, after)), after: round(after) };
    },
  };
}

/** Waits until the server on `port` holds none of these client sockets' connections: ms it took, or undefined after `watchMs`. */
export async function untilServerCloses(port: number, sockets: Socket[], watchMs: number): Promise<number | undefined> {
  const clientPorts = sockets.map((socket) => socket.localPort ?? 0);
  const started = performance.now();
  while (performance.now() - started < watchMs) {
    if (openConnections(port, clientPorts) === 0) return Math.round(performance.now() - started);
    await sleep(SAMPLE_EVERY_MS);
  }
  return undefined;
}

/**
 * `count` connections at once, each sending one request with a body (announcing more than it sends, say),
 * and the app's memory meanwhile; `settleMs` after the last connection closed, memory is read again.
 */
export async function bodyFlood(
  app: App,
  count: number,
  request: Omit<BodyOptions, "port">,
  settleMs = 0,
): Promise<BodyFlood> {
  const rss = sampleRss(app.pid);
  const outcomes = await Promise.all(Array.from({ length: count }, () => sendBody({ port: app.port, ...request })));
  await sleep(settleMs);
  return { rss: rss.stop(), outcomes };
}

/**
 * `count` connections that ask for `path` and never read the answer, watched for `watchMs`: the app's memory,
 * and when it let go of the connections. The client closes whatever is left after that.
 */
export async function readerStall(
  app: App,
  path: string,
  count: number,
  headers: Record<string, string>,
  watchMs: number,
  settleMs = 0,
): Promise<ReaderStall> {
  const rss = sampleRss(app.pid);
  const readers = await stallReaders(app.port, path, count, headers);
  try {
    const allClosedMs = await untilServerCloses(app.port, readers.sockets, watchMs);
    const openAtEnd = openConnections(
      app.port,
      readers.sockets.map((socket) => socket.localPort ?? 0),
    );
    await sleep(settleMs);
    return { rss: rss.stop(), allClosedMs, openAtEnd };
  } finally {
    readers.close();
  }
}
