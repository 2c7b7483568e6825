import type { Page } from "@playwright/test";
import type { AppServer } from "../harness/app-server";
import type { ScriptedUpstream } from "../harness/upstream-server";
import { expect, fetchFragment, purgeCache, SHARED_STORES, STORES, storeAnswers, test } from "./fixtures";

const ADMIN_TOKEN = "params-admin-token-0123456789";
/** The defined sources, not text fragments: no SLOW_API_URL (blank counts as unset), the simulator instant. */
const DEMO = { SLOW_API_URL: "", SLOW_API_MAX_MS: "0", CACHE_ADMIN_TOKEN: ADMIN_TOKEN };
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/** Text fragments whose upstream URL takes a `{city}`: each is asked `?city=…`, each city its own key. */
const withCity = (upstream: ScriptedUpstream, env: Record<string, string> = {}) => ({
  SLOW_API_URL: `${upstream.urlTemplate}?city={city}`,
  FRAGMENTS: "a",
  ...env,
});

/** What the upstream is asked for fragment `a` in `city`: a selector for its calls, and the path of a view. */
const inCity = (city: string) => `a?${new URLSearchParams({ city })}`;
/** What the scripted upstream answers for `a` in `city` by default, as a page shows it. */
const resultIn = (city: string) => `result for a?city=${city}`;

const region = (page: Page, name: string) => page.getByRole("region", { name });
const purge = (app: AppServer, target: Record<string, unknown>) => purgeCache(app, target, `Bearer ${ADMIN_TOKEN}`);
/** Where `/fragment/<view>` on `app` got its value from. */
const originAt = async (app: AppServer, view: string) => (await fetchFragment(app, view)).origin;

test.describe("asking a source something else, in a browser", () => {
  test("a query typed into the search box streams in its own results; the city stays as it was", async ({
    page,
    launch,
  }) => {
    // Search answers in 1–1.5 s: long enough to see its part stream in after the page.
    const app = await launch({ ...DEMO, SLOW_API_MAX_MS: "1500" });
    await page.goto(`${app.url}/?city=porto`);
    await expect(region(page, "Weather in Porto").getByText(/°C/).first()).toBeVisible();
    await expect(region(page, "Search: streaming server rendering").getByRole("listitem")).toHaveCount(3);

    const box = page.getByRole("searchbox", { name: "Search the web" });
    await box.clear();
    await box.pressSequentially("edge caching");
    await box.press("Enter");

    const search = region(page, "Search: edge caching");
    await expect(search.getByRole("status", { name: "Loading Search: edge caching" })).toBeVisible();
    await expect(search.getByRole("link", { name: "edge caching: a practical guide" })).toBeVisible();
    const asked = new URL(page.url());
    expect([asked.pathname, asked.searchParams.get("q")]).toEqual(["/", "edge caching"]);
    expect(asked.searchParams.get("city"), "the weather's city rides along").toBe("porto");
    await expect(search.getByRole("listitem")).toHaveCount(3);
    await expect(search.getByRole("status")).toHaveCount(0);
    await expect(page).toHaveTitle("Weather in Porto · Search: edge caching · Workerless");
    await expect(region(page, "Weather in Porto").getByText(/°C/).first()).toBeVisible();
    await expect(page.getByRole("searchbox", { name: "Search the web" })).toHaveValue("edge caching");

    // The button submits as Enter does, and a query with "nothing" in it finds nothing.
    await box.clear();
    await box.pressSequentially("nothing at all");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await expect(region(page, "Search: nothing at all").getByText("No results for “nothing at all”.")).toBeVisible();
    expect(new URL(page.url()).searchParams.get("city")).toBe("porto");
  });

  test("a city link shows that city's weather and keeps the query", async ({ page, launch }) => {
    const app = await launch(DEMO);
    await page.goto(`${app.url}/?q=${encodeURIComponent("edge caching")}`);
    const cities = page.getByRole("navigation", { name: "Other cities" });
    await expect(cities.getByRole("link", { name: "Lisbon" })).toHaveAttribute("aria-current", "page");

    await cities.getByRole("link", { name: "Porto" }).click();
    await expect(region(page, "Weather in Porto").getByText(/°C/).first()).toBeVisible();
    await expect(page).toHaveURL(
      (url) => url.searchParams.get("city") === "porto" && url.searchParams.get("q") === "edge caching",
    );
    await expect(cities.getByRole("link", { name: "Porto" })).toHaveAttribute("aria-current", "page");
    await expect(cities.getByRole("link", { name: "Lisbon" })).not.toHaveAttribute("aria-current", "page");
    await expect(region(page, "Search: edge caching").getByRole("listitem")).toHaveCount(3);
    await expect(page).toHaveTitle("Weather in Porto · Search: edge caching · Workerless");
  });

  test("the retry control asks again with the part's parameters", async ({ page, launch, upstream }) => {
    // A city that needs encoding, so a retry that dropped or garbled it would be seen.
    const city = "são paulo & co";
    const release = upstream.hold(inCity(city));
    const app = await launch(withCity(upstream, { FRAGMENT_DEADLINE_MS: "800" }));

    await page.goto(`${app.url}/?${new URLSearchParams({ city })}`);
    const part = region(page, `Fragment a (${city})`);
    await expect(part.getByRole("status")).toContainText("Still working on a");
    const retry = part.getByRole("button", { name: "Retry a" });
    await expect(retry).toBeVisible();

    release();
    await expect.poll(() => upstream.answered(inCity(city))).toBe(1);
    await retry.click();
    await expect(part.getByText(resultIn(city), { exact: true })).toHaveAttribute("data-origin", "hit");
    await expect(retry).toHaveCount(0);
    expect(
      upstream.requests().map((request) => request.url),
      "one call, for that parameter set",
    ).toEqual([`/find/a?city=${encodeURIComponent(city)}`]);
  });
});

