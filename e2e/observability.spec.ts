import type { Page } from "@playwright/test";
import type { AppServer } from "../harness/app-server";
import { expect, fetchFragment, pastOneSecond, purgeCache, storeAnswers, STORES, test } from "./fixtures";

const ADMIN_TOKEN = "observability-admin-token-0123456789";

const region = (page: Page, name: string) => page.getByRole("region", { name: `Fragment ${name}` });
const timeline = (page: Page) =>
  page.getByRole("figure", { name: "When each fragment was ready, after the shell left at 0 ms" });

/** The "<label> · <n> ms on the server" line of one fragment. */
async function meta(page: Page, name: string): Promise<{ label: string; ms: number }> {
  const text = (await region(page, name).locator(".fragment-meta").textContent()) ?? "";
  const match = /^(.+) · (\d+) ms on the server$/.exec(text);
  expect(match, `meta line of ${name}: ${text}`).not.toBeNull();
  return { label: match![1]!, ms: Number(match![2]) };
}

/** Each timeline row: name, outcome, ms, label and its bar's share of the track (percent), in document order. */
async function timelineRows(page: Page) {
  const rows = timeline(page).getByRole("listitem");
  const result: Array<{ name: string; outcome: string; ms: number; label: string; bar: number }> = [];
  for (const row of await rows.all()) {
    const time = (await row.locator(".timeline-time").textContent()) ?? "";
    const match = /^(\d+) ms · (.+)$/.exec(time);
    expect(match, `timeline row: ${time}`).not.toBeNull();
    result.push({
      name: (await row.getAttribute("data-timeline")) ?? "",
      outcome: (await row.getAttribute("data-outcome")) ?? "",
      ms: Number(match![1]),
      label: match![2]!,
      bar: Number.parseFloat((await row.locator("rect").getAttribute("width")) ?? ""),
    });
  }
  return result;
}

type Counters = Record<
  | "hits"
  | "stale"
  | "misses"
  | "coalesced"
  | "loads"
  | "loadErrors"
  | "loadTimeouts"
  | "skippedLoads"
  | "busy"
  | "uncacheable"
  | "storeErrors"
  | "storeSkipped"
  | "busEvents"
  | "busResumed",
  number
>;
type Health = {
  store: string;
  ok: boolean;
  ms: number;
  breaker: string;
  local: { entries: number; bytes: number };
  counters: Counters;
};

async function health(app: AppServer): Promise<Health> {
  const response = await fetch(`${app.url}/api/health`);
  expect(response.status).toBe(200);
  return (await response.json()) as Health;
}

const METRIC_OF: Record<keyof Counters, string> = {
  hits: "workerless_cache_hits_total",
  stale: "workerless_cache_stale_total",
  misses: "workerless_cache_misses_total",
  coalesced: "workerless_cache_coalesced_total",
  loads: "workerless_upstream_calls_total",
  loadErrors: "workerless_upstream_errors_total",
  loadTimeouts: "workerless_upstream_timeouts_total",
  skippedLoads: "workerless_upstream_backoff_total",
  busy: "workerless_cache_busy_total",
  uncacheable: "workerless_cache_uncacheable_total",
  storeErrors: "workerless_store_errors_total",
  storeSkipped: "workerless_store_skipped_total",
  busEvents: "workerless_bus_events_total",
  busResumed: "workerless_bus_resumed_total",
};

const METRIC_NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*"';
const SAMPLE = new RegExp(
  `^(${METRIC_NAME})(\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? (-?(?:\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?|[Nn]a[Nn]|\\+Inf|-Inf))( -?\\d+)?$`,
);

/**
 * Parses Prometheus text exposition (0.0.4) strictly: every sample line must be `name{labels}? value`, and
 * every sample must belong to a family declared with HELP and TYPE before it. Returns unlabelled samples.
 * NaN in any case, as Prometheus's own parser (Go's ParseFloat) reads it: prom-client writes "Nan".
 */
