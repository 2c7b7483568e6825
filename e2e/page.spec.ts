import { request } from "node:http";
import type { Page } from "@playwright/test";
import { expect, STORES, test } from "./fixtures";

/** A GET whose path reaches the server byte for byte: URL parsers would resolve `%2e%2e` and the like. */
function rawGet(port: number, path: string): Promise<{ status: number; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path }, (response) => {
      response.resume();
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, contentType: String(response.headers["content-type"]) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

const region = (page: Page, name: string) => page.getByRole("region", { name: `Fragment ${name}` });
const spinner = (page: Page, name: string) =>
  region(page, name).getByRole("status", { name: `Loading Fragment ${name}` });
const value = (page: Page, name: string) => region(page, name).getByText(`result for ${name}`, { exact: true });

for (const storeKind of STORES) {
  test.describe(`the page on the ${storeKind} store`, () => {
    test.use({ storeKind });

    test("shows every spinner first, then each fragment on its own, in completion order", async ({
      page,
      launch,
      upstream,
    }) => {
      // Each answer is held until the test lets it go, so the order is the test's, whatever the machine's speed.
      const release = { slow: upstream.hold("slow"), fast: upstream.hold("fast"), mid: upstream.hold("mid") };
      const app = await launch({ FRAGMENTS: "slow,fast,mid", FRAGMENT_DEADLINE_MS: "30000" });
      const clientFetches: string[] = [];
      page.on("request", (request) => {
        if (["fetch", "xhr"].includes(request.resourceType())) clientFetches.push(request.url());
      });

      const response = await page.goto(app.url, { waitUntil: "commit" });
      expect(response?.status()).toBe(200);
      await expect(page.getByRole("heading", { level: 1, name: "Workerless" })).toBeVisible();
      for (const name of ["slow", "fast", "mid"]) await expect(spinner(page, name)).toBeVisible();

      release.fast();
      await expect(value(page, "fast")).toBeVisible();
      await expect(spinner(page, "mid")).toBeVisible();
      await expect(spinner(page, "slow")).toBeVisible();

      release.mid();
      await expect(value(page, "mid")).toBeVisible();
      await expect(spinner(page, "slow")).toBeVisible();
      await expect(value(page, "fast")).toBeVisible();

      release.slow();
      await expect(value(page, "slow")).toBeVisible();
      await expect(page.getByRole("status", { name: /^Loading Fragment/ })).toHaveCount(0);
      expect(clientFetches, "fragments arrive in the document's own response").toEqual([]);
      expect(upstream.calls()).toBe(3);
    });

    test("serves a reload from the cache, with no new upstream calls", async ({ page, launch, upstream }) => {
      upstream.script("r1", { latencyMs: 300 });
      upstream.script("r2", { latencyMs: 600 });
      const app = await launch({ FRAGMENTS: "r1,r2" });

      await page.goto(app.url);
      await expect(value(page, "r2")).toBeVisible();
      await expect(value(page, "r1")).toBeVisible();
      expect(upstream.calls()).toBe(2);

      await page.reload();
      for (const name of ["r1", "r2"]) {
        await expect(value(page, name)).toBeVisible();
        await expect(value(page, name)).toHaveAttribute("data-origin", "hit");
      }
      expect(upstream.calls("r1")).toBe(1);
      expect(upstream.calls("r2")).toBe(1);
    });

    test("shows an alert for a failing fragment while the others load", async ({ page, launch, upstream }) => {
      upstream.script("ok1", { latencyMs: 300 });
      upstream.script("broken", { latencyMs: 100, status: 500 });
      upstream.script("ok2", { latencyMs: 900 });
      const app = await launch({ FRAGMENTS: "ok1,broken,ok2" });

      const response = await page.goto(app.url);
      expect(response?.status()).toBe(200);
      await expect(region(page, "broken").getByRole("alert")).toContainText("could not be loaded");
      await expect(value(page, "ok1")).toBeVisible();
      await expect(value(page, "ok2")).toBeVisible();
      await expect(page.locator("[data-fragment]").getByRole("alert")).toHaveCount(1);

      const health = await page.request.get(`${app.url}/api/health`);
      expect(health.status()).toBe(200);
      expect(app.output()).not.toMatch(/unhandled/i);
    });

    test("serves one fragment at /fragment/<name> from the same cache", async ({ request, launch, upstream }) => {
      upstream.script("solo", { latencyMs: 200 });
      const app = await launch({ FRAGMENTS: "solo,down" });

      const first = await request.get(`${app.url}/fragment/solo`);
      expect(first.status()).toBe(200);
      expect(first.headers()["content-type"]).toContain("text/html");
      expect(await first.text()).toContain('<p class="fragment-value">result for solo</p>');

      const again = await request.get(`${app.url}/fragment/solo`);
      expect(await again.text()).toContain('data-origin="hit"');
      expect(upstream.calls("solo")).toBe(1);

      upstream.script("down", { status: 503 });
      const failed = await request.get(`${app.url}/fragment/down`);
      expect(failed.status()).toBe(502);
      expect(await failed.text()).toContain('role="alert"');
    });
  });
}

test.describe("bad fragment names", () => {
  const badPaths = [
    "a%2Fb",
    "..%2F..%2Fetc%2Fpasswd",
    "a%00b",
    "a%0Ab",
    "a%20b",
    "%E2%9C%93",
    "a.b",
    "x".repeat(65),
    "y".repeat(10_000),
    "%",
    "%ZZ",
  ];

  test("get 400 before any cache or upstream access", async ({ launch, upstream }) => {
    const app = await launch({ FRAGMENTS: "a" });
    for (const path of badPaths) {
      const response = await rawGet(app.port, `/fragment/${path}`);
      expect(response.status, path.slice(0, 40)).toBe(400);
      expect(response.contentType, path.slice(0, 40)).toContain("text/plain");
    }
    expect(upstream.calls()).toBe(0);
    expect((await rawGet(app.port, `/fragment/${"a".repeat(64)}`)).status).toBe(404);
  });

  test("a well-formed name no source has gets 404, and neither the upstream nor Redis hears of it", async ({
    launch,
    upstream,
    request,
  }) => {
    const app = await launch({ FRAGMENTS: "a" });
    for (const name of ["b", "A", "a-", "z".repeat(64), "warm-up"]) {
      const response = await rawGet(app.port, `/fragment/${name}`);
      expect(response.status, name).toBe(404);
      expect(response.contentType, name).toContain("text/plain");
    }
    expect(upstream.calls()).toBe(0);
    expect((await request.get(`${app.url}/api/health`)).ok()).toBe(true);
    const health = (await (await request.get(`${app.url}/api/health`)).json()) as {
      counters: Record<string, number>;
      local: { entries: number };
    };
    expect(health.local.entries).toBe(0);
    expect(health.counters.misses).toBe(0);
  });
});
