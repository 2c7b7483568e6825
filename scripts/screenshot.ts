// Takes the README's screenshot of the page while it streams: `npm run build`, then `npx tsx scripts/screenshot.ts`.
import { existsSync } from "node:fs";
import { chromium } from "@playwright/test";
import { startApp } from "../test-support/app-server";
import { startScriptedUpstream } from "../test-support/upstream-server";

async function main() {
  const upstream = await startScriptedUpstream();
  upstream.script("a", { latencyMs: 300 });
  upstream.script("b", { latencyMs: 4000 });
  upstream.script("c", { latencyMs: 6000 });
  const app = await startApp({ env: { SLOW_API_URL: upstream.urlTemplate, FRAGMENT_TIMEOUT_MS: "10000" } });
  const browser = await chromium.launch(existsSync("/usr/bin/chromium") ? { executablePath: "/usr/bin/chromium" } : {});
  try {
    const page = await browser.newPage({ viewport: { width: 960, height: 420 } });
    await page.goto(app.url, { waitUntil: "commit" });
    await page.getByText("result for a", { exact: true }).waitFor();
    await page.screenshot({ path: "docs/page-loading.png" });
  } finally {
    await browser.close();
    await app.stop();
    await upstream.close();
  }
}

void main();
