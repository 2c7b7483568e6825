import type { Locator, Page } from "@playwright/test";
import { expect, test } from "./fixtures";

const region = (page: Page, name: string) => page.getByRole("region", { name: `Fragment ${name}` });
const spinners = (page: Page, options: { includeHidden?: boolean } = {}) =>
  page.getByRole("status", { name: /^Loading Fragment/, ...options });
const value = (page: Page, name: string) => page.getByText(`result for ${name}`, { exact: true });
/** The name a streamed value carries where it arrived, away from its section's heading. */
const origin = (page: Page, name: string) =>
  page.getByRole("paragraph").filter({ hasText: new RegExp(`^Fragment ${name}$`) });
/** What a section says in place of its spinner. */
const pointer = (scope: Page | Locator) =>
  scope.getByRole("paragraph").filter({ hasText: "This part appears at the end of the page once it is ready." });

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("each part shows under its name as soon as its data arrives, and no spinner ever shows", async ({
    page,
    launch,
    upstream,
  }) => {
    const release = { slow: upstream.hold("slow"), fast: upstream.hold("fast") };
    upstream.script("broken", { status: 500 });
    const app = await launch({ FRAGMENTS: "slow,fast,broken", FRAGMENT_DEADLINE_MS: "30000" });

    await page.goto(app.url, { waitUntil: "commit" });
    await expect(page.getByRole("heading", { level: 1, name: "Workerless" })).toBeVisible();
    for (const name of ["slow", "fast"]) await expect(pointer(region(page, name))).toBeVisible();
    // The spinners are in the page, hidden from the start: no script would ever take them away.
    await expect(spinners(page, { includeHidden: true })).not.toHaveCount(0);
    await expect(spinners(page)).toHaveCount(0);
    await expect(page.getByRole("alert")).toContainText("This part (broken) could not be loaded.");

    release.fast();
    await expect(value(page, "fast")).toBeVisible();
    await expect(origin(page, "fast")).toBeVisible();
    expect(upstream.waiting("slow"), "the response is still open").toBe(1);
    await expect(value(page, "slow")).toHaveCount(0);

    release.slow();
    await expect(value(page, "slow")).toBeVisible();
    await expect(origin(page, "slow")).toBeVisible();
    await expect(page.getByRole("figure", { name: /^When each fragment was ready/ })).toBeVisible();
    await expect(page.getByRole("status")).toHaveCount(0);
    for (const name of ["slow", "fast"]) {
      const label = await origin(page, name).boundingBox();
      const shown = await value(page, name).boundingBox();
      expect(label && shown && shown.y - (label.y + label.height), `${name}'s value right under its name`).toBeLessThan(
        8,
      );
    }
  });

  test("a part still working says so, with no Retry control that could not work", async ({
    page,
    launch,
    upstream,
  }) => {
    upstream.hold("late");
    const app = await launch({ FRAGMENTS: "late", FRAGMENT_DEADLINE_MS: "800" });

    await page.goto(app.url);
    await expect(page.getByText("Still working on late: its data is on the way.")).toBeVisible();
    const retry = page.getByRole("button", { name: "Retry late", includeHidden: true });
    await expect(retry).toHaveCount(1);
    await expect(retry).toBeHidden();
    await expect(spinners(page)).toHaveCount(0);
  });
});

test.describe("with JavaScript", () => {
  test("nothing changes: each part replaces its spinner in place, with no layout shift and no request for the no-script styles", async ({
    page,
    launch,
    upstream,
  }) => {
    const release = { slow: upstream.hold("slow"), fast: upstream.hold("fast") };
    const app = await launch({ FRAGMENTS: "slow,fast", FRAGMENT_DEADLINE_MS: "30000" });
    const requested: string[] = [];
    page.on("request", (request) => requested.push(new URL(request.url()).pathname));
    await page.addInitScript(() => {
      const shifts: number[] = [];
      (window as unknown as { layoutShifts: number[] }).layoutShifts = shifts;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) shifts.push((entry as PerformanceEntry & { value: number }).value);
      }).observe({ type: "layout-shift", buffered: true });
    });

    await page.goto(app.url, { waitUntil: "commit" });
    for (const name of ["slow", "fast"])
      await expect(region(page, name).getByRole("status", { name: `Loading Fragment ${name}` })).toBeVisible();
    await expect(pointer(page)).toHaveCount(0);
    release.fast();
    await expect(region(page, "fast").getByText("result for fast", { exact: true })).toBeVisible();
    release.slow();
    await expect(region(page, "slow").getByText("result for slow", { exact: true })).toBeVisible();
    await expect(spinners(page)).toHaveCount(0);
    for (const name of ["slow", "fast"]) await expect(origin(page, name)).toHaveCount(0);

    expect(await page.evaluate(() => (window as unknown as { layoutShifts: number[] }).layoutShifts)).toEqual([]);
    expect(requested).not.toContain("/noscript.css");
  });
});
