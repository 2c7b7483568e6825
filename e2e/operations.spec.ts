import { expect, storeAnswers, test } from "./fixtures";

const METRICS_TOKEN = "operations-metrics-token-0123456789";

/** PINGs redis-server has answered since its counters were last reset. */
async function pings(info: Promise<string>): Promise<number> {
  return Number(/cmdstat_ping:calls=(\d+)/.exec(await info)?.[1] ?? 0);
}

test.describe("liveness and readiness", () => {
  test.use({ storeKind: "upstash" });

  test("with Redis down the process is live and pages render, but it is not ready until Redis answers again", async ({
    launch,
    redisStack,
  }) => {
    const app = await launch({ FRAGMENTS: "lr" });
    expect((await fetch(`${app.url}/api/health/ready`)).status).toBe(200);

    await redisStack!.redis.stop();
    const live = await fetch(`${app.url}/api/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ live: true });
    const page = await fetch(app.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("result for lr");
    await expect.poll(async () => (await fetch(`${app.url}/api/health/ready`)).status, { timeout: 3000 }).toBe(503);
    const ready = await fetch(`${app.url}/api/health/ready`);
    expect(await ready.json()).toMatchObject({ ready: false, store: "upstash", ok: false });

    await redisStack!.redis.start();
    await expect.poll(async () => (await fetch(`${app.url}/api/health/ready`)).status, { timeout: 5000 }).toBe(200);
  });

  test("probes poll Redis at most about once a second, however often they are asked", async ({
    launch,
    redisStack,
  }) => {
    const app = await launch({ FRAGMENTS: "pr" });
    await fetch(`${app.url}/api/health/ready`);
    await redisStack!.client.config("RESETSTAT");
    const started = performance.now();
    for (let round = 0; round < 10; round += 1) {
      const answers = await Promise.all(
        ["ready", "ready", "", ""].map((path) => fetch(`${app.url}/api/health${path ? `/${path}` : ""}`)),
      );
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    }
    const elapsedSeconds = (performance.now() - started) / 1000;
    expect(await pings(redisStack!.client.info("commandstats"))).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 1);
  });
});

test("the embedded store's probe writes nothing into the cache", async ({ launch, upstream }) => {
  // A tier of one entry: a probe that stored anything, even for a moment, would evict the cached fragment.
  const app = await launch({ FRAGMENTS: "m", CACHE_MAX_ENTRIES: "1" });
  await (await fetch(`${app.url}/fragment/m`)).text();
  // Waiting on real time is the point: past the second a probe is reused, the next one runs.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  for (let index = 0; index < 3; index += 1) {
    const health = await (await fetch(`${app.url}/api/health`)).json();
    expect(health).toMatchObject({ store: "memory", ok: true, local: { entries: 1 } });
  }
  expect((await fetch(`${app.url}/api/health/ready`)).status).toBe(200);
  expect((await fetch(`${app.url}/fragment/m`)).headers.get("server-timing")).toContain('cache;desc="hit"');
  expect(upstream.calls("m")).toBe(1);
});

test.describe("health detail", () => {
  test.use({ storeKind: "upstash" });

  test("with METRICS_TOKEN set, anyone gets ok and the status; the token's holder gets the store, circuit and counters", async ({
    launch,
    redisStack,
  }) => {
    const app = await launch({ FRAGMENTS: "hd", METRICS_TOKEN });
    await storeAnswers(app);
    const health = (authorization?: string) =>
      fetch(`${app.url}/api/health`, authorization ? { headers: { authorization } } : {});
    for (const authorization of [undefined, `Bearer ${METRICS_TOKEN}x`, `Basic ${METRICS_TOKEN}`]) {
      const answer = await health(authorization);
      expect(answer.status, String(authorization)).toBe(200);
      expect(await answer.json(), String(authorization)).toEqual({ ok: true });
    }
    const detailed = await health(`Bearer ${METRICS_TOKEN}`);
    expect(detailed.status).toBe(200);
    expect(await detailed.json()).toMatchObject({
      store: "upstash",
      ok: true,
      breaker: "closed",
      counters: { hits: 0, storeErrors: 0 },
    });

    // What a load balancer acts on still shows: the status, and ok.
    await redisStack!.redis.stop();
    await expect.poll(async () => (await health()).status, { timeout: 3000 }).toBe(503);
    expect(await (await health()).json()).toEqual({ ok: false });
    expect(await (await health(`Bearer ${METRICS_TOKEN}`)).json()).toMatchObject({
      store: "upstash",
      ok: false,
      error: expect.any(String),
    });
  });
});

test("without METRICS_TOKEN, health shows its detail to anyone", async ({ launch }) => {
  const app = await launch({ FRAGMENTS: "ho" });
  const answer = await fetch(`${app.url}/api/health`);
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({
    store: "memory",
    ok: true,
    breaker: "none",
    local: { entries: 0 },
    counters: { hits: 0 },
  });
});

test.describe("metrics", () => {
  test("with METRICS_TOKEN set, the metrics need it: 401 without, 403 wrong, 200 with", async ({ launch }) => {
    const app = await launch({ FRAGMENTS: "mt", METRICS_TOKEN });
    const missing = await fetch(`${app.url}/api/metrics`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect(await missing.text()).not.toContain("workerless_");
    const wrong = await fetch(`${app.url}/api/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(403);
    const right = await fetch(`${app.url}/api/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain("workerless_cache_hits_total");
  });

  test("without METRICS_TOKEN they are open", async ({ launch }) => {
    const app = await launch({ FRAGMENTS: "mo" });
    const response = await fetch(`${app.url}/api/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("workerless_cache_hits_total");
  });
});

test("a fragment's Server-Timing names its cache outcome and its time on the server", async ({ launch, upstream }) => {
  upstream.script("st", { latencyMs: 150 });
  const app = await launch({ FRAGMENTS: "st" });
  const timing = async () => (await fetch(`${app.url}/fragment/st`)).headers.get("server-timing") ?? "";
  const cold = await timing();
  expect(cold).toMatch(/^cache;desc="miss", lookup;desc="fragment lookup";dur=\d+$/);
  expect(Number(/dur=(\d+)/.exec(cold)?.[1])).toBeGreaterThanOrEqual(150);
  expect(await timing()).toMatch(/^cache;desc="hit", lookup;desc="fragment lookup";dur=\d+$/);
});
