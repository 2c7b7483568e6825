import { Cluster, Redis } from "ioredis";
import type { StoreKind } from "../lib/stores/store";
import { startFaultProxy, type FaultProxy } from "./fault-proxy";
import { startRedisCluster, type RedisClusterHandle, type RedisClusterOptions } from "./redis-cluster";
import { startRedisServer } from "./redis-server";
import { startRedisStack } from "./redis-stack";

/** How a store client reaches a target: through the proxy where there is one. */
export type TargetAddress =
  | { kind: "upstash"; url: string; token: string }
  | { kind: "redis"; url: string }
  | { kind: "redis-cluster"; urls: string[] };

/**
 * One kind of shared store on real servers, for tests and the bench: where clients reach it, a direct
 * view of the data, and an outage on demand.
 */
export type RedisTarget = {
  kind: StoreKind;
  address: TargetAddress;
  /** What an app process needs to use this store (straight to the server, not through the proxy). */
  appEnv: Record<string, string>;
  /** Keys matching a glob, on every node. */
  keys(pattern: string): Promise<string[]>;
  /** A direct client for other assertions and for planting keys. */
  client: Redis | Cluster;
  flush(): Promise<void>;
  /** `CLIENT KILL TYPE pubsub` on every node: every subscriber's connection is closed; resolves with how many. */
  killSubscribers(): Promise<number>;
  /**
   * In front of the one server the clients talk to (the REST bridge, or redis-server): counts round trips
   * and holds replies. None for a cluster, whose clients reach each node at the address it announces.
   */
  proxy?: FaultProxy;
  /** The cluster itself, to take one master away. */
  cluster?: RedisClusterHandle;
  /** Takes the store away (every node), and brings it back answering. */
  outage(): Promise<void>;
  restore(): Promise<void>;
  stop(): Promise<void>;
};

export const STORE_KINDS: StoreKind[] = ["upstash", "redis", "redis-cluster"];

/** `cluster`: how a Cluster is made (with replicas, for failover); ignored by the other kinds. */
export async function startRedisTarget(kind: StoreKind, cluster: RedisClusterOptions = {}): Promise<RedisTarget> {
  if (kind === "upstash") {
    const stack = await startRedisStack();
    const proxy = await startFaultProxy({ port: Number(new URL(stack.bridgeUrl).port) });
    return {
      kind,
      address: { kind, url: `http://127.0.0.1:${proxy.port}`, token: stack.token },
      appEnv: stack.env,
      keys: (pattern) => stack.client.keys(pattern),
      client: stack.client,
      flush: async () => void (await stack.client.flushall()),
      killSubscribers: () => killSubscribersOn(stack.client),
      proxy,
      outage: () => stack.redis.stop(),
      restore: () => stack.redis.start(),
      async stop() {
        await proxy.close();
        await stack.stop();
      },
    };
  }
  if (kind === "redis") {
    const server = await startRedisServer();
    const proxy = await startFaultProxy({ port: server.port });
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    // Outages are taken on purpose: the assertion client's reconnection errors are expected.
    client.on("error", () => undefined);
    return {
      kind,
      address: { kind, url: `redis://127.0.0.1:${proxy.port}` },
      appEnv: { REDIS_URL: server.url },
      keys: (pattern) => client.keys(pattern),
      client,
      flush: async () => void (await client.flushall()),
      killSubscribers: () => killSubscribersOn(client),
      proxy,
      outage: () => server.stop(),
      restore: () => server.start(),
      async stop() {
        client.disconnect();
        await proxy.close();
        await server.stop();
      },
    };
  }
  const nodes = await startRedisCluster(cluster);
  let client = clusterClient(nodes.urls);
  return {
    kind,
    address: { kind, urls: nodes.urls.split(",") },
    appEnv: { REDIS_CLUSTER_URLS: nodes.urls },
    keys: async (pattern) => (await nodes.keysPerNode(pattern)).flat().sort(),
    get client() {
      return client;
    },
    cluster: nodes,
    flush: () => nodes.flushAll(),
    killSubscribers: () => nodes.killSubscribers(),
    outage: async () => void (await Promise.all(nodes.nodes.map((node) => node.stop()))),
    async restore() {
      await Promise.all(nodes.nodes.map((node) => node.start()));
      await nodes.waitUntilHealthy();
      // A client that saw every node go can keep a stale map of the cluster: assertions use a new one.
      client.disconnect();
      client = clusterClient(nodes.urls);
    },
    async stop() {
      client.disconnect();
      await nodes.stop();
    },
  };
}

async function killSubscribersOn(client: Redis): Promise<number> {
  return Number(await client.call("CLIENT", "KILL", "TYPE", "pubsub"));
}

function clusterClient(urls: string): Cluster {
  return new Cluster(urls.split(",").map((url) => ({ host: "127.0.0.1", port: Number(new URL(url).port) })));
}