test.describe("readers without a browser's scripts", () => {
  test("a crawler gets the page it asked for complete, each part's data for its parameters in place", async ({
    launch,
  }) => {
    const app = await launch({ ...DEMO, SLOW_API_MAX_MS: "300" });
    const response = await fetch(`${app.url}/?city=madrid&q=${encodeURIComponent("edge caching")}`, {
      headers: { "user-agent": GOOGLEBOT },
    });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain("<title>Weather in Madrid · Search: edge caching · Workerless</title>");
    for (const text of ["Weather in Madrid", "Search: edge caching", "edge caching: a practical guide"])
      expect(html, text).toContain(text);
    expect(html, "no spinner").not.toContain('class="spinner"');
    expect(html, "no boundary waiting for content").not.toContain('<template id="B:');
    const search = html.slice(html.indexOf('data-fragment="search"'));
    expect(search.slice(0, search.indexOf("</section>")), "the results inside their section").toContain(
      "edge caching: a practical guide",
    );
  });

  test.describe("with JavaScript off", () => {
    test.use({ javaScriptEnabled: false });

    test("the search form and the city links still ask the page for their parameters", async ({ page, launch }) => {
      const app = await launch(DEMO);
      await page.goto(app.url);
      const box = page.getByRole("searchbox", { name: "Search the web" });
      await box.clear();
      await box.pressSequentially("edge caching");
      await box.press("Enter");

      await expect(page).toHaveURL((url) => url.searchParams.get("q") === "edge caching");
      await expect(page.getByRole("heading", { name: "Search: edge caching" })).toBeVisible();
      await expect(page.getByRole("link", { name: "edge caching: a practical guide" })).toBeVisible();
      await expect(page).toHaveTitle("Weather in Lisbon · Search: edge caching · Workerless");

      await page.getByRole("navigation", { name: "Other cities" }).getByRole("link", { name: "Paris" }).click();
      await expect(page.getByRole("heading", { name: "Weather in Paris" })).toBeVisible();
      await expect(page.getByRole("link", { name: "edge caching: a practical guide" })).toBeVisible();
      await expect(page).toHaveTitle("Weather in Paris · Search: edge caching · Workerless");
    });
  });
});

