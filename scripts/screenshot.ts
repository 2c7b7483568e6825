// Takes the README's screenshots of the demo page, streaming and complete: `npm run build`, then `npx tsx scripts/screenshot.ts`.
import { type Browser, chromium, devices, type Page } from "@playwright/test";
import { startApp } from "../harness/app-server";
import { systemChromium } from "../harness/chromium";

async function withApp(
  browser: Browser,
  env: Record<string, string>,
  shoot: (page: Page, url: string) => Promise<void>,
) {
  // The demo sources with their simulated latencies (0.1 to 3 s), on the embedded store.
  const app = await startApp({ env });
  try {
    // As a person's browser: headless Chromium calls itself HeadlessChrome, which the page serves as a crawler.
    await shoot(
      await browser.newPage({ viewport: { width: 960, height: 640 }, userAgent: devices["Desktop Chrome"].userAgent }),
      app.url,
    );
  } finally {
    await app.stop();
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: systemChromium });
  try {
    // Streaming: the rates (at most 0.8 s) have arrived; the search (at least 1 s) still shows its spinner.
    await withApp(browser, { FRAGMENT_DEADLINE_MS: "10000" }, async (page, url) => {
      await page.goto(url, { waitUntil: "commit" });
      await page.getByRole("table").waitFor();
      await page.getByRole("status", { name: "Loading Search: streaming server rendering" }).waitFor();
      await page.screenshot({ path: "docs/page-loading.png" });
    });
    // Complete: the rates from the cache (asked for a moment before), the others fetched; the timeline below.
    await withApp(browser, {}, async (page, url) => {
      await (await fetch(`${url}/fragment/rates`)).text();
      await page.goto(url);
      await page.getByRole("figure", { name: /^When each fragment was ready/ }).waitFor();
      await page.screenshot({ path: "docs/page-timeline.png", fullPage: true });
    });
  } finally {
    await browser.close();
  }
}

void main();
