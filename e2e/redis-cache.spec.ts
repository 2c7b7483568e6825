import { expect, test } from "./fixtures";

test.use({ storeKind: "upstash" });

test("caches each fragment in Redis under a namespaced key with an expiry", async ({ page, launch, upstream, redisStack }) => {
  upstream.script("k1", { latencyMs: 100 });
  upstream.script("k2", { latencyMs: 200 });
  const app = await launch({ FRAGMENTS: "k1,k2", CACHE_TTL_SECONDS: "30", CACHE_GRACE_SECONDS: "60" });

  await page.goto(app.url);
  await expect(page.getByText("result for k2", { exact: true })).toBeVisible();

  const client = redisStack!.client;
  // Written to Redis right after the value reached the page.
  await expect
    .poll(async () => (await client.keys("workerless:v1:find:*")).sort())
    .toEqual(["workerless:v1:find:k1", "workerless:v1:find:k2"]);
  const ttl = await client.pttl("workerless:v1:find:k1");
  expect(ttl).toBeGreaterThan(80_000);
  expect(ttl).toBeLessThanOrEqual(90_000);
  const stored = JSON.parse((await client.get("workerless:v1:find:k1")) ?? "{}") as { value?: string };
  expect(stored.value).toBe("result for k1");
  await expect.poll(() => client.keys("workerless:v1:lease:*"), { message: "leases are released" }).toEqual([]);

  const health = await (await fetch(`${app.url}/api/health`)).json();
  expect(health).toMatchObject({ store: "upstash", ok: true });
});

test("health answers 503 when Redis does not answer", async ({ launch, redisStack }) => {
  const app = await launch({ FRAGMENTS: "h" });
  await redisStack!.redis.stop();
  const response = await fetch(`${app.url}/api/health`);
  expect(response.status).toBe(503);
  expect(await response.json()).toMatchObject({ store: "upstash", ok: false });
});
