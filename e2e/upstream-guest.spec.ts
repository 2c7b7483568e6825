import type { AppServer } from "../harness/app-server";
import type { ScriptedUpstream } from "../harness/upstream-server";
import { expect, fetchFragment, SHARED_STORES, storeAnswers, test } from "./fixtures";

// The app as a polite guest of its upstream: a rate it keeps fleet-wide, a Retry-After it obeys, caching
// headers it follows, a 404 it remembers, an outage it outlives, and a key read steadily that never waits.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Text fragment `a` asked `?q=…`: each query its own key of one source. */
const withQuery = (upstream: ScriptedUpstream, env: Record<string, string> = {}) => ({
  SLOW_API_URL: `${upstream.urlTemplate}?q={q}`,
  FRAGMENTS: "a",
  // A wider Redis budget keeps these about the gate on a starved two-core machine: a round trip that times out
  // leaves the instance counting alone.
  REDIS_TIMEOUT_MS: "2000",
  ...env,
});

/**
 * `/fragment/<view>` on `app` as JSON: its status, `Retry-After` and body, and when it was sent and answered
 * on this process's `performance.now()` clock (the scripted upstream's).
 */
async function viewJson(app: AppServer, view: string) {
  const sentAt = performance.now();
  const response = await fetch(`${app.url}/fragment/${view}`, { headers: { accept: "application/json" } });
  const retryAfter = response.headers.get("retry-after");
  const body = (await response.json()) as Record<string, unknown>;
  return {
    view,
    status: response.status,
    retryAfter: retryAfter === null ? undefined : Number(retryAfter),
    body,
    sentAt,
    answeredAt: performance.now(),
  };
}

type View = Awaited<ReturnType<typeof viewJson>>;

/**
 * The most calls surely started within one `windowMs`. Redis alone knows when a call took its slot: after its
 * view was sent (`from`), before it reached the upstream (`to`). Calls whose every such span fits in one
 * window took their slots within it, however late a busy machine ran them.
 */