test.describe("refused parameters", () => {
  test("/fragment/<name> answers 400 naming the parameter, with no upstream call", async ({ launch, upstream }) => {
    const app = await launch(withCity(upstream));
    const refusals = {
      "no city": "/fragment/a",
      "an empty city": "/fragment/a?city=",
      "a city of 201 characters": `/fragment/a?city=${"x".repeat(201)}`,
      "markup 201 characters long": `/fragment/a?city=${encodeURIComponent(`<script>alert(1)</script>${"x".repeat(176)}`)}`,
    };
    for (const [label, path] of Object.entries(refusals)) {
      const response = await fetch(`${app.url}${path}`);
      const text = await response.text();
      expect(response.status, label).toBe(400);
      expect(response.headers.get("content-type"), label).toContain("text/plain");
      expect(text, label).toMatch(/^Bad parameters for a: city: /);
      expect(text, label).not.toContain("<script");
    }
    const json = await fetch(`${app.url}/fragment/a?city=`, { headers: { accept: "application/json" } });
    expect(json.status).toBe(400);
    expect(upstream.calls(), "nothing was asked of the upstream").toBe(0);

    // At the edge of the rule: 200 characters are taken, and markup in a value comes back as text.
    const longest = await fetchFragment(app, `a?city=${"x".repeat(200)}`);
    expect(longest.status).toBe(200);
    const markup = '<script>alert("a")</script>';
    const accepted = await fetchFragment(app, inCity(markup));
    expect(accepted.status).toBe(200);
    expect(accepted.html).toContain("result for a?city=&lt;script&gt;alert(&quot;a&quot;)&lt;/script&gt;");
    expect(accepted.html).not.toContain("<script");
    expect(upstream.calls(inCity(markup))).toBe(1);
  });

  test("a query over 100 characters leaves its part an alert in place, and the rest of the page renders", async ({
    page,
    launch,
  }) => {
    const app = await launch(DEMO);
    const q = `<script>document.title="injected"</script>`.padEnd(101, "x");
    await page.goto(`${app.url}/?${new URLSearchParams({ q })}`);

    await expect(region(page, "search").getByRole("alert")).toHaveText(
      "This part (search) was not asked: q: must be at most 100 characters.",
    );
    await expect(region(page, "Weather in Lisbon").getByText(/°C/).first()).toBeVisible();
    await expect(region(page, "Exchange rates (EUR)").getByRole("table")).toBeVisible();
    await expect(region(page, "Headlines").getByRole("listitem")).toHaveCount(5);
    await expect(page.getByRole("region").getByRole("alert"), "one part refused").toHaveCount(1);
    await expect(page).toHaveTitle("Weather in Lisbon · Workerless");
    const html = await (await fetch(page.url())).text();
    expect(html).not.toContain("<script>document.title");

    // The box stays, so the visitor can ask again.
    const box = region(page, "search").getByRole("searchbox", { name: "Search the web" });
    await box.clear();
    await box.pressSequentially("edge caching");
    await box.press("Enter");
    await expect(region(page, "Search: edge caching").getByRole("listitem")).toHaveCount(3);
  });

  test("markup in a refused city and in an accepted query is shown as text, never as elements", async ({
    page,
    launch,
  }) => {
    const app = await launch(DEMO);
    const pwned = "window.injected=1";
    const city = `<img src=x alt=injected-city onerror="${pwned}">`;
    const q = `<img src=x alt=injected-q onerror="${pwned}"><button>injected</button>`;
    await page.goto(`${app.url}/?${new URLSearchParams({ city, q })}`);

    await expect(region(page, "weather").getByRole("alert")).toContainText(
      "This part (weather) was not asked: city: must be one of lisbon",
    );
    const search = region(page, `Search: ${q}`);
    await expect(search.getByRole("heading", { name: `Search: ${q}` })).toBeVisible();
    await expect(search.getByRole("link", { name: `${q}: a practical guide` })).toBeVisible();
    await expect(page.getByRole("searchbox", { name: "Search the web" })).toHaveValue(q);
    await expect(page).toHaveTitle(`Search: ${q} · Workerless`);
    await expect(region(page, "Headlines").getByRole("listitem")).toHaveCount(5);

    await expect(page.getByRole("img", { name: /injected/ })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "injected" })).toHaveCount(0);
    expect(await page.evaluate(() => (window as unknown as { injected?: number }).injected)).toBeUndefined();
    const html = await (await fetch(page.url(), { headers: { "user-agent": GOOGLEBOT } })).text();
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain("<button>injected");
  });
});

