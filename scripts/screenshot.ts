// Takes the README's screenshots of the page, streaming and complete: `npm run build`, then `npx tsx scripts/screenshot.ts`.
import { existsSync } from "node:fs";
import { type Browser, chromium, devices, type Page } from "@playwright/test";
import { startApp } from "../test-support/app-server";
import { startScriptedUpstream } from "../test-support/upstream-server";

async function withApp(
  browser: Browser,
  options: { latencies: Record<string, number>; env?: Record<string, string> },
  shoot: (page: Page, url: string) => Promise<void>,
) {
  const upstream = await startScriptedUpstream();
  for (const [name, latencyMs] of Object.entries(options.latencies)) upstream.script(name, { latencyMs });
  const app = await startApp({ env: { SLOW_API_URL: upstream.urlTemplate, ...options.env } });
  try {
    // As a person's browser: headless Chromium calls itself HeadlessChrome, which the page serves as a crawler.
    await shoot(await browser.newPage({ viewport: { width: 960, height: 540 }, userAgent: devices["Desktop Chrome"].userAgent }), app.url);
  } finally {
    await app.stop();
    await upstream.close();
  }
}

async function main() {
  const browser = await chromium.launch(existsSync("/usr/bin/chromium") ? { executablePath: "/usr/bin/chromium" } : {});
  try {
    // Streaming: a has arrived, b and c still show their spinners.
    await withApp(browser, { latencies: { a: 300, b: 4000, c: 6000 }, env: { FRAGMENT_TIMEOUT_MS: "10000" } }, async (page, url) => {
      await page.setViewportSize({ width: 960, height: 420 });
      await page.goto(url, { waitUntil: "commit" });
      await page.getByText("result for a", { exact: true }).waitFor();
      await page.screenshot({ path: "docs/page-loading.png" });
    });
    // Complete: a from the cache (asked for a moment before), b and c fetched; the timeline on its default scale.
    await withApp(browser, { latencies: { a: 300, b: 1250, c: 2450 } }, async (page, url) => {
      await (await fetch(`${url}/fragment/a`)).text();
      await page.goto(url);
      await page.getByRole("figure", { name: /^When each fragment was ready/ }).waitFor();
      await page.screenshot({ path: "docs/page-timeline.png" });
    });
  } finally {
    await browser.close();
  }
}

void main();
