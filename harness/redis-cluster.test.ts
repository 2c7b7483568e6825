import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startRedisCluster, type RedisClusterHandle } from "./redis-cluster";

/** The master serving `key`, by its index in `cluster.nodes` (they are in slot order). */
async function ownerOf(cluster: RedisClusterHandle, key: string): Promise<number> {
  const slot = Number(await cluster.client.cluster("KEYSLOT", key));
  return slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2;
}

/** A key served by master `index`. */
async function keyOn(cluster: RedisClusterHandle, index: number, prefix: string): Promise<string> {
  for (let i = 0; ; i += 1) {
    if ((await ownerOf(cluster, `${prefix}${i}`)) === index) return `${prefix}${i}`;
  }
}

async function onNode<T>(url: string, command: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}

const keysOnNode = (url: string) => onNode(url, (redis) => redis.dbsize());

async function untilClusterFails(url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!String(await onNode(url, (redis) => redis.cluster("INFO"))).includes("cluster_state:fail\r\n")) {
    if (performance.now() > deadline) throw new Error(`${url} not cluster_state:fail within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("startRedisCluster", () => {
  let cluster: RedisClusterHandle;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  beforeEach(async () => {
    await cluster.flushAll();
  });

  it("gives three masters covering every slot, seeded by its urls", async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.urls).toBe(cluster.nodes.map((node) => `redis://127.0.0.1:${node.port}`).join(","));
    const masters = (await cluster.client.cluster("SHARDS")) as unknown[];
    expect(masters).toHaveLength(3);
  });

  it("spreads keys over all three masters and keeps a hash tag on one slot", async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `key:${i}`);
    await Promise.all(keys.map((key) => cluster.client.set(key, "v")));
    const counts = await Promise.all(cluster.nodes.map((node) => keysOnNode(node.url)));
    expect(counts.every((count) => count > 0)).toBe(true);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(30);

    const tagged = ["{a}:one", "{a}:two", "x{a}y"];
    const slots = await Promise.all(tagged.map((key) => cluster.client.cluster("KEYSLOT", key)));
    expect(new Set(slots).size).toBe(1);
    // One slot, so a multi-key command works on them.
    await cluster.client.mset("{a}:one", "1", "{a}:two", "2");
    expect(await cluster.client.mget("{a}:one", "{a}:two")).toEqual(["1", "2"]);
  });

  it("fails fast while a master is down, and serves its slots again after a restart", async () => {
    const [up, down] = cluster.nodes;
    if (!up || !down) throw new Error("The cluster has fewer than two nodes");
    const key = await keyOn(cluster, 1, "k");
    const otherKey = await keyOn(cluster, 0, "k");
    await cluster.client.set(key, "before");

    await down.stop();
    let startedAt = performance.now();
    await expect(cluster.client.get(key)).rejects.toThrow();
    expect(performance.now() - startedAt).toBeLessThan(2_000);

    // Once the others agree the master failed (after the 2 s node timeout), the whole cluster is down:
    // without replicas, not every slot is served, and a cluster requires full coverage by default.
    await untilClusterFails(up.url, 6_000);
    await expect(onNode(up.url, (redis) => redis.get(otherKey))).rejects.toThrow(/CLUSTERDOWN/);
    await expect(cluster.client.get(otherKey)).rejects.toThrow();

    startedAt = performance.now();
    await down.start();
    await cluster.waitUntilHealthy();
    expect(performance.now() - startedAt).toBeLessThan(8_000);
    // Nothing is persisted: the restarted master comes back empty, with its slots.
    expect(await cluster.client.get(key)).toBeNull();
    await cluster.client.set(key, "after");
    expect(await cluster.client.get(key)).toBe("after");
    expect(await keysOnNode(down.url)).toBe(1);
  });

  it("comes back from a short restart", async () => {
    const node = cluster.nodes[2];
    if (!node) throw new Error("The cluster has no third node");
    const key = await keyOn(cluster, 2, "k");
    await node.stop();
    await node.start();
    await cluster.waitUntilHealthy();
    await cluster.client.set(key, "v");
    expect(await cluster.client.get(key)).toBe("v");
  });
});
