import { devices } from "@playwright/test";
import type { AppServer } from "../harness/app-server";
import { timeChunks } from "../harness/chunk-timer";
import { startNginx } from "../harness/nginx";
import { expect, purgeCache, test } from "./fixtures";

const ADMIN_TOKEN = "page-cache-admin-token-0123456789";
const BROWSER = devices["Desktop Chrome"].userAgent;
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
/** What a page served from the page cache says of each of its parts. */
const NOTE = "page from the page cache";

const nonceOf = (policy: string | null) => /'nonce-([A-Za-z0-9+/=_-]+)'/.exec(policy ?? "")?.[1];

async function launchWarm(
  launch: (env: Record<string, string>, options?: { standalone?: boolean }) => Promise<AppServer>,
  options: { standalone?: boolean } = {},
) {
  return launch({ FRAGMENTS: "p1,p2", CACHE_FRESH_SECONDS: "3600", CACHE_ADMIN_TOKEN: ADMIN_TOKEN }, options);
}

async function view(app: { url: string }, userAgent = BROWSER) {
  const response = await fetch(`${app.url}/`, { headers: { "user-agent": userAgent } });
  return { response, html: await response.text() };
}

/** Views the page as `userAgent` until one is served from the page cache (it keeps a page on its second miss). */
async function keptView(app: { url: string }, userAgent = BROWSER) {
  let last = await view(app, userAgent);
  await expect.poll(async () => (last = await view(app, userAgent)).html.includes(NOTE)).toBe(true);
  return last;
}

