import "server-only";
import { Cluster, Redis, type RedisOptions } from "ioredis";

// How the Redis store's clients connect: commands never wait for a connection; subscribers do.

const RECONNECT_MAX_MS = 2000;
const CONNECT_TIMEOUT_MS = 2000;

/** What every connection needs, to one server or to each node of a cluster. */
function nodeOptions(timeoutMs: number) {
  return {
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, CONNECT_TIMEOUT_MS),
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  } satisfies RedisOptions;
}

/** A subscriber's connection: it waits for its first connection, and reconnects and subscribes again after a loss. */
export function subscriberClient(url: string, timeoutMs: number): Redis {
  return new Redis(url, {
    ...nodeOptions(timeoutMs),
    commandTimeout: undefined,
    autoResubscribe: true,
    retryStrategy: (times) => Math.min(times * 100, RECONNECT_MAX_MS),
  });
}

export function serverClient(url: string, timeoutMs: number): Redis {
  return new Redis(url, {
    ...nodeOptions(timeoutMs),
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 100, RECONNECT_MAX_MS),
  });
}

/** Seed nodes from the URLs; credentials and TLS from the first URL that has them apply to every node. */
export function clusterClient(urls: string[], timeoutMs: number, shardedSubscribers = false): Cluster {
  const parsed = urls.map((url) => new URL(url));
  const nodes = parsed.map((url) => ({ host: url.hostname, port: Number(url.port || 6379) }));
  const credentials = parsed.find((url) => url.username || url.password);
  return new Cluster(nodes, {
    shardedSubscribers,
    // A subscriber's SSUBSCRIBE waits for its shard's connection; commands never wait (see above).
    enableOfflineQueue: shardedSubscribers,
    // Not auto-pipelined: ioredis 6 then answers MOVED for a master that came back instead of following
    // it, and the slot's keys stay misses for good (seen in this project's cluster tests).
    enableAutoPipelining: false,
    // A cluster that declares itself down fails at once (a miss) rather than after retries past the budget.
    retryDelayOnClusterDown: 0,
    // A closed connection to a node is retried shortly after a refresh of the slot map; the command's
    // budget still bounds what the caller waits.
    retryDelayOnFailover: 50,
    slotsRefreshTimeout: Math.max(timeoutMs, 1000),
    clusterRetryStrategy: (times) => Math.min(times * 100, RECONNECT_MAX_MS),
    redisOptions: {
      ...nodeOptions(timeoutMs),
      username: credentials ? decodeURIComponent(credentials.username) || undefined : undefined,
      password: credentials ? decodeURIComponent(credentials.password) || undefined : undefined,
      tls: parsed.some((url) => url.protocol === "rediss:") ? {} : undefined,
    },
  });
}
