import type { AppServer } from "../harness/app-server";
import type { RedisStack } from "../harness/redis-stack";
import { expect, test } from "./fixtures";

test.use({ storeKind: "upstash" });

const FRAGMENTS = ["f1", "f2", "f3"];
const REDIS_TIMEOUT_MS = 300;
const env = { FRAGMENTS: FRAGMENTS.join(","), REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS), REDIS_COOLDOWN_MS: "500" };

/** Loads the page `count` times, one after another; each must be 200 with every fragment's value. */
async function loadPages(app: AppServer, count: number) {
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    const response = await fetch(app.url);
    const body = await response.text();
    times.push(performance.now() - started);
    expect(response.status).toBe(200);
    for (const name of FRAGMENTS) expect(body, name).toContain(`result for ${name}`);
  }
  return times;
}

const worst = (times: number[]) => Math.round(Math.max(...times));

/**
 * Lookups land in Redis again once its circuit closes, with no restart: the restarted Redis holds nothing,
 * and the app's own copy, re-checked past its trust window, is found gone and loaded into Redis again.
 */
async function expectCachingResumes(app: AppServer, stack: RedisStack) {
  await expect
    .poll(
      async () => {
        await (await fetch(`${app.url}/fragment/f2`)).text();
        return stack.client.exists("workerless:v4:find:{f2}").catch(() => 0);
      },
      { timeout: 15_000 },
    )
    .toBe(1);
}

test("every page answers when Redis is stopped before the app starts, and caching resumes when it returns", async ({
  launch,
  redisStack,
}) => {
  await redisStack!.redis.stop();
  const app = await launch(env);
  const times = await loadPages(app, 20);
  expect(worst(times)).toBeLessThan(4 * REDIS_TIMEOUT_MS + 500);

  await redisStack!.redis.start();
  await expectCachingResumes(app, redisStack!);
  console.info(`Redis stopped before start: 20/20 pages 200, worst ${worst(times)} ms`);
});

test("every page answers when Redis stops mid-run, and caching resumes when it returns", async ({
  launch,
  redisStack,
  upstream,
}) => {
  const app = await launch(env);
  await loadPages(app, 3);
  await redisStack!.redis.stop();
  const times = await loadPages(app, 20);
  expect(upstream.calls(), "the in-process tier still serves").toBe(3);
  // An instance with nothing cached, started while Redis is down: every key is cold for it.
  const fresh = await launch(env);
  const cold = await fetch(`${fresh.url}/fragment/f1`);
  expect(cold.status).toBe(200);

  await redisStack!.redis.start();
  await expectCachingResumes(app, redisStack!);
  console.info(`Redis stopped mid-run: 20/20 pages 200, worst ${worst(times)} ms`);
});

test("every page answers within the budget while Redis stalls", async ({ launch, redisStack }) => {
  const app = await launch(env);
  await loadPages(app, 1);
  // A second instance with nothing cached: its lookups during the stall are cold and must claim in Redis.
  const fresh = await launch(env);
  // A stalled Redis: the server sleeps and answers nothing for 3 s.
  const stall = redisStack!.client.call("DEBUG", "SLEEP", "3");
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = performance.now();
  const responses = await Promise.all(
    Array.from({ length: 10 }, async (_, index) => {
      const begun = performance.now();
      const response = await fetch(`${fresh.url}/fragment/${FRAGMENTS[index % FRAGMENTS.length]}`);
      await response.text();
      return { status: response.status, ms: performance.now() - begun };
    }),
  );
  const cold = await loadPages(app, 5);
  expect(performance.now() - started, "all done while Redis still sleeps").toBeLessThan(3000);
  expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
  const times = [...responses.map((response) => response.ms), ...cold];
  expect(worst(times)).toBeLessThan(4 * REDIS_TIMEOUT_MS + 500);
  await stall;
  console.info(`Redis stalled: 15/15 requests 200, worst ${worst(times)} ms`);
});