function parsePrometheus(text: string): Map<string, number> {
  const help = new Set<string>();
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  const lines = text.split("\n");
  expect(lines.at(-1), "ends with a newline").toBe("");
  for (const line of lines.slice(0, -1)) {
    // The format ignores empty lines; prom-client puts one between families.
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment;
      expect(name, line).toMatch(new RegExp(`^${METRIC_NAME}$`));
      if (kind === "HELP") help.add(name!);
      else {
        expect(["counter", "gauge", "histogram", "summary", "untyped"], line).toContain(rest);
        types.set(name!, rest!);
      }
      continue;
    }
    const sample = SAMPLE.exec(line);
    expect(sample, `a valid sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name, labels, value] = sample!;
    const family = [name!, name!.replace(/_(bucket|sum|count)$/, "")].find((candidate) => types.has(candidate));
    expect(family, `${name} has a TYPE`).toBeDefined();
    expect(help.has(family!), `${family} has a HELP`).toBe(true);
    if (!labels) samples.set(name!, Number(value));
  }
  return samples;
}

test.describe("what each fragment tells about itself", () => {
  test("every outcome shows its label and server ms; the timeline agrees and is ordered like the work was", async ({
    page,
    launch,
    upstream,
  }) => {
    upstream.script("quick", { latencyMs: 150 });
    upstream.script("slower", { latencyMs: 700 });
    upstream.script("broken", { latencyMs: 400, status: 500 });
    upstream.script("twin", { latencyMs: 900 });
    const releaseLate = upstream.hold("late");
    const app = await launch({ FRAGMENTS: "slower,late,quick,twin,broken", FRAGMENT_DEADLINE_MS: "1500" });

    // Another request is already loading "twin", so the page's lookup shares it.
    const twinElsewhere = fetch(`${app.url}/fragment/twin`);
    await upstream.waitForCalls("twin", 1);
    await page.goto(app.url);

    const expected = {
      quick: { label: "fetched", minMs: 150 },
      slower: { label: "fetched", minMs: 700 },
      broken: { label: "error", minMs: 400 },
      twin: { label: "shared with a concurrent request", minMs: 0 },
      late: { label: "timed out, still working", minMs: 1500 },
    };
    await expect(timeline(page)).toBeVisible();
    const rows = await timelineRows(page);
    expect(
      rows.map((row) => row.name),
      "every fragment, in page order",
    ).toEqual(["slower", "late", "quick", "twin", "broken"]);
    for (const [name, { label, minMs }] of Object.entries(expected)) {
      const shown = await meta(page, name);
      expect(shown.label, name).toBe(label);
      expect(shown.ms, `${name} ms`).toBeGreaterThanOrEqual(minMs - 5);
      const row = rows.find((candidate) => candidate.name === name)!;
      expect(row.label, `timeline label of ${name}`).toBe(label);
      expect(row.ms, `timeline ms of ${name} is the fragment's own`).toBe(shown.ms);
    }
    expect(Object.fromEntries(rows.map((row) => [row.name, row.outcome]))).toEqual({
      quick: "miss",
      slower: "miss",
      broken: "error",
      twin: "shared",
      late: "pending",
    });
    await expect(region(page, "quick").getByText("result for quick", { exact: true })).toHaveAttribute(
      "data-origin",
      "miss",
    );
    await expect(region(page, "twin").getByText("result for twin", { exact: true })).toHaveAttribute(
      "data-origin",
      "shared",
    );
    await expect(region(page, "late").getByRole("button", { name: "Retry late" })).toBeVisible();

    // Completion order: the upstream latencies order the fragments that waited for them.
    const byMs = rows
      .filter((row) => row.name !== "twin")
      .sort((a, b) => a.ms - b.ms)
      .map((row) => row.name);
    expect(byMs).toEqual(["quick", "broken", "slower", "late"]);

    releaseLate();
    await twinElsewhere;
  });

  test("a reload shows every fragment fresh from cache, in less time than the upstream took", async ({
    page,
    launch,
    upstream,
  }) => {
    upstream.script("r1", { latencyMs: 300 });
    upstream.script("r2", { latencyMs: 600 });
    const app = await launch({ FRAGMENTS: "r1,r2" });

    await page.goto(app.url);
    await expect(timeline(page)).toBeVisible();
    const cold = await timelineRows(page);
    expect(cold.map((row) => row.outcome)).toEqual(["miss", "miss"]);
    // The axis ends at the fragment deadline (4000 ms by default), not at the slowest fragment.
    await expect(timeline(page).getByText("4000 ms, the fragment deadline", { exact: true })).toBeVisible();
    for (const row of cold) expect(row.bar, `bar of ${row.name} at ${row.ms} ms`).toBeCloseTo(row.ms / 40, 1);

    await page.reload();
    await expect(timeline(page)).toBeVisible();
    for (const name of ["r1", "r2"]) {
      const shown = await meta(page, name);
      expect(shown.label).toBe("fresh from cache");
      expect(shown.ms).toBeLessThan(300);
      await expect(region(page, name).getByText(`result for ${name}`, { exact: true })).toHaveAttribute(
        "data-origin",
        "hit",
      );
    }
    const rows = await timelineRows(page);
    expect(rows.map((row) => [row.name, row.outcome, row.label])).toEqual([
      ["r1", "hit", "fresh from cache"],
      ["r2", "hit", "fresh from cache"],
    ]);
    // A hit of a few milliseconds is a sliver on the same axis, shorter than either upstream call was.
    for (const row of rows) {
      expect(row.bar, `bar of ${row.name} at ${row.ms} ms`).toBeCloseTo(Math.max(0.5, row.ms / 40), 1);
      expect(row.bar).toBeLessThan(Math.min(...cold.map((coldRow) => coldRow.bar)));
    }
    expect(upstream.calls()).toBe(2);
  });

  test("a value past its TTL whose refresh misses the deadline shows as stale, refreshing", async ({
    page,
    launch,
    upstream,
  }) => {
    const app = await launch({
      FRAGMENTS: "old",
      CACHE_FRESH_SECONDS: "1",
      CACHE_GRACE_SECONDS: "60",
      FRAGMENT_DEADLINE_MS: "500",
    });
    await page.goto(app.url);
    await expect(region(page, "old").getByText("result for old", { exact: true })).toBeVisible();
    // Waiting on real time is the point: the value must outlive its 1 s TTL.
    await pastOneSecond();
    upstream.script("old", { latencyMs: 1000 });
    await page.reload();
    await expect(timeline(page)).toBeVisible();
    expect((await meta(page, "old")).label).toBe("stale, refreshing");
    expect((await timelineRows(page)).map((row) => row.outcome)).toEqual(["stale"]);
    await expect.poll(() => upstream.answered("old")).toBe(2);
  });
});

