import type { ScriptedUpstream } from "../harness/upstream-server";
import { timeChunks } from "../harness/chunk-timer";
import { expect, fetchFragment, pastOneSecond, STORES, test } from "./fixtures";

async function cacheFirst(url: string, upstream: ScriptedUpstream, key: string) {
  upstream.script(key, { body: "first" });
  expect((await fetchFragment({ url }, key)).html).toContain(">first<");
}

for (const storeKind of STORES) {
  test.describe(`stale values on the ${storeKind} store`, () => {
    test.use({ storeKind });

    test("100 concurrent requests within grace get the stale value at once, and one refresh runs", async ({
      launch,
      upstream,
    }) => {
      const app = await launch({ FRAGMENTS: "st", CACHE_FRESH_SECONDS: "1", CACHE_GRACE_SECONDS: "60" });
      await cacheFirst(app.url, upstream, "st");
      await pastOneSecond();
      upstream.script("st", { body: "second" });
      const release = upstream.hold("st");

      const answers = await Promise.all(Array.from({ length: 100 }, () => fetchFragment(app, "st")));
      expect(
        answers.every(
          (answer) => answer.status === 200 && answer.html.includes(">first<") && answer.origin === "stale",
        ),
      ).toBe(true);
      // All answered while the one refresh is held at the upstream until release() below: none waited for it.
      await expect.poll(() => upstream.waiting("st")).toBe(1);
      expect(upstream.calls("st")).toBe(2);

      release();
      await expect.poll(() => upstream.answered("st")).toBe(2);
      await expect.poll(async () => (await fetchFragment(app, "st")).origin).toBe("hit");
      expect((await fetchFragment(app, "st")).html).toContain(">second<");
      expect(upstream.calls("st")).toBe(2);
    });

    for (const failure of ["failing", "timing out"] as const) {
      test(`serves the stale value while the upstream is ${failure}, backs off, and shows the error after grace`, async ({
        launch,
        upstream,
      }) => {
        const app = await launch({
          FRAGMENTS: "sf",
          CACHE_FRESH_SECONDS: "1",
          CACHE_GRACE_SECONDS: "3",
          // Grace alone: past it the error shows (fail-safe, which would keep the value, is tested on its own).
          CACHE_FAIL_SAFE_SECONDS: "0",
          UPSTREAM_TIMEOUT_MS: "300",
        });
        await cacheFirst(app.url, upstream, "sf");
        await pastOneSecond();
        upstream.script("sf", failure === "failing" ? { status: 500 } : { latencyMs: 1000 });

        const served: Array<string | undefined> = [];
        const until = performance.now() + 1800;
        while (performance.now() < until) {
          const answer = await fetchFragment(app, "sf");
          expect(answer.html).toContain(">first<");
          served.push(answer.origin);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(new Set(served)).toEqual(new Set(["stale"]));
        // Failures back off 1 s, then 2 s: at most two more calls in ~2 s, never one per request.
        expect(upstream.calls("sf") - 1).toBeGreaterThanOrEqual(1);
        expect(upstream.calls("sf") - 1).toBeLessThanOrEqual(2);
        expect(served.length).toBeGreaterThan(10);

        await expect.poll(async () => (await fetchFragment(app, "sf")).status, { timeout: 10_000 }).toBe(502);
      });
    }
  });
}

test.describe("stale, then fresh, in the same response", () => {
  const env = { FRAGMENTS: "sr", CACHE_FRESH_SECONDS: "1", CACHE_GRACE_SECONDS: "60", FRAGMENT_DEADLINE_MS: "2500" };

  test("the raw page carries the stale value at once, then the refreshed one when its call returns", async ({
    launch,
    upstream,
  }) => {
    const app = await launch(env);
    await cacheFirst(app.url, upstream, "sr");
    await pastOneSecond();
    upstream.script("sr", { body: "second", latencyMs: 600 });

    const response = await timeChunks(app.url);
    const stale = response.arrival(">first<");
    const fresh = response.arrival(">second<");
    expect(stale, "the stale value is in the response").toBeDefined();
    expect(fresh, "the refreshed value is in the same response").toBeDefined();
    expect(stale!).toBeLessThan(600);
    expect(fresh!).toBeGreaterThanOrEqual(600);
    expect(response.chunks.map((chunk) => chunk.text).join("")).toContain('data-origin="refreshed"');
    expect(upstream.calls("sr")).toBe(2);
  });

  test("a browser shows the stale value, then the fresh one without a reload, and says so", async ({
    page,
    launch,
    upstream,
  }) => {
    const app = await launch(env);
    await cacheFirst(app.url, upstream, "sr");
    await pastOneSecond();
    upstream.script("sr", { body: "second" });
    const release = upstream.hold("sr");

    await page.goto(app.url, { waitUntil: "commit" });
    const section = page.getByRole("region", { name: "Fragment sr" });
    await expect(section.getByText("first", { exact: true })).toBeVisible();
    await expect(section.getByText(/^stale, refreshing ·/)).toBeVisible();
    release();
    await expect(section.getByText("second", { exact: true })).toBeVisible();
    await expect(section.getByText(/^refreshed while you waited ·/)).toBeVisible();
    const row = page.getByRole("figure").locator('[data-timeline="sr"]');
    await expect(row).toHaveAttribute("data-outcome", "refreshed");
  });

  test("a refresh slower than the deadline leaves the stale value, and still fills the cache for the next view", async ({
    launch,
    upstream,
  }) => {
    const app = await launch({ ...env, FRAGMENT_DEADLINE_MS: "400" });
    await cacheFirst(app.url, upstream, "sr");
    await pastOneSecond();
    upstream.script("sr", { body: "second", latencyMs: 900 });

    const response = await timeChunks(app.url);
    const body = response.chunks.map((chunk) => chunk.text).join("");
    expect(body).toContain(">first<");
    expect(body).not.toContain(">second<");
    expect(response.chunks.at(-1)!.at).toBeLessThan(900);
    await expect.poll(() => upstream.answered("sr")).toBe(2);
    await expect.poll(async () => (await fetchFragment(app, "sr")).html).toContain(">second<");
  });
});
