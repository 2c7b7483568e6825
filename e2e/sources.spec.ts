import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import type { AppServer } from "../harness/app-server";
import { expect, purgeCache, SHARED_STORES, test } from "./fixtures";

const ADMIN_TOKEN = "sources-admin-token-0123456789";
/** The defined sources, not text fragments: no SLOW_API_URL (blank counts as unset), the simulator instant. */
const DEMO = { SLOW_API_URL: "", SLOW_API_MAX_MS: "0", CACHE_ADMIN_TOKEN: ADMIN_TOKEN };

const region = (page: Page, title: string) => page.getByRole("region", { name: title });

const purge = (app: AppServer, target: Record<string, unknown>) => purgeCache(app, target, `Bearer ${ADMIN_TOKEN}`);

/** Where each fragment's value came from, as one view of `/` on `app` tells it. */
async function origins(app: AppServer): Promise<Record<string, string>> {
  const response = await fetch(app.url, { headers: { "user-agent": "Googlebot/2.1" } });
  const html = await response.text();
  const found: Record<string, string> = {};
  for (const match of html.matchAll(/data-fragment="([\w-]+)"[\s\S]*?data-origin="(\w+)"/g))
    found[match[1]!] = match[2]!;
  return found;
}

test.describe("the defined sources", () => {
  test("the default page shows each source as its data, with no axe violation", async ({ page, launch }) => {
    const app = await launch({ ...DEMO, SLOW_API_MAX_MS: "300" });
    await page.goto(app.url);

    const weather = region(page, "Weather in Lisbon");
    await expect(weather.getByText(/°C/).first()).toBeVisible();
    await expect(weather.getByRole("list").last()).toBeVisible();

    const rates = region(page, "Exchange rates (EUR)");
    await expect(rates.getByRole("table")).toBeVisible();
    for (const currency of ["USD", "GBP", "JPY", "CHF"]) {
      await expect(rates.getByRole("rowheader", { name: currency })).toBeVisible();
    }

    const headlines = region(page, "Headlines");
    await expect(headlines.getByRole("listitem")).toHaveCount(5);
    await expect(headlines.getByRole("link").first()).toHaveAttribute(
      "href",
      /^https:\/\/([\w-]+\.)?example\.(com|org)\//,
    );

    const search = region(page, "Search: streaming server rendering");
    await expect(search.getByText(/results/).first()).toBeVisible();
    await expect(search.getByRole("listitem")).toHaveCount(3);

    await expect(page.getByRole("figure", { name: /^When each fragment was ready/ })).toBeVisible();
    const { violations } = await new AxeBuilder({ page }).analyze();
    expect(violations.map((violation) => violation.id)).toEqual([]);
  });

  test("a source's data is served as JSON at /fragment/<name> on request, and as HTML otherwise", async ({
    launch,
  }) => {
    const app = await launch(DEMO);
    const json = await fetch(`${app.url}/fragment/rates`, { headers: { accept: "application/json" } });
    expect(json.status).toBe(200);
    const body = (await json.json()) as {
      name: string;
      status: string;
      data: { base: string; rates: Array<{ currency: string; rate: number }> };
    };
    expect(body).toMatchObject({ name: "rates", status: "ready", data: { base: "EUR" } });
    expect(body.data.rates.map((rate) => rate.currency)).toEqual(["USD", "GBP", "JPY", "CHF"]);
    expect(body.data.rates.every((rate) => typeof rate.rate === "number")).toBe(true);

    const html = await (await fetch(`${app.url}/fragment/rates`)).text();
    expect(html).toContain('data-fragment="rates" data-origin="hit"');
    expect(html).toContain("&quot;currency&quot;: &quot;USD&quot;");
    expect((await fetch(`${app.url}/fragment/a`)).status).toBe(404);
  });

  test("a purge names a defined fragment or tag: anything else is 404, a malformed body 400", async ({ launch }) => {
    const app = await launch(DEMO);
    expect((await purge(app, { tag: "news" })).status).toBe(200);
    expect(await (await purge(app, { fragment: "weather" })).json()).toMatchObject({ purged: "weather" });
    expect(await (await purge(app, { fragment: "weather", params: { city: "porto" } })).json()).toMatchObject({
      purged: 'weather {"city":"porto"}',
    });
    // The weather's tags are made from its city: any well-formed tag may be one of them, so none is unknown.
    expect(await (await purge(app, { tag: "sports" })).json()).toMatchObject({ purged: "tag:sports", deleted: 0 });
    expect((await purge(app, { fragment: "nowhere" })).status).toBe(404);
    expect((await purge(app, { fragment: "weather", params: { city: "atlantis" } })).status).toBe(400);
    expect((await purge(app, { fragment: "rates", params: {} })).status).toBe(400);
    expect((await purge(app, { fragment: "weather", params: "porto" })).status).toBe(400);
    for (const tag of ["news tag", "news{x}", "t".repeat(129)])
      expect((await purge(app, { tag })).status, tag).toBe(400);
    expect((await purge(app, { tag: "news", fragment: "weather" })).status).toBe(400);
  });
});

for (const storeKind of SHARED_STORES) {
  test.describe(`purges across instances on the ${storeKind} store`, () => {
    test.use({ storeKind });

    test("with CACHE_LOCAL_TRUST_SECONDS=0, the other instance's very next view misses what a purge by tag or by fragment named", async ({
      launch,
    }) => {
      const env = { ...DEMO, CACHE_LOCAL_TRUST_SECONDS: "0" };
      const [first, second] = await Promise.all([launch(env), launch(env)]);
      expect(Object.values(await origins(first))).toEqual(["miss", "miss", "miss", "miss"]);
      await expect
        .poll(() => origins(second))
        .toEqual({ weather: "hit", rates: "hit", headlines: "hit", search: "hit" });

      expect((await purge(first, { tag: "news" })).status).toBe(200);
      expect(await origins(second)).toEqual({ weather: "hit", rates: "hit", headlines: "miss", search: "miss" });

      expect((await purge(second, { fragment: "weather" })).status).toBe(200);
      expect(await origins(first)).toEqual({ weather: "miss", rates: "hit", headlines: "hit", search: "hit" });
    });
  });
}

test.describe("a purge during a load", () => {
  test.use({ storeKind: "upstash" });

  test("is not undone: the load under way writes nothing back, and the next view loads again", async ({
    launch,
    upstream,
    sharedRedis,
  }) => {
    const env = { FRAGMENTS: "slowp", CACHE_ADMIN_TOKEN: ADMIN_TOKEN, CACHE_LOCAL_TRUST_SECONDS: "0" };
    const [loading, purging] = await Promise.all([launch(env), launch(env)]);
    upstream.script("slowp", { body: "before the purge" });
    const release = upstream.hold("slowp");
    const inFlight = fetch(`${loading.url}/fragment/slowp`).then((response) => response.text());
    await expect.poll(() => upstream.calls("slowp")).toBe(1);

    expect((await purge(purging, { fragment: "slowp" })).status).toBe(200);
    release();
    expect(await inFlight).toContain("before the purge");
    await expect
      .poll(() => sharedRedis!.keys("workerless:v4:lease:*"), { message: "the purged load's lease is gone" })
      .toEqual([]);
    expect(await sharedRedis!.keys("workerless:v4:find:*")).toEqual([]);

    upstream.script("slowp", { body: "after the purge" });
    for (const app of [purging, loading]) {
      const html = await (await fetch(`${app.url}/fragment/slowp`)).text();
      expect(html, app === purging ? "the purging instance" : "the loading instance").toContain("after the purge");
    }
    expect(upstream.calls("slowp")).toBe(2);
  });
});
