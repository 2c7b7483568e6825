import { request } from "node:http";
import { timeChunks } from "../harness/chunk-timer";
import { startNginx } from "../harness/nginx";
import { expect, pastOneSecond, test } from "./fixtures";
import { ADMIN_TOKEN, expectStreamed, FRAGMENTS, LATENCIES, warm } from "./streaming-check";

test.describe("the standalone server", () => {
  test("streams byte for byte like next start: shell first, each fragment after its own latency", async ({
    launch,
    upstream,
  }, testInfo) => {
    const app = await launch({ FRAGMENTS, CACHE_ADMIN_TOKEN: ADMIN_TOKEN }, { standalone: true });
    expect(app.output(), "really the standalone server").not.toContain("next start");
    await warm(app, upstream);

    const response = await timeChunks(`${app.url}/`);
    expect(response.headers["x-accel-buffering"]).toBe("no");
    const arrivals = expectStreamed(response, "standalone");
    testInfo.annotations.push({ type: "arrivals", description: `standalone: ${JSON.stringify(arrivals)} ms` });
    expect(upstream.calls()).toBe(6);
  });

  test("serves its static assets and public files", async ({ launch }) => {
    const app = await launch({ FRAGMENTS: "x" }, { standalone: true });
    const html = await (await fetch(`${app.url}/`)).text();
    const asset = /\/_next\/static\/[^"'\s]+\.js/.exec(html)?.[0];
    expect(asset, "the page links a built script").toBeDefined();
    expect((await fetch(`${app.url}${asset}`)).status).toBe(200);
    const spinner = await fetch(`${app.url}/spinner.svg`);
    expect(spinner.status).toBe(200);
    expect(spinner.headers.get("content-type")).toContain("image/svg+xml");
  });
});

test.describe("behind nginx with its default proxy buffering", () => {
  test("fragments still arrive one by one, byte timing through nginx", async ({ launch, upstream }, testInfo) => {
    const app = await launch({ FRAGMENTS, CACHE_ADMIN_TOKEN: ADMIN_TOKEN });
    const nginx = await startNginx({ upstreamPort: app.port });
    try {
      await warm(app, upstream);
      const response = await timeChunks(`${nginx.url}/`);
      expect(String(response.headers.server)).toMatch(/^nginx/);
      const arrivals = expectStreamed(response, "through nginx");
      testInfo.annotations.push({ type: "arrivals", description: `through nginx: ${JSON.stringify(arrivals)} ms` });
    } finally {
      await nginx.stop();
    }
  });

  // nginx 1.22 passes small chunks on even with proxy_buffering on, as long as it does not transform the
  // body; it holds them once it compresses (gzip flushes only on buffers it may not keep). That is the
  // deployment where X-Accel-Buffering: no matters, and where ignoring it must break streaming.
  test("when nginx compresses, the header keeps fragments streaming; a location that ignores it holds them to the end", async ({
    launch,
    upstream,
  }, testInfo) => {
    const app = await launch({ FRAGMENTS, CACHE_ADMIN_TOKEN: ADMIN_TOKEN });
    const gzip = ["gzip on;", 'proxy_set_header Accept-Encoding "";'];
    const nginx = await startNginx({
      upstreamPort: app.port,
      locations: [
        { prefix: "/" },
        { prefix: "/gzip/", directives: gzip },
        { prefix: "/gzip-ignoring/", directives: [...gzip, "proxy_ignore_headers X-Accel-Buffering;"] },
      ],
    });
    try {
      await warm(app, upstream);
      const honoured = await timeChunks(`${nginx.url}/gzip/`, { gzip: true });
      expect(honoured.headers["content-encoding"], "nginx compressed it").toBe("gzip");
      const streamed = expectStreamed(honoured, "gzip through nginx");

      await warm(app, upstream);
      const ignored = await timeChunks(`${nginx.url}/gzip-ignoring/`, { gzip: true });
      expect(ignored.status).toBe(200);
      expect(ignored.headers["content-encoding"]).toBe("gzip");
      const slowest = Math.max(...Object.values(LATENCIES));
      const held: Record<string, number | undefined> = { shell: ignored.arrival('data-fragment="d3"') };
      for (const name of Object.keys(LATENCIES)) held[name] = ignored.arrival(`result for ${name}`);
      testInfo.annotations.push({
        type: "arrivals",
        description: `gzip, header honoured: ${JSON.stringify(streamed)} ms; header ignored: ${JSON.stringify(held)} ms`,
      });
      for (const [part, arrived] of Object.entries(held)) {
        expect(arrived, `${part} arrives`).toBeDefined();
        expect(arrived!, `${part} is held back until the slowest fragment is ready`).toBeGreaterThanOrEqual(
          slowest - 5,
        );
      }
    } finally {
      await nginx.stop();
    }
  });
});

test.describe("behind nginx, the retry control", () => {
  test("works from the page nginx served; its call replayed from another origin is refused", async ({
    page,
    launch,
    upstream,
  }) => {
    const releaseLate = upstream.hold("late");
    const app = await launch({ FRAGMENTS: "late", FRAGMENT_DEADLINE_MS: "800" });
    const nginx = await startNginx({ upstreamPort: app.port });
    try {
      await page.goto(nginx.url);
      const late = page.getByRole("region", { name: "Fragment late" });
      const retry = late.getByRole("button", { name: "Retry late" });
      await expect(retry).toBeVisible();
      releaseLate();
      await expect.poll(() => upstream.answered("late")).toBe(1);
      const [call] = await Promise.all([
        page.waitForResponse((response) => response.request().method() === "POST"),
        retry.click(),
      ]);
      await expect(late.getByText("result for late", { exact: true })).toBeVisible();
      expect(call.status()).toBe(200);
      expect(await call.request().headerValue("origin")).toBe(nginx.url);

      // The same call, naming the app's own address: another origin than the one nginx serves the page from.
      const { "next-action": action, "content-type": type, "user-agent": agent } = call.request().headers();
      const replay = (origin: string) =>
        fetch(`${nginx.url}/`, {
          method: "POST",
          headers: { "next-action": action!, "content-type": type!, "user-agent": agent!, origin },
          body: call.request().postData()!,
        });
      expect((await replay(nginx.url)).status).toBe(200);
      expect((await replay(app.url)).status).toBe(403);
    } finally {
      await nginx.stop();
    }
  });
});

test.describe("graceful shutdown", () => {
  test("SIGTERM while a page streams: the response still completes with every fragment, then the process exits", async ({
    launch,
    upstream,
  }) => {
    upstream.script("g0", { latencyMs: 100 });
    upstream.script("g1", { latencyMs: 1500 });
    // The bound after SIGTERM is FRAGMENT_DEADLINE_MS + UPSTREAM_TIMEOUT_MS + 2 s = 9 s.
    const app = await launch({ FRAGMENTS: "g0,g1", FRAGMENT_DEADLINE_MS: "4000", UPSTREAM_TIMEOUT_MS: "3000" });

    const started = performance.now();
    const streaming = timeChunks(`${app.url}/`);
    await upstream.waitForCalls("g1", 1);
    const signalled = performance.now() - started;
    const stopped = app.stop("SIGTERM");
    await expect
      .poll(() => app.events().some((event) => event.event === "shutdown" && event.outcome === "draining"))
      .toBe(true);
    // A fresh connection each time (fetch would reuse a pooled one, which the server still serves).
    const connect = () =>
      new Promise<string>((resolve) => {
        const probe = request(`${app.url}/api/health`, { agent: false }, (answer) => {
          answer.resume();
          resolve(`answered ${answer.statusCode}`);
        });
        probe.on("error", () => resolve("refused"));
        probe.end();
      });
    await expect
      .poll(connect, { message: "no new connections while draining", timeout: 1000, intervals: [20] })
      .toBe("refused");

    const response = await streaming;
    const body = response.chunks.map((chunk) => chunk.text).join("");
    expect(response.status).toBe(200);
    expect(signalled, "the signal came while g1 was still loading").toBeLessThan(1500);
    expect(body).toContain("result for g0");
    expect(body).toContain("result for g1");
    expect(body).toContain("</html>");
    expect(response.arrival("result for g1")!).toBeGreaterThanOrEqual(1495);

    await stopped;
    const exitedAt = performance.now() - started;
    expect(exitedAt, "exits on its own, well within the bound").toBeLessThan(1500 + 9000);
    expect(app.events().filter((event) => event.event === "shutdown" && event.outcome === "forced")).toEqual([]);
  });

  test.describe("with Redis", () => {
    test.use({ storeKind: "upstash" });

    test("a background refresh in flight at SIGTERM still lands in Redis before the process exits", async ({
      launch,
      upstream,
      redisStack,
    }) => {
      const app = await launch({
        FRAGMENTS: "bg",
        CACHE_FRESH_SECONDS: "1",
        CACHE_GRACE_SECONDS: "60",
        FRAGMENT_DEADLINE_MS: "2000",
        UPSTREAM_TIMEOUT_MS: "8000",
      });
      upstream.script("bg", { body: "first" });
      expect(await (await fetch(`${app.url}/fragment/bg`)).text()).toContain(">first<");
      await pastOneSecond();

      upstream.script("bg", { body: "second" });
      const release = upstream.hold("bg");
      const stale = await (await fetch(`${app.url}/fragment/bg`)).text();
      expect(stale).toContain(">first<");
      expect(stale).toContain('data-origin="stale"');
      await upstream.waitForCalls("bg", 2);

      const started = performance.now();
      const stopped = app.stop("SIGTERM");
      await expect
        .poll(() => app.events().some((event) => event.event === "shutdown" && event.outcome === "draining"))
        .toBe(true);
      let exited = false;
      void stopped.then(() => (exited = true));
      // Still draining with the refresh held: the process must not leave without it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(exited, "the process waits for the refresh").toBe(false);
      release();

      await stopped;
      const exitedAfter = performance.now() - started;
      const stored = JSON.parse((await redisStack!.client.get("workerless:v4:find:{bg}")) ?? "{}") as {
        value?: string;
      };
      expect(JSON.parse(stored.value ?? "null"), "the refresh landed in Redis").toBe("second");
      expect(await redisStack!.client.keys("workerless:v4:lease:*"), "its lease was released").toEqual([]);
      expect(app.events().filter((event) => event.event === "upstream_call" && event.outcome === "ok")).toHaveLength(2);
      expect(app.events().filter((event) => event.event === "shutdown" && event.outcome === "forced")).toEqual([]);
      expect(exitedAfter, "exits on its own once the refresh is done, within the bound").toBeLessThan(
        2000 + 8000 + 2000,
      );
    });
  });
});
