import type { AppServer } from "../harness/app-server";
import { freePort } from "../harness/free-port";
import type { ScriptedUpstream } from "../harness/upstream-server";
import { startVarnish, varnishPurgeUrl, type VarnishServer } from "../harness/varnish";
import { expect, originOf, purgeCache, test as base } from "./fixtures";

// `/fragment/<name>` behind a real CDN-style cache: Varnish with xkey, which reads `s-maxage` and
// `stale-while-revalidate` itself and files each object under its `Surrogate-Key`.

const ADMIN_TOKEN = "cdn-admin-token-0123456789";
const PURGE_TOKEN = "cdn-purge-token-0123456789";

type Cdn = {
  /** What the app needs to forward its purges to this Varnish. */
  env: Record<string, string>;
  /** Starts Varnish in front of `app`, on the port `env` names; stopped after the test. */
  start(app: AppServer): Promise<VarnishServer>;
};

const test = base.extend<{ cdn: Cdn }>({
  cdn: async ({}, provide) => {
    const port = await freePort();
    let varnish: VarnishServer | undefined;
    await provide({
      env: { CACHE_ADMIN_TOKEN: ADMIN_TOKEN, CDN_PURGE_URL: varnishPurgeUrl(port), CDN_PURGE_TOKEN: PURGE_TOKEN },
      start: async (app) => (varnish = await startVarnish({ upstreamPort: app.port, purgeToken: PURGE_TOKEN, port })),
    });
    await varnish?.stop();
  },
});

/** Text fragments whose upstream URL takes a `{city}`: each is asked `?city=…`, each city its own key. */
const withCity = (upstream: ScriptedUpstream, env: Record<string, string> = {}) => ({
  SLOW_API_URL: `${upstream.urlTemplate}?city={city}`,
  ...env,
});
const inCity = (name: string, city: string) => `${name}?${new URLSearchParams({ city })}`;

