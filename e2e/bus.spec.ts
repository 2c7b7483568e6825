import { startRedisTarget } from "../harness/redis-targets";
import { expect, fetchFragment, purgeCache, SHARED_STORES, storeAnswers, test } from "./fixtures";

const ADMIN_TOKEN = "bus-admin-token-0123456789";

/** An instance's bus, as its health detail reports it. */
async function busOf(app: { url: string }): Promise<{ state: string; events?: number; resumed?: number }> {
  return ((await (await fetch(`${app.url}/api/health`)).json()) as { bus: { state: string } }).bus;
}

async function busUp(app: { url: string }): Promise<void> {
  await expect.poll(async () => (await busOf(app)).state, { message: "the bus is up", timeout: 15_000 }).toBe("up");
}

/**
 * How long after `since` a view of `name` on `app` first stops showing the value `purged` held (ms), looking as
 * fast as views answer: it then misses, waits on another instance's load, or finds that load's new value.
 */
async function msUntilGone(app: { url: string }, name: string, purged: string, since: number): Promise<number> {
  for (;;) {
    const at = performance.now();
    const { origin, html } = await fetchFragment(app, name);
    if (origin !== "hit" || !html.includes(purged)) return at - since;
    if (at - since > 10_000) throw new Error(`"${name}" still shows "${purged}" 10 s after the purge`);
  }
}

for (const storeKind of SHARED_STORES) {
  test.describe(`the fleet's bus on ${storeKind}`, () => {
    test.use({ storeKind });

    test("a purge on one instance reaches the next view on the others within milliseconds, under the default trust window", async ({
      launch,
      upstream,
    }) => {
      const env = { FRAGMENTS: "q", CACHE_ADMIN_TOKEN: ADMIN_TOKEN, REDIS_TIMEOUT_MS: "2000" };
      const apps = [await launch(env), await launch(env), await launch(env)];
      for (const app of apps) await storeAnswers(app);
      for (const app of apps) await busUp(app);
      const [purger, ...others] = apps;
      const lags: number[] = [];
      for (let trial = 0; trial < 5; trial += 1) {
        const value = `value of trial ${trial}`;
        upstream.script("q", { body: value });
        for (const app of apps) await fetchFragment(app, "q");
        for (const app of others)
          expect((await fetchFragment(app, "q")).html, "warm before the purge").toContain(value);
        upstream.script("q", { body: "a later value" });
        expect((await purgeCache(purger!, { fragment: "q" }, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
        const purged = performance.now();
        lags.push(...(await Promise.all(others.map((app) => msUntilGone(app, "q", value, purged)))));
        await purgeCache(purger!, { fragment: "q" }, `Bearer ${ADMIN_TOKEN}`);
      }
      console.info(`purge → miss elsewhere on ${storeKind}: ${lags.map(Math.round).join(", ")} ms`);
      // Without the bus the others would serve their copy for up to CACHE_LOCAL_TRUST_SECONDS (5 s).
      expect(Math.max(...lags)).toBeLessThan(1000);
      expect(upstream.calls("q"), "two loads per trial, each shared by the fleet").toBeLessThanOrEqual(10);
    });

    test("pages keep answering while the bus's subscriptions are killed, and the bus comes back on its own", async ({
      launch,
      upstream,
      redisStack,
      nativeRedis,
    }) => {
      const env = { FRAGMENTS: "q", CACHE_ADMIN_TOKEN: ADMIN_TOKEN, REDIS_TIMEOUT_MS: "2000" };
      const [first, second] = [await launch(env), await launch(env)];
      for (const app of [first, second]) await busUp(app!);
      await fetchFragment(first!, "q");
      const kill = () =>
        redisStack ? redisStack.client.call("CLIENT", "KILL", "TYPE", "pubsub") : nativeRedis!.killSubscribers();
      await kill();
      const statuses = new Set<number>();
      for (let view = 0; view < 20; view += 1) {
        for (const app of [first, second]) statuses.add((await fetch(`${app!.url}/`)).status);
      }
      expect([...statuses]).toEqual([200]);
      for (const app of [first, second]) {
        await expect
          .poll(async () => busOf(app!), { message: "resubscribed", timeout: 15_000 })
          .toMatchObject({ state: "up", resumed: 1 });
      }
      // And it carries purges again.
      const { html } = await fetchFragment(second!, "q");
      expect(html).toContain("result for q");
      upstream.script("q", { body: "a later value" });
      expect((await purgeCache(first!, { fragment: "q" }, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
      expect(await msUntilGone(second!, "q", "result for q", performance.now())).toBeLessThan(1000);
    });
  });
}

test("pages answer 200 throughout a Cluster failover, and caching on the promoted master resumes on its own", async ({
  launch,
  upstream,
}) => {
  test.setTimeout(120_000);
  const target = await startRedisTarget("redis-cluster", { replicas: 1 });
  try {
    const [master] = target.cluster!.nodes;
    const [replica] = target.cluster!.replicas;
    // A fragment whose entry lives on the first master's slots (0–5460), and two elsewhere or anywhere.
    let onFirst = "";
    for (let index = 0; !onFirst; index += 1) {
      if (Number(await target.client.cluster("KEYSLOT", `g${index}`)) <= 5460) onFirst = `g${index}`;
    }
    const names = [onFirst, "f1", "f2"];
    const env = { ...target.appEnv, FRAGMENTS: names.join(","), CACHE_FRESH_SECONDS: "1" };
    const apps = [await launch(env), await launch(env)];
    for (const app of apps) await busUp(app);
    const entry = `workerless:v4:find:{${onFirst}}`;
    for (const app of apps) expect((await fetch(`${app.url}/`)).status).toBe(200);
    await expect.poll(() => replica!.pttl(entry), { message: "the replica holds the entry" }).toBeGreaterThan(0);
    const killed = performance.now();
    await master!.kill();
    const leftAtKill = await replica!.pttl(entry);
    const statuses: number[] = [];
    let cachedAgainMs: number | undefined;
    // Pages every 100 ms on both instances. Values go stale each second and are refreshed: a refresh stored
    // on the promoted replica resets the entry's time to live there (nothing replicates to it any more).
    while (performance.now() - killed < 30_000 && cachedAgainMs === undefined) {
      const pages = await Promise.all(apps.map((app) => fetch(`${app.url}/`).then((response) => response.status)));
      statuses.push(...pages);
      // While the cluster is down the replica answers CLUSTERDOWN even to a read.
      if ((await replica!.pttl(entry).catch(() => -2)) > leftAtKill) cachedAgainMs = performance.now() - killed;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(cachedAgainMs, "a refresh stored on the promoted replica").toBeDefined();
    for (const app of apps) await busUp(app);
    console.info(
      `Cluster failover: ${statuses.length} pages, all 200; the promoted master's slots cached again ${Math.round(cachedAgainMs!)} ms after the kill`,
    );
    expect(upstream.calls(onFirst)).toBeGreaterThan(1);
  } finally {
    await target.stop();
  }
});
