import { devices } from "@playwright/test";
import type { AppServer } from "../harness/app-server";
import { timeChunks, type TimedResponse } from "../harness/chunk-timer";
import { expect, purgeCache, test } from "./fixtures";
import { ADMIN_TOKEN } from "./streaming-check";

const CRAWLERS = {
  Googlebot: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  Bingbot: "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
  Slackbot: "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
  facebookexternalhit: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
  Twitterbot: "Twitterbot/1.0",
};
const BROWSER = devices["Desktop Chrome"].userAgent;

// Listed out of completion order. "big" is past React's outlining threshold (about 12.8 kB), beyond which a
// streamed part's HTML would be sent after the rest of the document, behind a script that moves it into place.
const LATENCIES: Record<string, number> = { p1: 500, big: 900, p3: 200 };
const SLOWEST = Math.max(...Object.values(LATENCIES));
const BIG_VALUE = `big value ${"0123456789 ".repeat(2200)}end`;
const valueOf = (name: string) => (name === "big" ? BIG_VALUE : `result for ${name}`);

/** Launches the app and renders its page once, so a timed request measures the page rather than the first load of its code. */
async function warmApp(launch: (env: Record<string, string>) => Promise<AppServer>, env: Record<string, string>) {
  const app = await launch({ CACHE_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
  expect((await fetch(`${app.url}/`, { headers: { "user-agent": BROWSER } })).status).toBe(200);
  await emptyCache(app);
  return app;
}

/** Drops every cached fragment, so the next page is cold again. */
async function emptyCache(app: AppServer) {
  expect((await purgeCache(app, { all: true }, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
}

const bodyOf = (response: TimedResponse) => response.chunks.map((chunk) => chunk.text).join("");
const finishedAt = (response: TimedResponse) => Math.round(response.chunks.at(-1)?.at ?? Infinity);

/** Where a fragment's `<section>` starts in the HTML as sent, and what it holds. */
function sectionOf(html: string, name: string) {
  const marker = html.indexOf(`data-fragment="${name}"`);
  expect(marker, `a section for ${name}`).toBeGreaterThan(-1);
  const start = html.lastIndexOf("<section", marker);
  return { start, content: html.slice(start, html.indexOf("</section>", marker)) };
}

/** Every part sits inside its own section, in the page's order, with nothing left to stream in or move by script. */
function expectEveryPartInPlace(html: string, parts: Record<string, string>, label: string) {
  const sections = Object.entries(parts).map(([name, text]) => ({ name, text, ...sectionOf(html, name) }));
  expect(
    sections.map((section) => section.start),
    `${label}: sections in the page's order`,
  ).toEqual(sections.map((section) => section.start).sort((a, b) => a - b));
  for (const { name, text, content } of sections)
    expect(content.includes(text), `${label}: ${name} inside its section`).toBe(true);
  expect(html, `${label}: no spinner`).not.toContain('class="spinner"');
  expect(html, `${label}: no boundary waiting for content`).not.toContain('<template id="B:');
  expect(html, `${label}: no content hidden for a script to move`).not.toMatch(/hidden="" id="S:|hidden id="S:/);
}

/** The content of the head's `<meta>` tag with this `name` or `property`. */
function metaOf(head: string, key: string) {
  return new RegExp(`<meta (?:name|property)="${key}" content="([^"]*)"`).exec(head)?.[1];
}

test.describe("crawlers and link previewers", () => {
  test("each gets every part in place in one document, which ends as the slowest upstream answers", async ({
    launch,
    upstream,
  }, testInfo) => {
    const app = await warmApp(launch, { FRAGMENTS: Object.keys(LATENCIES).join(",") });
    for (const [name, latencyMs] of Object.entries(LATENCIES))
      upstream.script(name, { latencyMs, body: valueOf(name) });

    const finishes: Record<string, number> = {};
    for (const [crawler, userAgent] of Object.entries(CRAWLERS)) {
      await emptyCache(app);
      const response = await timeChunks(`${app.url}/`, { headers: { "user-agent": userAgent } });
      expect(response.status).toBe(200);
      const html = bodyOf(response);
      expectEveryPartInPlace(
        html,
        Object.fromEntries(Object.keys(LATENCIES).map((name) => [name, valueOf(name)])),
        crawler,
      );
      expect(html, `${crawler}: the timeline is drawn in place`).toContain('data-timeline="big"');
      finishes[crawler] = finishedAt(response);
      expect(finishes[crawler], `${crawler}: the document waits for the slowest part`).toBeGreaterThanOrEqual(
        SLOWEST - 5,
      );
      expect(finishes[crawler], `${crawler}: and ends with it, not at the fragment deadline`).toBeLessThan(
        SLOWEST + 600,
      );
    }
    expect(upstream.calls(), "every page was cold").toBe(3 * (1 + Object.keys(CRAWLERS).length));
    const timing = `response ends ${JSON.stringify(finishes)} ms; slowest upstream ${SLOWEST} ms`;
    testInfo.annotations.push({ type: "finishes", description: timing });
    console.info(timing);
  });

  test("a part past the fragment deadline says it is still working, in its section, when the document ends at the deadline", async ({
    launch,
    upstream,
  }) => {
    const app = await warmApp(launch, { FRAGMENTS: "quick,late", FRAGMENT_DEADLINE_MS: "1500" });
    upstream.script("quick", { latencyMs: 200 });
    upstream.hold("late");

    const response = await timeChunks(`${app.url}/`, { headers: { "user-agent": CRAWLERS.Googlebot } });
    expect(response.status).toBe(200);
    expectEveryPartInPlace(bodyOf(response), { quick: "result for quick", late: "Still working on late" }, "Googlebot");
    expect(finishedAt(response), "the document ends at the deadline").toBeGreaterThanOrEqual(1500);
    expect(finishedAt(response)).toBeLessThan(2100);
  });

  test("a browser still gets the shell and its spinners at once, and each part streamed after", async ({
    launch,
    upstream,
  }) => {
    const app = await warmApp(launch, { FRAGMENTS: Object.keys(LATENCIES).join(",") });
    for (const [name, latencyMs] of Object.entries(LATENCIES))
      upstream.script(name, { latencyMs, body: valueOf(name) });

    const response = await timeChunks(`${app.url}/`, { headers: { "user-agent": BROWSER } });
    expect(response.status).toBe(200);
    const shell = response.arrival('class="spinner"');
    expect(shell, "spinners in the shell").toBeDefined();
    expect(shell!, "the shell leaves before the fastest part").toBeLessThan(Math.min(...Object.values(LATENCIES)));
    expect(response.arrival(BIG_VALUE)!, "the big part streams in after its latency").toBeGreaterThanOrEqual(
      SLOWEST - 5,
    );
  });

  test("title, description and Open Graph tags describe the page in its head, for crawlers and browsers alike", async ({
    launch,
  }) => {
    const app = await launch({ FRAGMENTS: "m" });
    for (const userAgent of [CRAWLERS.Slackbot, CRAWLERS.facebookexternalhit, BROWSER]) {
      const html = await (await fetch(`${app.url}/`, { headers: { "user-agent": userAgent } })).text();
      const head = html.slice(0, html.indexOf("</head>"));
      const description = metaOf(head, "description");
      expect(head, userAgent).toContain("<title>Workerless</title>");
      expect(description, userAgent).toMatch(/slow external API/);
      expect(metaOf(head, "og:title"), userAgent).toBe("Workerless");
      expect(metaOf(head, "og:description"), userAgent).toBe(description);
      expect(metaOf(head, "og:type"), userAgent).toBe("website");
      expect(metaOf(head, "og:site_name"), userAgent).toBe("Workerless");
      expect(metaOf(head, "twitter:card"), userAgent).toBe("summary");
      expect(metaOf(head, "twitter:title"), userAgent).toBe("Workerless");
      expect(metaOf(head, "twitter:description"), userAgent).toBe(description);
    }
  });
});