/** `path` asked of `server` (Varnish or the app): what a CDN and a test look at. */
async function get(server: { url: string }, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}${path}`, { headers });
  const body = await response.text();
  const header = (name: string) => response.headers.get(name) ?? undefined;
  return {
    status: response.status,
    body,
    origin: originOf(body),
    cacheControl: header("cache-control"),
    etag: header("etag"),
    /** Whether Varnish answered from its cache (`hit`) or asked the app (`miss`). */
    cache: header("x-cache"),
    surrogateKey: header("surrogate-key"),
    cacheTag: header("cache-tag"),
    policy: header("content-security-policy"),
    setCookie: header("set-cookie"),
  };
}

const purge = (app: AppServer, target: Record<string, unknown>) => purgeCache(app, target, `Bearer ${ADMIN_TOKEN}`);

test.describe("fragments a CDN can carry", () => {
  test("a value is kept by Varnish for what is left of its freshness: one render, one upstream call for ten views", async ({
    launch,
    upstream,
    cdn,
  }) => {
    const app = await launch({ ...cdn.env, FRAGMENTS: "a", CACHE_FRESH_SECONDS: "60" });
    const varnish = await cdn.start(app);

    const views = [];
    for (let n = 0; n < 10; n += 1) views.push(await get(varnish, "/fragment/a"));
    expect(views.map((view) => view.cache)).toEqual(["miss", ...Array<string>(9).fill("hit")]);
    // Each copy is the app's first answer: asked again, the app would have said "hit".
    expect(views.map((view) => view.origin)).toEqual(Array<string>(10).fill("miss"));
    expect(upstream.calls("a")).toBe(1);

    const first = views[0]!;
    expect(first.status).toBe(200);
    expect(first.body).toContain("result for a");
    const sMaxAge = Number(
      /^public, s-maxage=(\d+), stale-while-revalidate=300, stale-if-error=86400$/.exec(first.cacheControl ?? "")?.[1],
    );
    expect(sMaxAge, first.cacheControl).toBeGreaterThanOrEqual(55);
    expect(sMaxAge).toBeLessThanOrEqual(60);
    expect(first.etag).toMatch(/^W\/"[\w-]+\.html"$/);
    expect(new Set(views.map((view) => view.etag)).size).toBe(1);
    // Varnish drops the keys it filed the object under, as Fastly does; the app sends them.
    expect(first.surrogateKey).toBeUndefined();
    const direct = await get(app, "/fragment/a");
    expect(direct).toMatchObject({ origin: "hit", surrogateKey: "@a", cacheTag: "@a", etag: first.etag });
    // Nothing per request in what many readers share: no cookie, one policy without a nonce.
    expect(views.map((view) => view.setCookie)).toEqual(Array<undefined>(10).fill(undefined));
    expect(new Set([...views, direct].map((view) => view.policy))).toEqual(
      new Set(["default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"]),
    );
  });

  test("Varnish asks again once s-maxage has passed, not before", async ({ launch, upstream, cdn }) => {
    // Fresh for 2 s, no grace, no fail-safe: the app's copy and Varnish's end together.
    const env = { FRAGMENTS: "a", CACHE_FRESH_SECONDS: "2", CACHE_GRACE_SECONDS: "0", CACHE_FAIL_SAFE_SECONDS: "0" };
    const app = await launch({ ...cdn.env, ...env });
    const varnish = await cdn.start(app);

    const first = await get(varnish, "/fragment/a");
    const loadedAt = performance.now();
    expect(first.cacheControl).toMatch(/^public, s-maxage=[12], stale-while-revalidate=0, stale-if-error=0$/);
    const sMaxAgeMs = Number(/s-maxage=(\d)/.exec(first.cacheControl!)![1]) * 1000;
    await expect.poll(async () => (await get(varnish, "/fragment/a")).cache, { intervals: [100] }).toBe("miss");
    expect(performance.now() - loadedAt, "kept for its s-maxage").toBeGreaterThanOrEqual(sMaxAgeMs - 100);
    // Past the app's own freshness too, Varnish's next question reaches the upstream.
    await expect
      .poll(async () => {
        await get(varnish, "/fragment/a");
        return upstream.calls("a");
      })
      .toBe(2);
  });

  test("If-None-Match with the value's ETag is answered 304, by Varnish and by the app", async ({ launch, cdn }) => {
    const app = await launch({ ...cdn.env, FRAGMENTS: "a" });
    const varnish = await cdn.start(app);
    const { etag } = await get(varnish, "/fragment/a");
    const version = /^W\/"(.+)"$/.exec(etag!)![1]!;

    expect((await get(varnish, "/fragment/a", { "if-none-match": etag! })).status).toBe(304);
    for (const holds of [etag!, `"${version}"`, "*", `"other", ${etag!}`, `W/"x",W/"${version}"`]) {
      const answer = await get(app, "/fragment/a", { "if-none-match": holds });
      expect(answer.status, holds).toBe(304);
      expect(answer.body, holds).toBe("");
      expect(answer, holds).toMatchObject({ etag, surrogateKey: "@a" });
      expect(answer.cacheControl, holds).toMatch(/^public, s-maxage=\d+,/);
    }
    for (const other of [`W/"other.html"`, `"${version.slice(1)}"`, version]) {
      expect((await get(app, "/fragment/a", { "if-none-match": other })).status, other).toBe(200);
    }
    // The JSON of the same value is another representation, with its own tag.
    const json = await get(app, "/fragment/a", { accept: "application/json" });
    expect(json.etag).toBe(etag!.replace(/\.html"$/, '.json"'));
    expect((await get(app, "/fragment/a", { accept: "application/json", "if-none-match": etag! })).status).toBe(200);
    const notModified = await get(app, "/fragment/a", { accept: "application/json", "if-none-match": json.etag! });
    expect(notModified.status).toBe(304);
  });

  test("a purge through the app's purge route reaches Varnish: by key, by parameters, by every key of a fragment", async ({
    launch,
    upstream,
    cdn,
  }) => {
    const app = await launch({ ...cdn.env, ...withCity(upstream, { FRAGMENTS: "a,b" }) });
    const varnish = await cdn.start(app);
    const views = [inCity("a", "porto"), inCity("a", "faro"), inCity("b", "porto")];
    /** Whether Varnish answers each view from its cache, and the upstream calls so far for each. */
    const state = async () => {
      const cached = [];
      for (const view of views) cached.push((await get(varnish, `/fragment/${view}`)).cache);
      return { cached, calls: views.map((view) => upstream.calls(view)) };
    };
    expect(await state()).toEqual({ cached: ["miss", "miss", "miss"], calls: [1, 1, 1] });
    expect(await state()).toEqual({ cached: ["hit", "hit", "hit"], calls: [1, 1, 1] });
    expect((await get(app, `/fragment/${views[0]!}`)).surrogateKey).toBe("@a @a?city=porto");

    const one = await purge(app, { fragment: "a", params: { city: "porto" } });
    expect(await one.json()).toEqual({ purged: 'a {"city":"porto"}', deleted: 1, cdn: "purged" });
    expect(await state(), "that parameter set alone").toEqual({ cached: ["miss", "hit", "hit"], calls: [2, 1, 1] });

    const every = await purge(app, { fragment: "a" });
    expect(await every.json()).toMatchObject({ purged: "a", cdn: "purged" });
    expect(await state(), "every parameter set of a").toEqual({ cached: ["miss", "miss", "hit"], calls: [3, 2, 1] });

    // A soft purge is a hard one at the CDN: Varnish asks, and the app serves its stale value while it refreshes.
    expect(await (await purge(app, { fragment: "b", params: { city: "porto" }, soft: true })).json()).toMatchObject({
      cdn: "purged",
    });
    const soft = await get(varnish, `/fragment/${views[2]!}`);
    expect(soft).toMatchObject({ cache: "miss", origin: "stale" });
    expect(soft.cacheControl).toMatch(/^public, s-maxage=0, stale-while-revalidate=\d+, stale-if-error=\d+$/);

    const all = await purge(app, { all: true });
    expect(await all.json()).toMatchObject({ purged: "all", cdn: "purged" });
    expect((await state()).cached).toEqual(["miss", "miss", "miss"]);
  });

  test("a CDN that refuses the purge makes the route answer 502 after the cache was purged", async ({
    launch,
    upstream,
    cdn,
  }) => {
    const app = await launch({ ...cdn.env, CDN_PURGE_TOKEN: "not-the-cdn-token", FRAGMENTS: "a" });
    const varnish = await cdn.start(app);
    await get(varnish, "/fragment/a");
    const refused = await purge(app, { fragment: "a" });
    expect(refused.status).toBe(502);
    expect(await refused.json()).toMatchObject({ purged: "a", deleted: 1, error: expect.stringContaining("CDN") });
    expect(app.events()).toContainEqual(expect.objectContaining({ event: "cdn_purge", outcome: "error" }));
    expect((await get(varnish, "/fragment/a")).cache, "Varnish still holds its copy").toBe("hit");
    expect((await get(app, "/fragment/a")).origin, "the app's was purged").toBe("miss");
    expect(upstream.calls("a")).toBe(2);
  });

  test("still working, error, busy and refused answers are never kept; not found is kept for its own freshness", async ({
    launch,
    upstream,
    cdn,
  }) => {
    upstream.script("down", { status: 500 });
    upstream.script("gone", { status: 404 });
    const env = withCity(upstream, {
      FRAGMENTS: "a,slow,down,gone",
      FRAGMENT_DEADLINE_MS: "300",
      UPSTREAM_MAX_IN_FLIGHT: "1",
      CACHE_NOT_FOUND_SECONDS: "30",
    });
    const app = await launch({ ...cdn.env, ...env });
    const varnish = await cdn.start(app);
    const twice = async (view: string) => [
      await get(varnish, `/fragment/${view}`),
      await get(varnish, `/fragment/${view}`),
    ];

    // Still working: its load is held open past the fragment deadline.
    const releaseSlow = upstream.hold(inCity("slow", "porto"));
    const pending = await twice(inCity("slow", "porto"));
    // Busy: `a` has its one load under way, so another of its parameter sets may not start one.
    const releaseA = upstream.hold(inCity("a", "porto"));
    expect((await get(app, `/fragment/${inCity("a", "porto")}`)).status).toBe(202);
    const busy = await twice(inCity("a", "braga"));
    releaseA();
    releaseSlow();
    const failed = await twice(inCity("down", "porto"));
    const refused = await twice("a");
    for (const [answers, status] of [
      [pending, 202],
      [busy, 503],
      [failed, 502],
      [refused, 400],
    ] as const) {
      expect(
        answers.map(({ status, cacheControl, cache, etag }) => ({ status, cacheControl, cache, etag })),
        String(status),
      ).toEqual([0, 1].map(() => ({ status, cacheControl: "no-store", cache: "miss", etag: undefined })));
    }

    const gone = await twice(inCity("gone", "porto"));
    expect(gone.map(({ status, cache }) => ({ status, cache }))).toEqual([
      { status: 404, cache: "miss" },
      { status: 404, cache: "hit" },
    ]);
    expect(gone[0]!.cacheControl).toMatch(/^public, s-maxage=(2[5-9]|30), stale-while-revalidate=0, stale-if-error=0$/);
    expect(gone[0]!.etag, "a 304 answers only what would be a 200").toBeUndefined();
    expect(upstream.calls(inCity("gone", "porto"))).toBe(1);
  });
});
