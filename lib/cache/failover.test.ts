import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startStoreBackend, type StoreBackend } from "../../harness/store-backends";
import type { Loader } from ".";
import { FLEET_POLICY, fleetInstance } from "../../harness/cache-fleet";

const NAMESPACE = "failover-test:v1";

const POLICY = FLEET_POLICY;
const load: Loader = async () => "value";

beforeEach(() => {
  // The app's log lines (store errors while the master is gone); the figure below goes to the test's output.
  vi.spyOn(console, "warn").mockImplementation(() => {});
  vi.spyOn(console, "info").mockImplementation((...line: unknown[]) => {
    if (String(line[0]).startsWith("failover:")) process.stdout.write(`${String(line[0])}\n`);
  });
});

describe("a fleet on a Redis Cluster whose master dies and whose replica takes over", () => {
  let backend: StoreBackend;
  const background: Array<Promise<unknown>> = [];

  beforeAll(async () => {
    backend = await startStoreBackend("redis-cluster", { replicas: 1 });
  }, 60_000);

  afterAll(async () => {
    await backend?.stop();
  });

  const instance = () =>
    fleetInstance(backend, { namespace: NAMESPACE, timeoutMs: 300, keepAlive: (task) => background.push(task) });

  /** Keys served by the first master (slots 0–5460), as the cache names its entries. */
  async function keysOnFirstMaster(prefix: string, count: number): Promise<string[]> {
    const keys: string[] = [];
    for (let index = 0; keys.length < count; index += 1) {
      if (Number(await backend.client.cluster("KEYSLOT", `${prefix}${index}`)) <= 5460) keys.push(`${prefix}${index}`);
    }
    return keys;
  }

  it("answers every lookup throughout, resubscribes the bus to the promoted master, and caches on its slots again", async () => {
    const cluster = backend.cluster!;
    const [a, b] = [instance(), instance()];
    try {
      await vi.waitFor(() => expect([a.busStats?.state, b.busStats?.state]).toEqual(["up", "up"]), {
        timeout: 10_000,
      });
      const [master] = cluster.nodes;
      const [replica] = cluster.replicas;
      const killed = performance.now();
      await master!.kill();
      // Lookups every 50 ms on both instances until the promoted replica stores the new keys again.
      let round = 0;
      let cachedAgainMs: number | undefined;
      const failures: unknown[] = [];
      while (cachedAgainMs === undefined && performance.now() - killed < 30_000) {
        const keys = await keysOnFirstMaster(`round-${round}-`, 4);
        const settled = await Promise.allSettled(
          keys.flatMap((key) => [a, b].map((cache) => cache.get(key, load, POLICY))),
        );
        failures.push(...settled.filter((result) => result.status === "rejected"));
        await Promise.all(background.splice(0));
        const stored = await replica!.keys(`${NAMESPACE}:find:{round-${round}-*`).catch(() => []);
        if (stored.length === keys.length) cachedAgainMs = performance.now() - killed;
        round += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(failures, "no lookup failed during the failover").toEqual([]);
      expect(cachedAgainMs, "the promoted replica caches its slots again").toBeDefined();
      console.info(`failover: slots cached again ${Math.round(cachedAgainMs!)} ms after the master was killed`);
      // The bus heard on the new shard owner: a purge on A of a key on those slots reaches B.
      await vi.waitFor(() => expect([a.busStats?.state, b.busStats?.state]).toEqual(["up", "up"]), {
        timeout: 10_000,
      });
      const [key] = await keysOnFirstMaster("after-", 1);
      await a.get(key!, load, POLICY);
      await b.get(key!, load, POLICY);
      await Promise.all(background.splice(0));
      expect((await b.get(key!, load, POLICY)).origin).toBe("hit");
      await a.purge({ key: key! });
      await vi.waitFor(async () => expect((await b.get(key!, load, POLICY)).origin).not.toBe("hit"), {
        timeout: 1000,
        interval: 5,
      });
    } finally {
      a.close();
      b.close();
    }
  }, 60_000);
});
