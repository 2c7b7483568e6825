import type { Page } from "@playwright/test";
import { startApp, type AppServer } from "../harness/app-server";
import { expect, test } from "./fixtures";

const TITLES = ["Weather in Lisbon", "Exchange rates (EUR)", "Headlines", "Search: streaming server rendering"];
const region = (page: Page, title: string) => page.getByRole("region", { name: title });
const outcome = (page: Page, title: string, label: string) =>
  region(page, title).getByText(new RegExp(`^${label} · \\d+ ms on the server$`));

// The README's first command: `npm run dev`, then the page in a browser. Development mode has its own content
// security policy (the overlay's styles) and its own failure modes (hydration warnings), which the tests against
// the production build never see.
test.describe("npm run dev", () => {
  let app: AppServer | undefined;

  test.afterEach(async ({}, testInfo) => {
    await app?.stop();
    if (app && testInfo.status !== testInfo.expectedStatus)
      await testInfo.attach("next-dev.log", { body: app.output() });
    app = undefined;
  });

  test("serves the page with a clean console: no error, no CSP violation, Next's dev indicator drawn", async ({
    page,
  }) => {
    // Each route compiles on its first request (seconds, up to tens of seconds on a busy 2-core machine).
    test.setTimeout(240_000);
    // The demo sources, as a newcomer gets them, only quicker.
    app = await startApp({ dev: true, env: { SLOW_API_MAX_MS: "200" } });

    const problems: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    // Exposed functions outlive a reload, so a violation on any navigation is counted.
    await page.exposeFunction("reportViolation", (violation: string) => problems.push(`CSP violation: ${violation}`));
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        const report = (window as unknown as { reportViolation: (violation: string) => void }).reportViolation;
        void report(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
      });
    });

    const response = await page.goto(app.url);
    expect(response?.status()).toBe(200);
    const policy = response?.headers()["content-security-policy"] ?? "";
    expect(policy, "scripts still need this response's nonce in development").toMatch(
      /script-src 'self' 'nonce-[^']+' 'strict-dynamic'/,
    );
    for (const title of TITLES)
      await expect(outcome(page, title, "(fetched|shared with a concurrent request)")).toBeVisible();
    await expect(region(page, "Exchange rates (EUR)").getByRole("table")).toBeVisible();
    await expect(page.getByRole("figure", { name: /^When each fragment was ready/ })).toBeVisible();
    // Next's development indicator, drawn with its own stylesheet: without it, an unstyled box in the page's flow.
    await expect.soft(page.getByRole("button", { name: "Open Next.js Dev Tools" })).toBeVisible();
    await expect.soft(page.locator("[data-nextjs-toast]")).toHaveCSS("position", "fixed");

    // "Reload the page: every part now comes from the cache."
    await page.reload();
    for (const title of TITLES) await expect(outcome(page, title, "fresh from cache")).toBeVisible();
    await expect(page.getByRole("button", { name: "Open Next.js Dev Tools" })).toBeVisible();
    await page.waitForLoadState("load");

    expect(problems).toEqual([]);
    // Next marks its warnings and errors in the terminal with these signs.
    const warnings = app
      .output()
      .split("\n")
      .filter((line) => /^\s*[⚠⨯]/.test(line));
    expect(warnings, "next dev's own output").toEqual([]);
  });
});
