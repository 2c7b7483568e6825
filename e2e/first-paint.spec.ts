import { devices, type Page } from "@playwright/test";
import { expect, test } from "./fixtures";

const asBrowser = { "user-agent": devices["Desktop Chrome"].userAgent };

/** Collects the page's CSP violations and console errors from before its first script. */
async function watchViolations(page: Page): Promise<{ violations: () => Promise<string[]>; errors: string[] }> {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __violations: string[] }).__violations = seen;
    document.addEventListener("securitypolicyviolation", (event) =>
      seen.push(`${event.violatedDirective}: ${event.blockedURI || "inline"}`),
    );
  });
  return {
    violations: () => page.evaluate(() => (window as unknown as { __violations: string[] }).__violations),
    errors,
  };
}

test.describe("first paint", () => {
  test("the served HTML links no stylesheet that blocks rendering: the page's CSS is inline", async ({
    launch,
    upstream,
  }) => {
    upstream.script("p1", { latencyMs: 100 });
    const app = await launch({ FRAGMENTS: "p1" });
    for (const path of ["/", "/blocking", "/no-such-page"]) {
      const html = await (await fetch(`${app.url}${path}`, { headers: asBrowser })).text();
      const head = html.slice(0, html.indexOf("</head>"));
      // The only stylesheet link is the one inside <noscript>, which a browser running scripts never fetches.
      const links = (head.replace(/<noscript>[\s\S]*?<\/noscript>/g, "").match(/<link\b[^>]*>/g) ?? []).filter((tag) =>
        /rel="?stylesheet/.test(tag),
      );
      expect(links, path).toEqual([]);
      expect(head, path).toMatch(/<style\b[^>]*data-precedence[^>]*>[^<]*\.fragment\{/);
      expect(html, `${path}: no inline style attribute`).not.toMatch(/<[^>]+\sstyle="/);
    }
  });

  test("with the CSS inline, Chromium applies it and reports no CSP violation, cold, warm and on a 404", async ({
    page,
    launch,
    upstream,
  }) => {
    upstream.script("p1", { latencyMs: 300 });
    const app = await launch({ FRAGMENTS: "p1" });
    const watch = await watchViolations(page);
    const styled = () =>
      page.getByRole("region", { name: "Fragment p1" }).evaluate((section) => getComputedStyle(section).borderTopStyle);
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));

    await page.goto(app.url);
    await expect(page.getByText("result for p1", { exact: true })).toBeVisible();
    expect(await styled()).toBe("solid");
    await page.reload();
    await expect(page.getByText("result for p1", { exact: true })).toHaveAttribute("data-origin", "hit");
    expect(await styled()).toBe("solid");

    expect(await watch.violations()).toEqual([]);
    // An address with no page: its own 404, styled, with its scripts admitted by the nonce.
    const missing = await page.goto(`${app.url}/no-such-page`);
    expect(missing?.status()).toBe(404);
    await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Back to the page" })).toHaveAttribute("href", "/");

    expect(await watch.violations()).toEqual([]);
    expect(watch.errors.filter((error) => !error.includes("404"))).toEqual([]);
    expect(
      requested.filter((url) => url.endsWith(".css")),
      "no stylesheet is fetched",
    ).toEqual([]);
  });
});
