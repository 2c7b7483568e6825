import { expect, SHARED_STORES, test } from "./fixtures";
import { timeChunks } from "../harness/chunk-timer";

for (const storeKind of SHARED_STORES) {
  test.describe(`caching in ${storeKind}`, () => {
    test.use({ storeKind });

    test("caches each fragment in Redis under a hash-tagged key with an expiry", async ({
      page,
      launch,
      upstream,
      sharedRedis,
    }) => {
      upstream.script("k1", { latencyMs: 100 });
      upstream.script("k2", { latencyMs: 200 });
      const app = await launch({
        FRAGMENTS: "k1,k2",
        CACHE_FRESH_SECONDS: "30",
        CACHE_GRACE_SECONDS: "60",
        CACHE_FAIL_SAFE_SECONDS: "120",
      });

      await page.goto(app.url);
      await expect(page.getByText("result for k2", { exact: true })).toBeVisible();

      const { client, keys } = sharedRedis!;
      // Written to Redis right after the value reached the page.
      await expect
        .poll(async () => (await keys("workerless:v4:find:*")).sort())
        .toEqual(["workerless:v4:find:{k1}", "workerless:v4:find:{k2}"]);
      // Kept fresh + max(grace, fail-safe): the last good value outlives an outage of the upstream.
      const ttl = await client.pttl("workerless:v4:find:{k1}");
      expect(ttl).toBeGreaterThan(140_000);
      expect(ttl).toBeLessThanOrEqual(150_000);
      const stored = JSON.parse((await client.get("workerless:v4:find:{k1}")) ?? "{}") as { value?: string };
      // Values are kept as JSON text: a text fragment's is a JSON string.
      expect(JSON.parse(stored.value ?? "null")).toBe("result for k1");
      await expect.poll(() => keys("workerless:v4:lease:*"), { message: "leases are released" }).toEqual([]);

      const health = await (await fetch(`${app.url}/api/health`)).json();
      expect(health).toMatchObject({ store: storeKind, ok: true, breaker: "closed" });
    });

    test("health answers 503 when Redis does not answer, and pages still render", async ({ launch, sharedRedis }) => {
      const app = await launch({ FRAGMENTS: "h" });
      await sharedRedis!.outage();
      // A probe's answer is reused for a second: the outage shows from the next probe on.
      await expect.poll(async () => (await fetch(`${app.url}/api/health`)).status, { timeout: 3000 }).toBe(503);
      const response = await fetch(`${app.url}/api/health`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ store: storeKind, ok: false });
      const page = await fetch(app.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("result for h");
    });
  });
}

test.describe("on Upstash", () => {
  test.use({ storeKind: "upstash" });

  test("a fresh instance sends what another cached in Redis inside its shell, with no spinner", async ({
    launch,
    upstream,
    redisStack,
  }) => {
    upstream.script("r1", { latencyMs: 200 });
    upstream.script("r2", { latencyMs: 400 });
    // A generous hold, so the check is about what the shell carries rather than how fast Redis answers here.
    const env = { FRAGMENTS: "r1,r2", CACHE_FRESH_SECONDS: "60", SHELL_HOLD_MS: "1000" };
    const first = await launch(env);
    await (await fetch(first.url)).text();
    await expect.poll(async () => (await redisStack!.client.keys("workerless:v4:find:*")).length).toBe(2);

    const second = await launch(env);
    const response = await timeChunks(`${second.url}/`);
    const shell = response.chunks[0]?.text ?? "";
    expect(shell).toContain("result for r1");
    expect(shell).toContain("result for r2");
    expect(shell).not.toContain('aria-label="Loading Fragment');
    expect(upstream.calls("r1") + upstream.calls("r2")).toBe(2);
  });

  test("a part that needs the upstream does not hold the shell, for the request that loads it or one that joins", async ({
    launch,
    upstream,
  }) => {
    upstream.script("slow", { latencyMs: 1500 });
    const app = await launch({ FRAGMENTS: "slow,warm-up", SHELL_HOLD_MS: "1000" });
    // The first request to a fresh server loads its code; time the next ones, with a cold key again.
    await (await fetch(`${app.url}/fragment/warm-up`)).text();
    const responses = await Promise.all([timeChunks(`${app.url}/`), timeChunks(`${app.url}/`)]);
    for (const response of responses) {
      expect(response.arrival('aria-label="Loading Fragment slow"')).toBeLessThan(500);
      expect(response.arrival("result for slow")).toBeGreaterThanOrEqual(1400);
    }
    expect(upstream.calls("slow")).toBe(1);
  });
});