for (const storeKind of STORES) {
  test.describe(`a source with its most loads under way, on the ${storeKind} store`, () => {
    test.use({ storeKind });

    test("a new parameter set is busy at once, a cached one still served, and the new one loads once a slot frees", async ({
      launch,
      upstream,
    }) => {
      const app = await launch(withCity(upstream, { UPSTREAM_MAX_IN_FLIGHT: "1", FRAGMENT_DEADLINE_MS: "30000" }));
      await storeAnswers(app);
      expect((await fetchFragment(app, inCity("faro"))).status).toBe(200);

      const release = upstream.hold(inCity("porto"));
      const porto = fetchFragment(app, inCity("porto"));
      await upstream.waitForCalls(inCity("porto"), 1);

      const busy = await fetch(`${app.url}/fragment/${inCity("braga")}`);
      expect(busy.status).toBe(503);
      expect(Number(busy.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await busy.text()).toContain("Too many lookups of a are under way");
      const busyJson = await fetch(`${app.url}/fragment/${inCity("braga")}`, {
        headers: { accept: "application/json" },
      });
      expect(busyJson.status).toBe(503);
      expect(await busyJson.json()).toMatchObject({ name: "a", status: "busy" });
      expect(upstream.calls(inCity("braga")), "a busy answer calls nothing").toBe(0);
      expect(upstream.waiting(inCity("porto")), "answered while porto's load was still under way").toBe(1);

      const cached = await fetchFragment(app, inCity("faro"));
      expect(cached).toMatchObject({ status: 200, origin: "hit" });

      release();
      expect(await porto).toMatchObject({ status: 200, origin: "miss" });
      await expect.poll(async () => (await fetchFragment(app, inCity("braga"))).status).toBe(200);
      expect((await fetchFragment(app, inCity("braga"))).html).toContain(resultIn("braga"));
      expect(upstream.calls(inCity("braga"))).toBe(1);
      expect(upstream.calls()).toBe(3);
    });
  });
}

for (const storeKind of SHARED_STORES) {
  test.describe(`parameter sets on the shared ${storeKind} store`, () => {
    test.use({ storeKind });

    test("two parameter sets of one source are two keys, one upstream call each, under 200 views across three instances", async ({
      launch,
      upstream,
      sharedRedis,
    }) => {
      upstream.script("a", { latencyMs: 1500 });
      // As in the stampede test: a wider Redis budget keeps this about the lease on a starved two-core machine.
      const env = withCity(upstream, { FRAGMENT_DEADLINE_MS: "30000", REDIS_TIMEOUT_MS: "2000" });
      const apps = [await launch(env), await launch(env), await launch(env)];
      for (const app of apps) await storeAnswers(app);
      const cities = ["porto", "faro"];

      const views = await Promise.all(
        Array.from({ length: 200 }, async (_, index) => {
          const city = cities[index % 2]!;
          return { city, ...(await fetchFragment(apps[index % 3]!, inCity(city))) };
        }),
      );

      expect(views.filter((view) => view.status !== 200)).toEqual([]);
      for (const city of cities) {
        const ofCity = views.filter((view) => view.city === city);
        expect(
          ofCity.every((view) => view.html.includes(resultIn(city))),
          city,
        ).toBe(true);
        expect(upstream.calls(inCity(city)), `upstream calls for ${city}`).toBe(1);
      }
      expect(upstream.calls()).toBe(2);
      await expect
        .poll(async () => (await sharedRedis!.keys("workerless:v4:find:*")).sort(), { message: "one entry per set" })
        .toEqual(["workerless:v4:find:{a?city=faro}", "workerless:v4:find:{a?city=porto}"]);
      await expect
        .poll(() => sharedRedis!.keys("workerless:v4:lease:*"), { message: "leases are released" })
        .toEqual([]);
    });

    test("a purge by parameters, by fragment or by a computed tag reaches the other instance's next view", async ({
      launch,
      upstream,
    }) => {
      const env = withCity(upstream, { CACHE_ADMIN_TOKEN: ADMIN_TOKEN, CACHE_LOCAL_TRUST_SECONDS: "0" });
      const [first, second] = await Promise.all([launch(env), launch(env)]);
      for (const app of [first, second]) await storeAnswers(app);
      const cities = ["porto", "faro"];
      for (const city of cities) expect(await originAt(first, inCity(city)), city).toBe("miss");
      for (const city of cities) await expect.poll(() => originAt(second, inCity(city)), city).toBe("hit");
      expect(upstream.calls()).toBe(2);

      const one = await purge(first, { fragment: "a", params: { city: "porto" } });
      expect(one.status).toBe(200);
      expect(await one.json()).toMatchObject({ purged: 'a {"city":"porto"}', deleted: 1 });
      expect(await originAt(second, inCity("porto")), "the purged set").toBe("miss");
      expect(await originAt(second, inCity("faro")), "the other set").toBe("hit");
      expect(upstream.calls(inCity("porto"))).toBe(2);
      expect(upstream.calls(inCity("faro"))).toBe(1);

      // The parameters a view would be refused are refused here too, and purge nothing.
      for (const params of [{ city: "" }, { city: 5 }, {}, { city: "x".repeat(201) }]) {
        const refused = await purge(first, { fragment: "a", params });
        expect(refused.status, JSON.stringify(params)).toBe(400);
        expect(((await refused.json()) as { error: string }).error, JSON.stringify(params)).toContain("city");
      }
      expect(await originAt(second, inCity("porto"))).toBe("hit");

      // The whole fragment: every parameter set, from either instance's next view.
      for (const [purging, viewing] of [
        [first, second],
        [second, first],
      ] as const) {
        expect((await purge(purging, { fragment: "a" })).status).toBe(200);
        expect(await originAt(viewing, inCity("porto")), "porto").toBe("miss");
        expect(await originAt(purging, inCity("faro")), "faro").toBe("miss");
      }
      expect(upstream.calls(inCity("porto"))).toBe(4);
      expect(upstream.calls(inCity("faro"))).toBe(3);
    });

    test("a tag computed from the parameters purges just that parameter set", async ({ launch }) => {
      const env = { ...DEMO, CACHE_LOCAL_TRUST_SECONDS: "0" };
      const [first, second] = await Promise.all([launch(env), launch(env)]);
      for (const app of [first, second]) await storeAnswers(app);
      const cities = ["porto", "lisbon"];
      for (const city of cities) expect(await originAt(first, `weather?city=${city}`), city).toBe("miss");
      for (const city of cities) await expect.poll(() => originAt(second, `weather?city=${city}`), city).toBe("hit");

      expect((await purge(first, { tag: "weather:porto" })).status).toBe(200);
      expect(await originAt(second, "weather?city=porto")).toBe("miss");
      expect(await originAt(second, "weather?city=lisbon")).toBe("hit");
      expect(await originAt(first, "weather"), "lisbon is the default").toBe("hit");
    });
  });
}