function surelyWithin(calls: ReadonlyArray<{ from: number; to: number }>, windowMs: number): number {
  return Math.max(
    0,
    ...calls.map((first) => calls.filter((call) => call.from >= first.from && call.to < first.from + windowMs).length),
  );
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A time as a part kept past its grace dates its value: `2 Dec 14:02`, in UTC. */
function asOf(ms: number): string {
  const at = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${at.getUTCDate()} ${MONTHS[at.getUTCMonth()]} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}`;
}

/** A counter of `app`'s `/api/metrics`. */
async function counter(app: AppServer, name: string): Promise<number> {
  const text = await (await fetch(`${app.url}/api/metrics`)).text();
  const value = new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1];
  if (value === undefined) throw new Error(`no ${name} in the metrics of ${app.url}`);
  return Number(value);
}

for (const storeKind of SHARED_STORES) {
  test.describe(`an upstream's limits kept by a fleet sharing ${storeKind}`, () => {
    test.use({ storeKind });

    test("three instances under a burst of cold keys call no faster than UPSTREAM_RATE; the rest answer busy at once", async ({
      launch,
      upstream,
    }) => {
      upstream.script("a", { latencyMs: 50 });
      const env = withQuery(upstream, { FRAGMENTS: "a,warm", UPSTREAM_RATE: "5/1s" });
      const apps = [await launch(env), await launch(env), await launch(env)];
      for (const app of apps) await storeAnswers(app);
      // An instance's first upstream call sets up its HTTP client, and would arrive late after its slot was
      // taken; another source warms that up without taking any of `a`'s slots.
      for (const [index, app] of apps.entries()) expect((await viewJson(app, `warm?q=${index}`)).status).toBe(200);

      // 60 keys never asked before, 20 a second round the fleet for 3 s: four times the rate.
      const views: Array<Promise<View>> = [];
      for (let n = 0; n < 60; n += 1) {
        views.push(viewJson(apps[n % apps.length]!, `a?q=${n}`));
        await sleep(50);
      }
      const answers = await Promise.all(views);

      const sent = new Map(answers.map((answer) => [answer.view, answer.sentAt]));
      const calls = upstream
        .requests("a")
        .map((request) => ({ from: sent.get(`a?q=${request.search.get("q")}`)!, to: request.arrivedAt }));
      const surely = surelyWithin(calls, 1000);
      console.info(
        `UPSTREAM_RATE=5/1s on ${storeKind}, 3 instances, 60 cold keys in 3 s: upstream calls per second ` +
          `[${upstream.callsPerSecond("a").join(", ")}], most arriving in any 1000 ms ` +
          `${upstream.busiestWindow(1000, "a")}, most surely started in any 1000 ms ${surely}; ` +
          `${answers.filter((answer) => answer.status === 503).length} of 60 answered busy`,
      );
      expect(answers.filter((answer) => answer.status !== 200 && answer.status !== 503)).toEqual([]);
      const served = answers.filter((answer) => answer.status === 200);
      const busy = answers.filter((answer) => answer.status === 503);
      expect(served.length, "each view served made its one call").toBe(upstream.calls("a"));
      for (const answer of busy) {
        expect(answer.body, answer.view).toMatchObject({ name: "a", status: "busy", reason: "rate" });
        expect(answer.retryAfter, answer.view).toBeGreaterThanOrEqual(1);
        expect(answer.body.retryAfterSeconds, answer.view).toBe(answer.retryAfter);
      }
      // Arrivals alone may bunch up: on a starved machine a call reaches the upstream hundreds of ms after its
      // slot was taken. Instances counting alone would start 15 in a second.
      expect(surely, "calls surely started within any 1000 ms").toBeLessThanOrEqual(5);
      expect(upstream.calls("a"), "slots are taken again as they free").toBeGreaterThan(5);

      // Each refusal made no call and left nothing behind: the next view of a refused key calls.
      const closed = await Promise.all(apps.map((app) => counter(app, "workerless_upstream_gate_closed_total")));
      expect(
        closed.reduce((sum, count) => sum + count, 0),
        "workerless_upstream_gate_closed_total on all instances",
      ).toBe(busy.length);
      const refused = busy[0]!.view;
      await expect.poll(async () => (await viewJson(apps[0]!, refused)).status, { timeout: 5000 }).toBe(200);
      expect(upstream.calls(refused)).toBe(1);
    });

    test("a 429 with Retry-After holds every key of the source off the upstream on every instance for that long", async ({
      launch,
      upstream,
      sharedRedis,
    }) => {
      upstream.script("a?q=x", [{ status: 429, headers: { "retry-after": "5" } }, {}]);
      const env = withQuery(upstream);
      const apps = [await launch(env), await launch(env), await launch(env)];
      for (const app of apps) await storeAnswers(app);

      expect((await viewJson(apps[0]!, "a?q=x")).status, "the throttled view fails").toBe(502);
      // The hold starts once the 429 is in, so it lasts at least until 5 s after the 429 left the upstream.
      const throttledAt = upstream.lastCall("a?q=x")!.arrivedAt;
      const heldUntil = throttledAt + 5000;
      // The hold reaches the store beside the response: every instance sees it once it is there.
      await expect.poll(() => sharedRedis!.keys("workerless:v4:hold:*")).toEqual(["workerless:v4:hold:{a}"]);
      const notice = await fetchFragment(apps[2]!, "a?q=z");
      expect(notice.status).toBe(503);
      expect(notice.html).toMatch(/The source of a asked to wait: try again in [1-5] s\./);

      // For 4 s, every instance: other keys busy, the throttled key backing off, no call. A view answered
      // after the hold (on a machine slow enough) proves nothing and is left out.
      const answers: View[] = [];
      for (let round = 0; performance.now() < throttledAt + 4000; round += 1) {
        for (const [index, app] of apps.entries()) answers.push(await viewJson(app, `a?q=y${round}-${index}`));
        answers.push(await viewJson(apps[round % apps.length]!, "a?q=x"));
        await sleep(200);
      }
      const withinHold = answers.filter((answer) => answer.answeredAt < heldUntil);
      const others = withinHold.filter((answer) => answer.view !== "a?q=x");
      expect(others.length).toBeGreaterThanOrEqual(3 * 5);
      for (const answer of others) {
        expect(answer.status, answer.view).toBe(503);
        expect(answer.body, answer.view).toMatchObject({ name: "a", status: "busy", reason: "held" });
        expect(answer.retryAfter, answer.view).toBeGreaterThanOrEqual(1);
        expect(answer.retryAfter, answer.view).toBeLessThanOrEqual(5);
      }
      const throttled = withinHold.filter((answer) => answer.view === "a?q=x");
      expect(new Set(throttled.map((answer) => answer.status)), "the throttled key backs off").toEqual(new Set([502]));
      expect(upstream.calls("a?q=z"), "a busy answer calls nothing").toBe(0);
      const duringHold = upstream.requests().filter((request) => request.arrivedAt < heldUntil);
      expect(
        duringHold.map((request) => request.url),
        "no call but the throttled one",
      ).toEqual(["/find/a?q=x"]);

      // Past the 5 s the upstream asked for, calls resume: the other keys', and the throttled key's.
      await expect.poll(async () => (await viewJson(apps[1]!, "a?q=after")).status, { timeout: 5000 }).toBe(200);
      expect(upstream.lastCall("a?q=after")!.arrivedAt, "the next call").toBeGreaterThanOrEqual(heldUntil);
      await expect.poll(async () => (await viewJson(apps[2]!, "a?q=x")).status, { timeout: 5000 }).toBe(200);
      expect(upstream.calls("a?q=x")).toBe(2);
    });
  });
}