async function purge(app: AppServer, body: unknown) {
  expect((await purgeCache(app, body, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
}

test.describe("the page cache", () => {
  test("each response of a kept page has its own nonce, in its policy and on every script", async ({
    launch,
    upstream,
  }) => {
    upstream.script("p1", { latencyMs: 20 });
    upstream.script("p2", { latencyMs: 20 });
    const app = await launchWarm(launch);
    await keptView(app);

    const seen = new Set<string>();
    for (let index = 0; index < 5; index += 1) {
      const { response, html } = await view(app);
      expect(html, "served from the page cache").toContain(NOTE);
      const policy = response.headers.get("content-security-policy");
      const nonce = nonceOf(policy);
      expect(nonce, policy ?? "no CSP").toBeDefined();
      expect(policy).not.toContain("unsafe-inline");
      expect(seen.has(nonce!), "a nonce never served twice").toBe(false);
      seen.add(nonce!);
      const scripts = html.match(/<script\b[^>]*>/g) ?? [];
      expect(scripts.length).toBeGreaterThan(2);
      for (const tag of scripts)
        expect(tag, "every script carries this response's nonce").toContain(`nonce="${nonce}"`);
      // Every nonce in the body, attributes and the RSC payload alike, is this response's.
      const inBody = [...html.matchAll(/nonce(?:=\\?"|\\":\\")([A-Za-z0-9+/=_-]+)/g)].map((match) => match[1]);
      expect(inBody.length).toBeGreaterThan(scripts.length - 1);
      expect(new Set(inBody)).toEqual(new Set([nonce]));
    }
  });

  test("Chromium runs a kept page's scripts with no CSP violation", async ({ page, launch, upstream }) => {
    upstream.script("p1", { latencyMs: 20 });
    upstream.script("p2", { latencyMs: 20 });
    const app = await launchWarm(launch);
    await keptView(app, await page.evaluate(() => navigator.userAgent));
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener("securitypolicyviolation", (event) => seen.push(event.violatedDirective));
    });
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(app.url);
    const part = page.getByRole("region", { name: "Fragment p1" });
    await expect(part.getByText("result for p1", { exact: true })).toBeVisible();
    await expect(part.getByText(NOTE, { exact: false })).toBeVisible();
    // Next's client router is running: its scripts were admitted by this response's nonce.
    await expect.poll(() => page.evaluate(() => "next" in window)).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    expect(errors).toEqual([]);
  });

  test("a purge, or a new value, is never answered from the page rendered before it", async ({ launch, upstream }) => {
    upstream.script("p1", { latencyMs: 20, body: "first p1" });
    upstream.script("p2", { latencyMs: 20 });
    const app = await launchWarm(launch);
    expect((await keptView(app)).html).toContain("first p1");

    upstream.script("p1", { latencyMs: 20, body: "second p1" });
    await purge(app, { fragment: "p1" });
    const afterPurge = await view(app);
    expect(afterPurge.html).not.toContain(NOTE);
    expect(afterPurge.html).not.toContain("first p1");
    expect(afterPurge.html).toContain("second p1");
    expect((await keptView(app)).html).toContain("second p1");

    // A new value: softened, the next view shows the old one and its refresh; from then on only the new one.
    upstream.script("p1", { latencyMs: 20, body: "third p1" });
    await purge(app, { fragment: "p1", soft: true });
    const refreshing = await view(app);
    expect(refreshing.html).not.toContain(NOTE);
    await expect.poll(async () => (await view(app)).html.includes("third p1")).toBe(true);
    for (let index = 0; index < 3; index += 1) expect((await view(app)).html).not.toContain("second p1");
    expect((await keptView(app)).html).toContain("third p1");
  });

  test("a crawler never gets a person's page, nor a person a crawler's", async ({ launch, upstream }) => {
    upstream.script("p1", { latencyMs: 20 });
    upstream.script("p2", { latencyMs: 20 });
    const personFirst = await launchWarm(launch);
    await keptView(personFirst, BROWSER);
    for (const crawler of [GOOGLEBOT, "curl/8.5.0"])
      expect((await view(personFirst, crawler)).html, crawler).not.toContain(NOTE);

    const crawlerFirst = await launchWarm(launch);
    await keptView(crawlerFirst, GOOGLEBOT);
    expect((await view(crawlerFirst, BROWSER)).html).not.toContain(NOTE);
    // Googlebot and a generic crawler are rendered apart by Next (the head's metadata): never each other's page.
    expect((await view(crawlerFirst, "curl/8.5.0")).html).not.toContain(NOTE);
  });

  test("a page with a cold part still streams, and is kept only once every part is fresh", async ({
    launch,
    upstream,
  }) => {
    upstream.script("p1", { latencyMs: 20 });
    upstream.script("p2", { latencyMs: 20 });
    const app = await launchWarm(launch);
    await keptView(app);

    upstream.script("p2", { latencyMs: 800 });
    await purge(app, { fragment: "p2" });
    const response = await timeChunks(`${app.url}/`, { headers: { "user-agent": BROWSER } });
    const shell = response.arrival('aria-label="Loading Fragment p2"');
    expect(shell, "p2's spinner in the shell").toBeDefined();
    expect(shell!).toBeLessThan(400);
    const p2 = response.arrival("result for p2");
    expect(p2, "p2 streams into the same response").toBeGreaterThanOrEqual(780);
    expect(response.arrival(NOTE)).toBeUndefined();
    expect((await keptView(app)).html).toContain("result for p2");
  });

  test("keeps and serves pages under the standalone server, and behind nginx", async ({ launch, upstream }) => {
    upstream.script("p1", { latencyMs: 20 });
    upstream.script("p2", { latencyMs: 20 });
    const app = await launchWarm(launch, { standalone: true });
    expect(app.output(), "really the standalone server").not.toContain("next start");
    await keptView(app);
    const nginx = await startNginx({ upstreamPort: app.port });
    try {
      const { response, html } = await view(nginx);
      expect(String(response.headers.get("server"))).toMatch(/^nginx/);
      expect(html).toContain(NOTE);
      const nonce = nonceOf(response.headers.get("content-security-policy"));
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toContain(`nonce="${nonce}"`);
    } finally {
      await nginx.stop();
    }
  });
});