for (const storeKind of STORES) {
  test.describe(`counters, metrics and logs on the ${storeKind} store`, () => {
    test.use({ storeKind });

    test("health counts misses then hits, loads equal upstream calls; /api/metrics is valid Prometheus text with the same numbers; one log line per call", async ({
      page,
      launch,
      upstream,
    }) => {
      upstream.script("m1", { latencyMs: 100 });
      upstream.script("m2", { latencyMs: 200 });
      upstream.script("m3", { latencyMs: 300 });
      const app = await launch({ FRAGMENTS: "m1,m2,m3" });
      if (storeKind !== "memory") await storeAnswers(app);

      const before = await health(app);
      expect(before).toMatchObject({ store: storeKind, ok: true, breaker: storeKind === "memory" ? "none" : "closed" });
      expect(
        Object.values(before.counters).every((count) => count === 0),
        JSON.stringify(before.counters),
      ).toBe(true);

      await page.goto(app.url);
      await expect(timeline(page)).toBeVisible();
      const afterFirst = await health(app);
      expect(afterFirst.counters).toMatchObject({ misses: 3, hits: 0, loads: 3, loadErrors: 0, storeErrors: 0 });
      expect(afterFirst.counters.loads).toBe(upstream.calls());
      expect(afterFirst.local.entries).toBe(3);
      expect(afterFirst.local.bytes).toBeGreaterThan(0);

      await page.reload();
      await expect(timeline(page)).toBeVisible();
      const afterReload = await health(app);
      expect(afterReload.counters).toMatchObject({ misses: 3, hits: 3, stale: 0, coalesced: 0, loads: 3 });
      expect(afterReload.counters.loads).toBe(upstream.calls());

      const response = await fetch(`${app.url}/api/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parsePrometheus(await response.text());
      for (const [field, metric] of Object.entries(METRIC_OF)) {
        expect(samples.get(metric), metric).toBe(afterReload.counters[field as keyof Counters]);
      }
      expect(samples.get("workerless_store_circuit_open")).toBe(0);
      expect(samples.get("workerless_local_entries")).toBe(afterReload.local.entries);
      expect(samples.get("workerless_local_bytes")).toBe(afterReload.local.bytes);
      expect(samples.get("workerless_process_resident_memory_bytes"), "default process metrics").toBeGreaterThan(0);

      const calls = app.events().filter((event) => event.event === "upstream_call");
      expect(calls).toHaveLength(upstream.calls());
      expect(calls.map((event) => event.key).sort()).toEqual(["m1", "m2", "m3"]);
      for (const event of calls) {
        expect(event).toMatchObject({ level: "info", outcome: "ok" });
        expect(typeof event.ms).toBe("number");
        expect(event.ms as number).toBeGreaterThanOrEqual(0);
      }
      expect(app.events().filter((event) => event.event === "store_error")).toEqual([]);
    });
  });
}

test("a failing upstream call logs one error line and counts as a load error", async ({ launch, upstream }) => {
  upstream.script("bad", { status: 503 });
  const app = await launch({ FRAGMENTS: "bad" });
  expect((await fetch(`${app.url}/fragment/bad`)).status).toBe(502);
  // The page renders in another server bundle than the route, with its own copy of the modules: still one line.
  expect((await fetch(app.url)).status).toBe(200);
  const counters = (await health(app)).counters;
  expect(counters).toMatchObject({ misses: 2, loads: 1, loadErrors: 1, skippedLoads: 1 });
  const calls = app.events().filter((event) => event.event === "upstream_call");
  expect(calls).toHaveLength(1);
  expect(calls[0]).toMatchObject({ key: "bad", outcome: "error", level: "warn" });
  expect(app.events().filter((event) => event.level === "error")).toEqual([]);
});

test.describe("the purge route", () => {
  test("answers 404 when no admin token is configured", async ({ launch }) => {
    const app = await launch({ FRAGMENTS: "a" });
    const response = await purgeCache(app, JSON.stringify({ all: true }), `Bearer ${ADMIN_TOKEN}`);
    expect(response.status).toBe(404);
    expect((await purgeCache(app, JSON.stringify({ all: true }))).status).toBe(404);
  });

  test("refuses missing (401) and wrong (403) tokens, bad bodies (400) and large ones (413), touching nothing", async ({
    launch,
    upstream,
  }) => {
    const app = await launch({ FRAGMENTS: "p", CACHE_ADMIN_TOKEN: ADMIN_TOKEN });
    expect((await fetchFragment(app, "p")).origin).toBe("miss");

    const missing = await purgeCache(app, JSON.stringify({ all: true }));
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect((await purgeCache(app, JSON.stringify({ all: true }), `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`)).status).toBe(
      401,
    );
    expect((await purgeCache(app, JSON.stringify({ all: true }), "Bearer ")).status).toBe(401);
    expect((await purgeCache(app, JSON.stringify({ all: true }), `Bearer ${ADMIN_TOKEN}x`)).status).toBe(403);
    expect((await purgeCache(app, JSON.stringify({ all: true }), `Bearer ${ADMIN_TOKEN.slice(0, -1)}`)).status).toBe(
      403,
    );

    const auth = `Bearer ${ADMIN_TOKEN}`;
    const badBodies = [
      "",
      "not json",
      "null",
      "[]",
      '"all"',
      "{}",
      JSON.stringify({ all: false }),
      JSON.stringify({ all: "true" }),
      JSON.stringify({ all: true, fragment: "p" }),
      JSON.stringify({ fragment: "p", extra: 1 }),
      JSON.stringify({ fragment: "../p" }),
      JSON.stringify({ fragment: "" }),
      JSON.stringify({ fragment: 1 }),
      JSON.stringify({ fragment: "x".repeat(65) }),
    ];
    for (const body of badBodies) {
      const response = await purgeCache(app, body, auth);
      expect(response.status, body.slice(0, 60)).toBe(400);
      expect(response.headers.get("content-type")).toContain("application/json");
    }
    // Over 1 KiB, refused on its headers before the route or its token check runs (see e2e/hostile-clients.spec.ts).
    for (const body of [
      JSON.stringify({ fragment: "p", pad: "x".repeat(1100) }),
      JSON.stringify({ fragment: "p" }) + " ".repeat(1100),
    ]) {
      expect((await purgeCache(app, body, auth)).status).toBe(413);
    }
    expect((await fetchFragment(app, "p")).origin, "still cached").toBe("hit");
    expect(upstream.calls()).toBe(1);
    expect(app.events().filter((event) => event.event === "cache_purge")).toEqual([]);
  });

  test("purging one fragment refetches it on the next view while another stays cached; purging all refetches both", async ({
    launch,
    upstream,
  }) => {
    const app = await launch({ FRAGMENTS: "one,two", CACHE_ADMIN_TOKEN: ADMIN_TOKEN });
    const auth = `Bearer ${ADMIN_TOKEN}`;
    await fetch(`${app.url}/`).then((response) => response.text());
    expect([upstream.calls("one"), upstream.calls("two")]).toEqual([1, 1]);

    const response = await purgeCache(app, JSON.stringify({ fragment: "one" }), auth);
    expect(response.status).toBe(200);
    // Without Redis, the count is of the entries this instance held.
    expect(await response.json()).toEqual({ purged: "one", deleted: 1 });
    expect((await fetchFragment(app, "one")).origin).toBe("miss");
    expect((await fetchFragment(app, "two")).origin).toBe("hit");
    expect([upstream.calls("one"), upstream.calls("two")]).toEqual([2, 1]);

    const all = await purgeCache(app, JSON.stringify({ all: true }), auth);
    expect(all.status).toBe(200);
    expect(await all.json()).toEqual({ purged: "all", deleted: 2 });
    expect((await fetchFragment(app, "one")).origin).toBe("miss");
    expect((await fetchFragment(app, "two")).origin).toBe("miss");
    expect([upstream.calls("one"), upstream.calls("two")]).toEqual([3, 2]);
    expect(
      app
        .events()
        .filter((event) => event.event === "cache_purge")
        .map((event) => [event.key, event.outcome]),
    ).toEqual([
      ["one", "ok"],
      ["all", "ok"],
    ]);
  });

  test.describe("with Redis", () => {
    test.use({ storeKind: "upstash" });

    test("purge all deletes only the app's entries and leases, and another instance sees it within CACHE_LOCAL_TRUST_SECONDS", async ({
      launch,
      upstream,
      redisStack,
    }) => {
      const env = { FRAGMENTS: "q1,q2", CACHE_ADMIN_TOKEN: ADMIN_TOKEN, CACHE_LOCAL_TRUST_SECONDS: "1" };
      const [first, second] = await Promise.all([launch(env), launch(env)]);
      const client = redisStack!.client;

      expect((await fetchFragment(first, "q1")).origin).toBe("miss");
      expect((await fetchFragment(first, "q2")).origin).toBe("miss");
      // The second instance now holds both in its own tier, trusted for 1 s.
      expect((await fetchFragment(second, "q1")).origin).toBe("hit");
      expect((await fetchFragment(second, "q2")).origin).toBe("hit");
      expect(upstream.calls()).toBe(2);

      const foreign = {
        "other-app:cache:q1": "theirs",
        "workerless:v4:findings": "not an entry",
        "workerless:v3:find:{q1}": "an older version",
        "workerless:v5:find:{q1}": "a newer version",
      };
      for (const [key, value] of Object.entries(foreign)) await client.set(key, value);
      await client.set("workerless:v4:lease:{q9}", "someone-else", "PX", 60_000);

      upstream.script("q2", { body: "q2 after purge" });
      const response = await purgeCache(first, JSON.stringify({ all: true }), `Bearer ${ADMIN_TOKEN}`);
      const purgedAt = performance.now();
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ purged: "all", deleted: 2 });

      expect(await client.keys("workerless:v4:find:*")).toEqual([]);
      for (const [key, value] of Object.entries(foreign)) expect(await client.get(key), key).toBe(value);
      // A lease goes too: the load holding it then writes nothing back.
      expect(await client.get("workerless:v4:lease:{q9}")).toBeNull();

      // The purging instance forgot its own copies at once.
      expect((await fetchFragment(first, "q1")).origin).toBe("miss");
      expect(upstream.calls("q1")).toBe(2);

      // The other one checks Redis again once its 1 s of trust runs out.
      await expect
        .poll(async () => (await fetchFragment(second, "q2")).html, { timeout: 3000, intervals: [100] })
        .toContain(">q2 after purge<");
      const seenAfter = performance.now() - purgedAt;
      expect(seenAfter, "within CACHE_LOCAL_TRUST_SECONDS (plus a poll)").toBeLessThan(1000 + 600);
      expect(upstream.calls("q2")).toBe(2);
    });
  });
});