test.describe("an upstream's answers kept as it says, on one instance", () => {
  test("Cache-Control max-age=2 (and s-maxage over max-age) outranks a 60 s default; a key without it stays a hit", async ({
    launch,
    upstream,
  }) => {
    upstream.script("cc", [
      { body: "cc one", headers: { "cache-control": "max-age=2" } },
      { body: "cc two", headers: { "cache-control": "max-age=2" } },
    ]);
    upstream.script("sm", [
      { body: "sm one", headers: { "cache-control": "public, max-age=60, s-maxage=2" } },
      { body: "sm two", headers: { "cache-control": "public, max-age=60, s-maxage=2" } },
    ]);
    // No grace, and no eager refresh: a value is loaded again only once past its freshness, so the view tells.
    const app = await launch({
      FRAGMENTS: "cc,sm,plain",
      CACHE_FRESH_SECONDS: "60",
      CACHE_GRACE_SECONDS: "0",
      CACHE_EAGER_REFRESH_PERCENT: "0",
    });
    const keys = ["cc", "sm", "plain"];
    for (const key of keys) expect((await fetchFragment(app, key)).origin, key).toBe("miss");
    const loadedAt = performance.now();

    await sleep(500);
    for (const key of keys) expect((await fetchFragment(app, key)).origin, `${key} at 0.5 s`).toBe("hit");

    await sleep(loadedAt + 2500 - performance.now());
    const cc = await fetchFragment(app, "cc");
    expect(cc.origin, "cc at 2.5 s").toBe("miss");
    expect(cc.html).toContain(">cc two<");
    const sm = await fetchFragment(app, "sm");
    expect(sm.origin, "sm at 2.5 s").toBe("miss");
    expect(sm.html).toContain(">sm two<");
    expect((await fetchFragment(app, "plain")).origin, "plain at 2.5 s").toBe("hit");
    expect([upstream.calls("cc"), upstream.calls("sm"), upstream.calls("plain")]).toEqual([2, 2, 1]);
  });

  test("50 views of an id the upstream does not find make one call; the page says nothing was found, no error", async ({
    page,
    launch,
    upstream,
  }) => {
    upstream.script("item?id=bad", { status: 404 });
    const app = await launch({ SLOW_API_URL: `${upstream.urlTemplate}?id={id}`, FRAGMENTS: "item" });

    const response = await page.goto(`${app.url}/?id=bad`);
    expect(response?.status()).toBe(200);
    const part = page.getByRole("region", { name: "Fragment item (bad)" });
    const nothing = part.getByText("Nothing found for Fragment item (bad).", { exact: true });
    await expect(nothing).toBeVisible();
    await expect(nothing).toHaveClass("fragment-empty");
    await expect(page.getByRole("region").getByRole("alert")).toHaveCount(0);
    await expect(part.getByRole("button", { name: "Retry item" })).toHaveCount(0);

    const views = await Promise.all(Array.from({ length: 48 }, () => fetchFragment(app, "item?id=bad")));
    expect(views.filter((view) => view.status !== 404 || view.origin !== "hit")).toEqual([]);
    expect(views[0]!.html).toContain('<p class="fragment-empty">Nothing found for item.</p>');
    const json = await viewJson(app, "item?id=bad");
    expect(json.status).toBe(404);
    expect(json.body).toEqual({ name: "item", status: "not-found", origin: "hit" });
    expect(upstream.calls("item?id=bad"), "one call for 50 views").toBe(1);
  });

  test("an outage longer than grace shows the last value, dated, until the fail-safe window ends, then the error", async ({
    page,
    launch,
    upstream,
  }) => {
    upstream.script("fs", { body: "first" });
    const app = await launch({
      FRAGMENTS: "fs",
      CACHE_FRESH_SECONDS: "1",
      CACHE_GRACE_SECONDS: "1",
      CACHE_FAIL_SAFE_SECONDS: "6",
    });
    const before = Date.now();
    expect((await fetchFragment(app, "fs")).origin).toBe("miss");
    const dates = new Set([asOf(before), asOf(Date.now())]);
    const loadedAt = upstream.lastCall("fs")!.answeredAt!;
    upstream.script("fs", { status: 500 });

    const part = page.getByRole("region", { name: "Fragment fs" });
    const value = part.getByText("first", { exact: true });
    // Past its freshness (1 s) and its grace (1 s): only fail-safe keeps it, until 1 + 6 s.
    await sleep(loadedAt + 2800 - performance.now());
    await page.goto(app.url);
    await expect(value).toHaveAttribute("data-origin", "fail-safe");
    const meta = part.getByText(/the source is not answering/);
    const line = (await meta.textContent()) ?? "";
    const dated = (date: string) => `as of ${date} UTC: the source is not answering`;
    // Told as the README shows it ("as of 2 Dec 14:02 UTC"); the date checked apart, whatever comes between.
    expect
      .soft([...dates].map(dated), "the line as documented")
      .toContain(line.replace(/ · \d+ ms on the server$/, ""));
    expect([...dates].map(dated), "the date of the last good value").toContain(
      line.replace(/^as of (\d{1,2} [A-Z][a-z]{2}),/, "as of $1").replace(/ · \d+ ms on the server$/, ""),
    );
    await expect(part.getByRole("alert")).toHaveCount(0);

    await sleep(loadedAt + 5000 - performance.now());
    await page.reload();
    await expect(value, "still within fail-safe at 5 s").toHaveAttribute("data-origin", "fail-safe");

    // Past the window, the error as before an outage ever kept a value.
    let shownAt = 0;
    await expect(async () => {
      await page.reload();
      await expect(part.getByRole("alert")).toHaveText("This part (fs) could not be loaded.", { timeout: 1000 });
      shownAt = performance.now();
    }).toPass({ timeout: 10_000 });
    expect(shownAt - loadedAt, "ms from the last good value to the error").toBeGreaterThanOrEqual(6900);
    await expect(value).toHaveCount(0);
  });

  test("a key read every 200 ms is refreshed in the background before it goes stale: never stale, never a wait", async ({
    launch,
    upstream,
  }) => {
    upstream.script("e", { latencyMs: 100 });
    const app = await launch({ FRAGMENTS: "e", CACHE_FRESH_SECONDS: "3" });
    const seconds = 12;
    const origins: Array<string | undefined> = [];
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      origins.push((await fetchFragment(app, "e")).origin);
      await sleep(200);
    }

    const arrivals = upstream.requests("e").map((request) => request.arrivedAt);
    const gaps = arrivals.slice(1).map((at, index) => Math.round(at - arrivals[index]!));
    console.info(
      `one key read ${origins.length} times in ${seconds} s, fresh for 3 s, refreshed at 80 %: ` +
        `${arrivals.length} upstream calls, ms apart [${gaps.join(", ")}]`,
    );
    expect(origins[0]).toBe("miss");
    expect(
      origins.slice(1).filter((origin) => origin !== "hit"),
      "every view after the first",
    ).toEqual([]);
    // Due at 80 % of 3 s: 2.4 s after the value landed, plus a read's gap and a call's 100 ms.
    expect(Math.min(...gaps), "no refresh before 80 % of freshness").toBeGreaterThanOrEqual(2400);
    expect(arrivals.length).toBeGreaterThanOrEqual(Math.ceil(seconds / 3));
    expect(arrivals.length).toBeLessThanOrEqual(Math.floor(seconds / 2.4) + 2);
    expect(await counter(app, "workerless_cache_eager_refreshes_total")).toBe(arrivals.length - 1);
  });
});
